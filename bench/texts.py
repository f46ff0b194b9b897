"""Texts through the gateway: N single texts, each its own `POST /v1/communications` to one
resident, through the whole running system (every service, the gateway and the Twilio
sandbox as their own processes, started the way the project starts them), timed from the
first POST until the delivery report counts every one `delivered`."""

import contextlib
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from bench import isolation
from bench.measure import BenchTimeout, Deadline, latency_figures, rate
from contracts.vocabulary import TERMINAL_STATUSES
from servicekit import config as configuration
from servicekit import migrate, testing
from servicekit.config import ROOT, twilio_base_url
from servicekit.supervisor import SERVICES, Stack

DATABASE_SERVICES = ("directory", "consent", "credits", "messaging", "tickets", "reports")
HEALTHY_TIMEOUT_SECONDS = 90
SEED_TIMEOUT_SECONDS = 90
POLL_SECONDS = 0.1
HTTP_TIMEOUT_SECONDS = 30
FAILED_LOGS = ROOT / "var" / "bench" / "failed-logs"
SEED_SCRIPT = """
import eventlet
eventlet.monkey_patch()
import sys
from pathlib import Path
from servicekit import config, seed
seed.main(config.load(), out=Path(sys.argv[1]))
"""


def measure(count, senders, postgres, timeout):
    """{texts_per_s, accepted_per_s, post_p50_ms, post_p99_ms, database} for `count` texts."""
    run = isolation.run_id()
    workdir = Path(tempfile.mkdtemp(prefix=f"townhall-bench-{run}-"))
    failed = True
    try:
        with contextlib.ExitStack() as resources:
            uri = resources.enter_context(isolation.vhost(f"bench-{run}-texts"))
            database_url = None
            if postgres:
                database_url = resources.enter_context(
                    isolation.postgres_databases(f"bench_{run}", DATABASE_SERVICES))
            env = _environment(uri, workdir, database_url, count)
            result = _run_system(env, workdir, count, senders, timeout)
            result["database"] = "postgresql" if postgres else "sqlite"
            failed = False
            return result
    finally:
        if failed:
            _keep_logs(workdir, run)
        shutil.rmtree(workdir, ignore_errors=True)


def _environment(uri, workdir, database_url, count):
    env = dict(
        os.environ,
        TOWNHALL_AMQP_URI=uri,
        TOWNHALL_DATA_DIR=str(workdir / "data"),
        # the gateway and every sandbox on ports of this run's own: a `make up` demo keeps its
        **testing.own_ports(),
        # a negative balance does not block sending, but keep the run far from it anyway
        TOWNHALL_SEED__COMMUNITY_CREDITS=str(max(500, 4 * count)),
        TOWNHALL_LOG_LEVEL="WARNING",
    )
    env.pop("TOWNHALL_CONFIG", None)
    env.pop("TOWNHALL_DATABASES", None)
    if database_url:
        env["TOWNHALL_DATABASE_URL"] = database_url
    else:
        env.pop("TOWNHALL_DATABASE_URL", None)
    return env


def _run_system(env, workdir, count, senders, timeout):
    config = configuration.load(environ=env)
    for service in SERVICES:
        if migrate.has_migrations(service):
            migrate.upgrade(service, config)
    _run_step([sys.executable, "-m", "servicekit.cli", "declare"], env, "declare queues",
              SEED_TIMEOUT_SECONDS)
    stack = Stack(config, env=env, log_dir=workdir / "logs")
    try:
        stack.start()
        stack.wait_healthy(timeout=HEALTHY_TIMEOUT_SECONDS)
        twilio_control = f"{twilio_base_url(config)}/_sandbox/config"
        requests.post(twilio_control, json={"callback_delay_ms": 0},
                      timeout=HTTP_TIMEOUT_SECONDS).raise_for_status()
        demo_path = workdir / "demo.json"
        _run_step([sys.executable, "-c", SEED_SCRIPT, str(demo_path)], env, "seed",
                  SEED_TIMEOUT_SECONDS)
        demo = json.loads(demo_path.read_text())
        return _send_and_follow(stack, demo, count, senders, Deadline(timeout, "texts"))
    finally:
        stack.stop()


def _run_step(argv, env, what, timeout):
    try:
        done = subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        raise BenchTimeout(f"{what}: gave up after {timeout}s") from None
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed ({done.returncode}):\n{done.stdout}{done.stderr}")


def _send_and_follow(stack, demo, count, senders, deadline):
    # the texts go to one community's residents, whose delivery report is what is followed
    community = demo["communities"][0]["id"]
    residents = [r["id"] for r in demo["residents"]
                 if r["community_id"] == community and "texts off" not in r["name"]]
    headers = {"Authorization": f"Bearer {demo['api_key']}"}
    bodies = [{"kind": "message", "channels": ["sms"],
               "recipients": {"residents": [resident]},
               "category_id": demo["category_id"], "body": f"Bench text {number}"}
              for number, resident in zip(range(count), itertools.cycle(residents))]
    numbers = iter(range(count))
    lock = threading.Lock()
    latencies = []

    def sender(_index):
        with requests.Session() as session:
            session.headers.update(headers)
            while not deadline.expired():
                with lock:
                    number = next(numbers, None)
                if number is None:
                    return
                started = time.perf_counter()
                answer = session.post(f"{stack.gateway_url}/v1/communications",
                                      json=bodies[number], timeout=HTTP_TIMEOUT_SECONDS,
                                      headers={"Idempotency-Key": f"bench-{number}"})
                if answer.status_code != 202:
                    raise RuntimeError(f"text {number}: {answer.status_code} {answer.text}")
                latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    with ThreadPoolExecutor(senders, thread_name_prefix="bench-texts") as pool:
        list(pool.map(sender, range(senders)))
    accepted_at = time.perf_counter()
    deadline.check(f"{len(latencies)} of {count} texts accepted")
    delivered_at = _wait_delivered(stack, community, headers, count, deadline)
    p50, p99 = latency_figures(latencies)
    return {"texts_per_s": rate(count, delivered_at - started),
            "accepted_per_s": rate(count, accepted_at - started),
            "post_p50_ms": p50, "post_p99_ms": p99, "seconds": delivered_at - started}


def _wait_delivered(stack, community, headers, count, deadline):
    url = f"{stack.gateway_url}/v1/reports/deliveries"
    counts = {}
    with requests.Session() as session:
        session.headers.update(headers)
        while True:
            answer = session.get(url, params={"community_id": community},
                                 timeout=HTTP_TIMEOUT_SECONDS)
            answer.raise_for_status()
            counts = answer.json().get("counts") or {}
            if counts.get("delivered", 0) >= count:
                if sum(counts.values()) != count:
                    raise RuntimeError(f"the report counts {counts} for {count} texts sent")
                return time.perf_counter()
            terminal = sum(counts.get(status, 0) for status in TERMINAL_STATUSES)
            if terminal >= count:
                raise RuntimeError(f"every text is terminal but not all delivered: {counts}")
            if stack.exited():
                raise RuntimeError(f"processes exited while texts were sent: {stack.exited()}")
            deadline.check(f"delivery report counts {counts}")
            time.sleep(POLL_SECONDS)


def _keep_logs(workdir, run):
    logs = workdir / "logs"
    if logs.is_dir():
        target = FAILED_LOGS / run
        shutil.copytree(logs, target, dirs_exist_ok=True)
        print(f"texts: the processes' logs are kept in {target}", file=sys.stderr)
