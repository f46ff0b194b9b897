"""Each service's migrations on SQLite and PostgreSQL, and a PostgreSQL driver that lets
other green threads run while a query waits."""

import time

import eventlet
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from nameko.dependency_providers import Config
from nameko.rpc import rpc
from nameko.standalone.rpc import ClusterRpcProxy
from sqlalchemy import text

from servicekit import migrate
from servicekit.config import database_url
from servicekit.db import create_db_engine, make_base
from servicekit.providers import Database
from servicekit.topology import load_service_class

SERVICES = ("directory", "consent", "credits", "messaging", "tickets", "reports")


@pytest.mark.parametrize("service", SERVICES)
def test_migrations_build_exactly_the_models(make_config, service):
    config = make_config()
    migrate.upgrade(service, config)
    migrate.upgrade(service, config)  # a second run is a no-op
    metadata = load_service_class(service).db.base.metadata
    engine = create_db_engine(database_url(config, service))
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), metadata)
    finally:
        engine.dispose()
    assert diff == [], f"{service}: models and migrations differ: {diff}"


SlowBase = make_base()


class Slow:
    name = "slow"
    config = Config()
    db = Database(SlowBase, relay=False)

    @rpc
    def sleep(self, seconds):
        with self.db.read() as session:
            session.execute(text("SELECT pg_sleep(:s)"), {"s": seconds})
        return seconds


@pytest.mark.parametrize("backend", ["postgres"])
def test_two_slow_queries_of_one_service_overlap(make_config, container_factory):
    config = make_config()
    container_factory(Slow, config).start()
    with ClusterRpcProxy(config, timeout=10) as cluster:
        cluster.slow.sleep(0)  # warm up: connection pool and reply queue
        started = time.monotonic()
        replies = [cluster.slow.sleep.call_async(1.0) for _ in range(2)]
        assert [r.result() for r in replies] == [1.0, 1.0]
        elapsed = time.monotonic() - started
    # blocking psycopg2 would serialise them: 2 s or more
    assert elapsed < 1.6, f"queries did not overlap: {elapsed:.2f}s"


def test_the_hub_keeps_running_during_a_postgres_query(postgres_admin):
    url = postgres_admin.create(f"th_green_{int(time.time() * 1000)}")
    engine = create_db_engine(url)
    ticks = []

    def tick():
        for _ in range(10):
            ticks.append(time.monotonic())
            eventlet.sleep(0.05)

    try:
        ticker = eventlet.spawn(tick)
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_sleep(0.5)"))
        ticker.wait()
    finally:
        engine.dispose()
    assert len(ticks) == 10 and ticks[-1] - ticks[0] < 0.9
