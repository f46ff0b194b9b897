"""Idempotency keys of credits on real databases: the migration that takes clients' keys out
of the ledger (SQLite and PostgreSQL), and one key sent at once by one caller many times and
by two callers (PostgreSQL, two processes' worth of concurrency): one answer, never a 500."""

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from nameko.standalone.rpc import ClusterRpcProxy
from sqlalchemy import text

from servicekit import idempotency, migrate
from servicekit.config import database_url
from servicekit.db import create_db_engine
from services.credits.service import CreditsService

BEFORE = "baf2169a54be"
ORG = "org_1"
MASTER = {"actor_type": "staff", "actor_id": "usr_mia", "organization_id": ORG,
          "scopes": {"manage_credits": "*"}}


def _legacy_ledger(conn):
    """A grant and a transfer as the earlier code wrote them: the caller's key in the ledger,
    the transfer's also in idempotency_records."""
    at = datetime(2026, 11, 30, 12, tzinfo=UTC)
    for account, kind, owner in (("acc_p", "purchases", ""), ("acc_w", "wallet", "community:c1"),
                                 ("acc_h", "holds", "community:c1"),
                                 ("acc_w2", "wallet", "community:c2")):
        conn.execute(text("INSERT INTO accounts (id, organization_id, kind, owner, created_at) "
                          "VALUES (:id, :org, :kind, :owner, :at)"),
                     {"id": account, "org": ORG, "kind": kind, "owner": owner, "at": at})
    for txn, kind, key, entries, minutes in (
            ("txn_g", "grant", f"{ORG}:seed:opening:c1", (("acc_p", -500), ("acc_w", 500)), 0),
            ("txn_t", "transfer", f"{ORG}:order:ord_awaited",
             (("acc_w", -1), ("acc_w2", 1)), 5)):
        conn.execute(text(
            "INSERT INTO transactions (id, organization_id, kind, idempotency_key, actor, "
            "reason, created_at) VALUES (:id, :org, :kind, :key, 'seed', 'opening', :at)"),
            {"id": txn, "org": ORG, "kind": kind, "key": key,
             "at": at + timedelta(minutes=minutes)})
        for account, amount in entries:
            conn.execute(text("INSERT INTO entries (transaction_id, account_id, amount) "
                              "VALUES (:t, :a, :n)"), {"t": txn, "a": account, "n": amount})


def test_the_migration_moves_clients_keys_out_of_the_ledger(make_config):
    config = make_config()
    url = database_url(config, "credits")
    create_db_engine(url).dispose()
    command.upgrade(migrate.alembic_config("credits", url), BEFORE)
    engine = create_db_engine(url)
    try:
        with engine.begin() as conn:
            _legacy_ledger(conn)
        migrate.upgrade("credits", config)
        with engine.connect() as conn:
            keys = dict(conn.execute(text("SELECT id, idempotency_key FROM transactions")).all())
            records = conn.execute(text(
                "SELECT scope, key, request_hash, response FROM idempotency_records")).all()
    finally:
        engine.dispose()
    assert keys == {"txn_g": None, "txn_t": None}
    (record,) = records
    assert (record.scope, record.key) == (f"{ORG}:seed", "seed:opening:c1")
    # bound to the grant's request as the service states it, answering the wallet after it
    assert record.request_hash == idempotency.request_hash(
        {"add": ["community:c1", 500, "opening"]})
    assert json.loads(record.response)["available"] == 500


@pytest.mark.parametrize("backend", ["postgres"])
def test_one_key_sent_at_once_answers_one_transfer_per_caller(make_config, container_factory):
    config = make_config()
    migrate.upgrade("credits", config)
    container_factory(CreditsService, config).start()
    other = dict(MASTER, actor_id="usr_max")
    key = f"move-{uuid.uuid4().hex[:6]}"
    with ClusterRpcProxy(config, timeout=30) as cluster:
        for community in ("c1", "c2"):
            cluster.credits.open_wallet(MASTER, ORG, community)
        cluster.credits.add_credits(MASTER, "community:c1", 100, "opening", "opening")
        calls = [cluster.credits.transfer.call_async(caller, "community:c1", "community:c2",
                                                     1, "move", key)
                 for _ in range(6) for caller in (MASTER, other)]
        answers = [call.result() for call in calls]
        wallet = cluster.credits.wallet(MASTER, "community:c2")
    per_caller = {answers[n]["transaction_id"] for n in range(0, len(answers), 2)}, \
        {answers[n]["transaction_id"] for n in range(1, len(answers), 2)}
    assert [len(ids) for ids in per_caller] == [1, 1]
    assert wallet["available"] == 2
