"""Holds once made: how a batch of them is settled, released or expired exactly once (one
ledger transaction and one event per payer and outcome, never one per hold), how a
reservation key that comes back is answered, and what one communication's holds add up to."""

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from contracts.errors import IdempotencyKeyReused
from contracts.vocabulary import CHARGED_STATUSES, TERMINAL_STATUSES
from services.credits import ledger, store
from services.credits.models import Hold, HoldResolution

EXPIRY_BATCH = 500


def resolve_ended(uow, items):
    """Deliveries that ended (items of `deliveries_updated`): a delivered one settles its
    hold for the credits the item names (a call's real duration), any other end releases
    it; once each, the first end named winning."""
    ended = {}
    for i in items:
        if i.get("hold_id") and i["status"] in TERMINAL_STATUSES:
            ended.setdefault(i["hold_id"], i)
    if ended:
        outcomes = {hold_id: ("settled" if i["status"] in CHARGED_STATUSES else "released",
                              i["status"], i.get("credits"))
                    for hold_id, i in ended.items()}
        resolve(uow, list(ended), outcomes, actor="messaging")


def expire_due(db, now):
    """Release holds left unresolved past their time. Any number of instances may sweep:
    the resolution's primary key lets one win."""
    while True:
        with db.read() as session:
            due = session.scalars(
                select(Hold.id).outerjoin(HoldResolution, HoldResolution.hold_id == Hold.id)
                .where(HoldResolution.hold_id.is_(None), Hold.expires_at <= now)
                .order_by(Hold.expires_at).limit(EXPIRY_BATCH)).all()
        if not due:
            return
        try:
            with db.unit_of_work() as uow:
                resolve(uow, due, {h: ("expired", "expired", None) for h in due},
                        actor="credits")
        except IntegrityError:
            continue   # another sweeper or a late settlement got some first: look again
        if len(due) < EXPIRY_BATCH:
            return


def summary(session, caller, communication_id, readers):
    """Credits held, charged and released for one communication, summed in the database
    (a send of 10,000 is followed by polling this); the caller must own it and read every
    wallet that paid."""
    rows = session.execute(
        select(Hold.organization_id, Hold.community_id, HoldResolution.outcome,
               func.sum(Hold.amount).label("amount"),
               func.sum(HoldResolution.charged).label("charged"))
        .outerjoin(HoldResolution, HoldResolution.hold_id == Hold.id)
        .where(Hold.communication_id == communication_id)
        .group_by(Hold.organization_id, Hold.community_id, HoldResolution.outcome)).all()
    found = {"held": 0, "charged": 0, "released": 0}
    for row in rows:
        caller.check_owner(row.organization_id, "communication", communication_id)
        caller.require_any(readers, row.community_id)
        if row.outcome is None:
            found["held"] += row.amount
        elif row.outcome == "settled":
            found["charged"] += row.charged or 0
        else:
            found["released"] += row.amount
    return found


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
