"""The ledger in the database: accounts opened on first use, balanced transactions written
with their entries, balances derived from entries, the organization's settings, and the
wallet-state events (low, negative, recovered) that fire when a balance crosses a line."""

from sqlalchemy import func, insert, select

from servicekit.access import new_id
from servicekit.db import insert_missing, utcnow
from services.credits.ledger import ORGANIZATION, owner_parts
from services.credits.models import (
    Account,
    CreditSettings,
    Entry,
    LedgerTransaction,
    WalletState,
)

WALLET_KINDS = ("wallet", "holds")
ORGANIZATION_KINDS = ("purchases", "usage")


def scoped(organization_id, key):
    return f"{organization_id}:{key}" if key else None


def order_key(order_id):
    return f"order:{order_id}"


def transaction_by_key(session, organization_id, key):
    """The transaction written under a ledger key. Ledger keys are built by Townhall's
    services, never by a client: `reserve:<communication id>` (messaging's hold of a send)
    and `order_key` (a paid order's credits). A caller's Idempotency-Key never becomes one — it is
    kept in idempotency_records under the caller's scope — so no client can name one."""
    if not key:
        return None
    return session.scalars(select(LedgerTransaction).where(
        LedgerTransaction.idempotency_key == scoped(organization_id, key))).first()


def accounts(session, organization_id, owners):
    """Account ids by (owner, kind) for the wallets of `owners` and the organization, opening
    whatever is missing (concurrent openers of one wallet both succeed and see the same)."""
    wanted = [(o, k) for o in dict.fromkeys(owners) for k in WALLET_KINDS] + \
             [(ORGANIZATION, k) for k in ORGANIZATION_KINDS]

    def existing():
        rows = session.execute(select(Account.owner, Account.kind, Account.id).where(
            Account.organization_id == organization_id,
            Account.owner.in_({o for o, _k in wanted}))).all()
        return {(o, k): account_id for o, k, account_id in rows}

    have = existing()
    missing = [{"id": new_id("acc"), "organization_id": organization_id, "kind": k,
                "owner": o, "created_at": utcnow()} for o, k in wanted if (o, k) not in have]
    if missing:
        insert_missing(session, Account.__table__, missing)
        have = existing()
    return {key: have[key] for key in wanted}


def post(session, organization_id, account_ids, kind, postings, *, actor, reason,
         ledger_key=None, communication_id=None, order_id=None):
    """Write one balanced transaction: one entry per account it touches, the sum of the
    postings to that account. A settlement of a batch of holds thus adds two entries, not
    two per hold, so a hot wallet's history — which every balance sums — grows per batch;
    per-hold amounts stay in holds and hold_resolutions. `ledger_key` is one of the
    service's own keys (see `transaction_by_key`), never a caller's Idempotency-Key."""
    txn = LedgerTransaction(id=new_id("txn"), organization_id=organization_id, kind=kind,
                            idempotency_key=scoped(organization_id, ledger_key),
                            actor=actor, reason=reason[:300], communication_id=communication_id,
                            order_id=order_id)
    session.add(txn)
    session.flush()
    amounts = {}
    for p in postings:
        account_id = account_ids[(p.owner, p.kind)]
        amounts[account_id] = amounts.get(account_id, 0) + p.amount
    rows = [{"transaction_id": txn.id, "account_id": account_id, "amount": amount}
            for account_id, amount in amounts.items() if amount]
    if rows:  # one INSERT: entries are never read back as objects in this session
        session.execute(insert(Entry.__table__), rows)
    return txn


def balances(session, organization_id, owners):
    """owner -> {balance, held, available} (owners without accounts have zeros)."""
    rows = session.execute(
        select(Account.owner, Account.kind, func.coalesce(func.sum(Entry.amount), 0))
        .join(Entry, Entry.account_id == Account.id, isouter=True)
        .where(Account.organization_id == organization_id, Account.owner.in_(list(owners)),
               Account.kind.in_(WALLET_KINDS))
        .group_by(Account.owner, Account.kind)).all()
    sums = {(o, k): int(total) for o, k, total in rows}
    found = {}
    for o in owners:
        available, held = sums.get((o, "wallet"), 0), sums.get((o, "holds"), 0)
        found[o] = {"balance": available + held, "held": held, "available": available}
    return found


def wallet_owners(session, organization_id):
    return list(session.scalars(select(Account.owner).distinct().where(
        Account.organization_id == organization_id, Account.owner != ORGANIZATION)))


def settings(session, organization_id):
    row = session.get(CreditSettings, organization_id)
    return row or CreditSettings(organization_id=organization_id, model="community",
                                 floor=None)


def announce_crossings(uow, organization_id, before, after):
    """Emit wallet_balance_low / wallet_went_negative / wallet_recovered for each wallet
    whose available balance crossed its threshold or zero in this unit of work."""
    session = uow.session
    for owner, now in after.items():
        state = session.get(WalletState, (organization_id, owner))
        threshold = state.low_threshold if state else None
        new = ("negative" if now["available"] < 0 else
               "low" if threshold is not None and now["available"] < threshold else "ok")
        old = state.state if state else "ok"
        if new == old:
            continue
        if state is None:
            state = WalletState(organization_id=organization_id, owner=owner, state="ok")
            session.add(state)
        state.state = new
        owner_type, owner_id = owner_parts(owner)
        data = {"wallet": owner, "owner_type": owner_type, "owner_id": owner_id,
                "available": now["available"], "balance": now["balance"],
                "previous_available": before.get(owner, {}).get("available")}
        if new == "negative":
            uow.emit("wallet_went_negative", data, organization_id=organization_id)
        elif new == "low":
            uow.emit("wallet_balance_low", dict(data, threshold=threshold),
                     organization_id=organization_id)
        if new != "negative" and old == "negative":
            uow.emit("wallet_recovered", data, organization_id=organization_id)
    session.flush()


def history(session, organization_id, owner, since):
    """The wallet's transactions since `since` (each with its change to available and held
    credits), and the balance (available + held) just before the first of them."""
    account_ids = dict(session.execute(select(Account.id, Account.kind).where(
        Account.organization_id == organization_id, Account.owner == owner,
        Account.kind.in_(WALLET_KINDS))).all())
    if not account_ids:
        return [], 0
    opening = session.scalar(
        select(func.coalesce(func.sum(Entry.amount), 0))
        .join(LedgerTransaction, LedgerTransaction.id == Entry.transaction_id)
        .where(Entry.account_id.in_(list(account_ids)),
               LedgerTransaction.created_at < since))
    rows = session.execute(
        select(LedgerTransaction, Entry.account_id, Entry.amount)
        .join(Entry, Entry.transaction_id == LedgerTransaction.id)
        .where(Entry.account_id.in_(list(account_ids)), LedgerTransaction.created_at >= since)
        .order_by(LedgerTransaction.created_at, LedgerTransaction.id)).all()
    changes = {}
    for txn, account_id, amount in rows:
        item = changes.setdefault(txn.id, {
            "transaction_id": txn.id, "at": txn.created_at.isoformat(), "kind": txn.kind,
            "available": 0, "held": 0, "actor": txn.actor, "reason": txn.reason,
            "communication_id": txn.communication_id, "order_id": txn.order_id})
        item["available" if account_ids[account_id] == "wallet" else "held"] += amount
    return list(changes.values()), int(opening)


def lock_wallet(session, account_id):
    """Serialize holds and transfers of one wallet so a balance check cannot race
    (PostgreSQL row lock; SQLite has one writer anyway)."""
    session.execute(select(Account.id).where(Account.id == account_id).with_for_update())
