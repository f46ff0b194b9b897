"""Reading a work order and its activity log. Mixed into TicketsService; policy.py and
visibility.py decide what each caller reads."""

import base64

from servicekit.access import Caller
from servicekit.db import utcnow
from servicekit.entrypoints import rpc
from servicekit.pagination import paginate
from services.tickets import policy, printing, settings, views, visibility
from services.tickets.models import (
    CommunityTicketSettings,
    OrganizationTicketSettings,
    TicketActivity,
)


class Reading:
    @rpc
    def get_ticket(self, identity, ticket_id):
        caller = Caller.of(identity)
        with self.db.read() as session:
            row = policy.for_reading(session, caller, ticket_id)
            return full_view(session, caller, row)

    @rpc
    def ticket_activity(self, identity, ticket_id, cursor=None, limit=None):
        """The ticket's activity log, oldest first, as the caller may read it."""
        caller = Caller.of(identity)
        with self.db.read() as session:
            row = policy.for_reading(session, caller, ticket_id)
            rows, next_cursor = paginate(session, views.activity_query(caller, row.id),
                                         TicketActivity.seq, cursor, limit)
        return {"items": [views.activity_entry(caller, r) for r in rows], "next": next_cursor}

    @rpc
    def ticket_printout(self, identity, ticket_id):
        """What a printed ticket shows its reader: {ticket, activity (every entry), community
        name}."""
        caller = Caller.of(identity)
        with self.db.read() as session:
            row = policy.for_reading(session, caller, ticket_id)
            entries = session.scalars(views.activity_query(caller, row.id)
                                      .order_by(TicketActivity.seq)).all()
            return {"ticket": full_view(session, caller, row),
                    "activity": [views.activity_entry(caller, e) for e in entries],
                    "community_name": row.community_name}

    @rpc
    def ticket_pdf(self, identity, ticket_id):
        """The printout as a PDF: {filename, content_base64}."""
        printout = self.ticket_printout(identity, ticket_id)
        data = printing.render_ticket_pdf(printout["ticket"], printout["activity"],
                                          printout["community_name"], utcnow())
        return {"filename": f"{printout['ticket']['number']}.pdf",
                "content_base64": base64.b64encode(data).decode()}


def full_view(session, caller, row):
    """The ticket with what this caller may do with it now."""
    org = session.get(OrganizationTicketSettings, row.organization_id)
    reopen = settings.organization_view(row.organization_id, org)["reopen_completed"]
    return views.ticket(session, caller, row, utcnow(), policy.mover(caller, row), reopen,
                        may_comment(session, caller, row))


def may_comment(session, caller, row):
    if caller.is_resident:
        community = session.get(CommunityTicketSettings, row.community_id)
        return community is None or community.residents_may_comment
    return visibility.manages(caller, row.community_id)
