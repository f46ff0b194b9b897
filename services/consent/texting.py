"""SMS keywords: STOP / START / HELP from a handset, and carrier opt-outs (21610).

Mixed into ConsentService. A keyword is recorded once per provider message id (a webhook the
provider delivers twice, or an event the broker redelivers, records and replies once): one
KeywordEvent for the (phone, sender) pair — what `check` reads — and, as proof, one act in the
consent log of every resident with that phone, with `sms_keyword_applied` carrying the one
reply for messaging to send, all in one transaction. The organization's answer to HELP is
its consent settings' `sms_help_text`.
"""

import logging

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from contracts.errors import Forbidden, InvalidRequest
from contracts.keywords import classify, keyword_of
from servicekit.access import SYSTEM, Caller, new_id
from servicekit.consumers import on_event
from servicekit.db import utcnow
from servicekit.entrypoints import rpc
from services.consent import keyword_replies, quiet_hours_setting
from services.consent.models import ConsentEvent, ConsentSettings, KeywordEvent

log = logging.getLogger("townhall.consent")
DEFAULT_HELP_TEXT = "{organization}: community messages. Reply STOP to stop, START to resume."
CARRIER_WORDING = ("Twilio error 21610: the handset opted out of texts from this number "
                   "at the carrier; no reply is sent")


class Texting:
    @on_event("gateway", "text_received", transactional=False)
    def apply_sms_keyword(self, event):
        """STOP, START or HELP and their synonyms; any other text is messaging's."""
        data = event.data
        kind = classify(data["body"])
        if kind == "reply":
            return
        self._record_keyword(kind, keyword_of(data["body"]), data["from_number"],
                             data["to_number"], data["provider_id"], data["body"],
                             source="inbound_sms", method="sms_keyword")

    @on_event("messaging", "sms_opt_out_reported", transactional=False)
    def apply_carrier_opt_out(self, event):
        """The provider refused a send (21610): the same stop as a STOP text, no reply."""
        data = event.data
        self._record_keyword("stop", data["error_code"], data["phone"], data["sender"],
                             data["delivery_id"], None, source="provider_error",
                             method="carrier_opt_out")

    @rpc
    def get_settings(self, identity):
        """The caller's organization's consent settings (staff and API keys)."""
        Caller.of(identity)
        organization = self.directory.get_organization(identity)  # staff only, 404 else
        with self.db.read() as session:
            row = session.get(ConsentSettings, organization["id"])
        return self._settings_view(organization["id"], organization["name"], row)

    @rpc
    def set_settings(self, identity, changes):
        caller = Caller.of(identity)
        caller.require("manage_consent_categories")
        if caller.is_system or not caller.organization_id:
            raise Forbidden("settings belong to an organization", "organization_id")
        unknown = sorted(set(changes) - {"sms_help_text", "quiet_hours"})
        if unknown:
            raise InvalidRequest(f"unknown fields: {', '.join(unknown)}", unknown[0])
        window = quiet_hours_setting.check(changes.get("quiet_hours"))
        text = changes.get("sms_help_text")
        if (not isinstance(text, str) or not text.strip()
                or len(text) > keyword_replies.HELP_TEXT_LIMIT):
            raise InvalidRequest(f"the answer to HELP must be 1 to "
                                 f"{keyword_replies.HELP_TEXT_LIMIT} characters",
                                 "sms_help_text")
        organization = self.directory.get_organization(identity)
        with self.db.unit_of_work() as uow:
            row = uow.session.get(ConsentSettings, caller.organization_id)
            if row is None:
                row = ConsentSettings(organization_id=caller.organization_id)
                uow.session.add(row)
            row.sms_help_text = text.strip()
            row.quiet_start, row.quiet_end = window
            row.updated_by, row.updated_at = caller.actor_id, utcnow()
            uow.session.flush()
            return self._settings_view(caller.organization_id, organization["name"], row)

    def _settings_view(self, organization_id, organization_name, row):
        default = row is None
        text = (self._default_help_text(organization_name) if default else row.sms_help_text)
        return {"organization_id": organization_id, "sms_help_text": text,
                "quiet_hours": quiet_hours_setting.view(row),
                "default": default, "updated_by": None if default else row.updated_by,
                "updated_at": None if default else row.updated_at.isoformat()}

    @rpc
    def quiet_hours(self, identity):
        """The caller's organization's quiet hours: {start, end, default}."""
        caller = Caller.of(identity)
        with self.db.read() as session:
            row = (session.get(ConsentSettings, caller.organization_id)
                   if caller.organization_id else None)
        return quiet_hours_setting.view(row)

    def _default_help_text(self, organization_name):
        template = (self.config.get("consent") or {}).get("sms_help_text") or DEFAULT_HELP_TEXT
        return keyword_replies.help_text(template, organization_name)

    def _record_keyword(self, kind, keyword, phone, sender, message_sid, body, source, method):
        with self.db.read() as session:
            if _seen(session, message_sid):
                log.info("keyword of message %s recorded already", message_sid)
                return
        # asked before the transaction opens: no RPC waits inside one
        residents = self.directory.find_residents_by_phone(SYSTEM, phone)
        speaker = keyword_replies.sender_of(residents)
        try:
            with self.db.unit_of_work() as uow:
                reply = None
                if source == "inbound_sms":
                    reply = keyword_replies.reply_text(
                        kind, speaker.name, self._help_answer(uow.session, speaker))
                uow.session.add(KeywordEvent(
                    id=new_id("kwd"), phone=phone, sender=sender, kind=kind,
                    keyword=keyword[:20], source=source, message_sid=message_sid,
                    body=body))
                uow.session.flush()   # a second delivery of the same message stops here
                action = keyword_replies.ACTIONS.get(kind)
                if action:
                    evidence = {"phone": phone, "address": phone, "sender": sender,
                                "message_sid": message_sid, "keyword": keyword, "body": body,
                                "source": source,
                                "wording": reply if reply is not None else CARRIER_WORDING}
                    for resident in residents:
                        _record_act(uow, resident, action, method, evidence, source)
                if reply is not None:
                    uow.emit("sms_keyword_applied", {
                        "phone": phone, "sender": sender, "kind": kind, "keyword": keyword,
                        "message_sid": message_sid, "reply": reply},
                        organization_id=speaker.organization_id)
        except IntegrityError:
            log.info("keyword of message %s recorded concurrently", message_sid)

    def _help_answer(self, session, speaker):
        row = (session.get(ConsentSettings, speaker.organization_id)
               if speaker.organization_id else None)
        return row.sms_help_text if row else self._default_help_text(speaker.name)


def keyword_stops(session, phones, sender):
    """{phone: True} for every phone whose latest stop or start to `sender` is a stop —
    one query for a whole batch."""
    phones = sorted({p for p in phones if p})
    if not phones or not sender:
        return {}
    rows = session.execute(
        select(KeywordEvent.phone, KeywordEvent.kind)
        .where(KeywordEvent.phone.in_(phones), KeywordEvent.sender == sender,
               KeywordEvent.kind.in_(("stop", "start")))
        .order_by(KeywordEvent.seq.desc())).all()
    kinds = {}
    for row in rows:
        kinds.setdefault(row.phone, []).append(row.kind)
    return {phone: True for phone, newest_first in kinds.items()
            if keyword_replies.stopped(newest_first)}


def our_sender(config):
    """The number our texts come from: what a keyword stop is about."""
    return (config.get("twilio") or {}).get("from_number")


def _seen(session, message_sid):
    return session.scalars(select(KeywordEvent.id).where(
        KeywordEvent.message_sid == message_sid)).first() is not None


def _record_act(uow, resident, action, method, evidence, source):
    recorded_by = (resident["resident_id"] if source == "inbound_sms" else "carrier:twilio")
    uow.session.add(ConsentEvent(
        id=new_id("cev"), organization_id=resident["organization_id"],
        resident_id=resident["resident_id"], category_id=None, channel="sms", action=action,
        method=method, recorded_by=recorded_by, evidence=evidence))
    uow.emit("consent_recorded", {"resident_id": resident["resident_id"], "channel": "sms",
                                  "category_id": None, "action": action, "method": method},
             organization_id=resident["organization_id"])
