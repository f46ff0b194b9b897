"""A STOP arriving while deliveries are being checked: every `check` that starts after the
STOP's transaction committed answers keyword_stop; those before may answer either. The real
consent and directory services run on a broker vhost and databases of their own; the STOP
comes in as the gateway publishes it, and a watcher reading consent's database sees the
moment it is recorded."""

import time

import eventlet
import pytest
from kombu import Connection
from nameko.standalone.events import get_event_exchange
from nameko.standalone.rpc import ClusterRpcProxy
from sqlalchemy import select

from contracts.events import envelope
from servicekit import migrate
from servicekit.config import database_url
from servicekit.db import create_db_engine
from services.consent.models import KeywordEvent
from services.consent.service import ConsentService
from services.directory.service import DirectoryService

PHONE = "+15557654321"
CHECKERS = 4
BEFORE_STOP_SECONDS = 1.0
AFTER_STOP_SECONDS = 1.5
SPEC = {"slug": "race", "name": "Race Row Homes", "api_key_permissions": [],
        "offices": [{"name": "Race office", "communities": [
            {"name": "Race Row", "residents": [
                {"name": "Stella Stop", "unit": "1", "phone": PHONE,
                 "email": "stella@example.com"}]}]}]}


@pytest.mark.parametrize("backend", ["postgres", "sqlite"])
def test_a_stop_wins_over_every_check_that_starts_after_it(make_config, container_factory):
    config = make_config(max_workers=CHECKERS + 2)
    for service in ("directory", "consent"):
        migrate.upgrade(service, config)
    container_factory(DirectoryService, config).start()
    container_factory(ConsentService, config).start()
    with ClusterRpcProxy(config, timeout=20) as cluster:
        demo = cluster.directory.seed_demo(SPEC)
        org = demo["organization_id"]
        seeder = {"actor_type": "system", "actor_id": "test", "organization_id": org,
                  "permissions": ["*"]}
        category = cluster.consent.create_category(seeder, org, "News", "opt_in")["id"]
        (resident,) = demo["residents"]
    recipient = {"resident_id": resident["id"], "has_contact_point": True, "address": PHONE}

    answers, stop = [], {"seen_at": None}
    finish = time.monotonic() + BEFORE_STOP_SECONDS + AFTER_STOP_SECONDS + 10

    def check_in_a_loop():
        with ClusterRpcProxy(config, timeout=20) as rpc:
            while time.monotonic() < finish and not _enough_after(stop, answers):
                started = time.monotonic()
                (decision,) = rpc.consent.check(seeder, category, "sms", [recipient])
                answers.append((started, decision["allowed"], decision["reason"]))

    def watch_for_the_stop():
        engine = create_db_engine(database_url(config, "consent"))
        try:
            with engine.connect() as conn:
                while time.monotonic() < finish:
                    found = conn.execute(select(KeywordEvent.id)).first()
                    conn.rollback()   # a fresh snapshot on every look
                    if found:
                        stop["seen_at"] = time.monotonic()
                        return
                    eventlet.sleep(0.001)
        finally:
            engine.dispose()

    pool = eventlet.GreenPool(CHECKERS + 1)
    for _ in range(CHECKERS):
        pool.spawn(check_in_a_loop)
    eventlet.sleep(BEFORE_STOP_SECONDS)
    pool.spawn(watch_for_the_stop)
    _text(config, "STOP")
    pool.waitall()

    assert stop["seen_at"] is not None, "the STOP was never recorded"
    before = [a for a in answers if a[0] < stop["seen_at"]]
    after = [a for a in answers if a[0] > stop["seen_at"]]
    # the race really ran: checks on both sides of the commit, allowed before it
    assert any(allowed for _, allowed, _ in before), before[-5:]
    assert len(after) >= 20, f"only {len(after)} checks after the stop"
    late = [a for a in after if a[1:] != (False, "keyword_stop")]
    assert not late, f"{len(late)} of {len(after)} checks after the STOP let a text through"


def _enough_after(stop, answers):
    seen = stop["seen_at"]
    return (seen is not None and time.monotonic() > seen + AFTER_STOP_SECONDS
            and sum(1 for a in answers if a[0] > seen) >= 20)


def _text(config, body):
    env = envelope("text_received", {"provider": "twilio", "provider_id": "SMrace1",
                                     "from_number": PHONE,
                                     "to_number": config["twilio"]["from_number"],
                                     "body": body})
    with Connection(config["AMQP_URI"]) as conn:
        exchange = get_event_exchange("gateway", config)
        conn.Producer(serializer="json").publish(env, exchange=exchange,
                                                 routing_key="text_received",
                                                 declare=[exchange])
