"""Accepting a communication, previewing one, and cancelling one.

Accepting checks what can be checked at once — what this version supports, the category,
that every named community, unit, resident and group is the organization's, that the sender
may send in each community the audience touches, and that it reaches somebody — then
persists the communication with its audience as asked and answers. Resolving the audience
page by page, consent and credits come after, as persisted work (resolution, preparation).
"""

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from contracts.errors import InvalidRequest, Unsupported
from servicekit import idempotency
from servicekit.access import new_id
from servicekit.db import utcnow
from servicekit.tracing import current_correlation_id
from services.messaging import (
    audience,
    changes,
    document_links,
    documents,
    quoting,
    scheduling,
    urgency,
    voice_calls,
)
from services.messaging.models import Communication, CommunicationCommunity, Delivery
from services.messaging.resolution import PAGE_SIZE

SUPPORTED_KINDS = ("message", "announcement", "document")
SUPPORTED_CHANNELS = ("sms", "email", "voice")
PAID_CHANNELS = ("sms", "voice")   # spend credits: the sender needs send_sms
QUOTE_BATCH = 1000


def check_supported(request, call_settings=None, gather_action=None, links=None):
    """What this version cannot do yet is refused whole, never partly sent; so is a body
    too long for a call, counted as the call says it (a document's call ends with its link,
    `links` giving one of the real ones' length)."""
    if request["kind"] not in SUPPORTED_KINDS:
        raise Unsupported(f"kind {request['kind']!r} is not supported yet; use one of "
                          f"{', '.join(SUPPORTED_KINDS)}", "kind")
    unsupported = [c for c in request["channels"] if c not in SUPPORTED_CHANNELS]
    if unsupported:
        raise Unsupported(f"channel {unsupported[0]!r} is not supported yet; use "
                          f"{' and/or '.join(SUPPORTED_CHANNELS)}", "channels")
    if len(set(request["channels"])) != len(request["channels"]):
        raise InvalidRequest("each channel may be named once", "channels")
    if "voice" in request["channels"] and call_settings is not None:
        said = request["body"]
        if request["kind"] == "document" and links is not None:
            said = document_links.body_for("voice", said, links.stand_in())
        voice_calls.check_length(said, call_settings.voice, gather_action)
    if request["kind"] == "document" and not request.get("document_id"):
        raise InvalidRequest("a document send names its document: upload it with POST "
                             "/v1/documents and give its id", "document_id")
    if request["kind"] != "document" and request.get("document_id"):
        raise InvalidRequest("only a send of kind document carries a document", "document_id")


def check_document(db, caller, request):
    """The document a send names is its organization's (else a 404 naming document_id)."""
    if request.get("document_id"):
        with db.read() as session:
            documents.load(session, caller, request["document_id"])


def audience_of(request):
    recipients = dict(request["recipients"])
    return {key: list(recipients.get(key) or []) for key in
            ("communities", "units", "residents", "groups")} | {
        "occupancy": recipients.get("occupancy")}


def check_sender(identity, caller, consent, directory, request):
    """The category, and the sender's right to send to every community of the audience.
    Answers (category, audience, scope)."""
    if any(c in PAID_CHANNELS for c in request["channels"]):
        caller.require("send_sms")
    category = consent.get_category(identity, request["category_id"])
    if category.get("archived"):
        raise InvalidRequest(f"category {category['id']} is archived; it takes no new "
                             "communications", "category_id")
    if request.get("emergency") and not (request.get("emergency_reason") or "").strip():
        raise InvalidRequest("an emergency send says why it cannot wait", "emergency_reason")
    recipients = audience_of(request)
    scope = directory.audience_scope(identity, recipients)
    for community_id in scope["communities"]:
        caller.require("send_communications", community_id)
        if request.get("emergency"):
            caller.require("send_emergency", community_id)
        if any(c in PAID_CHANNELS for c in request["channels"]):
            caller.require("send_sms", community_id)
    if scope["size"] == 0:
        raise InvalidRequest("the audience reaches nobody: every resident it names has "
                             "moved out, or its groups and units are empty", "recipients")
    return category, recipients, scope


def accept(db, caller, identity, request, category, recipients, scope, key, digest,
           quiet_hours=None):
    communication_id = new_id("cmm")
    communities = scope["communities"]
    send_at = scheduling.parse_send_at(request["send_at"]) if request.get("send_at") else None
    status = "scheduled" if send_at else "accepted"
    answer = {"id": communication_id, "status": status, "community_id": communities[0],
              "send_at": send_at and send_at.isoformat(),
              "community_ids": communities, "audience_size": scope["size"],
              "links": {"self": f"/v1/communications/{communication_id}",
                        "deliveries": f"/v1/communications/{communication_id}/deliveries",
                        "cancel": f"/v1/communications/{communication_id}/cancel"}}
    scope_key = idempotency.caller_scope(caller)
    try:
        with db.unit_of_work() as uow:
            uow.session.add(Communication(
                id=communication_id, organization_id=caller.organization_id,
                community_id=communities[0], community_ids=communities, kind=request["kind"],
                channels=request["channels"], category_id=category["id"],
                subject=request.get("subject") or category["name"], body=request["body"],
                created_by=caller.actor_id, identity=identity, recipients=recipients,
                correlation_id=current_correlation_id(), status=status, send_at=send_at,
                audience_size=scope["size"], timezones=scope.get("timezones") or {},
                document_id=request.get("document_id"),
                quiet_hours=quiet_hours, emergency=bool(request.get("emergency")),
                emergency_reason=(request.get("emergency_reason") or "").strip() or None
                if request.get("emergency") else None))
            uow.session.add_all([CommunicationCommunity(communication_id=communication_id,
                                                        community_id=c) for c in communities])
            uow.session.flush()
            communication = uow.session.get(Communication, communication_id)
            if send_at:
                # handed on when it is due (scheduling.fire_due), not now
                uow.emit("communication_scheduled", {
                    **scheduling.accepted_event(communication),
                    "send_at": send_at.isoformat()}, organization_id=caller.organization_id)
            else:
                urgency.emit_accepted(uow, communication,
                                      scheduling.accepted_event(communication))
            if key:
                idempotency.remember(uow.session, db.metadata, scope_key, key, digest, answer)
    except IntegrityError:
        # a concurrent request with the same key won the race: answer what it answered
        previous = replay(db, caller, key, digest)
        if previous is None:
            raise
        return previous
    return answer


def replay(db, caller, key, digest):
    if not key:
        return None
    with db.read() as session:
        return idempotency.replay(session, db.metadata, idempotency.caller_scope(caller), key,
                                  digest)


def preview(directory, consent, credits, identity, request, recipients, scope,
            call_settings=None, links=None):
    """What a send of `request` right now would do, sending nothing: the audience, each
    channel's decisions (allowed, or each suppression reason), its credits, and each paying
    wallet's balance after — through the functions the send itself uses."""
    channels = request["channels"]
    # a document's link is priced as sent: a stand-in of the real links' length
    stand_in = ((lambda _key: links.stand_in()) if request.get("document_id") and links
                else None)
    taken, items, after, n, languages = {}, [], None, 0, {}
    while True:
        page = directory.resolve_audience(identity, recipients, after=after, limit=PAGE_SIZE)
        languages.update((r["id"], r.get("language")) for r in page["residents"])
        for p in audience.plan(page["residents"], channels, taken):
            items.append((p, f"q{n}"))
            n += 1
        after = page["next"]
        if after is None:
            break
    decided = {key: None for _, key in items}
    residents = {p.resident_id for p, _ in items}
    open_items = [{"key": key, "resident_id": p.resident_id, "community_id": p.community_id,
                   "channel": p.channel, "address": p.address,
                   "language": languages.get(p.resident_id)}
                  for p, key in items if p.reason is None]
    for start in range(0, len(open_items), QUOTE_BATCH):
        for q in quoting.quote_batch(consent, credits, identity, request["category_id"],
                                     request["body"], channels,
                                     open_items[start:start + QUOTE_BATCH],
                                     call_settings, stand_in):
            decided[q.key] = q
    per_channel = {c: {"deliveries": 0, "allowed": 0, "suppressed": {}, "credits": 0,
                       "segments": 0} for c in channels}
    per_community = {}
    for p, key in items:
        figures = per_channel[p.channel]
        figures["deliveries"] += 1
        q = decided[key]
        if q is None or not q.allowed:
            reason = p.reason or q.reason
            figures["suppressed"][reason] = figures["suppressed"].get(reason, 0) + 1
            continue
        figures["allowed"] += 1
        figures["credits"] += q.credits
        figures["segments"] += q.segments
        per_community[p.community_id] = per_community.get(p.community_id, 0) + q.credits
    return {"audience_size": len(residents), "communities": scope["communities"],
            "channels": per_channel,
            "credits": sum(f["credits"] for f in per_channel.values()),
            "wallets": _wallets(credits, identity, per_community)}


def _wallets(credits, identity, per_community):
    """Each paying wallet, the credits the send would hold on it, and its balance after."""
    wallets = {}
    for community_id, amount in sorted(per_community.items()):
        wallet = credits.payer_wallet(identity, community_id)
        owner = wallet["wallet"] if wallet else f"none:{community_id}"
        entry = wallets.setdefault(owner, {"wallet": wallet and wallet["wallet"],
                                           "communities": [], "credits": 0,
                                           "balance": wallet and wallet["balance"],
                                           "available": wallet and wallet["available"]})
        entry["communities"].append(community_id)
        entry["credits"] += amount
    for entry in wallets.values():
        entry["available_after"] = (None if entry["available"] is None
                                    else entry["available"] - entry["credits"])
    return list(wallets.values())


def cancel(db, caller, communication_id, load):
    """Everything not yet handed to the provider ends `cancelled` (credits releases their
    holds); a second cancel changes nothing and answers the same."""
    with db.unit_of_work() as uow:
        session = uow.session
        communication = load(session, caller, communication_id, for_change=True)
        # deliveries first, the communication's row last, in the order every step locks
        # them (a finishing step holds its deliveries, then the communication)
        stopped = changes.take(session, _open_ids(session, communication_id), "pending") + \
            changes.take(session, _open_ids(session, communication_id, "queued"), "queued")
        made = []
        for d in stopped:
            previous = d.status
            changes.move(d, "cancelled", reason="cancelled")
            made.append(changes.change(d, previous))
        if communication.cancelled_at is None and communication.finished_at is None:
            now = utcnow()
            session.execute(update(Communication).where(Communication.id == communication_id)
                            .values(cancelled_at=now, cancelled_by=caller.actor_id,
                                    audience_complete=True))
            communication.cancelled_at, communication.audience_complete = now, True
            communication.cancelled_by = caller.actor_id
        changes.emit(uow, communication, made)
        changes.finish_if_done(uow, communication)
        return communication.id, len(made)


def _open_ids(session, communication_id, status="pending"):
    """What a cancel may stop: never a delivery to be looked up first (a retry whose answer
    was lost: the provider may have it, and dispatching asks before it cancels)."""
    return session.scalars(select(Delivery.id).where(
        Delivery.communication_id == communication_id, Delivery.status == status,
        Delivery.look_up.is_(False))).all()
