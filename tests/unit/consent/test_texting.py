"""SMS keywords in consent, with worker_factory, an in-memory database and a fake directory
that knows who has which phone: what a STOP / START / HELP records, what `check` answers
afterwards, and that the same message twice records and replies once."""

import pytest
from nameko.testing.services import worker_factory

from contracts.errors import Forbidden, InvalidRequest, NotFound
from contracts.events import envelope
from servicekit.testing import memory_database, outbox_events
from services.consent import keyword_replies
from services.consent.models import Base, ConsentEvent, KeywordEvent
from services.consent.service import ConsentService

ORG, OTHER_ORG = "org_1", "org_2"
OURS = "+15550000000"
ADA_PHONE, SHARED_PHONE, NOBODY = "+15557770001", "+15557770002", "+15557770009"
PHONES = {
    ADA_PHONE: [("res_ada", ORG, "Maple Grove")],
    # a phone two residents share, in two organizations
    SHARED_PHONE: [("res_bob", ORG, "Maple Grove"), ("res_hal", OTHER_ORG, "Harbor View")],
}
MASTER = {"actor_type": "staff", "actor_id": "usr_master", "organization_id": ORG,
          "scopes": {"manage_consent_categories": "*", "manage_directory": "*"}}
MANAGER = {"actor_type": "staff", "actor_id": "usr_manager", "organization_id": ORG,
           "scopes": {"manage_directory": "*"}}
SYSTEM = {"actor_type": "system", "actor_id": "system", "organization_id": None,
          "scopes": {"*": "*"}}
CONFIG = {"twilio": {"from_number": OURS},
          "consent": {"sms_help_text": "{organization}: help is at 555-0100. Reply STOP."}}


class FakeDirectory:
    def find_residents_by_phone(self, identity, phone):
        if identity["actor_type"] != "system":
            raise Forbidden("system only", "actor_type")
        return [{"resident_id": r, "organization_id": o, "organization_name": n,
                 "community_id": f"com_{o}"} for r, o, n in PHONES.get(phone, [])]

    def get_organization(self, identity):
        if identity["actor_type"] == "resident":
            raise Forbidden("residents do not see the organization's settings", "actor_type")
        return {"id": identity["organization_id"],
                "name": {ORG: "Maple Grove", OTHER_ORG: "Harbor View"}[
                    identity["organization_id"]]}

    def get_resident(self, identity, resident_id):
        phone = next(p for p, rs in PHONES.items() if any(r[0] == resident_id for r in rs))
        if identity["organization_id"] != ORG:
            raise NotFound(f"resident {resident_id} does not exist", "resident_id")
        return {"id": resident_id, "organization_id": ORG, "community_id": "com_1",
                "unit_id": "unit_1", "phone": phone}


@pytest.fixture
def db():
    return memory_database(Base)


@pytest.fixture
def consent(db):
    return worker_factory(ConsentService, db=db, config=CONFIG, directory=FakeDirectory())


@pytest.fixture
def category(consent):
    return consent.create_category(MASTER, ORG, "News", "opt_in")["id"]


def text(consent, body, phone=ADA_PHONE, sid="SM1", to=OURS):
    consent.apply_sms_keyword(envelope("text_received", {
        "provider": "twilio", "provider_id": sid, "from_number": phone, "to_number": to,
        "body": body}))


def check(consent, category, phone=ADA_PHONE, resident="res_ada", channel="sms"):
    return consent.check(MASTER, category, channel, [
        {"resident_id": resident, "has_contact_point": True, "address": phone}])[0]


def replies(db):
    return [e["data"] for e in outbox_events(db, "sms_keyword_applied")]


def rows(db, model):
    with db.read() as session:
        return session.query(model).order_by(model.seq).all()


def test_stop_records_proof_stops_texts_and_asks_for_one_reply(consent, db, category):
    assert check(consent, category)["allowed"]
    text(consent, "  stop ")
    assert check(consent, category) == {"resident_id": "res_ada", "allowed": False,
                                        "reason": "keyword_stop"}
    # email is not a text; and the stop is about the phone, not the resident's preference
    assert check(consent, category, channel="email")["allowed"]
    assert consent.get_preferences(MANAGER, "res_ada")["channels"]["sms"]["on"] is True
    (keyword,) = rows(db, KeywordEvent)
    assert (keyword.phone, keyword.sender, keyword.kind, keyword.keyword, keyword.source) == (
        ADA_PHONE, OURS, "stop", "STOP", "inbound_sms")
    (act,) = rows(db, ConsentEvent)
    expected = keyword_replies.reply_text("stop", "Maple Grove", None)
    assert expected.startswith("Maple Grove: you are unsubscribed")
    assert (act.channel, act.category_id, act.action, act.method, act.recorded_by) == (
        "sms", None, "withdraw", "sms_keyword", "res_ada")
    assert act.evidence == {"phone": ADA_PHONE, "address": ADA_PHONE, "sender": OURS,
                            "message_sid": "SM1", "keyword": "STOP", "body": "  stop ",
                            "source": "inbound_sms", "wording": expected}
    assert replies(db) == [{"phone": ADA_PHONE, "sender": OURS, "kind": "stop",
                            "keyword": "STOP", "message_sid": "SM1", "reply": expected}]
    (recorded,) = outbox_events(db, "consent_recorded")
    assert recorded["organization_id"] == ORG and recorded["data"]["method"] == "sms_keyword"
    assert outbox_events(db, "sms_keyword_applied")[0]["organization_id"] == ORG


def test_the_same_message_twice_records_and_replies_once(consent, db, category):
    text(consent, "STOP", sid="SM1")
    text(consent, "STOP", sid="SM1")        # the provider retried its webhook
    assert len(rows(db, KeywordEvent)) == 1 and len(rows(db, ConsentEvent)) == 1
    assert len(replies(db)) == 1


def test_start_resumes_and_is_answered(consent, db, category):
    text(consent, "STOPALL", sid="SM1")
    text(consent, "Unstop!", sid="SM2")
    assert check(consent, category)["allowed"]
    assert [r["kind"] for r in replies(db)] == ["stop", "start"]
    assert replies(db)[1]["reply"] == ("Maple Grove: you will get texts from this number "
                                       "again. Reply STOP to stop.")
    assert [a.action for a in rows(db, ConsentEvent)] == ["withdraw", "grant"]
    history = consent.consent_history(MANAGER, "res_ada")
    assert [e["label"] for e in history["events"]] == ["keyword stop", "keyword start"]


def test_a_stop_to_another_of_our_numbers_does_not_stop_this_one(consent, category):
    text(consent, "STOP", to="+15559990000")
    assert check(consent, category)["allowed"]


def test_help_answers_the_organizations_text_or_the_default(consent, db, category):
    text(consent, "help", sid="SM1")
    consent.set_settings(MASTER, {"sms_help_text": "Maple Grove office: 416-555-0100."})
    text(consent, "INFO", sid="SM2")
    assert [r["reply"] for r in replies(db)] == [
        "Maple Grove: help is at 555-0100. Reply STOP.", "Maple Grove office: 416-555-0100."]
    assert rows(db, ConsentEvent) == []            # HELP changes no consent
    assert check(consent, category)["allowed"]


def test_a_phone_of_several_organizations_is_answered_as_the_platform(consent, db):
    text(consent, "STOP", phone=SHARED_PHONE)
    (reply,) = replies(db)
    assert reply["reply"].startswith("Townhall: you are unsubscribed")
    assert outbox_events(db, "sms_keyword_applied")[0]["organization_id"] is None
    assert {(a.organization_id, a.resident_id) for a in rows(db, ConsentEvent)} == {
        (ORG, "res_bob"), (OTHER_ORG, "res_hal")}


def test_an_unknown_phone_is_stopped_and_answered_all_the_same(consent, db, category):
    text(consent, "quit", phone=NOBODY)
    assert rows(db, ConsentEvent) == [] and len(rows(db, KeywordEvent)) == 1
    assert replies(db)[0]["reply"].startswith("Townhall:")
    assert check(consent, category, phone=NOBODY)["reason"] == "keyword_stop"


def test_a_reply_is_no_keyword(consent, db, category):
    text(consent, "Stop by the office at 5")
    assert rows(db, KeywordEvent) == [] and replies(db) == []
    assert check(consent, category)["allowed"]


def test_a_carrier_opt_out_stops_without_a_reply(consent, db, category):
    report = envelope("sms_opt_out_reported", {"phone": ADA_PHONE, "sender": OURS,
                                               "delivery_id": "dlv_1", "error_code": "21610"})
    consent.apply_carrier_opt_out(report)
    consent.apply_carrier_opt_out(report)
    assert check(consent, category)["reason"] == "keyword_stop"
    assert replies(db) == []
    (keyword,) = rows(db, KeywordEvent)
    assert (keyword.kind, keyword.keyword, keyword.source, keyword.message_sid) == (
        "stop", "21610", "provider_error", "dlv_1")
    (act,) = rows(db, ConsentEvent)
    assert (act.method, act.recorded_by, act.evidence["message_sid"]) == (
        "carrier_opt_out", "carrier:twilio", "dlv_1")
    history = consent.consent_history(MANAGER, "res_ada")
    assert history["events"][0]["label"].startswith("keyword stop (carrier opt-out")
    assert {s["reason"] for s in history["state"] if s["channel"] == "sms"} == {"keyword_stop"}
    assert {s["allowed"] for s in history["state"] if s["channel"] == "email"} == {True}


def test_a_channel_preference_still_counts_beside_keywords(consent, category):
    text(consent, "STOP", sid="SM1")
    text(consent, "START", sid="SM2")
    consent.set_preferences(MANAGER, "res_ada", {"sms": False}, "Texts: off")
    assert check(consent, category)["reason"] == "channel_preference_off"


def test_settings_default_then_set_by_who_may(consent):
    default = consent.get_settings(MANAGER)
    assert default == {"organization_id": ORG, "default": True, "updated_by": None,
                       "updated_at": None,
                       "sms_help_text": "Maple Grove: help is at 555-0100. Reply STOP.",
                       "quiet_hours": {"start": "21:00", "end": "08:00", "default": True}}
    with pytest.raises(Forbidden):
        consent.set_settings(MANAGER, {"sms_help_text": "Hello"})
    for bad in ("", "   ", "x" * 321, None):
        with pytest.raises(InvalidRequest) as refused:
            consent.set_settings(MASTER, {"sms_help_text": bad})
        assert refused.value.field == "sms_help_text"
    made = consent.set_settings(MASTER, {"sms_help_text": "x" * 320})
    assert (made["default"], made["updated_by"]) == (False, "usr_master")
    assert consent.get_settings(MANAGER)["sms_help_text"] == "x" * 320


@pytest.mark.parametrize("quiet, field, rule", [
    ({"start": "22:00", "end": "08:00"}, "quiet_hours.start", "21:00 or earlier"),
    ({"start": "21:00", "end": "07:30"}, "quiet_hours.end", "08:00 or later"),
    ({"start": "09:00", "end": "17:00"}, "quiet_hours", "across midnight"),
    ({"start": "nine", "end": "08:00"}, "quiet_hours.start", "HH:MM"),
    ({"start": "21:00"}, "quiet_hours", "start"),
])
def test_quiet_hours_may_be_widened_never_narrowed(consent, quiet, field, rule):
    with pytest.raises(InvalidRequest) as refused:
        consent.set_settings(MASTER, {"sms_help_text": "Help", "quiet_hours": quiet})
    assert refused.value.field == field and rule in refused.value.detail


def test_an_organizations_wider_quiet_hours_are_kept_and_answered(consent):
    assert consent.quiet_hours(MANAGER) == {"start": "21:00", "end": "08:00", "default": True}
    made = consent.set_settings(MASTER, {"sms_help_text": "Help",
                                         "quiet_hours": {"start": "20:00", "end": "09:30"}})
    assert made["quiet_hours"] == {"start": "20:00", "end": "09:30", "default": False}
    assert consent.quiet_hours(MANAGER) == made["quiet_hours"]
    # set back to the legal window (or left out): the default again
    consent.set_settings(MASTER, {"sms_help_text": "Help"})
    assert consent.quiet_hours(MANAGER)["default"] is True


def test_pure_reply_rules():
    residents = [{"organization_id": ORG, "organization_name": "Maple Grove"}] * 2
    assert keyword_replies.sender_of(residents) == keyword_replies.Sender(ORG, "Maple Grove")
    assert keyword_replies.sender_of([]).name == "Townhall"
    assert keyword_replies.help_text("{organization} {x}", "Maple") == "Maple {x}"
    assert keyword_replies.stopped(["help", "stop", "start"]) is True
    assert keyword_replies.stopped(["start", "stop"]) is False
    assert keyword_replies.stopped(["help"]) is False
    with pytest.raises(ValueError):
        keyword_replies.reply_text("reply", "Maple", None)
