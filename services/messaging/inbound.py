"""Inbound texts: keywords answered once, other texts kept as resident replies.

Mixed into MessagingService. Every text a handset sends us is kept once per provider id, with
the resident it is from when exactly one has that phone; a text that is no keyword is a
reply for the response group (`reply_received`). Consent records keywords and says what to
answer (`sms_keyword_applied`); the answer is a notice — (kind, reference) unique, so a
redelivered event never sends a second one — sent free of credits. A send the provider
refuses because the handset opted out (Twilio 21610) is reported back to consent.
"""

import logging

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from contracts.keywords import classify
from servicekit.access import SYSTEM, new_id
from servicekit.consumers import on_event
from servicekit.db import utcnow
from services.messaging.models import InboundMessage, Notice
from services.messaging.notices import claim_notices, send_notice

log = logging.getLogger("townhall.messaging")
OPTED_OUT = "21610"   # Twilio: "Attempt to send to unsubscribed recipient"
KEYWORD_REPLY = "keyword_reply"


class Inbound:
    @on_event("gateway", "text_received", transactional=False)
    def keep_inbound_text(self, event):
        data = event.data
        with self.db.read() as session:
            if _inbound(session, data["provider_id"]) is not None:
                return
        # asked before the transaction opens: no RPC waits inside one
        residents = self.directory.find_residents_by_phone(SYSTEM, data["from_number"])
        resident = residents[0] if len(residents) == 1 else {}
        kind = classify(data["body"])
        try:
            with self.db.unit_of_work() as uow:
                row = InboundMessage(
                    id=new_id("inb"), provider_id=data["provider_id"],
                    from_number=data["from_number"], to_number=data["to_number"],
                    body=data["body"], kind=kind,
                    organization_id=resident.get("organization_id"),
                    resident_id=resident.get("resident_id"),
                    community_id=resident.get("community_id"), received_at=utcnow())
                uow.session.add(row)
                uow.session.flush()   # the same provider id twice stops here
                if kind == "reply":
                    uow.emit("reply_received", {
                        "inbound_id": row.id, "resident_id": row.resident_id,
                        "community_id": row.community_id, "body": row.body,
                        "received_at": row.received_at.isoformat()},
                        organization_id=row.organization_id)
        except IntegrityError:
            log.info("inbound text %s kept already", data["provider_id"])

    @on_event("consent", "sms_keyword_applied", transactional=False)
    def send_keyword_reply(self, event):
        """The one answer to STOP, START or HELP: the notice is committed before the send,
        so a second delivery of the event finds it and sends nothing."""
        data = event.data
        notice = Notice(id=new_id("ntc"), organization_id=event.organization_id,
                        kind=KEYWORD_REPLY, reference=data["message_sid"], channel="sms",
                        address=data["phone"], body=data["reply"], headers={},
                        status="sending", created_at=utcnow())
        try:
            with self.db.unit_of_work() as uow:
                uow.session.add(notice)
                uow.session.flush()
        except IntegrityError:
            # made before: sent already, or left `sending` by a worker that died mid-way
            claimed = claim_notices(self.db, KEYWORD_REPLY, [data["message_sid"]])
            if not claimed:
                log.info("the reply to %s was sent already", data["message_sid"])
                return
            ((notice, _abandoned),) = claimed
            abandoned = True
        else:
            abandoned = False
        # a transient error, or an abandoned send, is looked up before any second try: never
        # two replies
        _, (status, provider_id, error_code, reason) = send_notice(self.providers, notice,
                                                                   abandoned)
        with self.db.unit_of_work() as uow:
            notice = uow.session.get(Notice, notice.id)
            notice.status = status
            notice.provider_id, notice.error_code = provider_id, error_code
            notice.reason = reason[:300] if reason else None
            notice.updated_at = utcnow()


def report_opt_out(uow, delivery, previous_status, providers, organization_id):
    """A text that just failed because the handset opted out (21610): consent records the
    same stop as a STOP text, in the transaction of the status change. The stop is about
    the number we send from."""
    if (delivery.channel == "sms" and delivery.error_code == OPTED_OUT
            and delivery.status != previous_status and delivery.address):
        sender = providers.providers["sms"].from_number
        uow.emit("sms_opt_out_reported", {
            "phone": delivery.address, "sender": sender, "delivery_id": delivery.id,
            "error_code": OPTED_OUT}, organization_id=organization_id)


def _inbound(session, provider_id):
    return session.scalars(select(InboundMessage).where(
        InboundMessage.provider_id == provider_id)).first()
