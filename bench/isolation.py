"""Throw-away resources for one bench run: RabbitMQ vhosts and PostgreSQL databases (ports of
its own come from servicekit.testing.own_ports, as the end-to-end tests get theirs).

Everything is on loopback and removed again when the `with` block ends, also on error.
"""

import contextlib
import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

HOST = "127.0.0.1"
RABBITMQ_USER = "guest"
POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
RABBITMQCTL_TIMEOUT_SECONDS = 30


def run_id():
    """A short id naming this run's vhosts and databases, so parallel runs do not meet."""
    return f"{os.getpid()}_{uuid.uuid4().hex[:6]}"


def amqp_uri(vhost):
    return f"amqp://guest:guest@{HOST}:5672/{vhost}"


def _rabbitmqctl(*args):
    result = subprocess.run(["rabbitmqctl", *args], capture_output=True, text=True,
                            timeout=RABBITMQCTL_TIMEOUT_SECONDS)
    if result.returncode != 0:
        raise RuntimeError(f"rabbitmqctl {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout


def queue_consumers(name):
    """{queue: consumers} of every queue of the vhost `name`."""
    listing = _rabbitmqctl("list_queues", "-q", "--no-table-headers", "-p", name, "name",
                           "consumers")
    found = {}
    for line in listing.splitlines():
        queue, _, consumers = line.rpartition("\t")
        if queue:
            found[queue] = int(consumers)
    return found


@contextlib.contextmanager
def vhost(name):
    """A fresh vhost the guest user may use fully; deleted (with its queues) afterwards."""
    _rabbitmqctl("add_vhost", name)
    try:
        _rabbitmqctl("set_permissions", "-p", name, RABBITMQ_USER, ".*", ".*", ".*")
        yield amqp_uri(name)
    finally:
        _rabbitmqctl("delete_vhost", name)


@contextlib.contextmanager
def postgres_databases(prefix, services):
    """One empty database per service, `<prefix>_<service>`; dropped afterwards.

    Yields the TOWNHALL_DATABASE_URL template with `{service}` left in place.
    """
    import psycopg2

    names = [f"{prefix}_{service}" for service in services]
    admin = psycopg2.connect(POSTGRES_ADMIN_URL)
    admin.autocommit = True
    created = []
    try:
        with admin.cursor() as cursor:
            for name in names:
                cursor.execute(f'CREATE DATABASE "{name}"')
                created.append(name)
        yield f"postgresql+psycopg2://postgres@{HOST}:5432/{prefix}_{{service}}"
    finally:
        with admin.cursor() as cursor:
            for name in created:
                cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@contextlib.contextmanager
def service_database(kind, service, label):
    """The URL of one service's database made for a bench phase: a PostgreSQL database
    created and dropped again, or an SQLite file in a temporary folder."""
    if kind == "postgresql":
        with postgres_databases(f"bench_{run_id()}_{label}", [service]) as url:
            yield url.replace("{service}", service)
        return
    folder = Path(tempfile.mkdtemp(prefix=f"townhall-bench-{label}-"))
    try:
        yield f"sqlite:///{folder}/{service}.sqlite3"
    finally:
        shutil.rmtree(folder, ignore_errors=True)
