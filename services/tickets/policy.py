"""tickets' object-level rules on top of the shared caller policy: another organization's
ticket is not found; one of the caller's organization they may not read, or change, is
forbidden, naming what they lack (visibility.py states who sees what)."""

from contracts.errors import Forbidden, NotFound
from services.tickets import moves, visibility
from services.tickets.models import Ticket


def place(row):
    return visibility.Place(row.organization_id, row.community_id, row.kind, row.unit_id)


def for_reading(session, caller, ticket_id, lock=False):
    row = session.get(Ticket, ticket_id, with_for_update=lock) if ticket_id else None
    if row is None or not caller.owns(row.organization_id):
        raise NotFound(f"ticket {ticket_id} does not exist", "ticket_id")
    if not visibility.sees(caller, place(row)):
        if caller.is_resident:
            raise Forbidden("residents see their own unit's tickets and their community's "
                            "common-area tickets only", "ticket_id")
        raise Forbidden(f"this caller holds no permission for community {row.community_id}",
                        "ticket_id")
    return row


def for_change(session, caller, ticket_id):
    """A ticket staff change (edit, assign, due date): manage_tickets for its community."""
    row = for_reading(session, caller, ticket_id, lock=True)
    require_manager(caller, row.community_id)
    return row


def require_manager(caller, community_id):
    if not visibility.manages(caller, community_id):
        if caller.is_resident:
            raise Forbidden("only management changes a ticket this way", "permission")
        raise Forbidden(f"this caller lacks the permission 'manage_tickets' for community "
                        f"{community_id}", "permission")


def mover(caller, row):
    return moves.Mover(is_manager=visibility.manages(caller, row.community_id),
                       is_reporter=caller.actor_id == row.reporter_id,
                       is_resident=caller.is_resident)
