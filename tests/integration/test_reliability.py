"""The outbox, the relay, consumer dedupe, dead-lettering and correlation ids, on a real
RabbitMQ vhost and on SQLite and PostgreSQL."""


import eventlet
import pytest
from kombu import Connection
from nameko.dependency_providers import Config
from nameko.rpc import rpc
from nameko.standalone.events import get_event_exchange
from nameko.standalone.rpc import ClusterRpcProxy
from sqlalchemy import String, select
from sqlalchemy.orm import Mapped, mapped_column

from contracts.errors import InvalidRequest
from contracts.events import envelope
from servicekit import deadletters, topology
from servicekit.config import database_url
from servicekit.consumers import dead_letter_queue, on_event
from servicekit.db import DatabaseHandle, create_db_engine, make_base
from servicekit.providers import Database
from servicekit.testing import wait_until
from servicekit.tracing import Tracing, current_correlation_id

POISON_FAILS = {"now": True}  # a handler bug, "fixed" by a test before replaying
EmitterBase = make_base()
ListenerBase = make_base()


class Thing(EmitterBase):
    __tablename__ = "things"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)


class Seen(ListenerBase):
    __tablename__ = "seen"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(40))
    event_correlation_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    worker_correlation_id: Mapped[str | None] = mapped_column(String(64), nullable=True)


def community(name):
    return {"community_id": name, "organization_id": "org_1", "name": name}


class Emitter:
    name = "emitter"
    config = Config()
    db = Database(EmitterBase)
    tracing = Tracing()

    @rpc
    def make(self, name, fail=False):
        with self.db.unit_of_work() as uow:
            uow.session.add(Thing(name=name))
            uow.emit("community_created", community(name), organization_id="org_1")
            if fail:
                raise InvalidRequest("failing on purpose", "fail")


class Listener:
    name = "listener"
    config = Config()
    db = Database(ListenerBase, relay=False)
    tracing = Tracing()

    @on_event("directory", "community_created")
    def remember(self, event, uow):
        if event.data["name"].startswith("poison") and POISON_FAILS["now"]:
            raise RuntimeError("cannot digest " + event.data["name"])
        uow.session.add(Seen(name=event.data["name"], event_correlation_id=event.correlation_id,
                             worker_correlation_id=current_correlation_id()))


def prepare(config, *bases_by_service):
    for service, base in bases_by_service:
        engine = create_db_engine(database_url(config, service))
        base.metadata.create_all(engine)
        engine.dispose()


def seen(config):
    engine = create_db_engine(database_url(config, "listener"))
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(
                select(Seen.name, Seen.event_correlation_id, Seen.worker_correlation_id))]
    finally:
        engine.dispose()


@pytest.fixture
def config(make_config):
    config = make_config()
    prepare(config, ("emitter", EmitterBase), ("listener", ListenerBase))
    topology.declare_all(config, topology.event_subscriptions(Listener))
    return config


def test_no_event_for_a_rolled_back_change(config, container_factory):
    for cls in (Emitter, Listener):
        container_factory(cls, config).start()
    with ClusterRpcProxy(config, timeout=10) as cluster:
        with pytest.raises(InvalidRequest):
            cluster.emitter.make("rolled-back", fail=True)
        cluster.emitter.make("committed")
    wait_until(lambda: seen(config))
    eventlet.sleep(0.3)
    assert [name for name, *_ in seen(config)] == ["committed"]


def test_a_committed_event_arrives_after_the_relay_was_down(config, container_factory):
    container_factory(Listener, config).start()
    # committed while no relay runs (the emitter is down)
    handle = DatabaseHandle(create_db_engine(database_url(config, "emitter")),
                            EmitterBase.metadata)
    with handle.unit_of_work() as uow:
        uow.emit("community_created", community("while-down"), organization_id="org_1")
    eventlet.sleep(0.5)
    assert seen(config) == []
    container_factory(Emitter, config).start()  # its relay starts with it
    assert [name for name, *_ in wait_until(lambda: seen(config))] == ["while-down"]


def test_an_event_published_before_its_consumer_started_is_not_lost(config, container_factory):
    container_factory(Emitter, config).start()
    with ClusterRpcProxy(config, timeout=10) as cluster:
        cluster.emitter.make("early")
    eventlet.sleep(0.5)  # relayed by now, into the queue declared at deploy time
    container_factory(Listener, config).start()
    assert [name for name, *_ in wait_until(lambda: seen(config))] == ["early"]


def test_a_redelivered_event_has_no_second_effect(config, container_factory):
    container_factory(Listener, config).start()
    env = envelope("community_created", community("twice"), organization_id="org_1")
    with Connection(config["AMQP_URI"]) as conn:
        producer = conn.Producer(serializer="json")
        exchange = get_event_exchange("directory", config)
        for _ in range(2):
            producer.publish(env, exchange=exchange, routing_key="community_created",
                             declare=[exchange])
    wait_until(lambda: seen(config))
    eventlet.sleep(0.5)
    assert [name for name, *_ in seen(config)] == ["twice"]


def test_a_failing_handler_is_retried_then_parked_not_dropped(config, container_factory):
    container_factory(Listener, config).start()
    env = envelope("community_created", community("poison-1"), organization_id="org_1")
    with Connection(config["AMQP_URI"]) as conn:
        exchange = get_event_exchange("directory", config)
        conn.Producer(serializer="json").publish(env, exchange=exchange,
                                                 routing_key="community_created",
                                                 declare=[exchange])
        dead = dead_letter_queue("evt-directory-community_created--listener.remember")
        message = wait_until(lambda: dead(conn.default_channel).get(no_ack=False))
        assert message.payload["event_id"] == env["event_id"]
        assert "cannot digest poison-1" in message.headers["x-townhall-error"]
        message.ack()
    assert seen(config) == []


def test_one_correlation_id_travels_through_rpc_and_events(config, container_factory):
    for cls in (Emitter, Listener):
        container_factory(cls, config).start()
    with ClusterRpcProxy(config, timeout=10,
                         context_data={"correlation_id": "corr-1234"}) as cluster:
        cluster.emitter.make("traced")
    ((name, event_cid, worker_cid),) = wait_until(lambda: seen(config))
    assert (name, event_cid, worker_cid) == ("traced", "corr-1234", "corr-1234")


def test_a_parked_event_is_replayed_once_the_cause_is_fixed(config, container_factory):
    container_factory(Listener, config).start()
    env = envelope("community_created", community("poison-2"), organization_id="org_1")
    queue = "evt-directory-community_created--listener.remember"
    with Connection(config["AMQP_URI"]) as conn:
        exchange = get_event_exchange("directory", config)
        conn.Producer(serializer="json").publish(env, exchange=exchange,
                                                 routing_key="community_created",
                                                 declare=[exchange])
        wait_until(lambda: _depth(conn, queue + ".dead"))
        POISON_FAILS["now"] = False
        try:
            assert deadletters.replay(conn, queue) == 1
            assert [name for name, *_ in wait_until(lambda: seen(config))] == ["poison-2"]
        finally:
            POISON_FAILS["now"] = True
        assert _depth(conn, queue + ".dead") == 0


def _depth(conn, queue):
    _name, count, _consumers = conn.default_channel.queue_declare(queue, passive=True)
    return count
