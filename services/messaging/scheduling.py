"""Scheduled sends: `send_at` keeps a communication `scheduled` until then.

1. `send_at` is ISO 8601 with an offset (a time without one means nothing in a world of
   time zones), in the future and at most MAX_DAYS_AHEAD days ahead (`parse_send_at`).
2. Until it is due it may be rescheduled (the same rules) or cancelled; once it has gone,
   neither (409).
3. The scheduler hands each due one on exactly once, whatever the number of instances: one
   statement moves up to FIRE_BATCH of them `scheduled` -> `accepted` (rows another instance
   holds are skipped, not waited for), and `communication_accepted` is written in the same
   transaction, so a crash before the commit leaves it due (it goes late, never twice), one
   after it leaves it handed on (never lost). From there it is an ordinary send: audience,
   consent and credits are all decided when it goes, so a STOP or an unsubscribe received
   since wins.
"""

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from contracts.errors import Conflict, InvalidRequest
from servicekit import idempotency
from servicekit.db import utcnow
from services.messaging import urgency
from services.messaging.models import Communication

MAX_DAYS_AHEAD = 90
FIRE_BATCH = 100


def parse_send_at(value, now=None, field="send_at"):
    """The aware UTC time of `value`, or InvalidRequest naming the field and the rule."""
    now = now or utcnow()
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None:
        raise InvalidRequest("must be an ISO 8601 date and time with an offset, e.g. "
                             "2026-12-08T09:00:00-05:00", field)
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidRequest("needs an offset (e.g. -05:00 or Z): a time without one names "
                             "no moment", field)
    moment = moment.astimezone(UTC)
    if moment <= now:
        raise InvalidRequest("must be in the future", field)
    if moment > now + timedelta(days=MAX_DAYS_AHEAD):
        raise InvalidRequest(f"must be at most {MAX_DAYS_AHEAD} days ahead", field)
    return moment


def accepted_event(communication):
    return {"communication_id": communication.id, "community_id": communication.community_id,
            "community_ids": communication.community_ids or [communication.community_id],
            "kind": communication.kind, "channels": communication.channels,
            "category_id": communication.category_id,
            "recipient_count": (communication.audience_size or 0) * len(communication.channels),
            "emergency": bool(communication.emergency),
            "emergency_reason": communication.emergency_reason,
            "sent_by": sender(communication),
            "accepted_at": communication.created_at.isoformat()}


def sender(communication):
    """Who sent it, as the identity it was sent with named them then."""
    identity = communication.identity or {}
    return {"type": identity.get("actor_type"), "id": communication.created_by,
            "name": identity.get("name")}


def reschedule(db, caller, communication_id, send_at, load, view, idempotency_key=None):
    """Move a scheduled send to `send_at`, answering `view` of it as it then is; the same
    Idempotency-Key and request answer that again and move nothing (another request under
    the key is refused), so a retried request never moves a send that moved since."""

    def work(uow):
        moment = parse_send_at(send_at)
        communication = load(uow.session, caller, communication_id, for_change=True)
        moved = uow.session.execute(update(Communication).where(
            Communication.id == communication_id, Communication.status == "scheduled",
            Communication.cancelled_at.is_(None)).values(send_at=moment)).rowcount
        if not moved:
            raise Conflict(f"communication {communication_id} is {communication.status}: "
                           "only a scheduled send that has not gone can be rescheduled",
                           "send_at")
        uow.emit("communication_rescheduled", {"communication_id": communication_id,
                                               "send_at": moment.isoformat()},
                 organization_id=communication.organization_id)
        uow.session.refresh(communication)
        return view(uow.session, caller, communication_id)

    return idempotency.once(db, idempotency.caller_scope(caller), idempotency_key,
                            {"reschedule": [communication_id, send_at]}, work)


def fire_due(db, now=None):
    """Hand on the scheduled sends that are due, each once. Answers how many."""
    now = now or utcnow()
    with db.unit_of_work() as uow:
        session = uow.session
        # a CTE, taken once: as an IN (subquery) PostgreSQL ran the locking LIMIT again for
        # every row it updated, so one claim took every due send, however many
        due = (select(Communication.id).where(
            Communication.status == "scheduled", Communication.cancelled_at.is_(None),
            Communication.send_at <= now).order_by(Communication.send_at).limit(FIRE_BATCH)
            .with_for_update(skip_locked=True)).cte("due")
        fired = session.scalars(update(Communication).where(
            Communication.id.in_(select(due.c.id)), Communication.status == "scheduled")
            .values(status="accepted").returning(Communication.id)).all()
        for communication in session.scalars(select(Communication).where(
                Communication.id.in_(fired))):
            urgency.emit_accepted(uow, communication, accepted_event(communication))
        return len(fired)
