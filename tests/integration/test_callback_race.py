"""A status callback that comes while its send is being recorded. Each transaction writes
what the other must read (the provider id; the callback), so without an order between them
both can miss the other and the delivery waits for the sweeper. On PostgreSQL the recording
is held open here after it wrote the provider id, while the callback is applied: the
callback must wait for it and then move the delivery. (SQLite has one writer at a time.)"""

import time

import eventlet
import pytest
from sqlalchemy import event

from servicekit import migrate
from servicekit.config import database_url
from servicekit.db import DatabaseHandle, create_db_engine, utcnow
from servicekit.postgres import make_green
from services.messaging import callbacks, dispatching, recording
from services.messaging.models import Base, Communication, Delivery
from services.messaging.retries import RetryPolicy

HELD_SECONDS = 1.0


class Providers:
    providers = {}


@pytest.mark.parametrize("backend", ["postgres"])
def test_a_callback_during_the_recording_of_its_send_moves_the_delivery(make_config):
    config = make_config()
    migrate.upgrade("messaging", config)
    make_green()
    engine = create_db_engine(database_url(config, "messaging"))
    try:
        _race(DatabaseHandle(engine, Base.metadata))
    finally:
        engine.dispose()      # its connections go back to the server's limited pool


def _race(db):
    communication = _sending(db)
    held = {}

    def hold_the_first_commit(session):
        if eventlet.getcurrent() is held.get("thread") and not held.get("held"):
            held["held"] = True
            eventlet.sleep(HELD_SECONDS)   # the provider id is written, not yet committed

    event.listen(db.sessions, "before_commit", hold_the_first_commit)
    attempt = dispatching.Attempt("dlv_1", provider_id="SM1", status="sending")
    held["thread"] = eventlet.spawn(recording.record, db, Providers(), communication,
                                         [attempt], RetryPolicy())
    deadline = time.monotonic() + 10      # a loaded machine takes its time to get there
    while not held.get("held") and time.monotonic() < deadline:
        eventlet.sleep(0.01)
    assert held.get("held"), "the recording did not reach its commit"
    with db.unit_of_work() as uow:
        callbacks.apply_statuses(uow, [{"provider_id": "SM1", "status": "delivered"}],
                                 Providers())
    held["thread"].wait()

    with db.read() as session:
        assert session.get(Delivery, "dlv_1").status == "delivered"


def _sending(db):
    now = utcnow()
    with db.unit_of_work() as uow:
        communication = Communication(
            id="cmm_1", organization_id="org_1", community_id="com_1", kind="announcement",
            channels=["sms"], category_id="cat_1", body="Water off at noon",
            created_by="key_1", identity={}, status="sending")
        uow.session.add(communication)
        uow.session.flush()
        uow.session.add(Delivery(
            id="dlv_1", communication_id="cmm_1", resident_id="res_1", channel="sms",
            address="+15551230001", status="sending", segments=1, credits=1, attempts=1,
            sending_since=now, first_attempt_at=now))
    return communication
