"""One box: every service, the gateway and the sandboxes as processes of their own.

`townhall up` (make up) migrates, declares the event queues, starts everything, waits
until the gateway reports every service healthy, seeds the demo and prints how to send
the first text. Ctrl-C (or SIGTERM) stops all processes gracefully. The end-to-end tests
use the same Stack with their own configuration.
"""

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

from servicekit import config as configuration
from servicekit import secrets
from servicekit.config import ROOT, uses_twilio_sandbox

SERVICES = ("directory", "consent", "credits", "messaging", "tickets", "reports", "gateway")
STOP_GRACE_SECONDS = 25


def process_specs(config):
    """(name, argv) of every process of the stack. No secret is on a command line (any local
    user can read those): the sandboxes take theirs from the environment, sandbox_secrets."""
    py = sys.executable
    specs = []
    sandbox = config.get("sandbox") or {}
    if uses_twilio_sandbox(config):
        twilio = config["twilio"]
        specs.append(("twilio-sandbox", [
            py, "-m", "sandbox.twilio", "--host", "127.0.0.1",
            "--port", str(sandbox.get("twilio_port", 8010)),
            "--account-sid", twilio["account_sid"]]))
    payments = config.get("payments") or {}
    # base_url null means "the local payment sandbox"; one set elsewhere is someone else's to run
    if payments.get("provider", "sandbox") == "sandbox" and not payments.get("base_url"):
        specs.append(("payments-sandbox", [
            py, "-m", "sandbox.payments", "--host", "127.0.0.1",
            "--port", str(sandbox.get("payments_port", 8030))]))
    if sandbox.get("smtp_port") and int(sandbox["smtp_port"]) == int(config["smtp"]["port"]):
        specs.append(("smtp-sandbox", [
            py, "-m", "sandbox.smtp", "--host", "127.0.0.1", "--port", str(sandbox["smtp_port"]),
            "--api-port", str(sandbox.get("smtp_api_port", 8026))]))
    for name in SERVICES:
        specs.append((name, [py, "-m", "servicekit.cli", "run", name]))
    return specs


def sandbox_secrets(config):
    """The environment that gives the local sandboxes the installation's secrets
    (servicekit.secrets), the same the services resolve for themselves."""
    secrets.resolve(config)
    return {"TWILIO_SANDBOX_AUTH_TOKEN": (config.get("twilio") or {}).get("auth_token") or "",
            "PAYMENTS_SANDBOX_SECRET_KEY": (config.get("payments") or {}).get("secret_key")
            or ""}


class Stack:
    def __init__(self, config, env=None, log_dir=None):
        # made before any process starts, so that all of them read the same development secrets
        self.config = secrets.resolve(config)
        self.env = dict(os.environ if env is None else env, **sandbox_secrets(self.config))
        self.log_dir = Path(log_dir) if log_dir else None
        self.processes = {}

    @property
    def gateway_url(self):
        gw = self.config["gateway"]
        return f"http://{gw.get('host', '127.0.0.1')}:{gw.get('port', 8000)}"

    def start(self, only=None):
        for name, argv in process_specs(self.config):
            if only is None or name in only:
                self.start_process(name, argv)

    def start_process(self, name, argv=None):
        argv = argv or dict(process_specs(self.config))[name]
        if self.log_dir:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            out = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - lives with it
            proc = subprocess.Popen(argv, cwd=ROOT, env=self.env, stdout=out,
                                    stderr=subprocess.STDOUT)
        else:
            proc = subprocess.Popen(argv, cwd=ROOT, env=self.env, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT)
            threading.Thread(target=_prefix_output, args=(name, proc.stdout),
                             daemon=True).start()
        self.processes[name] = proc
        return proc

    def stop_process(self, name, sig=signal.SIGTERM, timeout=STOP_GRACE_SECONDS):
        """Signal one process and answer its exit code (killed after `timeout` seconds)."""
        proc = self.processes.pop(name, None)
        if proc is None or proc.poll() is not None:
            return None if proc is None else proc.returncode
        proc.send_signal(sig)
        try:
            return proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            return proc.wait()

    def stop(self):
        for proc in self.processes.values():
            if proc.poll() is None:
                proc.terminate()
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for proc in self.processes.values():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.processes.clear()

    def exited(self):
        return {n: p.returncode for n, p in self.processes.items() if p.poll() is not None}

    def wait_healthy(self, timeout=90):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.exited():
                raise RuntimeError(f"processes exited during start: {self.exited()}")
            try:
                with urllib.request.urlopen(self.gateway_url + "/healthz", timeout=5) as r:
                    if r.status == 200:
                        return json.loads(r.read())
            except Exception as exc:
                last = exc
            time.sleep(0.5)
        raise TimeoutError(f"gateway not healthy after {timeout}s: {last}")


def _prefix_output(name, stream):
    for raw in iter(stream.readline, b""):
        sys.stdout.write(f"{name:>15} | {raw.decode(errors='replace')}")
        sys.stdout.flush()


def up(config, seed_demo=True):
    from servicekit import migrate, topology

    secrets.refuse_development_beyond_loopback(config)
    secrets.resolve(config)
    for service in SERVICES:
        if migrate.has_migrations(service):
            migrate.upgrade(service, config)
    topology.declare_all(config)
    stack = Stack(config)
    stopping = threading.Event()

    def on_signal(signum, _frame):
        stopping.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    stack.start()
    try:
        stack.wait_healthy()
        if seed_demo:
            subprocess.run([sys.executable, "-m", "servicekit.cli", "seed"], cwd=ROOT,
                           check=True)
        print(f"\nTownhall is up at {stack.gateway_url} — Ctrl-C stops everything.\n",
              flush=True)
        while not stopping.is_set():
            if stack.exited():
                print(f"stopping: a process exited: {stack.exited()}", file=sys.stderr)
                return 1
            stopping.wait(1)
        return 0
    finally:
        stack.stop()


def main(argv):
    try:
        return up(configuration.load(), seed_demo="--no-seed" not in argv)
    except secrets.ConfigurationError as exc:
        print(f"townhall up: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    # run without eventlet: plain threads and subprocesses supervise the children
    sys.exit(main(sys.argv[1:]))
