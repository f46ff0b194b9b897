"""A whole Townhall for one bench phase: every service, the gateway and the sandboxes as
processes of their own (started the way the project starts them), on a RabbitMQ vhost, ports
and databases (SQLite files or PostgreSQL databases) of the run's own, seeded with the demo.

    with system.running("postgresql", "b3", env={...}) as townhall:
        townhall.gateway_url, townhall.demo, townhall.stack ...

Everything is removed when the block ends; when it ends with an error the processes' logs are
kept in var/bench/failed-logs/<run>.
"""

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import requests

from bench import isolation
from bench.measure import BenchTimeout
from servicekit import config as configuration
from servicekit import migrate, testing
from servicekit.config import ROOT, twilio_base_url
from servicekit.supervisor import SERVICES, Stack

DATABASE_SERVICES = ("directory", "consent", "credits", "messaging", "tickets", "reports")
DATABASES = ("sqlite", "postgresql")
HEALTHY_TIMEOUT_SECONDS = 90
SEED_TIMEOUT_SECONDS = 90
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


@dataclass
class System:
    stack: Stack
    demo: dict
    env: dict
    database: str
    vhost: str
    run: str

    @property
    def gateway_url(self):
        return self.stack.gateway_url

    @property
    def twilio_url(self):
        return twilio_base_url(self.stack.config)

    def sandbox_config(self, **changes):
        """POST /_sandbox/config on the Twilio sandbox; answers its whole behaviour."""
        answer = requests.post(f"{self.twilio_url}/_sandbox/config", json=changes,
                               timeout=HTTP_TIMEOUT_SECONDS)
        answer.raise_for_status()
        return answer.json()

    def key_session(self):
        """An HTTP session holding the demo organization's API key."""
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {self.demo['api_key']}"
        return session

    def staff_session(self, email):
        """An HTTP session signed in as one of the demo's staff (its token lasts 15 minutes)."""
        password = next(a["password"] for a in self.demo["accounts"] if a["email"] == email)
        session = requests.Session()
        answer = session.post(f"{self.gateway_url}/v1/auth/login", timeout=HTTP_TIMEOUT_SECONDS,
                              json={"email": email, "password": password})
        if answer.status_code != 200:
            raise RuntimeError(f"login of {email}: {answer.status_code} {answer.text}")
        session.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"
        return session

    def check_running(self, what):
        """Raise when a process of the stack has exited (naming what was going on)."""
        if self.stack.exited():
            raise RuntimeError(f"processes exited while {what}: {self.stack.exited()}")


@contextlib.contextmanager
def running(database, label, env=None, credits_per_community=500):
    """A started, healthy and seeded System on `database` ("sqlite" or "postgresql")."""
    if database not in DATABASES:
        raise ValueError(f"database must be one of {', '.join(DATABASES)}, not {database!r}")
    run = isolation.run_id()
    workdir = Path(tempfile.mkdtemp(prefix=f"townhall-bench-{run}-"))
    vhost = f"bench-{run}-{label}"
    failed = True
    try:
        with contextlib.ExitStack() as resources:
            uri = resources.enter_context(isolation.vhost(vhost))
            database_url = None
            if database == "postgresql":
                database_url = resources.enter_context(
                    isolation.postgres_databases(f"bench_{run}", DATABASE_SERVICES))
            environment = _environment(uri, workdir, database_url, credits_per_community,
                                       env or {})
            stack = _start(environment, workdir)
            resources.callback(stack.stop)
            demo = _seed(environment, workdir)
            yield System(stack=stack, demo=demo, env=environment, database=database,
                         vhost=vhost, run=run)
            failed = False
    finally:
        if failed:
            _keep_logs(workdir, run)
        shutil.rmtree(workdir, ignore_errors=True)


def _environment(uri, workdir, database_url, credits_per_community, extra):
    env = dict(
        os.environ,
        TOWNHALL_AMQP_URI=uri,
        TOWNHALL_DATA_DIR=str(workdir / "data"),
        # the gateway and every sandbox on ports of this run's own: a `make up` demo keeps its
        **testing.own_ports(),
        TOWNHALL_SEED__COMMUNITY_CREDITS=str(credits_per_community),
        # the demo's communities where it is day now: no quiet hours hold the sampler back
        TOWNHALL_SEED__TIMEZONE=testing.midday_timezone(),
        TOWNHALL_LOG_LEVEL="WARNING",
    )
    env.pop("TOWNHALL_CONFIG", None)
    env.pop("TOWNHALL_DATABASES", None)
    if database_url:
        env["TOWNHALL_DATABASE_URL"] = database_url
    else:
        env.pop("TOWNHALL_DATABASE_URL", None)
    env.update(extra)
    return env


def _start(env, workdir):
    config = configuration.load(environ=env)
    for service in SERVICES:
        if migrate.has_migrations(service):
            migrate.upgrade(service, config)
    run_step([sys.executable, "-m", "servicekit.cli", "declare"], env, "declare queues",
             SEED_TIMEOUT_SECONDS)
    stack = Stack(config, env=env, log_dir=workdir / "logs")
    try:
        stack.start()
        stack.wait_healthy(timeout=HEALTHY_TIMEOUT_SECONDS)
        requests.post(f"{twilio_base_url(config)}/_sandbox/config", json={"callback_delay_ms": 0},
                      timeout=HTTP_TIMEOUT_SECONDS).raise_for_status()
    except BaseException:
        stack.stop()
        raise
    return stack


def _seed(env, workdir):
    demo_path = workdir / "demo.json"
    run_step([sys.executable, "-c", SEED_SCRIPT, str(demo_path)], env, "seed",
             SEED_TIMEOUT_SECONDS)
    return json.loads(demo_path.read_text())


def run_step(argv, env, what, timeout):
    try:
        done = subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        raise BenchTimeout(f"{what}: gave up after {timeout}s") from None
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed ({done.returncode}):\n{done.stdout}{done.stderr}")


def _keep_logs(workdir, run):
    logs = workdir / "logs"
    if logs.is_dir():
        target = FAILED_LOGS / run
        shutil.copytree(logs, target, dirs_exist_ok=True)
        print(f"bench: the processes' logs are kept in {target}", file=sys.stderr)
