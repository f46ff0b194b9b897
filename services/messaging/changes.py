"""Moving deliveries and telling the others: every step records its moves through here, so
that each batch is one `deliveries_updated` event per community, and a communication whose
every delivery has ended is finished exactly once."""

from sqlalchemy import exists, func, select, update

from contracts.vocabulary import CHARGED_STATUSES, TERMINAL_STATUSES
from servicekit.db import utcnow
from services.messaging import lifecycle
from services.messaging.models import Communication, Delivery


def move(delivery, status, reason=None, error_code=None, credits=None, hold_id=None):
    delivery.status = status
    delivery.updated_at = utcnow()
    if reason is not None:
        delivery.reason = reason[:300]
    if error_code is not None:
        delivery.error_code = error_code
    if credits is not None:
        delivery.credits = credits
    if hold_id is not None:
        delivery.hold_id = hold_id


def change(delivery, previous, duration_seconds=None):
    """A delivery's move as `deliveries_updated` tells it; `duration_seconds`: a call's
    CallDuration, when the status it moved to came with one."""
    return {"delivery_id": delivery.id, "resident_id": delivery.resident_id,
            "channel": delivery.channel, "status": delivery.status,
            "previous_status": previous, "reason": delivery.reason,
            "error_code": delivery.error_code, "credits": delivery.credits,
            "hold_id": delivery.hold_id, "community_id": delivery.community_id,
            "duration_seconds": duration_seconds, "credits_charged": charged(delivery)}


def charged(delivery):
    """What a delivery that ended is charged (the credits its hold is settled for: a call's
    are its real duration by then), 0 for an end that is not charged; None in flight."""
    if delivery.status in CHARGED_STATUSES:
        return delivery.credits
    return 0 if delivery.status in TERMINAL_STATUSES else None


def emit(uow, communication, changes):
    """One `deliveries_updated` per community of the batch (reports and credits key their
    figures by community), then finish the communication if nothing is left in flight."""
    if not changes:
        return
    by_community = {}
    for item in changes:
        community = item.pop("community_id", None) or communication.community_id
        by_community.setdefault(community, []).append(item)
    for community_id, items in by_community.items():
        uow.emit("deliveries_updated", {"communication_id": communication.id,
                                        "community_id": community_id, "items": items},
                 organization_id=communication.organization_id)
    if any(i["status"] in TERMINAL_STATUSES for items in by_community.values() for i in items):
        finish_if_done(uow, communication)


def finish_if_done(uow, communication):
    """Once the audience is complete and no delivery is in flight: `completed` (or
    `cancelled`), with its finishing time and one `communication_finished` event."""
    session = uow.session
    if not communication.audience_complete or communication.finished_at is not None:
        return
    # two batches ending the last deliveries at once may each see the other's still in
    # flight and both leave it; the release timer (finish_ready) finishes it then, from
    # committed state only. No lock is taken here: a step locks its deliveries, never the
    # communication and then deliveries, so none waits on another in a circle.
    in_flight = session.scalar(select(exists().where(
        Delivery.communication_id == communication.id,
        Delivery.status.not_in(TERMINAL_STATUSES))))
    if in_flight:
        return
    status = "cancelled" if communication.cancelled_at else "completed"
    now = utcnow()
    # whoever finishes it first wins; a concurrent step finds it finished
    won = session.execute(update(Communication).where(
        Communication.id == communication.id, Communication.finished_at.is_(None))
        .values(finished_at=now, status=status)).rowcount
    if not won:
        return
    communication.finished_at, communication.status = now, status
    counts = dict(session.execute(
        select(Delivery.status, func.count()).where(Delivery.communication_id == communication.id)
        .group_by(Delivery.status)).all())
    uow.emit("communication_finished", {
        "communication_id": communication.id, "community_ids": communication.community_ids
        or [communication.community_id], "status": status, "counts": counts,
        "finished_at": now.isoformat()}, organization_id=communication.organization_id)


def start(session, communication):
    """The first delivery handed on: the send has started."""
    if communication.started_at is None:
        now = utcnow()
        session.execute(update(Communication).where(
            Communication.id == communication.id, Communication.started_at.is_(None))
            .values(started_at=now, status="sending"))
        communication.started_at = now


def take(session, ids, status):
    """Take the deliveries still in `status`; a concurrent worker gets none of them."""
    if not ids:
        return []
    taken = session.execute(update(Delivery).where(Delivery.id.in_(sorted(ids)),
                                                   Delivery.status == status)
                            .values(updated_at=utcnow()).returning(Delivery.id)).scalars().all()
    if not taken:
        return []
    return session.scalars(select(Delivery).where(Delivery.id.in_(taken))
                           .order_by(Delivery.id)).all()


def overall(communication, counts):
    if communication.status == "scheduled":
        return "scheduled"     # it has no deliveries before it goes
    return lifecycle.overall(counts, audience_complete=communication.audience_complete,
                             cancelled=communication.cancelled_at is not None)



def finish_ready(db, limit=50):
    """Finish the communications whose deliveries have all ended (in a transaction of its
    own that holds no delivery: it never deadlocks with a step). Answers how many."""
    with db.read() as session:
        ready = session.scalars(select(Communication).where(
            Communication.status.in_(("accepted", "preparing", "sending")),
            Communication.audience_complete.is_(True), Communication.finished_at.is_(None),
            ~exists().where(Delivery.communication_id == Communication.id,
                            Delivery.status.not_in(TERMINAL_STATUSES)))
            .limit(limit)).all()
    for communication in ready:
        with db.unit_of_work() as uow:
            finish_if_done(uow, communication)
    return len(ready)
