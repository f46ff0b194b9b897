"""Provider statuses (callbacks, and the sweeper's look-ups) applied to deliveries: once per
(provider id, status), only forward, a batch in one transaction."""

from sqlalchemy import select

from contracts import pricing
from contracts.vocabulary import CHARGED_STATUSES, STATUS_RANK
from servicekit.db import insert_missing, serialize_on
from services.messaging import changes, lifecycle
from services.messaging.inbound import report_opt_out
from services.messaging.models import Communication, Delivery, ProviderCallback


def apply_statuses(uow, statuses, providers):
    """statuses: [{provider_id, status (the provider's word), error_code}]. Answers the
    communications whose deliveries moved, with the changes emitted."""
    session = uow.session
    rows = []
    for s in statuses:
        status = lifecycle.from_provider(s["status"])
        if status is not None:
            rows.append({"provider_id": s["provider_id"], "status": status,
                         "error_code": s.get("error_code"),
                         "duration_seconds": s.get("duration_seconds")})
    if not rows:
        return {}
    # one after the other with the recording of the same sends (dispatching), so that a
    # callback and the provider id it belongs to never miss each other
    serialize_on(session, provider_keys(r["provider_id"] for r in rows))
    # recorded first, so one that comes before its send is recorded is applied then
    insert_missing(session, ProviderCallback.__table__, _unique(rows))
    deliveries = session.scalars(select(Delivery).where(
        Delivery.provider_id.in_({r["provider_id"] for r in rows})).order_by(Delivery.id)
        .with_for_update()).all()
    if not deliveries:
        return {}
    previous = {d.id: d.status for d in deliveries}
    durations = apply_waiting(session, deliveries)
    moved = [d for d in deliveries if d.status != previous[d.id]]
    by_communication = {}
    for d in moved:
        by_communication.setdefault(d.communication_id, []).append(d)
    for communication_id, group in by_communication.items():
        communication = session.get(Communication, communication_id)
        changes.emit(uow, communication, [changes.change(d, previous[d.id], durations.get(d.id))
                                          for d in group])
        for d in group:
            report_opt_out(uow, d, previous[d.id], providers, communication.organization_id)
    return by_communication


def provider_keys(provider_ids):
    return ["provider:" + p for p in provider_ids if p]


def apply_waiting(session, deliveries):
    """Move each delivery to the furthest status recorded for its provider id, if that is a
    step forward. Answers {delivery id: seconds} of the calls moved by a status that came
    with their duration, for the change to carry."""
    ids = [d.provider_id for d in deliveries if d.provider_id]
    durations = {}
    if not ids:
        return durations
    best = {}
    for callback in session.execute(select(
            ProviderCallback.provider_id, ProviderCallback.status, ProviderCallback.error_code,
            ProviderCallback.duration_seconds)
            .where(ProviderCallback.provider_id.in_(ids))):
        current = best.get(callback.provider_id)
        if current is None or STATUS_RANK[callback.status] > STATUS_RANK[current.status]:
            best[callback.provider_id] = callback
    for d in deliveries:
        callback = best.get(d.provider_id)
        if callback is not None and lifecycle.advances(d.status, callback.status):
            changes.move(d, callback.status, error_code=callback.error_code,
                         credits=_call_charge(d, callback))
            if callback.duration_seconds is not None:
                durations[d.id] = callback.duration_seconds
    return durations


def _call_charge(delivery, callback):
    """A call that ended after it was answered is charged for its real duration, by the
    rate card it was held with; every other end keeps the credits it was held for (and
    credits releases them)."""
    if (delivery.channel != "voice" or callback.status not in CHARGED_STATUSES
            or callback.duration_seconds is None):
        return None
    return pricing.voice_credits(callback.duration_seconds, pricing.RateCard(
        voice_seconds=delivery.seconds_per_credit or pricing.DEFAULT_RATES.voice_seconds))


def _unique(rows):
    seen = {}
    for r in rows:
        seen.setdefault((r["provider_id"], r["status"]), r)
    return list(seen.values())
