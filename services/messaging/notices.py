"""Notices: what Townhall sends on its own account (keyword replies, consent-request emails,
work-order emails to staff).

Mixed into MessagingService. Notices are free: no consent check (consent itself asked for
them) and no credits. Each is committed before it is sent and is unique by (kind,
reference), so a redelivered event never sends one twice. One a worker left `sending` when
it died is taken up again — by its event if that comes back late, else by the sweeper —
looked up first where the provider can say whether it went out (texts).
"""

import logging
from datetime import timedelta

import eventlet
from nameko.timer import timer
from sqlalchemy import select, update

from servicekit.access import new_id
from servicekit.consumers import on_event
from servicekit.db import insert_missing, utcnow
from services.messaging.models import Notice
from services.messaging.providers.base import TransientProviderError, unexpected_failure

log = logging.getLogger("townhall.messaging.notices")
NOTICE_ATTEMPTS = 3
NOTICE_POOL = 10
# a notice still `sending` after this long was left by a worker that died mid-way (a batch
# of 100 emails through an SMTP relay that times out takes minutes, not ten)
ABANDONED_AFTER = timedelta(minutes=10)
SWEEP_SECONDS = 60
SWEEP_BATCH = 100


class Notices:
    @on_event("consent", "consent_requests_issued", transactional=False)
    def send_consent_requests(self, event):
        """One email per item, then one `consent_requests_mailed` for the batch."""
        data = event.data
        references = {f"{data['request_id']}:{i['resident_id']}": i for i in data["items"]}
        with self.db.unit_of_work() as uow:
            now = utcnow()
            insert_missing(uow.session, Notice.__table__, [{
                "id": new_id("ntc"), "organization_id": event.organization_id,
                "kind": "consent_request", "reference": reference, "channel": "email",
                "address": item["email"], "subject": data["subject"], "body": item["body"],
                "headers": {}, "status": "queued", "created_at": now, "updated_at": now}
                for reference, item in references.items()])
        claimed = claim_notices(self.db, "consent_request", list(references))
        pool = eventlet.GreenPool(NOTICE_POOL)
        results = dict(pool.imap(lambda c: send_notice(self.providers, *c), claimed))
        with self.db.unit_of_work() as uow:
            record_outcomes(uow, results)
            notices = uow.session.scalars(select(Notice).where(
                Notice.kind == "consent_request",
                Notice.reference.in_(list(references)))).all()
            _report_mailed(uow, notices)

    @timer(interval=SWEEP_SECONDS)
    def take_up_abandoned_notices(self):
        """Notices left `sending` by a worker that died, whose event came back while they
        still looked in flight: taken up once (the claiming update lets one instance have
        each), looked up or sent, and consent told of consent-request emails."""
        with self.db.unit_of_work() as uow:
            now = utcnow()
            due = select(Notice.id).where(Notice.status == "sending",
                                          Notice.updated_at < now - ABANDONED_AFTER)
            taken = uow.session.execute(
                update(Notice).where(Notice.id.in_(due.limit(SWEEP_BATCH)),
                                     Notice.status == "sending")
                .values(updated_at=now).returning(Notice.id)).scalars().all()
            notices = uow.session.scalars(select(Notice).where(Notice.id.in_(taken))).all()
        if not notices:
            return
        log.warning("taking up %d notices a stopped worker left half-sent", len(notices))
        pool = eventlet.GreenPool(NOTICE_POOL)
        results = dict(pool.imap(lambda n: send_notice(self.providers, n, True), notices))
        with self.db.unit_of_work() as uow:
            record_outcomes(uow, results)
            _report_mailed(uow, uow.session.scalars(select(Notice).where(
                Notice.id.in_(taken), Notice.kind == "consent_request")).all())


def record_outcomes(uow, results):
    """What became of each notice sent: {notice id: outcome} as send_notice answers it."""
    now = utcnow()
    for notice_id, (status, provider_id, error_code, reason) in results.items():
        uow.session.execute(update(Notice).where(Notice.id == notice_id).values(
            status=status, provider_id=provider_id, error_code=error_code, reason=reason,
            updated_at=now))


def _report_mailed(uow, notices):
    """One consent_requests_mailed per request for its consent-request notices that ended."""
    by_request = {}
    for n in notices:
        if n.status in ("sent", "delivered", "failed"):
            request_id, resident_id = n.reference.split(":", 1)
            by_request.setdefault((request_id, n.organization_id), []).append({
                "resident_id": resident_id,
                "status": "failed" if n.status == "failed" else "sent", "reason": n.reason})
    for (request_id, organization_id), items in by_request.items():
        uow.emit("consent_requests_mailed", {"request_id": request_id, "items": items},
                 organization_id=organization_id)


def claim_notices(db, kind, references):
    """[(notice, abandoned)]: the notices still queued, and those a worker that died left
    `sending` (abandoned: they may have gone out, so they are looked up before another
    send). A concurrent worker gets none of them."""
    with db.unit_of_work() as uow:
        now = utcnow()
        mine = (Notice.kind == kind, Notice.reference.in_(references))
        abandoned = set(uow.session.execute(
            update(Notice).where(*mine, Notice.status == "sending",
                                 Notice.updated_at < now - ABANDONED_AFTER)
            .values(updated_at=now).returning(Notice.id)).scalars())
        queued = uow.session.execute(
            update(Notice).where(*mine, Notice.status == "queued")
            .values(status="sending", updated_at=now).returning(Notice.id)).scalars().all()
        taken = uow.session.scalars(select(Notice).where(
            Notice.id.in_(abandoned | set(queued)))).all()
        return [(notice, notice.id in abandoned) for notice in taken]


def send_notice(providers, notice, abandoned=False):
    """(notice id, (status, provider id, error code, reason)). After a transient error the
    provider is asked whether the notice arrived before it is tried again (an answer lost on
    the way back never makes a second one, where the provider can be asked: texts), a few
    times, then the notice fails with a reason a person can read."""
    provider = providers.providers[notice.channel]
    must_look_up = abandoned
    for attempt in range(NOTICE_ATTEMPTS):
        try:
            if must_look_up:
                found = provider.find_sent(notice.address, notice.body, notice.created_at)
                if found:
                    return notice.id, ("sent", found, None, None)
            result = provider.send(notice.id, notice.address, notice.body,
                                   subject=notice.subject)
        except TransientProviderError as exc:
            log.warning("notice %s: provider error (attempt %d): %s", notice.id,
                        attempt + 1, exc)
            must_look_up = True
            eventlet.sleep(0.5 * 2 ** attempt)
            continue
        except Exception as exc:
            log.exception("notice %s: provider raised; the notice fails", notice.id)
            result = unexpected_failure(exc)
        if result.status == "failed":
            reason = f"{result.error_code or ''} {result.error_message or ''}".strip()
            return notice.id, ("failed", result.provider_id, result.error_code,
                               (reason or "refused by the provider")[:300])
        status = "delivered" if result.status == "delivered" else "sent"
        return notice.id, (status, result.provider_id, None, None)
    return notice.id, ("failed", None, "provider_unavailable",
                       "provider unavailable")
