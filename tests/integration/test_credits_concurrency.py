"""Several workers opening and paying into the same new wallet at once, on both databases;
fifty simultaneous holds on one wallet and their duplicated settlements, on PostgreSQL."""

import eventlet
import pytest
from amqp.exceptions import ChannelError
from kombu import Connection
from nameko.standalone.events import get_event_exchange
from nameko.standalone.rpc import ClusterRpcProxy
from sqlalchemy import func, select

from contracts.errors import InsufficientCredits
from contracts.events import envelope
from servicekit import migrate
from servicekit.config import database_url
from servicekit.consumers import DEAD_SUFFIX
from servicekit.db import create_db_engine
from servicekit.testing import wait_until
from services.credits.models import Account, Base, Entry, Hold, HoldResolution, LedgerTransaction
from services.credits.service import CreditsService

SEEDER = {"actor_type": "system", "actor_id": "test", "organization_id": "org_1",
          "permissions": ["*"]}


def test_concurrent_first_uses_of_a_wallet_all_succeed(make_config, container_factory):
    config = make_config()
    migrate.upgrade("credits", config)
    container_factory(CreditsService, config).start()
    with ClusterRpcProxy(config, timeout=20) as cluster:
        calls = [cluster.credits.grant.call_async(SEEDER, "org_1", "com_new", 5, "top-up",
                                                  f"grant-{n}") for n in range(8)]
        calls += [cluster.credits.open_wallet.call_async(SEEDER, "org_1", "com_new")
                  for _ in range(4)]
        for call in calls:
            call.result()
        wallet = cluster.credits.get_wallet(SEEDER, "com_new")
    assert wallet == {"community_id": "com_new", "balance": 40, "held": 0, "available": 40}


HOLDS = 50
CREDITS = 30
INSTANCES = 2                      # two credits processes competing for the same queues
HOLDS_PER_EVENT = 10
SETTLE_QUEUE = "evt-messaging-deliveries_updated--credits.resolve_holds"
SENDER = {"actor_type": "api_key", "actor_id": "key_1", "organization_id": "org_1",
          "permissions": ["send_communications", "view_reports"]}


@pytest.mark.parametrize("backend", ["postgres"])
def test_fifty_simultaneous_holds_on_one_wallet_end_exactly_right(make_config,
                                                                   container_factory):
    """30 credits, a floor of 0 and 50 holds of 1 credit at once: exactly 30 are held and 20
    refused; then every batch of holds is settled by three events at once — one delivered
    twice by the broker, one a second event about the same deliveries — and each hold is
    charged exactly once."""
    config = make_config(max_workers=HOLDS // INSTANCES,
                         consumers={"retry_delays_seconds": [0.05, 0.1, 0.2, 0.4]})
    migrate.upgrade("credits", config)
    for _ in range(INSTANCES):
        container_factory(CreditsService, config).start()
    with ClusterRpcProxy(config, timeout=30) as cluster:
        credits = cluster.credits
        credits.change_settings(SEEDER, {"model": "community", "floor": 0})
        credits.grant(SEEDER, "org_1", "com_hot", CREDITS, "opening", "grant-hot")
        calls = [credits.reserve.call_async(SENDER, "com_hot", f"cmm_{n}",
                                            [{"delivery_id": f"dlv_{n}", "amount": 1}],
                                            f"reserve:cmm_{n}") for n in range(HOLDS)]
        held, refused = [], []
        for call in calls:
            try:
                held += call.result()["holds"]
            except InsufficientCredits as exc:
                refused.append(exc)
        assert (len(held), len(refused)) == (CREDITS, HOLDS - CREDITS)
        assert all(exc.field == "credits" and "floor of 0" in exc.detail for exc in refused)
        assert credits.get_wallet(SENDER, "com_hot") == {
            "community_id": "com_hot", "balance": CREDITS, "held": CREDITS, "available": 0}
        assert _ledger(config)["unbalanced"] == 0

        events = []
        for start in range(0, len(held), HOLDS_PER_EVENT):
            batch = held[start:start + HOLDS_PER_EVENT]
            first = _delivered(batch)
            events += [first, first, _delivered(batch)]
        with Connection(config["AMQP_URI"]) as conn:
            producer = conn.Producer(serializer="json")
            exchange = get_event_exchange("messaging", config)
            for env in events:
                producer.publish(env, exchange=exchange, routing_key="deliveries_updated",
                                 declare=[exchange])
            distinct = len({env["event_id"] for env in events})
            wait_until(lambda: _ledger(config)["events_processed"] == distinct, timeout=20)
            eventlet.sleep(0.5)  # let a duplicate still retrying finish: it must change nothing
            assert _parked(conn, SETTLE_QUEUE) == 0

        assert credits.get_wallet(SENDER, "com_hot") == {
            "community_id": "com_hot", "balance": 0, "held": 0, "available": 0}
        for hold in held:
            communication_id = "cmm_" + hold["delivery_id"].removeprefix("dlv_")
            assert credits.get_holds(SENDER, communication_id) == {
                "held": 0, "charged": 1, "released": 0}
    ledger = _ledger(config)
    # events that queue up together settle in one ledger transaction: at most one per event
    assert 1 <= ledger.pop("settlements") <= len(held) // HOLDS_PER_EVENT
    assert ledger == {"unbalanced": 0, "holds": CREDITS, "resolutions": CREDITS,
                      "usage": CREDITS, "events_processed": distinct}


def _delivered(holds):
    return envelope("deliveries_updated", {
        "communication_id": "cmm_many", "community_id": "com_hot",
        "items": [{"delivery_id": h["delivery_id"], "resident_id": "res_1", "channel": "sms",
                   "status": "delivered", "previous_status": "sent", "reason": None,
                   "error_code": None, "credits": h["amount"], "hold_id": h["hold_id"]}
                  for h in holds]}, organization_id="org_1")


def _ledger(config):
    """What the credits database holds, counted directly."""
    engine = create_db_engine(database_url(config, "credits"))
    processed = Base.metadata.tables["processed_events"]
    try:
        with engine.connect() as conn:
            return {
                "unbalanced": conn.scalar(select(func.count()).select_from(
                    select(Entry.transaction_id).group_by(Entry.transaction_id)
                    .having(func.sum(Entry.amount) != 0).subquery())),
                "holds": conn.scalar(select(func.count()).select_from(Hold)),
                "resolutions": conn.scalar(select(func.count()).select_from(HoldResolution)),
                "usage": conn.scalar(
                    select(func.coalesce(func.sum(Entry.amount), 0))
                    .join(Account, Account.id == Entry.account_id)
                    .where(Account.kind == "usage")),
                "settlements": conn.scalar(select(func.count()).select_from(LedgerTransaction)
                                           .where(LedgerTransaction.kind == "settle")),
                "events_processed": conn.scalar(select(func.count()).select_from(processed)
                                                .where(processed.c.handler.like(
                                                    "%resolve_holds"))),
            }
    finally:
        engine.dispose()


def _parked(conn, queue):
    """Messages in the queue's dead-letter queue (none if it was never declared)."""
    try:
        _name, count, _consumers = conn.channel().queue_declare(queue + DEAD_SUFFIX,
                                                                passive=True)
    except ChannelError:
        return 0
    return count
