"""messaging: communications and their deliveries, from acceptance to a terminal status.

create (RPC) persists the communication and answers at once; `prepare` (event) checks
consent and holds credits for the whole batch; `dispatch` (event) hands deliveries to the
provider; provider callbacks move them forward. Each step commits its changes with the
events it causes.
"""

import logging

import eventlet
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from contracts import footer
from contracts.errors import InsufficientCredits, InvalidRequest, NotFound, Unsupported
from contracts.pricing import RateCard, delivery_credits
from contracts.vocabulary import STATUS_RANK
from servicekit import idempotency
from servicekit.access import Caller, new_id
from servicekit.consumers import on_event
from servicekit.db import utcnow
from servicekit.entrypoints import rpc
from servicekit.providers import Database, Rpc
from servicekit.service import TownhallService
from servicekit.tracing import current_correlation_id, set_correlation_id
from services.messaging import lifecycle
from services.messaging.dispatch import Providers
from services.messaging.inbound import Inbound, report_opt_out
from services.messaging.models import Base, Communication, Delivery, ProviderCallback
from services.messaging.notices import Notices
from services.messaging.providers.base import TransientProviderError, unexpected_failure

log = logging.getLogger("townhall.messaging")
DISPATCH_BATCH = 100
SEND_ATTEMPTS = 3


class MessagingService(TownhallService, Inbound, Notices):
    name = "messaging"
    db = Database(Base)
    providers = Providers()
    directory = Rpc("directory")
    consent = Rpc("consent")
    credits = Rpc("credits")

    @rpc
    def create(self, identity, request, idempotency_key=None):
        """Accept a communication; the same key and request answer the first result again."""
        caller = Caller.of(identity)
        caller.require("send_communications")
        _check_supported(request)
        idempotency.check_key(idempotency_key)
        scope, digest = idempotency.caller_scope(caller), None
        if idempotency_key:
            digest = idempotency.request_hash(request)
            with self.db.read() as session:
                previous = idempotency.replay(session, self.db.metadata, scope,
                                              idempotency_key, digest)
            if previous is not None:
                return previous
        if "sms" in request["channels"]:
            caller.require("send_sms")
        category = self.consent.get_category(identity, request["category_id"])
        if category.get("archived"):
            raise InvalidRequest(f"category {category['id']} is archived; it takes no new "
                                 "communications", "category_id")
        residents = self.directory.get_residents(identity, request["recipients"]["residents"])
        community_id = _one_community(residents)
        caller.require("send_communications", community_id)
        if "sms" in request["channels"]:
            caller.require("send_sms", community_id)
        communication_id = new_id("cmm")
        answer = {"id": communication_id, "status": "accepted", "community_id": community_id,
                  "links": {"self": f"/v1/communications/{communication_id}"}}
        try:
            with self.db.unit_of_work() as uow:
                _persist(uow, caller, identity, communication_id, community_id, request,
                         category, residents)
                if idempotency_key:
                    idempotency.remember(uow.session, self.db.metadata, scope,
                                         idempotency_key, digest, answer)
        except IntegrityError:
            # a concurrent request with the same key won the race: answer what it answered
            with self.db.read() as session:
                previous = idempotency.replay(session, self.db.metadata, scope,
                                              idempotency_key, digest)
            if previous is None:
                raise
            return previous
        return answer

    @rpc
    def get(self, identity, communication_id):
        caller = Caller.of(identity)
        with self.db.read() as session:
            communication = session.get(Communication, communication_id)
            if communication is None:
                raise NotFound(f"communication {communication_id} does not exist", "id")
            caller.check_owner(communication.organization_id, "communication", communication_id)
            caller.require_any(("send_communications", "view_reports"),
                               communication.community_id)
            deliveries = session.scalars(select(Delivery).where(
                Delivery.communication_id == communication_id).order_by(Delivery.id)).all()
        counts = {}
        for d in deliveries:
            counts[d.status] = counts.get(d.status, 0) + 1
        return {
            "id": communication.id, "kind": communication.kind,
            "status": lifecycle.overall(counts), "community_id": communication.community_id,
            "category_id": communication.category_id, "channels": communication.channels,
            "created_at": communication.created_at.isoformat(), "counts": counts,
            "deliveries": [{"id": d.id, "resident_id": d.resident_id, "channel": d.channel,
                            "status": d.status, "reason": d.reason, "error_code": d.error_code,
                            "credits": d.credits, "updated_at": d.updated_at.isoformat()}
                           for d in deliveries],
        }

    @on_event("messaging", "communication_accepted", transactional=False)
    def prepare(self, event):
        """Consent for the whole batch, then one credit hold for everything sendable."""
        communication_id = event.data["communication_id"]
        with self.db.read() as session:
            communication = session.get(Communication, communication_id)
            pending = session.scalars(select(Delivery).where(
                Delivery.communication_id == communication_id,
                Delivery.status == "pending")).all()
        if not pending:
            return
        identity = communication.identity
        decisions = {}
        for channel in communication.channels:
            batch = [{"resident_id": d.resident_id, "has_contact_point": d.address is not None,
                      "address": d.address}
                     for d in pending if d.channel == channel]
            for decision in self.consent.check(identity, communication.category_id, channel,
                                               batch):
                decisions[(decision["resident_id"], channel)] = decision
        links = self._unsubscribe_links(identity, communication, pending, decisions)
        rates = RateCard(**self.credits.rate_card(identity))
        # priced on the text that is sent: the body and its unsubscribe footer
        prices = {d.id: delivery_credits(d.channel, footer.text_to_send(
            d.channel, communication.body, links.get((d.resident_id, d.channel))), rates)
            for d in pending}
        to_hold = [{"delivery_id": d.id, "amount": prices[d.id]} for d in pending
                   if decisions[(d.resident_id, d.channel)]["allowed"] and prices[d.id] > 0]
        holds, refused = {}, None
        if to_hold:
            try:
                reserved = self.credits.reserve(identity, communication.community_id,
                                                communication_id, to_hold,
                                                idempotency_key=f"reserve:{communication_id}")
                holds = {h["delivery_id"]: h["hold_id"] for h in reserved["holds"]}
            except InsufficientCredits as exc:
                # nothing is sent that cannot be paid for; the reason names the rule
                refused = {"reason": f"no credits: {exc.detail}"[:300],
                           "delivery_ids": {i["delivery_id"] for i in to_hold}}
        with self.db.unit_of_work() as uow:
            changes, queued = [], []
            for d in _lock_status(uow.session, [d.id for d in pending], "pending"):
                decision = decisions[(d.resident_id, d.channel)]
                if refused and d.id in refused["delivery_ids"]:
                    _move(d, "failed", reason=refused["reason"])
                elif decision["allowed"]:
                    _move(d, "queued", credits=prices[d.id], hold_id=holds.get(d.id))
                    d.unsubscribe_url = links.get((d.resident_id, d.channel))
                    queued.append(d.id)
                else:
                    _move(d, "suppressed", reason=decision["reason"])
                changes.append(_change(d, "pending"))
            _emit_changes(uow, communication, changes)
            for start in range(0, len(queued), DISPATCH_BATCH):
                uow.emit("deliveries_queued", {"communication_id": communication_id,
                                               "delivery_ids": queued[start:start +
                                                                      DISPATCH_BATCH]},
                         organization_id=communication.organization_id)

    def _unsubscribe_links(self, identity, communication, pending, decisions):
        """{(resident_id, channel): url} of the deliveries that will be sent, when the
        category offers unsubscribing: one call per channel for the whole batch."""
        links = {}
        for channel in communication.channels:
            allowed = [{"resident_id": d.resident_id, "address": d.address} for d in pending
                       if d.channel == channel and decisions[(d.resident_id, channel)]["allowed"]]
            if allowed:
                urls = self.consent.unsubscribe_links(identity, communication.category_id,
                                                      channel, allowed)
                links.update({(resident_id, channel): url for resident_id, url in urls.items()})
        return links

    @on_event("messaging", "deliveries_queued", transactional=False)
    def dispatch(self, event):
        """Hand a batch to the provider. A delivery left `sending` by a crash is
        reconciled with the provider first, never blindly sent twice."""
        ids = event.data["delivery_ids"]
        with self.db.unit_of_work() as uow:
            communication = uow.session.get(Communication, event.data["communication_id"])
            stale = uow.session.scalars(select(Delivery).where(
                Delivery.id.in_(ids), Delivery.status == "sending",
                Delivery.provider_id.is_(None))).all()
            claimed = _lock_status(uow.session, ids, "queued")
            for d in claimed:
                d.status, d.sending_since, d.attempts = "sending", utcnow(), d.attempts + 1
        work = [(d, False) for d in claimed] + [(d, True) for d in stale]
        if not work:
            return
        pool = eventlet.GreenPool(10)
        results = list(pool.imap(lambda item: self._send(communication, *item), work))
        with self.db.unit_of_work() as uow:
            changes = []
            for delivery, result in zip([d for d, _ in work], results, strict=True):
                d = uow.session.get(Delivery, delivery.id)
                previous = d.status
                if result.provider_id:
                    d.provider_id = result.provider_id
                target = result.status if result.status != "sending" else "sent"
                if d.status == "sending" and lifecycle.advances("sending", target):
                    _move(d, target, error_code=result.error_code,
                          reason=result.error_message and result.error_message[:300])
                _apply_waiting_callbacks(uow.session, d)
                if d.status != previous:
                    changes.append(_change(d, previous))
                report_opt_out(uow, d, previous, self.providers, communication.organization_id)
            _emit_changes(uow, communication, changes)

    def _send(self, communication, delivery, reconcile):
        """Send once; after a transient error look the message up before trying again, so
        an answer lost on the way back never makes a second text."""
        provider = self.providers.providers[delivery.channel]
        link = delivery.unsubscribe_url
        text = footer.text_to_send(delivery.channel, communication.body, link)
        must_look_up = reconcile
        for attempt in range(SEND_ATTEMPTS):
            try:
                if must_look_up:
                    found = provider.find_sent(delivery.address, text, delivery.sending_since)
                    if found:
                        return _Result("sent", found)
                return provider.send(delivery.id, delivery.address, text,
                                     subject=communication.subject,
                                     status_callback=self.providers.status_callback,
                                     unsubscribe_url=link)
            except TransientProviderError as exc:
                log.warning("provider error for %s (attempt %d): %s", delivery.id,
                            attempt + 1, exc)
                must_look_up = True
                eventlet.sleep(0.5 * 2 ** attempt)
            except Exception as exc:
                log.exception("provider raised for %s; the delivery fails", delivery.id)
                return unexpected_failure(exc)
        return _Result("failed", None, "provider_unavailable", "provider unavailable")

    @on_event("gateway", "provider_status_received")
    def apply_provider_status(self, event, uow):
        """A provider callback: applied once per (provider id, status), only forward."""
        data = event.data
        status = lifecycle.from_provider(data["status"])
        if status is None:
            return
        session = uow.session
        key = (data["provider_id"], status)
        if session.get(ProviderCallback, key) is not None:
            return
        session.add(ProviderCallback(provider_id=key[0], status=status,
                                     error_code=data.get("error_code")))
        session.flush()
        delivery = session.scalars(select(Delivery).where(
            Delivery.provider_id == data["provider_id"])).first()
        if delivery is None:
            return  # arrived before the send was recorded; applied when it is
        previous = delivery.status
        _apply_waiting_callbacks(session, delivery)
        if delivery.status != previous:
            communication = session.get(Communication, delivery.communication_id)
            _join_correlation(communication)
            _emit_changes(uow, communication, [_change(delivery, previous)])
            report_opt_out(uow, delivery, previous, self.providers,
                           communication.organization_id)


class _Result:
    def __init__(self, status, provider_id, error_code=None, error_message=None):
        self.status, self.provider_id = status, provider_id
        self.error_code, self.error_message = error_code, error_message


def _join_correlation(communication):
    """A provider callback is a request of its own; what it causes is logged and published
    under the correlation id of the send it belongs to."""
    if communication.correlation_id and communication.correlation_id != current_correlation_id():
        log.info("callback joins correlation %s", communication.correlation_id,
                 extra={"callback_correlation_id": current_correlation_id()})
        set_correlation_id(communication.correlation_id)


def _check_supported(request):
    """What this version cannot do yet is refused whole, never partly sent."""
    if request["kind"] != "message":
        raise Unsupported(f"kind {request['kind']!r} is not supported yet; use 'message'",
                          "kind")
    if len(request["channels"]) != 1 or request["channels"][0] not in ("sms", "email"):
        raise Unsupported("exactly one channel, 'sms' or 'email', is supported yet", "channels")
    if len(request["recipients"]["residents"]) != 1:
        raise Unsupported("exactly one resident per communication is supported yet",
                          "recipients.residents")


def _one_community(residents):
    community_ids = {r["community_id"] for r in residents}
    if len(community_ids) != 1:
        raise InvalidRequest("all recipients must live in one community", "recipients")
    return community_ids.pop()


def _persist(uow, caller, identity, communication_id, community_id, request, category,
             residents):
    uow.session.add(Communication(
        id=communication_id, organization_id=caller.organization_id, community_id=community_id,
        kind=request["kind"], channels=request["channels"], category_id=category["id"],
        subject=request.get("subject") or category["name"], body=request["body"],
        created_by=caller.actor_id, identity=identity,
        correlation_id=current_correlation_id()))
    address_field = {"sms": "phone", "email": "email"}
    deliveries = [Delivery(id=new_id("dlv"), communication_id=communication_id,
                           resident_id=r["id"], channel=channel,
                           address=r.get(address_field[channel]), status="pending")
                  for r in residents for channel in request["channels"]]
    uow.session.add_all(deliveries)
    uow.emit("communication_accepted", {
        "communication_id": communication_id, "community_id": community_id,
        "kind": request["kind"], "channels": request["channels"],
        "category_id": category["id"], "recipient_count": len(deliveries)},
        organization_id=caller.organization_id)


def _lock_status(session, ids, status):
    """Take the deliveries still in `status`; a concurrent worker gets none of them."""
    taken = session.execute(update(Delivery).where(Delivery.id.in_(ids), Delivery.status == status)
                            .values(updated_at=utcnow()).returning(Delivery.id)).scalars().all()
    return session.scalars(select(Delivery).where(Delivery.id.in_(taken))).all()


def _move(delivery, status, reason=None, error_code=None, credits=None, hold_id=None):
    delivery.status = status
    delivery.updated_at = utcnow()
    if reason is not None:
        delivery.reason = reason
    if error_code is not None:
        delivery.error_code = error_code
    if credits is not None:
        delivery.credits = credits
    if hold_id is not None:
        delivery.hold_id = hold_id


def _apply_waiting_callbacks(session, delivery):
    """Apply the furthest callback received for this delivery's provider id, if any."""
    if not delivery.provider_id:
        return
    callbacks = session.scalars(select(ProviderCallback).where(
        ProviderCallback.provider_id == delivery.provider_id)).all()
    best = max(callbacks, key=lambda c: STATUS_RANK[c.status], default=None)
    if best is not None and lifecycle.advances(delivery.status, best.status):
        _move(delivery, best.status, error_code=best.error_code)


def _change(delivery, previous):
    return {"delivery_id": delivery.id, "resident_id": delivery.resident_id,
            "channel": delivery.channel, "status": delivery.status,
            "previous_status": previous, "reason": delivery.reason,
            "error_code": delivery.error_code, "credits": delivery.credits,
            "hold_id": delivery.hold_id}


def _emit_changes(uow, communication, changes):
    if changes:
        uow.emit("deliveries_updated", {"communication_id": communication.id,
                                        "community_id": communication.community_id,
                                        "items": changes},
                 organization_id=communication.organization_id)


