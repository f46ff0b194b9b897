"""Work-order notices: what a ticket's change owes management and its reporter, as tickets
wrote them (`ticket_notices_requested`, in the same transaction as the change).

Mixed into MessagingService. Each notice of the event is numbered by its place in it:
- to staff: an email Townhall sends on its own account, exactly like a consent-request
  email (notices.py) — a Notice of kind `ticket`, referenced `<event id>:<index>`,
  committed before it is sent, so a redelivered event sends nothing twice; free.
- to a resident: one ordinary communication, accepted by `create` exactly as a POST
  /v1/communications is, from the organization's system identity (`tickets`): kind
  message, the notice's channels, that one resident, under the organization's built-in
  work-order category (transactional: no consent needed and no unsubscribe link, but the
  resident's channel preferences and STOP still apply), with the idempotency key
  `ticket-notice:<event id>:<index>`, so a redelivered event makes no second one. Quiet
  hours, credits (texts and calls paid like any send, credits/rules.py says by whom) and
  delivery are those of every send; emails are free.
A notice that cannot be sent as asked (its resident moved out, or is not the
organization's) is one log line and the others still go; a failure of another service
fails the event, which is retried, then parked.
"""

import logging

import eventlet
from sqlalchemy import select

from contracts.errors import DomainError
from servicekit.access import new_id, system_of
from servicekit.consumers import on_event
from servicekit.db import insert_missing, utcnow
from services.messaging.models import Notice
from services.messaging.notices import NOTICE_POOL, claim_notices, record_outcomes, send_notice

log = logging.getLogger("townhall.messaging.ticket_notices")
KIND = "ticket"
SENDER = "tickets"            # the system identity resident notices are sent by
SUBJECT_LENGTH = 200          # what a communication's and a notice's subject hold


def notice_reference(event_id, index):
    return f"{event_id}:{index}"


def idempotency_key(event_id, index):
    return f"ticket-notice:{event_id}:{index}"


def resident_request(notice, category_id):
    """The communication a resident's notice is: what a POST /v1/communications would ask."""
    return {"kind": "message", "channels": list(notice["channels"]),
            "recipients": {"residents": [notice["id"]]}, "category_id": category_id,
            "subject": subject_line(notice["subject"]), "body": notice["body"]}


def subject_line(subject):
    subject = " ".join((subject or "").split())
    return subject if len(subject) <= SUBJECT_LENGTH else subject[:SUBJECT_LENGTH - 1] + "…"


class TicketNotices:
    @on_event("tickets", "ticket_notices_requested", transactional=False)
    def send_ticket_notices(self, event):
        numbered = list(enumerate(event.data["notices"]))
        residents = [(i, n) for i, n in numbered if n["to"] == "resident"]
        staff = [(i, n) for i, n in numbered if n["to"] == "staff"]
        if residents:
            self._notify_residents(event, residents)
        if staff:
            self._email_staff(event, staff)

    def _notify_residents(self, event, notices):
        if not event.organization_id:
            raise ValueError(f"ticket_notices_requested {event.event_id} names no "
                             "organization: its residents' notices cannot be sent")
        identity = system_of(event.organization_id, SENDER)
        category_id = self.consent.work_order_category(identity)["id"]
        for index, notice in notices:
            if not notice.get("channels"):
                log.warning("ticket %s: notice %d to resident %s names no channel; not sent",
                            event.data["ticket_id"], index, notice["id"])
                continue
            try:
                made = self.create(identity, resident_request(notice, category_id),
                                   idempotency_key(event.event_id, index))
            except DomainError as refused:
                log.warning("ticket %s: notice %d to resident %s not sent: %s (%s)",
                            event.data["ticket_id"], index, notice["id"], refused.detail,
                            refused.field)
                continue
            log.info("ticket %s: notice %d to resident %s is communication %s",
                     event.data["ticket_id"], index, notice["id"], made["id"])

    def _email_staff(self, event, notices):
        references = {notice_reference(event.event_id, i): n for i, n in notices
                      if n.get("email")}
        if not references:
            return
        with self.db.unit_of_work() as uow:
            now = utcnow()
            insert_missing(uow.session, Notice.__table__, [{
                "id": new_id("ntc"), "organization_id": event.organization_id, "kind": KIND,
                "reference": reference, "channel": "email", "address": n["email"],
                "subject": subject_line(n["subject"]), "body": n["body"], "headers": {},
                "status": "queued", "created_at": now, "updated_at": now}
                for reference, n in references.items()])
        claimed = claim_notices(self.db, KIND, list(references))
        pool = eventlet.GreenPool(NOTICE_POOL)
        results = dict(pool.imap(lambda c: send_notice(self.providers, *c), claimed))
        with self.db.unit_of_work() as uow:
            record_outcomes(uow, results)
            failed = uow.session.scalars(select(Notice).where(
                Notice.kind == KIND, Notice.reference.in_(list(references)),
                Notice.status == "failed")).all()
        for notice in failed:
            log.warning("ticket %s: email to %s failed: %s", event.data["ticket_id"],
                        notice.address, notice.reason)
