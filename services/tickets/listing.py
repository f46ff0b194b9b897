"""Lists of work orders and the resident dashboard. Mixed into TicketsService.

A list holds only what its caller may read (visibility.list_scope): a resident's own unit's
tickets and their community's common-area ones; staff's, those of the communities they
hold a permission for. Newest first (by the organization's number), a page at a time: the
cursor is the last number seen, so a page never repeats or skips tickets added meanwhile.
Filters: community, kind, status (or `open`), priority, assignee (or `none`), unit,
overdue, created range and words (`q`: the title, description, location or number).
"""

from sqlalchemy import and_, false, or_, select

from contracts.errors import Forbidden
from contracts.vocabulary import OPEN_TICKET_STATUSES
from servicekit.access import EVERYWHERE, Caller
from servicekit.db import utcnow
from servicekit.entrypoints import rpc
from servicekit.pagination import decode_cursor, encode_cursor, page_size
from services.tickets import due_dates, views, visibility
from services.tickets.models import Ticket

DASHBOARD_ITEMS = 20


class Listing:
    @rpc
    def list_tickets(self, identity, community_id=None, kind=None, status=None,
                     priority=None, assignee_id=None, unit_id=None, overdue=None,
                     created_after=None, created_before=None, q=None, cursor=None,
                     limit=None):
        caller = Caller.of(identity)
        now = utcnow()
        query = _visible(caller)
        if community_id:
            if not caller.is_resident and not caller.sees_community(community_id):
                raise Forbidden(f"this caller holds no permission for community "
                                f"{community_id}", "community_id")
            query = query.where(Ticket.community_id == community_id)
        query = _filtered(query, now, kind=kind, status=status, priority=priority,
                          assignee_id=assignee_id, unit_id=unit_id, overdue=overdue,
                          created_after=created_after, created_before=created_before, q=q)
        limit = page_size(limit)
        after = decode_cursor(cursor, int)
        if after is not None:
            query = query.where(Ticket.number < after)
        with self.db.read() as session:
            rows = session.scalars(query.order_by(Ticket.number.desc()).limit(limit + 1)).all()
        more = len(rows) > limit
        rows = rows[:limit]
        return {"items": [views.summary(caller, r, now) for r in rows],
                "next": encode_cursor(rows[-1].number) if more else None}

    @rpc
    def ticket_dashboard(self, identity):
        """A resident's open tickets: their unit's and their community's common area's."""
        caller = Caller.of(identity)
        if not caller.is_resident:
            raise Forbidden("the dashboard is a resident's; staff list tickets", "actor_type")
        now = utcnow()
        answer = {}
        with self.db.read() as session:
            for kind in ("unit", "common_area"):
                query = _filtered(_visible(caller), now, kind=kind, status="open")
                rows = session.scalars(query.order_by(Ticket.number.desc())).all()
                answer[kind] = {"open": len(rows), "items": [
                    views.summary(caller, r, now) for r in rows[:DASHBOARD_ITEMS]]}
        return answer


def _visible(caller):
    query = select(Ticket)
    if caller.organization_id is not None:
        query = query.where(Ticket.organization_id == caller.organization_id)
    scope, where = visibility.list_scope(caller)
    if scope == "resident":
        community_id, unit_id = where
        return query.where(or_(
            and_(Ticket.kind == "unit", Ticket.unit_id == unit_id, Ticket.unit_id.is_not(None)),
            and_(Ticket.kind == "common_area", Ticket.community_id == community_id)))
    if scope == "communities" and where != EVERYWHERE:
        return query.where(Ticket.community_id.in_(sorted(where))) if where else \
            query.where(false())
    return query


def _filtered(query, now, kind=None, status=None, priority=None, assignee_id=None,
              unit_id=None, overdue=None, created_after=None, created_before=None, q=None):
    if kind:
        query = query.where(Ticket.kind == kind)
    if status == "open":
        query = query.where(Ticket.status.in_(sorted(OPEN_TICKET_STATUSES)))
    elif status:
        query = query.where(Ticket.status == status)
    if priority:
        query = query.where(Ticket.priority == priority)
    if assignee_id == "none":
        query = query.where(Ticket.assignee_type.is_(None))
    elif assignee_id:
        query = query.where(Ticket.assignee_id == assignee_id)
    if unit_id:
        query = query.where(Ticket.unit_id == unit_id)
    if overdue is not None:
        late = and_(Ticket.status.in_(sorted(OPEN_TICKET_STATUSES)), Ticket.due_at <= now)
        query = query.where(late if overdue else ~late)
    if created_after:
        query = query.where(Ticket.created_at >= due_dates.moment(created_after,
                                                                  "created_after"))
    if created_before:
        query = query.where(Ticket.created_at < due_dates.moment(created_before,
                                                                 "created_before"))
    if q:
        words = q.strip()
        number = words.upper().removeprefix(views.NUMBER_PREFIX)
        like = f"%{_escaped(words)}%"
        matches = [Ticket.title.ilike(like, escape="\\"),
                   Ticket.description.ilike(like, escape="\\"),
                   Ticket.location.ilike(like, escape="\\")]
        if number.isdigit() and len(number) <= 9:   # a number, and one an integer holds
            matches.append(Ticket.number == int(number))
        query = query.where(or_(*matches))
    return query


def _escaped(words):
    return words.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
