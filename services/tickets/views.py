"""What a caller reads of a work order: the ticket, its comments, attachments and activity,
each cut to what the caller may read (visibility.py decides)."""

from sqlalchemy import select

from services.tickets import due_dates, moves, visibility
from services.tickets.models import TicketActivity, TicketAttachment, TicketComment

NUMBER_PREFIX = "WO-"


def number(row):
    return f"{NUMBER_PREFIX}{row.number}"


def _iso(moment):
    return moment.isoformat() if moment else None


def actor(kind, actor_id, name):
    return {"type": kind, "id": actor_id, "name": name}


def assignee(caller, row):
    if row.assignee_type is None:
        return None
    staff = not caller.is_resident
    return {"type": row.assignee_type, "id": row.assignee_id, "name": row.assignee_name,
            "email": row.assignee_email if staff else None,
            "phone": row.assignee_phone if staff else None}


def links(row):
    base = f"/v1/tickets/{row.id}"
    return {"self": base, "comments": f"{base}/comments", "attachments": f"{base}/attachments",
            "activity": f"{base}/activity", "move": f"{base}/move", "print": f"{base}/print",
            "pdf": f"{base}/pdf"}


def summary(caller, row, now):
    return {"id": row.id, "number": number(row), "kind": row.kind,
            "community_id": row.community_id, "unit_id": row.unit_id,
            "unit_label": row.unit_label, "location": row.location, "title": row.title,
            "category": row.category, "priority": row.priority, "status": row.status,
            "assignee": assignee(caller, row), "due_at": _iso(row.due_at),
            "overdue": due_dates.is_overdue(row.status, row.due_at, now),
            "created_at": _iso(row.created_at), "updated_at": _iso(row.updated_at),
            "links": links(row)}


def attachment(row):
    return {"id": row.id, "filename": row.filename, "content_type": row.content_type,
            "size": row.size, "sha256": row.sha256, "visibility": row.visibility,
            "comment_id": row.comment_id,
            "uploaded_by": actor(row.uploaded_by_type, row.uploaded_by_id,
                                 row.uploaded_by_name),
            "created_at": _iso(row.created_at),
            "links": {"self": f"/v1/tickets/{row.ticket_id}/attachments/{row.id}",
                      "content": f"/v1/tickets/{row.ticket_id}/attachments/{row.id}/content"}}


def comment(row, attachments=()):
    return {"id": row.id, "body": row.body, "visibility": row.visibility,
            "author": actor(row.author_type, row.author_id, row.author_name),
            "created_at": _iso(row.created_at), "attachments": list(attachments)}


def ticket(session, caller, row, now, mover, reopen_policy, may_comment):
    """The whole ticket as `caller` may read it."""
    readable = visibility.readable(caller)
    comments = session.scalars(select(TicketComment).where(
        TicketComment.ticket_id == row.id, TicketComment.visibility.in_(readable))
        .order_by(TicketComment.created_at, TicketComment.id)).all()
    files = session.scalars(select(TicketAttachment).where(
        TicketAttachment.ticket_id == row.id, TicketAttachment.visibility.in_(readable))
        .order_by(TicketAttachment.created_at, TicketAttachment.id)).all()
    by_comment = {}
    for f in files:
        by_comment.setdefault(f.comment_id, []).append(attachment(f))
    return {**summary(caller, row, now),
            "description": row.description, "permission_to_enter": row.permission_to_enter,
            "entry_notes": row.entry_notes, "preferred_times": list(row.preferred_times or []),
            "reporter": actor(row.reporter_type, row.reporter_id, row.reporter_name),
            "created_by": actor(row.created_by_type, row.created_by_id, row.created_by_name),
            "contact_email": row.contact_email, "overdue_at": _iso(row.overdue_at),
            "acknowledged_at": _iso(row.acknowledged_at),
            "first_response_at": _iso(row.first_response_at),
            "completed_at": _iso(row.completed_at),
            "time_to_acknowledge_seconds": due_dates.seconds_between(row.created_at,
                                                                     row.acknowledged_at),
            "time_to_complete_seconds": due_dates.seconds_between(row.created_at,
                                                                  row.completed_at),
            "allowed_moves": moves.allowed_moves(row.status, mover, reopen_policy),
            "may_comment": may_comment,
            "comments": [comment(c, by_comment.get(c.id, ())) for c in comments],
            # a comment's files take its visibility: they are read with it, or not at all
            "attachments": by_comment.get(None, [])}


def activity_entry(caller, row):
    details = dict(row.details or {})
    if not visibility.reads(caller, details.get("note_visibility")):
        # a move's or an assignment's managers-only note: the move is theirs to read, the
        # note is not
        details.pop("note", None)
    return {"id": str(row.seq), "at": _iso(row.at),
            "actor": actor(row.actor_type, row.actor_id, row.actor_name),
            "action": row.action, "details": details}


def activity_query(caller, ticket_id):
    return select(TicketActivity).where(
        TicketActivity.ticket_id == ticket_id,
        TicketActivity.visibility.in_(visibility.readable(caller)))
