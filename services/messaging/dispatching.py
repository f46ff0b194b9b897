"""Handing queued deliveries to the provider, a batch at a time.

1. One transaction takes the batch (queued -> sending) and the sender's segment budget for
   its texts (budgets.take): texts the budget cannot pay for now stay queued until the
   time the budget names, and the release timer hands them on again then.
2. The provider calls run concurrently outside any transaction. A delivery whose earlier
   answer may have been lost (`look_up`) is looked up at the provider first, never blindly
   sent twice.
3. One transaction records every answer: sent with the provider's id, failed with its code
   (permanent), or queued again for a retry at the time retries.next_attempt names (never a
   worker sleeping), and failed `provider_unavailable` once the retries are used up.
"""

import logging
import random
from datetime import timedelta

import eventlet
from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError

from contracts import footer
from servicekit.db import utcnow
from services.messaging import changes, lifecycle, retries
from services.messaging.callbacks import apply_waiting
from services.messaging.inbound import report_opt_out
from services.messaging.models import Communication, Delivery
from services.messaging.providers.base import TransientProviderError, unexpected_failure

log = logging.getLogger("townhall.messaging")
SEND_CONCURRENCY = 16
RELEASE_BATCH = 1000
RECORD_ATTEMPTS = 6


class Attempt:
    """What one provider call came to."""

    def __init__(self, delivery_id, provider_id=None, status=None, error_code=None,
                 error_message=None, transient=None):
        self.delivery_id, self.provider_id, self.status = delivery_id, provider_id, status
        self.error_code, self.error_message = error_code, error_message
        self.transient = transient   # the TransientProviderError, when it was one


def dispatch(db, providers, sender, communication_id, delivery_ids, policy):
    with db.unit_of_work() as uow:
        session = uow.session
        communication = session.get(Communication, communication_id)
        taken = changes.take(session, delivery_ids, "queued")
        due = [d for d in taken if d.next_attempt_at is None or d.next_attempt_at <= utcnow()]
        work = _within_budget(session, sender, due)
        now = utcnow()
        for d in work:
            d.status, d.sending_since, d.attempts = "sending", now, d.attempts + 1
            d.first_attempt_at = d.first_attempt_at or now
            d.next_attempt_at = None
    if not work:
        return
    attempts = []
    pool = eventlet.GreenPool(SEND_CONCURRENCY)
    for start in range(0, len(work), SEND_CONCURRENCY):
        wave = work[start:start + SEND_CONCURRENCY]
        # a cancel stops what is not handed to the provider yet, in this batch too; what
        # may have been handed already (look_up) is only looked up
        cancelled = _cancelled(db, communication_id)
        attempts += list(pool.imap(
            lambda d, cancelled=cancelled: _attempt(providers, communication, d, cancelled),
            wave))
    record(db, providers, communication, attempts, policy)


def _cancelled(db, communication_id):
    with db.read() as session:
        return session.scalar(select(Communication.cancelled_at).where(
            Communication.id == communication_id)) is not None


def _within_budget(session, sender, deliveries):
    """The deliveries that may go now; the sender's texts past its budget wait their turn."""
    texts = [d for d in deliveries if d.channel == "sms"]
    if not texts:
        return deliveries
    grant = sender.take(session, [max(d.segments, 1) for d in texts])
    waiting = texts[grant.granted:]
    if waiting:
        later = utcnow() + _seconds(grant.retry_after)
        for d in waiting:
            d.next_attempt_at = later
    waiting_ids = {d.id for d in waiting}
    return [d for d in deliveries if d.id not in waiting_ids]


def _attempt(providers, communication, delivery, cancelled=False):
    provider = providers.providers[delivery.channel]
    text = footer.text_to_send(delivery.channel, communication.body, delivery.unsubscribe_url)
    if cancelled and not delivery.look_up:
        return Attempt(delivery.id, status="cancelled")
    with providers.send_slots:
        return _call(provider, providers, communication, delivery, text, cancelled)


def _call(provider, providers, communication, delivery, text, cancelled):
    try:
        if delivery.look_up:
            found = provider.find_sent(delivery.address, text, delivery.first_attempt_at)
            if found:
                return Attempt(delivery.id, found, "sending")
            if cancelled:
                return Attempt(delivery.id, status="cancelled")
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


def record(db, providers, communication, attempts, policy, rng=random):
    """The provider's answers must not be lost once the provider has the messages: a
    deadlock or a locked database is tried again here, never by sending the batch again."""
    for attempt in range(RECORD_ATTEMPTS):
        try:
            return _record(db, providers, communication, attempts, policy, rng)
        except OperationalError:
            if attempt == RECORD_ATTEMPTS - 1:
                raise
            log.warning("recording %d provider answers failed (attempt %d); again",
                        len(attempts), attempt + 1, exc_info=True)
            eventlet.sleep(0.05 * 2 ** attempt)


def _record(db, providers, communication, attempts, policy, rng):
    with db.unit_of_work() as uow:
        session = uow.session
        # rows locked in id order, as every other step takes them, so none deadlocks
        rows = {d.id: d for d in session.scalars(select(Delivery).where(
            Delivery.id.in_([a.delivery_id for a in attempts])).order_by(Delivery.id)
            .with_for_update())}
        now = utcnow()
        recorded, previous = [], {}
        for a in attempts:
            d = rows[a.delivery_id]
            if d.status != "sending":
                continue   # cancelled or reconciled meanwhile
            previous[d.id] = d.status
            recorded.append(d)
            if a.status == "cancelled":
                changes.move(d, "cancelled", reason="cancelled")
            elif a.transient is not None:
                _retry_or_give_up(d, a.transient, policy, now, rng)
            else:
                if a.provider_id:
                    d.provider_id = a.provider_id
                target = "sent" if a.status == "sending" else a.status
                if lifecycle.may_move("sending", target):
                    changes.move(d, target, error_code=a.error_code,
                                 reason=a.error_message)
                d.look_up = False
        # callbacks that came before their send was recorded: one look for the whole batch
        apply_waiting(session, recorded)
        made = []
        for d in recorded:
            if d.status != previous[d.id]:
                made.append(changes.change(d, previous[d.id]))
            report_opt_out(uow, d, previous[d.id], providers, communication.organization_id)
        changes.emit(uow, communication, made)


def _retry_or_give_up(delivery, error, policy, now, rng):
    at = retries.next_attempt(policy, delivery.attempts, delivery.first_attempt_at.timestamp(),
                              now.timestamp(), rng)
    if at is None:
        changes.move(delivery, "failed", reason="provider unavailable: " + str(error),
                     error_code=retries.GIVE_UP_REASON)
        return
    delivery.status = "queued"       # the one move back: the provider did not take it
    delivery.updated_at = now
    delivery.next_attempt_at = now + _seconds(at - now.timestamp())
    delivery.look_up = delivery.look_up or error.maybe_sent


def release_due(db, now=None):
    """Hand on the queued deliveries whose time has come (a retry's back-off, the sender's
    budget): one statement claims them, so two instances never hand on the same one."""
    now = now or utcnow()
    with db.unit_of_work() as uow:
        session = uow.session
        # rows another instance (or a dispatcher) holds are skipped, not waited for: the
        # next tick takes them
        due = (select(Delivery.id).where(Delivery.status == "queued",
                                         Delivery.next_attempt_at <= now)
               .order_by(Delivery.id).limit(RELEASE_BATCH).with_for_update(skip_locked=True))
        released = session.execute(update(Delivery).where(
            Delivery.id.in_(due.scalar_subquery()), Delivery.next_attempt_at <= now)
            .values(next_attempt_at=None)
            .returning(Delivery.id, Delivery.communication_id)).all()
        by_communication = {}
        for delivery_id, communication_id in released:
            by_communication.setdefault(communication_id, []).append(delivery_id)
        for communication_id, ids in by_communication.items():
            organization_id = session.scalar(select(Communication.organization_id).where(
                Communication.id == communication_id))
            for start in range(0, len(ids), 100):
                uow.emit("deliveries_queued", {"communication_id": communication_id,
                                               "delivery_ids": sorted(ids[start:start + 100])},
                         organization_id=organization_id)
        return len(released)


def _seconds(value):
    return timedelta(seconds=max(value, 0))
