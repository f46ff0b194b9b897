"""The activity log of a ticket: one append-only entry per change, read under the same
visibility as what it records (a managers-only comment's entry is managers-only)."""

from servicekit.db import utcnow
from services.tickets.models import TicketActivity
from services.tickets.visibility import SHARED


def who(identity):
    """(type, id, name) of the caller, as a ticket keeps it."""
    return identity["actor_type"], identity["actor_id"], identity.get("name")


def record(session, ticket_id, identity, action, details=None, visibility=SHARED, at=None):
    kind, actor_id, name = who(identity)
    session.add(TicketActivity(ticket_id=ticket_id, at=at or utcnow(), actor_type=kind,
                               actor_id=actor_id, actor_name=name, action=action,
                               details=details or {}, visibility=visibility))
