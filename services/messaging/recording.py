"""The provider's answers to a dispatch batch, recorded once the batch's calls are done.

The batches that concurrent dispatches of this process finish while one is being written
are written together (group commit): one transaction, one look for early callbacks and one
change event per communication for all of them.

Each answer becomes: sent with the provider's id; failed with its code (permanent); queued
again for a retry at the time retries.next_attempt names (never a worker sleeping), or
failed `provider_unavailable` once the retries are used up; cancelled when the send was
cancelled before it was handed over.
"""

import logging
import random
from datetime import timedelta

import eventlet
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from servicekit.batching import GroupCommit
from servicekit.db import serialize_on, utcnow
from services.messaging import changes, lifecycle, retries
from services.messaging.callbacks import apply_waiting, provider_keys
from services.messaging.inbound import report_opt_out
from services.messaging.models import Delivery

log = logging.getLogger("townhall.messaging")
RECORD_ATTEMPTS = 6
GROUP_MAX_BATCHES = 20


def record(db, providers, communication, attempts, policy, rng=random):
    """Record one batch's answers, together with those other dispatches of this process
    finish meanwhile."""
    group = GroupCommit.of(db, "recording", GROUP_MAX_BATCHES)
    return group.add((communication, attempts),
                     lambda batches: _record_with_retries(db, providers, batches, policy, rng))


def _record_with_retries(db, providers, batches, policy, rng):
    """The provider's answers must not be lost once the provider has the messages: a
    deadlock or a locked database is tried again here, never by sending the batch again."""
    for attempt in range(RECORD_ATTEMPTS):
        try:
            return _record(db, providers, batches, policy, rng)
        except OperationalError:
            if attempt == RECORD_ATTEMPTS - 1:
                raise
            log.warning("recording %d provider answers failed (attempt %d); again",
                        sum(len(a) for _c, a in batches), attempt + 1, exc_info=True)
            eventlet.sleep(0.05 * 2 ** attempt)


def _record(db, providers, batches, policy, rng):
    answers = [(communication, a) for communication, attempts in batches for a in attempts]
    with db.unit_of_work() as uow:
        session = uow.session
        # callbacks for these sends wait until they are recorded, or are seen by it
        serialize_on(session, provider_keys(a.provider_id for _c, a in answers))
        # rows locked in id order, as every other step takes them, so none deadlocks
        rows = {d.id: d for d in session.scalars(select(Delivery).where(
            Delivery.id.in_(sorted(a.delivery_id for _c, a in answers))).order_by(Delivery.id)
            .with_for_update())}
        now = utcnow()
        recorded, previous, communications = [], {}, {}
        for communication, a in answers:
            d = rows[a.delivery_id]
            if d.status != "sending":
                continue   # cancelled or reconciled meanwhile
            previous[d.id] = d.status
            communications[d.id] = communication
            recorded.append(d)
            _apply(d, a, policy, now, rng)
        # callbacks that came before their send was recorded: one look for them all
        durations = apply_waiting(session, recorded)
        made = {}
        for d in recorded:
            communication = communications[d.id]
            if d.status != previous[d.id]:
                made.setdefault(communication.id, (communication, []))[1].append(
                    changes.change(d, previous[d.id], durations.get(d.id)))
            report_opt_out(uow, d, previous[d.id], providers, communication.organization_id)
        for communication, items in made.values():
            changes.emit(uow, communication, items)


def _apply(delivery, answer, policy, now, rng):
    if answer.status == "cancelled":
        changes.move(delivery, "cancelled", reason="cancelled")
    elif answer.transient is not None:
        _retry_or_give_up(delivery, answer.transient, policy, now, rng)
    else:
        if answer.provider_id:
            delivery.provider_id = answer.provider_id
        target = "sent" if answer.status == "sending" else answer.status
        if lifecycle.may_move("sending", target):
            changes.move(delivery, target, error_code=answer.error_code,
                         reason=answer.error_message)
        delivery.look_up = False


def _retry_or_give_up(delivery, error, policy, now, rng):
    at = retries.next_attempt(policy, delivery.attempts, delivery.first_attempt_at.timestamp(),
                              now.timestamp(), rng)
    if at is None:
        changes.move(delivery, "failed", reason="provider unavailable: " + str(error),
                     error_code=retries.GIVE_UP_REASON)
        return
    delivery.status = "queued"       # the one move back: the provider did not take it
    delivery.updated_at = now
    delivery.next_attempt_at = now + timedelta(seconds=max(at - now.timestamp(), 0))
    delivery.look_up = delivery.look_up or error.maybe_sent
