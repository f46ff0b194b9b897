"""Preparing one batch of deliveries: consent and price for the whole batch (quoting), one
credit hold per paying community of the batch, then one transaction that queues, suppresses
or fails each delivery and hands the queued ones to the dispatchers in chunks."""

from sqlalchemy import select

from contracts.errors import InsufficientCredits
from services.messaging import changes, quoting, urgency
from services.messaging.models import Communication, Delivery

DISPATCH_CHUNK = 100


def prepare_batch(db, consent, credits, communication_id, batch, delivery_ids,
                  call_settings=None, links=None):
    with db.read() as session:
        communication = session.get(Communication, communication_id)
        pending = session.scalars(select(Delivery).where(
            Delivery.id.in_(delivery_ids), Delivery.status == "pending")
            .order_by(Delivery.id)).all()
    if not pending:
        return
    identity = communication.identity
    items = [{"key": d.id, "resident_id": d.resident_id,
              "community_id": d.community_id or communication.community_id,
              "channel": d.channel, "address": d.address, "language": d.language}
             for d in pending]
    quoted = {q.key: q for q in quoting.quote_batch(
        consent, credits, identity, communication.category_id, communication.body,
        communication.channels, items, call_settings,
        _document_link(communication, links))}
    holds, refused = _reserve(credits, identity, communication_id, batch, quoted)
    with db.unit_of_work() as uow:
        session = uow.session
        communication = session.get(Communication, communication_id)
        made, queued = [], []
        taken = changes.take(session, [d.id for d in pending], "pending")
        for d in taken:
            q = quoted[d.id]
            if d.id in refused:
                changes.move(d, "failed", reason=refused[d.id])
            elif q.allowed:
                changes.move(d, "queued", credits=q.credits, hold_id=holds.get(d.id))
                d.segments, d.unsubscribe_url = q.segments, q.unsubscribe_url
                d.seconds_per_credit = q.seconds_per_credit
                queued.append(d.id)
            else:
                changes.move(d, "suppressed", reason=q.reason)
            made.append(changes.change(d, "pending"))
        # a hold made for a delivery cancelled meanwhile is released at once
        taken_ids = {d.id for d in taken}
        left = [i for i in holds if i not in taken_ids]
        if left:
            cancelled = set(session.scalars(select(Delivery.id).where(
                Delivery.id.in_(left), Delivery.status == "cancelled",
                Delivery.hold_id.is_(None))).all())
            made += [_released(quoted[i], i, holds[i]) for i in sorted(cancelled)]
        changes.emit(uow, communication, made)
        if queued:
            changes.start(session, communication)
        for start in range(0, len(queued), DISPATCH_CHUNK):
            uow.emit(urgency.event_type("deliveries_queued", communication.emergency), {
                "communication_id": communication_id,
                "delivery_ids": queued[start:start + DISPATCH_CHUNK]},
                organization_id=communication.organization_id)


def _document_link(communication, links):
    """Each delivery's own link to the document it carries (its key is its id)."""
    if not communication.document_id or links is None:
        return None
    return lambda delivery_id: links.for_delivery(delivery_id, communication.created_at)


def _reserve(credits, identity, communication_id, batch, quoted):
    """One hold per paying community (each community's wallet pays for its own residents
    under community wallets). ({delivery_id: hold_id}, {delivery_id: refusal reason})."""
    by_community = {}
    for q in quoted.values():
        if q.allowed and q.credits > 0:
            by_community.setdefault(q.community_id, []).append(
                {"delivery_id": q.key, "amount": q.credits})
    holds, refused = {}, {}
    for community_id, items in sorted(by_community.items()):
        try:
            reserved = credits.reserve(
                identity, community_id, communication_id, items,
                idempotency_key=f"reserve:{communication_id}:{batch}:{community_id}")
        except InsufficientCredits as exc:
            # nothing is sent that cannot be paid for; the reason names the rule
            reason = f"no credits: {exc.detail}"[:300]
            refused.update({i["delivery_id"]: reason for i in items})
            continue
        holds.update({h["delivery_id"]: h["hold_id"] for h in reserved["holds"]})
    return holds, refused


def _released(q, delivery_id, hold_id):
    return {"delivery_id": delivery_id, "resident_id": q.resident_id, "channel": q.channel,
            "status": "cancelled", "previous_status": "cancelled", "reason": "cancelled",
            "error_code": None, "credits": q.credits, "hold_id": hold_id,
            "community_id": q.community_id}
