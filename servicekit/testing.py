"""Test helpers: real RabbitMQ and PostgreSQL, isolated per test run.

Configured services come first (RabbitMQ on 127.0.0.1:5672, PostgreSQL on 127.0.0.1:5432,
or TOWNHALL_TEST_AMQP_URI / TOWNHALL_TEST_POSTGRES_URL); testcontainers starts them only
where nothing is configured and a Docker engine exists.
"""

import shutil
import socket
import subprocess
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime
from urllib.parse import quote, urlsplit

DEFAULT_AMQP = "amqp://guest:guest@127.0.0.1:5672/"
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"


class Unavailable(RuntimeError):
    pass


def reachable(url, default_port):
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname, parts.port or default_port), timeout=2):
            return True
    except OSError:
        return False


def docker_available():
    return shutil.which("docker") is not None and subprocess.run(
        ["docker", "info"], capture_output=True, timeout=20).returncode == 0


@contextmanager
def broker(url=DEFAULT_AMQP):
    """A base AMQP URL (without vhost) of a running broker."""
    if reachable(url, 5672):
        yield url.rstrip("/")
        return
    if not docker_available():
        raise Unavailable(f"no RabbitMQ at {url} and no Docker engine to start one")
    from testcontainers.rabbitmq import RabbitMqContainer
    with RabbitMqContainer("rabbitmq:3.13-management") as container:
        yield (f"amqp://guest:guest@{container.get_container_host_ip()}:"
               f"{container.get_exposed_port(5672)}")
        # rabbitmqctl runs inside the container in that case
        return


@contextmanager
def vhost(base_url, name=None):
    """A RabbitMQ vhost of its own, removed afterwards: runs never see each other's messages."""
    name = name or f"townhall-test-{uuid.uuid4().hex[:10]}"
    _rabbitmqctl("add_vhost", name)
    try:
        _rabbitmqctl("set_permissions", "-p", name, _user(base_url), ".*", ".*", ".*")
        yield f"{base_url.rstrip('/')}/{quote(name, safe='')}"
    finally:
        _rabbitmqctl("delete_vhost", name)


def _user(url):
    return urlsplit(url).username or "guest"


def _rabbitmqctl(*args):
    if shutil.which("rabbitmqctl") is None:
        raise Unavailable("rabbitmqctl is needed to create a test vhost")
    done = subprocess.run(["rabbitmqctl", "-q", *args], capture_output=True, text=True,
                          timeout=60)
    if done.returncode != 0:
        raise Unavailable(f"rabbitmqctl {' '.join(args)} failed: {done.stderr.strip()}")


@contextmanager
def postgres(url=DEFAULT_POSTGRES):
    """An admin URL of a running PostgreSQL server."""
    if reachable(url, 5432):
        yield url
        return
    if not docker_available():
        raise Unavailable(f"no PostgreSQL at {url} and no Docker engine to start one")
    from testcontainers.postgres import PostgresContainer
    with PostgresContainer("postgres:16", driver=None) as container:
        yield container.get_connection_url()


class Databases:
    """PostgreSQL databases created for one test run and dropped after it."""

    def __init__(self, admin_url):
        self.admin_url = admin_url
        self.created = []

    def create(self, name):
        self._execute(f'CREATE DATABASE "{name}"')
        self.created.append(name)
        parts = urlsplit(self.admin_url)
        return f"postgresql+psycopg2://{parts.netloc}/{name}"

    def drop_all(self):
        for name in self.created:
            self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.created.clear()

    def _execute(self, sql):
        import psycopg2
        conn = psycopg2.connect(self.admin_url.replace("postgresql+psycopg2://", "postgresql://"))
        conn.autocommit = True
        try:
            with conn.cursor() as cursor:
                cursor.execute(sql)
        finally:
            conn.close()


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def free_ports(count):
    """`count` distinct free ports (two quick probes can be handed the same one)."""
    ports = set()
    for _ in range(count * 20):
        ports.add(free_port())
        if len(ports) == count:
            return sorted(ports)
    raise RuntimeError(f"could not find {count} distinct free ports on 127.0.0.1")


# every address a stack listens on, as configuration names it: a run given its own value
# for each never meets another run, nor a `make up` demo on the default ports
STACK_PORTS = ("gateway.port", "sandbox.twilio_port", "sandbox.smtp_port",
               "sandbox.smtp_api_port", "sandbox.payments_port")


def own_ports():
    """Environment overrides that give a whole stack (gateway and sandboxes) free ports of
    its own, and point the services at those sandboxes and that gateway."""
    ports = dict(zip(STACK_PORTS, free_ports(len(STACK_PORTS)), strict=True))
    env = {"TOWNHALL_" + name.upper().replace(".", "__"): str(port)
           for name, port in ports.items()}
    gateway, twilio = ports["gateway.port"], ports["sandbox.twilio_port"]
    env.update(TOWNHALL_GATEWAY__PUBLIC_URL=f"http://127.0.0.1:{gateway}",
               TOWNHALL_TWILIO__BASE_URL=f"http://127.0.0.1:{twilio}",
               TOWNHALL_SMTP__PORT=str(ports["sandbox.smtp_port"]))
    return env


class EventTap:
    """A queue of a test's own, bound to a service's event exchange for one event type on
    the test's vhost: every such event published while it exists, as the broker carried it
    (a relay that published one twice shows it twice). For counting what really went out,
    e.g. that a scheduled send was handed on once however many instances ran."""

    def __init__(self, amqp_uri, source_service, event_type):
        from kombu import Connection, Queue

        self.connection = Connection(amqp_uri, heartbeat=0)
        self.queue = Queue(f"test-tap-{event_type}-{uuid.uuid4().hex[:8]}", auto_delete=True,
                           durable=False)(self.connection.default_channel)
        self.queue.declare()
        # the exchange exists (every service declares its own at start): bound, not declared
        self.queue.bind_to(exchange=f"{source_service}.events", routing_key=event_type)
        self.seen = []

    def envelopes(self, **data):
        """Every envelope taken so far whose data has these values (all, without any)."""
        while (message := self.queue.get(no_ack=True)) is not None:
            self.seen.append(message.decode())
        return [e for e in self.seen
                if all(e["data"].get(key) == value for key, value in data.items())]

    def close(self):
        try:
            self.queue.delete()
        finally:
            self.connection.release()


def queue_consumers(amqp_uri, queue_name):
    """How many consumers `queue_name` has now (e.g. rpc-<service>: its running instances)."""
    from kombu import Connection

    with Connection(amqp_uri, heartbeat=0) as connection:
        return connection.default_channel.queue_declare(queue_name, passive=True).consumer_count


def memory_database(base):
    """An in-memory SQLite database with a service's tables, for unit tests of services."""
    from sqlalchemy import create_engine
    from sqlalchemy.pool import StaticPool

    from servicekit.db import DatabaseHandle

    engine = create_engine("sqlite://", poolclass=StaticPool,
                           connect_args={"check_same_thread": False})
    base.metadata.create_all(engine)
    return DatabaseHandle(engine, base.metadata)


def outbox_events(handle, event_type=None):
    """The envelopes a unit of work wrote to the outbox, oldest first."""
    import json

    from sqlalchemy import select

    table = handle.metadata.tables["outbox"]
    query = select(table.c.envelope).order_by(table.c.id)
    if event_type:
        query = query.where(table.c.event_type == event_type)
    with handle.engine.connect() as conn:
        return [json.loads(row.envelope) for row in conn.execute(query)]


def wait_until(predicate, timeout=10.0, interval=0.05):
    """Poll until `predicate()` is truthy and answer it; fail after `timeout` seconds."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")


def eventually(fetch, done, timeout=60.0, interval=0.2):
    """Fetch until `done(value)`, and answer that value; fail showing the last one."""
    import time

    deadline = time.monotonic() + timeout
    value = fetch()
    while not done(value) and time.monotonic() < deadline:
        time.sleep(interval)
        value = fetch()
    assert done(value), value
    return value


def midday_timezone(now=None):
    """An IANA zone where it is about noon now, so that no quiet hours (21:00–08:00) hold a
    test's or a bench's texts and calls back whenever it runs (Etc/GMT-N is N hours ahead
    of UTC: POSIX signs)."""
    hour = (now or datetime.now(UTC)).hour
    ahead = 12 - hour  # -11 .. +12
    if ahead == 0:
        return "Etc/UTC"
    return f"Etc/GMT{'-' if ahead > 0 else '+'}{abs(ahead)}"


class LocalHttpServer:
    """An http.server on a free loopback port, served by a thread of its own (plain threads:
    it works under eventlet too), for tests that receive webhooks."""

    def __init__(self, handler_class, host="127.0.0.1"):
        import threading
        from http.server import ThreadingHTTPServer

        self.host = host
        self.server = ThreadingHTTPServer((host, 0), handler_class)
        self.port = self.server.server_address[1]
        # a short poll: close() waits for it, after every test
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,),
                                       daemon=True)
        self.thread.start()

    def url(self, path):
        return f"http://{self.host}:{self.port}{path}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()
