"""Reading communications: one with its counts (never every delivery of a large send), the
pages of its deliveries, and the list of past sends — each only for a caller who may send or
read reports in every community the communication touches."""

import base64
import json
from datetime import datetime

from sqlalchemy import func, select

from contracts.errors import Forbidden, InvalidRequest, NotFound
from servicekit import pagination
from servicekit.access import EVERYWHERE
from services.messaging import changes, lifecycle
from services.messaging.models import Communication, CommunicationCommunity, Delivery

READERS = ("send_communications", "view_reports")
INLINE_DELIVERIES = 100   # a send this small shows its deliveries in the view itself


def load(session, caller, communication_id, for_change=False):
    communication = session.get(Communication, communication_id)
    if communication is None:
        raise NotFound(f"communication {communication_id} does not exist", "id")
    caller.check_owner(communication.organization_id, "communication", communication_id)
    permissions = ("send_communications",) if for_change else READERS
    for community_id in communication.community_ids or [communication.community_id]:
        caller.require_any(permissions, community_id)
    return communication


def communication(session, caller, communication_id):
    c = load(session, caller, communication_id)
    rows = session.execute(select(Delivery.channel, Delivery.status, func.count()).where(
        Delivery.communication_id == c.id).group_by(Delivery.channel, Delivery.status)).all()
    counts, by_channel = {}, {}
    for channel, status, n in rows:
        counts[status] = counts.get(status, 0) + n
        by_channel.setdefault(channel, {})[status] = n
    total = sum(counts.values())
    view = summary(c) | {
        "status": changes.overall(c, counts), "counts": counts, "counts_by_channel": by_channel,
        "total": total, "progress": lifecycle.progress(counts) if c.audience_complete else 0.0,
        "audience_complete": c.audience_complete, "pages_resolved": c.pages,
        "body": c.body, "subject": c.subject, "recipients": c.recipients,
        "cancelled_by": c.cancelled_by,
        "cancelled_at": c.cancelled_at and c.cancelled_at.isoformat(),
        "held": _held(session, c.id)}
    if c.audience_complete and total <= INLINE_DELIVERIES:
        view["deliveries"] = [delivery(d) for d in session.scalars(select(Delivery).where(
            Delivery.communication_id == c.id).order_by(Delivery.id))]
    return view


def _held(session, communication_id):
    count, until = session.execute(select(func.count(), func.min(Delivery.held_until)).where(
        Delivery.communication_id == communication_id, Delivery.status == "queued",
        Delivery.held_until.is_not(None))).one()
    return {"deliveries": count, "until": until and until.isoformat()}


def summary(c):
    return {"id": c.id, "kind": c.kind, "status": c.status, "community_id": c.community_id,
            "community_ids": c.community_ids or [c.community_id],
            "category_id": c.category_id, "channels": c.channels,
            "subject": c.subject,
            "sent_by": {"type": (c.identity or {}).get("actor_type"), "id": c.created_by},
            "created_at": c.created_at.isoformat(), "accepted_at": c.created_at.isoformat(),
            "send_at": c.send_at and c.send_at.isoformat(),
            "emergency": bool(c.emergency), "emergency_reason": c.emergency_reason,
            "document_id": c.document_id,
            "started_at": c.started_at and c.started_at.isoformat(),
            "finished_at": c.finished_at and c.finished_at.isoformat(),
            "links": {"self": f"/v1/communications/{c.id}",
                      "deliveries": f"/v1/communications/{c.id}/deliveries"}}


def delivery(d):
    return {"id": d.id, "resident_id": d.resident_id, "community_id": d.community_id,
            "channel": d.channel, "address": d.address, "status": d.status, "reason": d.reason,
            "error_code": d.error_code, "credits": d.credits, "segments": d.segments,
            "attempts": d.attempts, "provider_id": d.provider_id,
            "held_until": d.held_until and d.held_until.isoformat(),
            "updated_at": d.updated_at.isoformat()}


def deliveries(session, caller, communication_id, status=None, channel=None, cursor=None,
               limit=None):
    """A page of deliveries in id order; `next` is the cursor of the page after, or None."""
    load(session, caller, communication_id)
    query = select(Delivery).where(Delivery.communication_id == communication_id)
    if status:
        query = query.where(Delivery.status == status)
    if channel:
        query = query.where(Delivery.channel == channel)
    rows, nxt = pagination.paginate(session, query, Delivery.id, cursor, limit)
    return {"items": [delivery(d) for d in rows], "next": nxt}


def communications(session, caller, community_id=None, kind=None, status=None,
                   category_id=None, created_after=None, created_before=None, cursor=None,
                   limit=None, emergency=None):
    """Past sends, newest first, of the communities the caller may read."""
    limit = pagination.page_size(limit)
    query = select(Communication).where(Communication.organization_id == caller.organization_id)
    where = caller.communities(READERS)
    if not where:
        raise Forbidden("listing communications needs send_communications or view_reports "
                        "in some community", "permissions")
    if where != EVERYWHERE:
        # only sends whose every community the caller may read
        hidden = select(CommunicationCommunity.communication_id).where(
            CommunicationCommunity.community_id.not_in(where or {""}))
        query = query.where(Communication.id.not_in(hidden))
    if community_id:
        query = query.where(Communication.id.in_(select(CommunicationCommunity.communication_id)
                                                 .where(CommunicationCommunity.community_id
                                                        == community_id)))
    for column, value in ((Communication.kind, kind), (Communication.status, status),
                          (Communication.category_id, category_id)):
        if value:
            query = query.where(column == value)
    if emergency is not None:
        query = query.where(Communication.emergency.is_(bool(emergency)))
    # the moments come over RPC as ISO 8601 text (the gateway checked their offset)
    if created_after:
        query = query.where(Communication.created_at >= _moment(created_after))
    if created_before:
        query = query.where(Communication.created_at < _moment(created_before))
    after = _decode(cursor)
    if after:
        query = query.where((Communication.created_at < after["at"]) | (
            (Communication.created_at == after["at"]) & (Communication.id < after["id"])))
    rows = session.scalars(query.order_by(Communication.created_at.desc(),
                                          Communication.id.desc()).limit(limit + 1)).all()
    page = rows[:limit]
    nxt = None
    if len(rows) > limit:
        nxt = _encode({"at": page[-1].created_at.isoformat(), "id": page[-1].id})
    return {"items": [summary(c) for c in page], "next": nxt}


def _encode(position):
    return base64.urlsafe_b64encode(json.dumps(position).encode()).decode().rstrip("=")


def _moment(value):
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def _decode(cursor):
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        position = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(position, dict) or not isinstance(position.get("id"), str):
            raise ValueError
        if "at" in position:
            position["at"] = datetime.fromisoformat(position["at"])
        return position
    except (ValueError, TypeError, UnicodeDecodeError):
        raise InvalidRequest("cursor is not one this list gave", "cursor") from None
