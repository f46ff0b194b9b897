"""The overdue sweeper. Mixed into TicketsService.

Every 5 seconds each instance runs one statement that marks the
open tickets past their due date and not yet marked; the row lock makes a ticket another
instance marked meanwhile drop out of it, so each is marked, logged and announced
(`ticket_overdue`) once per due date, however many instances run. A due date moved later
clears the mark (working.py), so the new one is watched again.
"""

import logging

from nameko.timer import timer
from sqlalchemy import select, update

from contracts.vocabulary import OPEN_TICKET_STATUSES
from servicekit.db import utcnow
from services.tickets import activity, announcing
from services.tickets.models import Ticket
from services.tickets.settings import system_identity

log = logging.getLogger("townhall.tickets.overdue")
SWEEP_SECONDS = 5          # one cheap statement; a due date is seen within seconds
SWEEP_BATCH = 200


class Overdue:
    @timer(interval=SWEEP_SECONDS)
    def mark_overdue(self):
        return mark_overdue(self.db)


def mark_overdue(db, now=None, batch=SWEEP_BATCH):
    """Mark, log and announce the tickets that went past their due date; answers how many."""
    now = now or utcnow()
    with db.unit_of_work() as uow:
        session = uow.session
        due = select(Ticket.id).where(Ticket.status.in_(sorted(OPEN_TICKET_STATUSES)),
                                      Ticket.due_at <= now, Ticket.overdue_at.is_(None))
        marked = session.execute(
            update(Ticket).where(Ticket.id.in_(due.limit(batch)), Ticket.overdue_at.is_(None))
            .values(overdue_at=now).returning(Ticket.id)).scalars().all()
        rows = session.scalars(select(Ticket).where(Ticket.id.in_(marked))).all()
        for row in rows:
            activity.record(session, row.id, system_identity(row.organization_id), "overdue",
                            {"due_at": row.due_at.isoformat()}, at=now)
            announcing.overdue(uow, row)
    if rows:
        log.info("marked %d tickets overdue", len(rows))
    return len(rows)
