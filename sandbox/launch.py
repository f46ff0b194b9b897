"""Start a sandbox as a subprocess and talk to its control API, for tests and the supervisor.

Always a subprocess: the test process is eventlet-monkey-patched, and an asyncio server run
inside it would fight the hub.
"""

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from secrets import token_urlsafe
from typing import Any

import requests

HOST = "127.0.0.1"
READY_TIMEOUT_SECONDS = 15
STOP_GRACE_SECONDS = 5
PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_ACCOUNT_SID = "AC00000000000000000000000000000000"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


class SandboxProcess:
    """A running sandbox. `url` is the Twilio or payments base URL, or the SMTP sandbox's API
    URL; `secret_key` is the payment sandbox's API key."""

    def __init__(
        self,
        command: list[str],
        url: str,
        port: int,
        control_url: str,
        account_sid: str | None = None,
        auth_token: str | None = None,
        api_port: int | None = None,
        secret_key: str | None = None,
        secrets: dict[str, str] | None = None,
    ) -> None:
        self.url = url
        self.port = port
        self.host = HOST
        self.control_url = control_url
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.api_port = api_port
        self.secret_key = secret_key
        # a file, not a pipe: nobody drains a pipe while the sandbox runs, and a full one blocks it
        self._output = tempfile.TemporaryFile()
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(
                filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")])
            ),
            **(secrets or {}),
        }
        self.process = subprocess.Popen(
            command, stdout=self._output, stderr=subprocess.STDOUT, env=env, cwd=PROJECT_ROOT
        )
        try:
            self._wait_until_healthy()
        except BaseException:
            self.stop()
            raise

    def output(self) -> str:
        self._output.seek(0)
        return self._output.read().decode("utf-8", errors="replace")

    def _wait_until_healthy(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"sandbox exited with {self.process.returncode}:\n{self.output()}"
                )
            try:
                if requests.get(f"{self.control_url}/health", timeout=0.5).ok:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"sandbox not healthy after {READY_TIMEOUT_SECONDS}s:\n{self.output()}")

    def messages(self) -> list[dict[str, Any]]:
        response = requests.get(f"{self.control_url}/messages", timeout=5)
        response.raise_for_status()
        return response.json()

    def read(self, path: str) -> Any:
        """GET a control route, e.g. read("payment_intents") or read("requests")."""
        response = requests.get(f"{self.control_url}/{path.lstrip('/')}", timeout=5)
        response.raise_for_status()
        return response.json()

    def configure(self, **settings: Any) -> dict[str, Any]:
        response = requests.post(f"{self.control_url}/config", json=settings, timeout=5)
        response.raise_for_status()
        return response.json()

    def reset(self) -> dict[str, Any]:
        response = requests.post(f"{self.control_url}/reset", timeout=5)
        response.raise_for_status()
        return response.json()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._output.close()

    def __enter__(self) -> "SandboxProcess":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _flag(name: str, value: Any) -> str:
    """`--name=value` in one word: argparse takes a separate word that starts with "-" for the
    next flag, and the sandbox refuses to start."""
    if isinstance(value, list | tuple):
        value = ",".join(value)
    return f"--{name.replace('_', '-')}={'' if value is None else value}"


def start_twilio_sandbox(
    port: int | None = None,
    account_sid: str = DEFAULT_ACCOUNT_SID,
    auth_token: str | None = None,
    **settings: Any,
) -> SandboxProcess:
    """settings: create_delay_ms, callback_delay_ms, failure_rate, fail_to, seed, ...
    Without `auth_token`, a random one for this sandbox alone (`.auth_token`)."""
    port = port or free_port()
    auth_token = auth_token or token_urlsafe(32)
    command = [sys.executable, "-m", "sandbox.twilio", "--host", HOST, "--port", str(port)]
    command += [_flag("account_sid", account_sid)]
    command += [_flag(name, value) for name, value in settings.items()]
    url = f"http://{HOST}:{port}"
    return SandboxProcess(command, url, port, f"{url}/_sandbox", account_sid, auth_token,
                          secrets={"TWILIO_SANDBOX_AUTH_TOKEN": auth_token})


def start_smtp_sandbox(port: int | None = None, api_port: int | None = None) -> SandboxProcess:
    port = port or free_port()
    api_port = api_port or free_port()
    while api_port == port:  # two quick probes can be handed the same port
        api_port = free_port()
    command = [sys.executable, "-m", "sandbox.smtp", "--host", HOST]
    command += ["--port", str(port), "--api-port", str(api_port)]
    api_url = f"http://{HOST}:{api_port}"
    return SandboxProcess(command, api_url, port, api_url, api_port=api_port)


def start_payment_sandbox(
    port: int | None = None, secret_key: str | None = None, **settings: Any
) -> SandboxProcess:
    """settings: create_delay_ms, decline_rate, decline_code, server_error_rate, unavailable,
    seed (flags of python -m sandbox.payments). Without `secret_key`, a random one for this
    sandbox alone (`.secret_key`)."""
    port = port or free_port()
    secret_key = secret_key or token_urlsafe(32)
    command = [sys.executable, "-m", "sandbox.payments", "--host", HOST, "--port", str(port)]
    command += [_flag(name, value) for name, value in settings.items()]
    url = f"http://{HOST}:{port}"
    return SandboxProcess(command, url, port, f"{url}/_sandbox", secret_key=secret_key,
                          secrets={"PAYMENTS_SANDBOX_SECRET_KEY": secret_key})
