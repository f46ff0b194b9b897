"""The scheduler's claim on PostgreSQL with several instances at once: each due send is handed
on by exactly one of them, with exactly one `communication_accepted` in the outbox, however
their transactions overlap; and a claim that dies before its commit leaves its sends due, to
go once, late. Each claimer has a connection of its own and holds its transaction open a
moment before committing, so the others run while its rows are locked."""

import eventlet
import pytest
from sqlalchemy import event, func, select

from servicekit import migrate
from servicekit.config import database_url
from servicekit.db import DatabaseHandle, create_db_engine, utcnow
from servicekit.postgres import make_green
from servicekit.testing import outbox_events
from services.messaging import scheduling
from services.messaging.models import Base, Communication

CLAIMERS = 6
DUE = 40
HELD_SECONDS = 0.1


@pytest.fixture
def db(make_config):
    config = make_config()
    migrate.upgrade("messaging", config)
    make_green()
    engine = create_db_engine(database_url(config, "messaging"), pool_size=CLAIMERS)
    try:
        yield DatabaseHandle(engine, Base.metadata)
    finally:
        engine.dispose()      # its connections go back to the server's limited pool


# who scheduled them, as intake keeps it (communication_accepted names the sender)
SENDER = {"actor_type": "api_key", "actor_id": "key_1", "organization_id": "org_1",
          "name": "Demo key"}


def scheduled(db, count):
    """`count` scheduled sends, due now."""
    moment = utcnow()
    with db.unit_of_work() as uow:
        for n in range(count):
            uow.session.add(Communication(
                id=f"cmm_{n:03}", organization_id="org_1", community_id="com_1",
                kind="announcement", channels=["sms"], category_id="cat_1",
                body="Water off at noon", created_by="key_1", identity=SENDER,
                status="scheduled", audience_size=1, send_at=moment))
    return [f"cmm_{n:03}" for n in range(count)]


@pytest.mark.parametrize("backend", ["postgres"])
def test_concurrent_claims_hand_each_due_send_on_once(db, monkeypatch):
    ids = scheduled(db, DUE)
    scheduled_later = scheduled_elsewhere(db)
    monkeypatch.setattr(scheduling, "FIRE_BATCH", 5)    # many claims, so they overlap

    def hold_open(session):
        eventlet.sleep(HELD_SECONDS)    # the claim is made and locked, not yet committed

    event.listen(db.sessions, "before_commit", hold_open)
    claimed = {n: [] for n in range(CLAIMERS)}

    def claimer(n):
        while (count := scheduling.fire_due(db)):
            claimed[n].append(count)

    pool = eventlet.GreenPool(CLAIMERS)
    for n in range(CLAIMERS):
        pool.spawn(claimer, n)
    pool.waitall()
    event.remove(db.sessions, "before_commit", hold_open)

    assert sum(sum(counts) for counts in claimed.values()) == DUE
    assert sum(1 for counts in claimed.values() if counts) > 1, \
        f"the claims did not overlap: {claimed}"
    accepted = [e["data"]["communication_id"]
                for e in outbox_events(db, "communication_accepted")]
    assert sorted(accepted) == ids                   # one event each, none twice
    with db.read() as session:
        statuses = dict(session.execute(select(Communication.status, func.count())
                                        .group_by(Communication.status)).all())
        assert session.get(Communication, scheduled_later).status == "scheduled"
    assert statuses == {"accepted": DUE, "scheduled": 1}


def scheduled_elsewhere(db):
    """One more, not due for a year: no claim takes it."""
    with db.unit_of_work() as uow:
        moment = utcnow()
        uow.session.add(Communication(
            id="cmm_later", organization_id="org_1", community_id="com_1",
            kind="announcement", channels=["sms"], category_id="cat_1", body="Next year",
            created_by="key_1", identity=SENDER, status="scheduled", audience_size=1,
            send_at=moment.replace(year=moment.year + 1)))
    return "cmm_later"


@pytest.mark.parametrize("backend", ["postgres"])
def test_a_claim_that_dies_before_its_commit_leaves_the_sends_due_to_go_once(db):
    ids = scheduled(db, 3)

    def crash(session):
        raise RuntimeError("the process died before the commit")

    event.listen(db.sessions, "before_commit", crash)
    with pytest.raises(RuntimeError):
        scheduling.fire_due(db)
    event.remove(db.sessions, "before_commit", crash)
    assert outbox_events(db, "communication_accepted") == []
    with db.read() as session:
        assert {session.get(Communication, i).status for i in ids} == {"scheduled"}

    assert scheduling.fire_due(db) == 3           # late, once
    assert scheduling.fire_due(db) == 0
    accepted = [e["data"]["communication_id"]
                for e in outbox_events(db, "communication_accepted")]
    assert sorted(accepted) == ids
