"""Handing queued deliveries to the provider, a batch at a time.

1. One transaction takes the batch (queued -> sending) and the sender's segment budget for
   its texts (budgets.take; an emergency's batch first, rate_limit rule 6): texts the
   budget cannot pay for now stay queued until the time the budget names, and the release
   timer hands them on again then (an emergency's first).
2. The provider calls run concurrently outside any transaction. A delivery whose earlier
   answer may have been lost (`look_up`) is looked up at the provider first, never blindly
   sent twice.
3. The batch's answers are recorded in one step (recording), together with those of the
   batches this process finishes meanwhile.
"""

import logging
import time
from datetime import timedelta

import eventlet
from sqlalchemy import select, update

from contracts import footer
from servicekit.db import utcnow
from services.messaging import changes, document_links, holding, recording, urgency
from services.messaging.models import Communication, Delivery, Document
from services.messaging.providers.base import (
    Attachment,
    TransientProviderError,
    unexpected_failure,
)

log = logging.getLogger("townhall.messaging")
CALLS_PER_BATCH = 16      # a batch's calls in flight; messaging.send_concurrency bounds them all
CANCEL_LOOK_SECONDS = 0.2
RELEASE_BATCH = 1000


class Attempt:
    """What one provider call came to."""

    def __init__(self, delivery_id, provider_id=None, status=None, error_code=None,
                 error_message=None, transient=None):
        self.delivery_id, self.provider_id, self.status = delivery_id, provider_id, status
        self.error_code, self.error_message = error_code, error_message
        self.transient = transient   # the TransientProviderError, when it was one


def dispatch(db, providers, communication_id, delivery_ids, policy, now=None):
    with db.unit_of_work() as uow:
        session = uow.session
        communication = session.get(Communication, communication_id)
        taken = changes.take(session, delivery_ids, "queued")
        now = now or utcnow()
        due = [d for d in taken if d.next_attempt_at is None or d.next_attempt_at <= now]
        work = _within_budget(session, providers, holding.hold_quiet(communication, due, now),
                              urgent=bool(communication.emergency))
        for d in work:
            d.status, d.sending_since, d.attempts = "sending", now, d.attempts + 1
            d.held_until = None
            d.first_attempt_at = d.first_attempt_at or now
            d.next_attempt_at = None
    if not work:
        return
    cancelled = CancelWatch(db, communication_id)
    attachment = _attachment(db, providers, communication, work)
    pool = eventlet.GreenPool(CALLS_PER_BATCH)
    answers = list(pool.imap(
        lambda d: _attempt(providers, communication, d, cancelled, attachment), work))
    recording.record(db, providers, communication, answers, policy)


def _attachment(db, providers, communication, work):
    """A document send's emails carry the document: read once for the batch."""
    if not communication.document_id or not any(d.channel == "email" for d in work):
        return None
    with db.read() as session:
        row = session.get(Document, communication.document_id)
    return Attachment(row.filename, row.content_type, providers.blobs.get(row.sha256))


class CancelWatch:
    """Whether the send was cancelled, for the calls of one batch: looked up again at most
    every CANCEL_LOOK_SECONDS, by one call while the others take the answer before it."""

    def __init__(self, db, communication_id, clock=time.monotonic):
        self._db, self._id, self._clock = db, communication_id, clock
        self._looking = False
        self._value, self._at = _cancelled(db, communication_id), clock()

    def __call__(self):
        if not self._looking and self._clock() - self._at >= CANCEL_LOOK_SECONDS:
            self._looking = True
            try:
                self._value = _cancelled(self._db, self._id)
            finally:
                self._looking, self._at = False, self._clock()
        return self._value


def _cancelled(db, communication_id):
    with db.read() as session:
        return session.scalar(select(Communication.cancelled_at).where(
            Communication.id == communication_id)) is not None


def _within_budget(session, providers, deliveries, urgent=False):
    """The deliveries that may go now; what is past its budget waits its turn. A text costs
    its segments of the sender's budget; a call one token of the account's call rate, then
    one of the sender's (the call rate's row is always taken first). `urgent`: an
    emergency's batch, which both budgets serve first."""
    calls = [d for d in deliveries if d.channel == "voice"]
    waiting = []
    if calls:
        grant = providers.call_rate.take(session, len(calls), urgent=urgent)
        waiting += _wait(calls[grant.granted:], grant)
        calls = calls[:grant.granted]
    texts = [d for d in deliveries if d.channel == "sms"]
    paid = texts + calls
    if paid:
        grant = providers.sender.take(session, [max(d.segments, 1) if d.channel == "sms" else 1
                                                for d in paid], urgent=urgent)
        waiting += _wait(paid[grant.granted:], grant)
    waiting_ids = {d.id for d in waiting}
    return [d for d in deliveries if d.id not in waiting_ids]


def _wait(deliveries, grant):
    later = utcnow() + _seconds(grant.retry_after)
    for d in deliveries:
        d.next_attempt_at = later
    return deliveries


def _attempt(providers, communication, delivery, cancelled, attachment=None):
    provider = providers.providers[delivery.channel]
    link = (providers.document_links.for_delivery(delivery.id, communication.created_at)
            if communication.document_id else None)
    body = document_links.body_for(delivery.channel, communication.body, link)
    text = footer.text_to_send(delivery.channel, body, delivery.unsubscribe_url)
    with providers.send_slots:
        # asked once the call may go: a cancel while it waited for a slot stops it too;
        # one that may have been handed over already (look_up) is only looked up
        stopped = cancelled()
        if stopped and not delivery.look_up:
            return Attempt(delivery.id, status="cancelled")
        return _call(provider, providers, communication, delivery, text, stopped, attachment)


def _call(provider, providers, communication, delivery, text, cancelled, attachment=None):
    try:
        if delivery.look_up:
            found = provider.find_sent(delivery.address, text, delivery.first_attempt_at)
            if found:
                return Attempt(delivery.id, found, "sending")
            if cancelled:
                return Attempt(delivery.id, status="cancelled")
        if delivery.channel == "voice":
            result = provider.send(delivery.id, delivery.address, text,
                                   status_callback=providers.call_status_callback,
                                   unsubscribe_url=delivery.unsubscribe_url,
                                   language=delivery.language,
                                   gather_action=providers.gather_action)
        elif delivery.channel == "email" and attachment is not None:
            result = provider.send(delivery.id, delivery.address, text,
                                   subject=communication.subject,
                                   unsubscribe_url=delivery.unsubscribe_url,
                                   attachment=attachment)
        else:
            result = provider.send(delivery.id, delivery.address, text,
                                   subject=communication.subject,
                                   status_callback=providers.status_callback,
                                   unsubscribe_url=delivery.unsubscribe_url)
    except TransientProviderError as exc:
        log.warning("provider error for %s (attempt %d): %s", delivery.id, delivery.attempts,
                    exc)
        return Attempt(delivery.id, transient=exc)
    except Exception as exc:
        log.exception("provider raised for %s; the delivery fails", delivery.id)
        result = unexpected_failure(exc)
    return Attempt(delivery.id, result.provider_id, result.status, result.error_code,
                   result.error_message)


def release_due(db, now=None):
    """Hand on the queued deliveries whose time has come (a retry's back-off, the sender's
    budget), an emergency's first: one statement claims up to RELEASE_BATCH of them, so two
    instances never hand on the same one, and a backlog of ordinary ones due together never
    keeps an emergency's waiting for the next tick."""
    now = now or utcnow()
    with db.unit_of_work() as uow:
        session = uow.session
        # rows another instance (or a dispatcher) holds are skipped, not waited for: the
        # next tick takes them; a CTE, taken once (as an IN (subquery) PostgreSQL ran the
        # locking LIMIT again for every row it updated)
        due = (select(Delivery.id).join(Communication,
                                        Communication.id == Delivery.communication_id)
               .where(Delivery.status == "queued", Delivery.next_attempt_at <= now)
               .order_by(Communication.emergency.desc(), Delivery.next_attempt_at,
                         Delivery.id)
               .limit(RELEASE_BATCH).with_for_update(of=Delivery, skip_locked=True)
               .cte("due"))
        released = session.execute(update(Delivery).where(
            Delivery.id.in_(select(due.c.id)), Delivery.next_attempt_at <= now)
            .values(next_attempt_at=None)
            .returning(Delivery.id, Delivery.communication_id)).all()
        by_communication = {}
        for delivery_id, communication_id in released:
            by_communication.setdefault(communication_id, []).append(delivery_id)
        for communication_id, ids in by_communication.items():
            organization_id, emergency = session.execute(select(
                Communication.organization_id, Communication.emergency).where(
                Communication.id == communication_id)).one()
            for start in range(0, len(ids), 100):
                uow.emit(urgency.event_type("deliveries_queued", emergency), {
                    "communication_id": communication_id,
                    "delivery_ids": sorted(ids[start:start + 100])},
                    organization_id=organization_id)
        return len(released)


def _seconds(value):
    return timedelta(seconds=max(value, 0))
