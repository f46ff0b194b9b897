"""The sweeper: once per period however many instances run (leases), it
1. puts back in the queue, to be looked up before any new send, the deliveries left
   `sending` with no provider id (a crash between taking them and recording the answer);
2. asks the provider about the deliveries it took whose final callback has not come after
   `reconcile_after`, and takes its answer (reconcile's rules);
3. ends `unconfirmed` those still unknown after `give_up_after`;
4. hands on again work whose event was parked after its retries (a service down for longer
   than the consumer's back-off): an audience not resolved further, a batch still `pending`,
   queued deliveries nobody took, after `stall_after` seconds without a change. Every step
   is idempotent, so a step that was only slow is harmless to repeat.
"""

import logging
from datetime import timedelta

import eventlet
from sqlalchemy import distinct, or_, select, update

from servicekit.db import utcnow
from services.messaging import changes, reconcile, urgency
from services.messaging.callbacks import apply_statuses, apply_waiting
from services.messaging.models import Communication, Delivery, ProviderCallback
from services.messaging.providers.base import TransientProviderError

log = logging.getLogger("townhall.messaging")
SWEEP_BATCH = 500
STALL_AFTER_SECONDS = 120
LOOK_UP_CONCURRENCY = 8


def sweep(db, providers, policy, now=None, stall_after=STALL_AFTER_SECONDS):
    """One pass; answers {requeued, looked_up, gave_up}."""
    now = now or utcnow()
    join_late_callbacks(db, providers)
    redrive(db, now - timedelta(seconds=stall_after), now)
    requeued = _requeue_stale(db, policy, now)
    with db.read() as session:
        unknown = session.scalars(select(Delivery).where(
            Delivery.status.in_(("sending", "sent")), Delivery.provider_id.is_not(None),
            Delivery.updated_at <= now - timedelta(seconds=policy.reconcile_after))
            .order_by(Delivery.updated_at).limit(SWEEP_BATCH)).all()
    if not unknown:
        return {"requeued": requeued, "looked_up": 0, "gave_up": 0}
    plans = {d.id: reconcile.due(policy, _facts(d), now.timestamp()) for d in unknown}
    to_ask = [d for d in unknown if plans[d.id] == "look_up"]
    pool = eventlet.GreenPool(LOOK_UP_CONCURRENCY)
    answers = dict(pool.imap(lambda d: (d.id, _ask(providers, d)), to_ask))
    gave_up = 0
    with db.unit_of_work() as uow:
        session = uow.session
        # a call's answer also carries its duration, what it is charged for
        found = [{"provider_id": d.provider_id, "status": answers[d.id][0],
                  "error_code": answers[d.id][1],
                  "duration_seconds": answers[d.id][2] if len(answers[d.id]) > 2 else None}
                 for d in to_ask if answers[d.id][0]]
        apply_statuses(uow, found, providers)
        rows = {d.id: d for d in session.scalars(select(Delivery).where(
            Delivery.id.in_([d.id for d in unknown])))}
        made = {}
        for d in unknown:
            row = rows[d.id]
            if row.status not in ("sending", "sent"):
                continue   # the provider's answer (or a late callback) ended it
            decision = (reconcile.give_up(_facts(row)) if plans[d.id] == "give_up" else
                        reconcile.after_look_up(_facts(row), answers.get(d.id, (None,))[0],
                                                now.timestamp(), policy))
            previous = row.status
            if decision.status == "unconfirmed" and not decision.settle:
                # never reported sent: it reached no carrier, so it is released, and a
                # failure names why (credits charges unconfirmed, releases failed)
                decision = reconcile.Decision("failed", decision.reason, False)
            if decision.status and decision.status != previous:
                changes.move(row, decision.status, reason=decision.reason)
                gave_up += decision.status == "unconfirmed"
                made.setdefault(row.communication_id, []).append(changes.change(row, previous))
            else:
                row.updated_at = now   # asked this period; asked again after reconcile_after
        for communication_id, items in made.items():
            changes.emit(uow, session.get(Communication, communication_id), items)
    return {"requeued": requeued, "looked_up": len(to_ask), "gave_up": gave_up}


def _requeue_stale(db, policy, now):
    before = now - timedelta(seconds=policy.stale_sending_after)
    with db.unit_of_work() as uow:
        stale = uow.session.execute(update(Delivery).where(
            Delivery.status == "sending", Delivery.provider_id.is_(None),
            or_(Delivery.sending_since.is_(None), Delivery.sending_since <= before))
            .values(status="queued", look_up=True, next_attempt_at=now, updated_at=now)
            .returning(Delivery.id)).scalars().all()
    if stale:
        log.warning("%d deliveries were left sending without an answer; they are looked up "
                    "before they are sent again", len(stale))
    return len(stale)


def _ask(providers, delivery):
    try:
        return providers.providers[delivery.channel].fetch_status(delivery.provider_id) \
            or (None, None)
    except TransientProviderError as exc:
        log.warning("could not look %s up: %s", delivery.id, exc)
        return None, None


def _facts(d):
    handed = (d.sending_since or d.updated_at).timestamp()
    return reconcile.Unknown(status=d.status, provider_id=d.provider_id, handed_at=handed,
                             last_change_at=d.updated_at.timestamp())


def redrive(db, before, now):
    """Work that stopped moving before `before` is handed on again."""
    with db.unit_of_work() as uow:
        session = uow.session
        for c in session.scalars(select(Communication).where(
                Communication.audience_complete.is_(False),
                Communication.cancelled_at.is_(None), Communication.created_at <= before)):
            uow.emit(urgency.event_type("audience_page_requested", c.emergency),
                     {"communication_id": c.id, "page": c.pages + 1,
                      "after": c.audience_after}, organization_id=c.organization_id)
        stalled = session.execute(select(distinct(Delivery.communication_id), Delivery.batch)
                                  .where(Delivery.status == "pending",
                                         Delivery.updated_at <= before)).all()
        for communication_id, batch in stalled:
            ids = session.execute(update(Delivery).where(
                Delivery.communication_id == communication_id, Delivery.batch == batch,
                Delivery.status == "pending").values(updated_at=now)
                .returning(Delivery.id)).scalars().all()
            organization_id, emergency = session.execute(select(
                Communication.organization_id, Communication.emergency).where(
                Communication.id == communication_id)).one()
            uow.emit(urgency.event_type("deliveries_created", emergency),
                     {"communication_id": communication_id, "batch": batch,
                      "delivery_ids": sorted(ids)}, organization_id=organization_id)
        forgotten = session.execute(update(Delivery).where(
            Delivery.status == "queued", Delivery.next_attempt_at.is_(None),
            Delivery.updated_at <= before).values(next_attempt_at=now)).rowcount
    changes.finish_ready(db)
    if stalled or forgotten:
        log.warning("handed on again: %d pending batches, %d queued deliveries", len(stalled),
                    forgotten)


def join_late_callbacks(db, providers):
    """A callback applied while its send was being recorded can miss it both ways (each
    transaction saw the other's row uncommitted); it is kept, so it is applied here."""
    with db.unit_of_work() as uow:
        session = uow.session
        waiting = session.scalars(select(Delivery).where(
            Delivery.status.in_(("sending", "sent")), Delivery.provider_id.is_not(None),
            Delivery.provider_id.in_(select(ProviderCallback.provider_id).where(
                ProviderCallback.status.not_in(("sending", "sent")))))
            .order_by(Delivery.id).limit(SWEEP_BATCH).with_for_update()).all()
        previous = {d.id: d.status for d in waiting}
        durations = apply_waiting(session, waiting)
        made = {}
        for d in waiting:
            if d.status != previous[d.id]:
                made.setdefault(d.communication_id, []).append(
                    changes.change(d, previous[d.id], durations.get(d.id)))
        for communication_id, items in made.items():
            changes.emit(uow, session.get(Communication, communication_id), items)
    return sum(len(i) for i in made.values())
