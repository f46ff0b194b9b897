"""Resolving a communication's audience, one page of up to PAGE_SIZE residents per step.

Each page is one directory RPC and one transaction: its deliveries, the communication's
cursor, a `deliveries_created` event for the batch and, when more may follow, the event that
asks for the next page. The cursor is part of the persisted work, so a crash half-way
resumes where it stopped, and a page taken twice (a redelivered event) adds nobody twice.
An emergency's events are the urgent twins (urgency)."""

from sqlalchemy import func, insert, select, update

from servicekit.access import new_id
from servicekit.db import utcnow
from services.messaging import audience, changes, urgency
from services.messaging.models import Communication, Delivery

PAGE_SIZE = 1000


def resolve_page(db, directory, communication_id, page, after):
    """Take page number `page` (1-based) of the audience, following resident id `after`."""
    with db.read() as session:
        communication = session.get(Communication, communication_id)
    if (communication is None or communication.audience_complete
            or communication.cancelled_at is not None or communication.pages != page - 1):
        return  # done already, cancelled, or a page taken before (a redelivery)
    found = directory.resolve_audience(communication.identity, communication.recipients,
                                       after=after, limit=PAGE_SIZE)
    residents = found["residents"]
    channels = communication.channels
    with db.unit_of_work() as uow:
        session = uow.session
        claimed = session.execute(update(Communication).where(
            Communication.id == communication_id, Communication.pages == page - 1,
            Communication.cancelled_at.is_(None))
            .values(pages=page, audience_after=residents[-1]["id"] if residents else after,
                    audience_complete=found["next"] is None)).rowcount
        if not claimed:
            return
        communication.pages = page
        communication.audience_complete = found["next"] is None
        taken = _taken(session, communication_id, audience.addresses_of(residents, channels))
        planned = audience.plan(residents, channels, taken)
        languages = {r["id"]: r.get("language") for r in residents}
        now = utcnow()
        rows = [{"id": new_id("dlv"), "communication_id": communication_id,
                 "resident_id": p.resident_id, "community_id": p.community_id,
                 "channel": p.channel, "address": p.address, "batch": page,
                 "language": languages.get(p.resident_id),
                 "status": "suppressed" if p.reason else "pending", "reason": p.reason,
                 "credits": 0, "attempts": 0, "segments": 0, "look_up": False,
                 "updated_at": now} for p in planned]
        if rows:
            session.execute(insert(Delivery), rows)
        pending = [r["id"] for r in rows if r["status"] == "pending"]
        if pending:
            uow.emit(urgency.event_type("deliveries_created", communication.emergency),
                     {"communication_id": communication_id, "batch": page,
                      "delivery_ids": pending}, organization_id=communication.organization_id)
        changes.emit(uow, communication, [_suppressed(r) for r in rows
                                          if r["status"] == "suppressed"])
        if found["next"] is not None:
            uow.emit(urgency.event_type("audience_page_requested", communication.emergency),
                     {"communication_id": communication_id, "page": page + 1,
                      "after": found["next"]}, organization_id=communication.organization_id)
        else:
            changes.finish_if_done(uow, communication)


def _taken(session, communication_id, wanted):
    """{channel: address keys} of this page that earlier pages already gave a delivery."""
    taken = {}
    for channel, keys in wanted.items():
        if not keys:
            continue
        column = func.lower(Delivery.address) if channel == "email" else Delivery.address
        found = session.scalars(select(column).where(
            Delivery.communication_id == communication_id, Delivery.channel == channel,
            column.in_(keys))).all()
        taken[channel] = set(found)
    return taken


def _suppressed(row):
    return {"delivery_id": row["id"], "resident_id": row["resident_id"],
            "channel": row["channel"], "status": "suppressed", "previous_status": "pending",
            "reason": row["reason"], "error_code": None, "credits": 0, "hold_id": None,
            "community_id": row["community_id"]}
