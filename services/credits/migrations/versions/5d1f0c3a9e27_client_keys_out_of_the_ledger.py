"""client keys out of the ledger

The ledger's idempotency_key column now holds only keys Townhall builds itself
(`<org>:reserve:<communication id>`, `<org>:order:<order id>`). Grants and transfers used to
write the caller's Idempotency-Key there too, where a client could spell an internal key. Their
keys leave the column: a transfer's is already kept in idempotency_records (under its caller);
a grant's is copied there — scope `<org>:<actor>`, bound to the request it came with, answering
the wallet as it stood after the grant — so a replay (a seed run again) still adds nothing.

Revision ID: 5d1f0c3a9e27
Revises: baf2169a54be
Create Date: 2026-12-02 14:30:00.000000

"""
import hashlib
import json
from datetime import datetime, timezone
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '5d1f0c3a9e27'
down_revision: Union[str, None] = 'baf2169a54be'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def _digest(request):
    # as servicekit.idempotency.request_hash does (copied: a migration never changes)
    canonical = json.dumps(request, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _wallet_after(conn, organization_id, wallet, created_at):
    sums = dict(conn.execute(sa.text(
        "SELECT a.kind, COALESCE(SUM(e.amount), 0) FROM accounts a "
        "JOIN entries e ON e.account_id = a.id JOIN transactions t ON t.id = e.transaction_id "
        "WHERE a.organization_id = :org AND a.owner = :owner AND t.created_at <= :at "
        "GROUP BY a.kind"), {"org": organization_id, "owner": wallet, "at": created_at}).all())
    available, held = int(sums.get("wallet", 0)), int(sums.get("holds", 0))
    kind, _, owner_id = wallet.partition(":")
    frozen = False
    if kind == "user":
        holds = conn.execute(sa.text("SELECT holds_send_sms FROM credit_holders "
                                     "WHERE staff_user_id = :id"), {"id": owner_id}).scalar()
        frozen = holds is not None and not holds
    return {"wallet": wallet, "owner_type": kind, "owner_id": owner_id or None,
            "balance": available + held, "held": held, "available": available,
            "frozen": frozen}


def upgrade() -> None:
    conn = op.get_bind()
    grants = conn.execute(sa.text(
        "SELECT t.id, t.organization_id, t.idempotency_key, t.actor, t.reason, t.created_at, "
        "a.owner, e.amount FROM transactions t "
        "JOIN entries e ON e.transaction_id = t.id "
        "JOIN accounts a ON a.id = e.account_id AND a.kind = 'wallet' "
        "WHERE t.kind = 'grant' AND t.idempotency_key IS NOT NULL")).all()
    for row in grants:
        scope = f"{row.organization_id}:{row.actor}"
        key = row.idempotency_key[len(row.organization_id) + 1:]
        known = conn.execute(sa.text("SELECT 1 FROM idempotency_records "
                                     "WHERE scope = :scope AND key = :key"),
                             {"scope": scope, "key": key}).first()
        if known:
            continue
        response = _wallet_after(conn, row.organization_id, row.owner, row.created_at)
        conn.execute(sa.text(
            "INSERT INTO idempotency_records (scope, key, request_hash, response, created_at) "
            "VALUES (:scope, :key, :hash, :response, :at)"), {
                "scope": scope, "key": key,
                "hash": _digest({"add": [row.owner, row.amount, row.reason]}),
                "response": json.dumps(response),
                "at": row.created_at or datetime.now(timezone.utc)})
    conn.execute(sa.text("UPDATE transactions SET idempotency_key = NULL "
                         "WHERE kind IN ('grant', 'transfer')"))


def downgrade() -> None:
    # the keys stay in idempotency_records, where the earlier code also looks for transfers
    pass
