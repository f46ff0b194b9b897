"""Townhall's CPU seconds as the bench counts them: a real process that burns CPU is
measured with its children, and readings of different processes are refused."""

import subprocess
import sys
import time

import pytest

from bench import cpu

BURN = """
import subprocess, sys, time
sys.stdin.readline()  # burn once the test has read the clock
child = subprocess.Popen([sys.executable, "-c",
    "import time\\nend = time.process_time() + 0.4\\nwhile time.process_time() < end: pass\\n"
    "print('done', flush=True)\\ntime.sleep(30)"], stdout=subprocess.PIPE, text=True)
end = time.process_time() + 0.4
while time.process_time() < end:
    pass
child.stdout.readline()
print("burnt", flush=True)
time.sleep(30)
"""


def test_a_process_and_its_child_are_counted_and_an_idle_one_is_not():
    busy = subprocess.Popen([sys.executable, "-c", BURN], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    idle = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        time.sleep(0.5)  # both interpreters started and waiting
        window = cpu.Window({"busy": busy.pid, "idle": idle.pid}).start()
        busy.stdin.write("go\n")
        busy.stdin.flush()
        assert busy.stdout.readline().strip() == "burnt"
        used = window.stop()
    finally:
        for proc in (busy, idle):
            for child in cpu.psutil.Process(proc.pid).children(recursive=True):
                child.kill()
            proc.kill()
            proc.wait()
    assert used["busy"] >= 0.75, used  # 0.4 s burnt by the process, 0.4 s by its child
    assert used["idle"] < 0.1, used
    assert window.total == pytest.approx(used["busy"] + used["idle"])


def test_a_process_gone_before_the_reading_is_named():
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    with pytest.raises(RuntimeError, match="process gateway"):
        cpu.read({"gateway": gone.pid})


def test_readings_of_different_processes_are_refused():
    with pytest.raises(ValueError, match="messaging-2"):
        cpu.spent({"gateway": 1.0}, {"gateway": 2.0, "messaging-2": 0.5})


def test_time_going_backwards_means_a_replaced_process():
    with pytest.raises(ValueError, match="backwards for messaging"):
        cpu.spent({"messaging": 5.0}, {"messaging": 1.0})


def test_per_delivery_is_in_milliseconds():
    assert cpu.per_delivery_ms(12.5, 10_000) == pytest.approx(1.25)


def test_the_machine_busy_share_leaves_out_idle_and_iowait():
    from collections import namedtuple

    times = namedtuple("scputimes", "user nice system idle iowait irq softirq steal guest "
                                    "guest_nice")
    before = times(10, 0, 5, 100, 5, 0, 0, 0, 0, 0)
    after = times(40, 0, 15, 150, 15, 0, 0, 0, 7, 0)  # guest is inside user already
    assert cpu.busy_share(before, after) == pytest.approx(40 / 100)


def test_a_window_reads_the_machine_too():
    window = cpu.Window({}).start()
    end = time.process_time() + 0.2
    while time.process_time() < end:
        pass
    window.stop()
    assert 0 < window.machine_busy <= 1
