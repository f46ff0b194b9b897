"""The report of emergency sends, built only from messaging's events.

Recording:
1. `communication_accepted` with `emergency: true` becomes one row: who sent it (`sent_by`),
   why (`emergency_reason`), when (`accepted_at`, else the event's time), the communities
   it reached and its channels. Any other send is not kept here.
2. `communication_finished` of every communication is kept (status and time): it may come
   before the send's `communication_accepted`, so it is not dropped for want of a row.
3. Deliveries are counted from delivery_states (`deliveries_updated`), as the deliveries
   report counts them: one count per status, each delivery at its furthest status.
Every event is recorded once (the consumers dedupe by event_id, and a row made twice is
skipped), in any order.

Reading, in this order:
1. The caller must hold `view_reports` or `send_emergency` — for `community_id` when one is
   asked, else somewhere; otherwise 403 naming both.
2. Only sends of the caller's own organization, and only those whose every community the
   caller holds one of those permissions for (as messaging lists sends): a send that also
   reached a community the caller may not read would show its figures.
3. `community_id`, `created_after` (inclusive) and `created_before` (exclusive) narrow it by
   `accepted_at`; newest first, then by id; `cursor` is the `next` of the page before.
"""

from datetime import datetime

from sqlalchemy import func, select

from contracts.errors import Forbidden, InvalidRequest
from servicekit import pagination
from servicekit.access import EVERYWHERE
from servicekit.db import insert_missing
from services.reports.models import (
    DeliveryState,
    EmergencySend,
    EmergencySendCommunity,
    FinishedCommunication,
)

READERS = ("view_reports", "send_emergency")


def record_accepted(session, events):
    """Rows for the emergency sends among `communication_accepted` events."""
    sends, communities = [], []
    for event in events:
        data = event.data
        if not data.get("emergency"):
            continue
        reached = data.get("community_ids") or [data["community_id"]]
        sent_by = data.get("sent_by") or {}
        sends.append({
            "communication_id": data["communication_id"],
            "organization_id": event.organization_id, "community_ids": reached,
            "kind": data["kind"], "category_id": data["category_id"],
            "channels": data["channels"], "reason": data.get("emergency_reason"),
            "sent_by_type": sent_by.get("type"), "sent_by_id": sent_by.get("id"),
            "sent_by_name": sent_by.get("name"),
            "accepted_at": _moment(data.get("accepted_at") or event.occurred_at)})
        communities += [{"communication_id": data["communication_id"], "community_id": c}
                        for c in reached]
    insert_missing(session, EmergencySend.__table__, sends)
    insert_missing(session, EmergencySendCommunity.__table__, communities)


def record_finished(session, events):
    insert_missing(session, FinishedCommunication.__table__, [
        {"communication_id": e.data["communication_id"], "organization_id": e.organization_id,
         "status": e.data["status"], "finished_at": _moment(e.data["finished_at"])}
        for e in events])


def page(session, caller, community_id=None, created_after=None, created_before=None,
         cursor=None, limit=None):
    """{items, next}: one page of the emergency sends the caller may read."""
    limit = pagination.page_size(limit)
    where = readable(caller, community_id)
    query = select(EmergencySend).where(EmergencySend.organization_id == caller.organization_id)
    if where != EVERYWHERE:
        hidden = select(EmergencySendCommunity.communication_id).where(
            EmergencySendCommunity.community_id.not_in(sorted(where)))
        query = query.where(EmergencySend.communication_id.not_in(hidden))
    if community_id:
        query = query.where(EmergencySend.communication_id.in_(
            select(EmergencySendCommunity.communication_id)
            .where(EmergencySendCommunity.community_id == community_id)))
    if created_after:
        query = query.where(EmergencySend.accepted_at >= _moment(created_after))
    if created_before:
        query = query.where(EmergencySend.accepted_at < _moment(created_before))
    after = _decode(cursor)
    if after:
        at, last_id = after
        query = query.where((EmergencySend.accepted_at < at) | (
            (EmergencySend.accepted_at == at) & (EmergencySend.communication_id < last_id)))
    rows = session.scalars(query.order_by(EmergencySend.accepted_at.desc(),
                                          EmergencySend.communication_id.desc())
                           .limit(limit + 1)).all()
    sends = rows[:limit]
    nxt = _encode(sends[-1]) if len(rows) > limit else None
    return {"items": _views(session, sends), "next": nxt}


def readable(caller, community_id=None):
    """Where the caller may read the report: EVERYWHERE or a set of community ids."""
    if community_id:
        caller.require_any(READERS, community_id)
    where = caller.communities(READERS)
    if not where:
        raise Forbidden("the emergency report needs 'view_reports' or 'send_emergency' in "
                        "some community", "permission")
    return where


def _views(session, sends):
    ids = [s.communication_id for s in sends]
    if not ids:
        return []
    counts = {}
    for communication_id, status, n in session.execute(
            select(DeliveryState.communication_id, DeliveryState.status, func.count())
            .where(DeliveryState.communication_id.in_(ids))
            .group_by(DeliveryState.communication_id, DeliveryState.status)):
        counts.setdefault(communication_id, {})[status] = n
    finished = {f.communication_id: f for f in session.scalars(
        select(FinishedCommunication).where(FinishedCommunication.communication_id.in_(ids)))}
    return [view(s, counts.get(s.communication_id, {}), finished.get(s.communication_id))
            for s in sends]


def view(send, counts, finished=None):
    return {"communication_id": send.communication_id, "community_ids": send.community_ids,
            "kind": send.kind, "category_id": send.category_id, "channels": send.channels,
            "sent_by": {"type": send.sent_by_type, "id": send.sent_by_id,
                        "name": send.sent_by_name},
            "emergency_reason": send.reason, "accepted_at": send.accepted_at.isoformat(),
            "status": finished.status if finished else "accepted",
            "finished_at": finished.finished_at.isoformat() if finished else None,
            "counts": counts, "total": sum(counts.values())}


def _moment(value):
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def _encode(send):
    return pagination.encode_cursor(f"{send.accepted_at.isoformat()}|{send.communication_id}")


def _decode(cursor):
    key = pagination.decode_cursor(cursor)
    if key is None:
        return None
    at, _, communication_id = key.partition("|")
    try:
        moment = datetime.fromisoformat(at)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None or not communication_id:
        raise InvalidRequest(pagination.NOT_OURS, "cursor")
    return moment, communication_id
