"""The events a ticket's change causes, written in the change's own transaction (outbox):
the public fact (ticket_created, ticket_status_changed, ticket_commented, ticket_assigned,
ticket_overdue) and, when somebody is owed a notice, one `ticket_notices_requested` for
messaging to send. No managers-only text is ever in a public event or a resident's notice.

Whom to notify is looked up in directory before the transaction opens (`staff_to_tell`),
so no database transaction waits on an RPC."""

from services.tickets import notifying, settings, views
from services.tickets.models import CommunityTicketSettings
from services.tickets.visibility import SHARED


def facts(row):
    return {"ticket_id": row.id, "number": views.number(row), "kind": row.kind,
            "community_id": row.community_id, "unit_id": row.unit_id, "status": row.status,
            "priority": row.priority}


def staff_to_tell(directory, session_factory, organization_id, community_id, occasion):
    """The staff the community's settings name for `occasion`: [{id, name, email}]."""
    with session_factory() as session:
        row = session.get(CommunityTicketSettings, community_id)
    roles, named = notifying.staff_rule(settings.notice_settings(row), occasion)
    found = directory.staff_contacts(settings.system_identity(organization_id), community_id,
                                     roles=list(roles), staff_user_ids=list(named))
    return found["staff"]


def staff_reporter_email(directory, row):
    """A staff reporter's email (residents hear back through their own contact points)."""
    if row.reporter_type != "staff":
        return None
    found = directory.staff_contacts(settings.system_identity(row.organization_id),
                                     row.community_id, staff_user_ids=[row.reporter_id])
    return next((s["email"] for s in found["staff"] if s["id"] == row.reporter_id), None)


def text(row):
    place = f"unit {row.unit_label}" if row.kind == "unit" else (row.location or "common area")
    return notifying.TicketText(number=views.number(row), kind=row.kind, title=row.title,
                                community_name=row.community_name, place=place,
                                priority=row.priority, description=row.description or "")


def reporter(row, email=None):
    return notifying.Reporter(type=row.reporter_type, id=row.reporter_id, email=email)


def _notices(uow, row, occasion, notices):
    if notices:
        uow.emit("ticket_notices_requested", {"ticket_id": row.id,
                                              "community_id": row.community_id,
                                              "occasion": occasion, "notices": notices},
                 organization_id=row.organization_id)


def _community_settings(session, row):
    return settings.notice_settings(session.get(CommunityTicketSettings, row.community_id))


def created(uow, row, staff):
    uow.emit("ticket_created", {**facts(row), "location": row.location, "title": row.title,
                                "category": row.category, "reporter_type": row.reporter_type,
                                "due_at": row.due_at and row.due_at.isoformat()},
             organization_id=row.organization_id)
    notices = notifying.on_created(text(row), _community_settings(uow.session, row), staff,
                                   row.reporter_name or "a resident", reporter(row))
    _notices(uow, row, "created", notices)


def moved(uow, row, previous, mover_type, mover_id, note, note_visibility, reporter_email):
    shared_note = note if note_visibility == SHARED else None
    uow.emit("ticket_status_changed", {**facts(row), "previous_status": previous,
                                       "changed_by_type": mover_type, "note": shared_note},
             organization_id=row.organization_id)
    notices = notifying.on_moved(text(row), _community_settings(uow.session, row),
                                 reporter(row, reporter_email), mover_id, row.status,
                                 shared_note)
    _notices(uow, row, "status_changed", notices)


def commented(uow, row, comment, staff=None, reporter_email=None):
    """A comment's fact; management is told of a resident's, the reporter of a staff
    comment they may read."""
    shared = comment.visibility == SHARED
    uow.emit("ticket_commented", {**facts(row), "comment_id": comment.id,
                                  "visibility": comment.visibility,
                                  "author_type": comment.author_type,
                                  "body": comment.body if shared else None},
             organization_id=row.organization_id)
    community = _community_settings(uow.session, row)
    if comment.author_type == "resident":
        _notices(uow, row, "resident_commented", notifying.on_resident_comment(
            text(row), community, staff or [], comment.author_name or "A resident",
            comment.body))
    elif shared and comment.author_id != row.reporter_id:
        _notices(uow, row, "comment_shared", notifying.on_staff_comment(
            text(row), community, reporter(row, reporter_email), comment.body))


def assigned(uow, row):
    uow.emit("ticket_assigned", {**facts(row), "assignee_type": row.assignee_type,
                                 "assignee_id": row.assignee_id,
                                 "assignee_name": row.assignee_name},
             organization_id=row.organization_id)


def overdue(uow, row):
    uow.emit("ticket_overdue", {**facts(row), "due_at": row.due_at.isoformat()},
             organization_id=row.organization_id)
