"""Holds once made: how a batch of them is settled, released or expired exactly once (one
ledger transaction and one event per payer and outcome, never one per hold), and how a
reservation key that comes back is answered."""

from sqlalchemy import select

from contracts.errors import IdempotencyKeyReused
from services.credits import ledger, store
from services.credits.models import Hold, HoldResolution


def resolve(uow, hold_ids, outcomes, actor):
    """Settle or release holds once each, one transaction per (payer, outcome)."""
    session = uow.session
    holds = session.scalars(
        select(Hold).outerjoin(HoldResolution, HoldResolution.hold_id == Hold.id)
        .where(Hold.id.in_(hold_ids), HoldResolution.hold_id.is_(None))).all()
    groups = {}
    for hold in holds:
        outcome, status, charged = outcomes[hold.id]
        groups.setdefault((hold.organization_id, hold.payer, outcome), []).append(
            (hold, status, hold.amount if charged is None else charged))
    # wallets in one order, so two batches that share some never wait on each other in turn
    for (org, payer, outcome), group in sorted(groups.items(), key=lambda g: g[0]):
        ids = store.accounts(session, org, [payer])
        before = store.balances(session, org, [payer])
        postings = []
        for hold, _status, charged in group:
            postings += (ledger.settle(payer, hold.amount, charged) if outcome == "settled"
                         else ledger.release(payer, hold.amount))
        kind = {"settled": "settle", "released": "release", "expired": "expire"}[outcome]
        txn = store.post(session, org, ids, kind, postings, actor=actor,
                         reason=f"deliveries {outcome}",
                         communication_id=group[0][0].communication_id)
        for hold, _status, charged in group:
            session.add(HoldResolution(hold_id=hold.id, transaction_id=txn.id, outcome=outcome,
                                       charged=charged if outcome == "settled" else 0))
        session.flush()
        after = store.balances(session, org, [payer])
        event = "credits_settled" if outcome == "settled" else "credits_released"
        uow.emit(event, {
            "community_id": group[0][0].community_id, "balance": after[payer]["balance"],
            "wallet": payer, "reason": group[0][1],
            "items": [{"hold_id": h.id, "delivery_id": h.delivery_id,
                       "amount": charged if outcome == "settled" else 0}
                      for h, _s, charged in group]}, organization_id=org)
        store.announce_crossings(uow, org, before, after)


def replayed_reservation(session, existing, community_id, communication_id):
    """The first holds again, when the key comes back for the communication it reserved.
    A redelivered batch may have changed since (a resident stopped texts, the rate card
    moved): the holds made stand, and those of deliveries not sent expire."""
    holds = session.scalars(select(Hold).where(Hold.transaction_id == existing.id)).all()
    if (existing.kind != "reserve" or existing.communication_id != communication_id
            or {h.community_id for h in holds} != {community_id}):
        raise IdempotencyKeyReused(
            f"this key already reserved credits for another send than communication "
            f"{communication_id}", "idempotency_key")
    return reserved(holds)


def reserved(holds):
    return {"total": sum(h.amount for h in holds),
            "holds": [{"hold_id": h.id, "delivery_id": h.delivery_id, "amount": h.amount}
                      for h in holds]}
