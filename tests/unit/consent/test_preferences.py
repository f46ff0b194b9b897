"""Channel preferences, a resident's consent history and the proof export, with worker_factory,
an in-memory database and a fake directory that decides who sees which resident."""

import csv
import io

import pytest
from nameko.testing.services import worker_factory

from contracts.errors import Forbidden, InvalidRequest, NotFound
from servicekit.testing import memory_database, outbox_events
from services.consent.models import Base
from services.consent.service import ConsentService

ORG = "org_1"
MAPLE, BIRCH = "com_maple", "com_birch"
RESIDENTS = {
    "res_ada": {"community_id": MAPLE, "unit_id": "unit_101"},
    "res_edsger": {"community_id": MAPLE, "unit_id": "unit_101"},
    "res_grace": {"community_id": MAPLE, "unit_id": "unit_102"},
    "res_bob": {"community_id": BIRCH, "unit_id": "unit_201"},
}
ADA = {"actor_type": "resident", "actor_id": "res_ada", "organization_id": ORG,
       "resident": {"community_id": MAPLE, "unit_id": "unit_101"}}
MANAGER = {"actor_type": "staff", "actor_id": "usr_manager", "organization_id": ORG,
           "scopes": {"manage_directory": [MAPLE], "manage_consent_categories": "*"}}
READER = {"actor_type": "staff", "actor_id": "usr_reader", "organization_id": ORG,
          "scopes": {"view_reports": [MAPLE]}}
OUTSIDER = dict(MANAGER, actor_id="usr_other", organization_id="org_2")
WORDS = "Send me texts about my building."


class FakeDirectory:
    """Residents see their own unit; staff the communities they hold any permission for;
    another organization sees nothing."""

    def __init__(self):
        self.pages_asked = 0

    def _visible(self, identity, resident_id):
        resident = RESIDENTS[resident_id]
        if identity["actor_type"] == "resident":
            return identity["resident"]["unit_id"] == resident["unit_id"]
        return any(w == "*" or resident["community_id"] in w
                   for w in identity.get("scopes", {}).values())

    def get_resident(self, identity, resident_id):
        if resident_id not in RESIDENTS or identity["organization_id"] != ORG:
            raise NotFound(f"resident {resident_id} does not exist", "resident_id")
        if not self._visible(identity, resident_id):
            raise Forbidden("may not see this resident", "resident_id")
        return dict(RESIDENTS[resident_id], id=resident_id, organization_id=ORG)

    def get_community(self, identity, community_id):
        if community_id not in (MAPLE, BIRCH) or identity["organization_id"] != ORG:
            raise NotFound(f"community {community_id} does not exist", "community_id")
        return {"id": community_id, "organization_id": ORG}

    def list_residents(self, identity, community_id=None, include_moved_out=False,
                       cursor=None, limit=None):
        self.pages_asked += 1
        ids = sorted(r for r, v in RESIDENTS.items() if v["community_id"] == community_id
                     and self._visible(identity, r))
        start = int(cursor or 0)
        size = 2   # smaller than any real page, so the export has to follow next_cursor
        page = ids[start:start + size]
        more = start + size < len(ids)
        return {"items": [{"id": r} for r in page],
                "next_cursor": str(start + size) if more else None}


@pytest.fixture
def db():
    return memory_database(Base)


@pytest.fixture
def consent(db):
    return worker_factory(ConsentService, db=db, config={}, directory=FakeDirectory())


def test_never_set_is_on_and_a_resident_turns_their_own_channels_off_from_the_portal(
        consent, db):
    assert {c: v["on"] for c, v in consent.get_preferences(ADA, "res_ada")["channels"]
            .items()} == {"sms": True, "email": True, "voice": True}
    answer = consent.set_preferences(ADA, "res_ada", {"sms": False, "email": True}, WORDS,
                                     ip="203.0.113.7")
    sms = answer["channels"]["sms"]
    assert (sms["on"], sms["method"], sms["by"]) == (False, "portal", "res_ada")
    assert answer["channels"]["email"]["since"] is None      # unchanged: nothing appended
    events = consent.consent_history(ADA, "res_ada")["events"]
    assert [(e["channel"], e["action"], e["category_id"]) for e in events] == [
        ("sms", "withdraw", None)]
    assert events[0]["evidence"] == {"wording": WORDS, "ip": "203.0.113.7",
                                     "by": "res_ada"}
    recorded = outbox_events(db, "consent_recorded")
    assert [e["data"]["action"] for e in recorded] == ["withdraw"]
    consent.set_preferences(ADA, "res_ada", {"sms": False}, WORDS)   # again: nothing new
    assert len(consent.consent_history(ADA, "res_ada")["events"]) == 1


def test_staff_change_preferences_on_behalf_only_with_manage_directory_there(consent):
    answer = consent.set_preferences(MANAGER, "res_edsger", {"voice": False}, WORDS)
    assert answer["channels"]["voice"]["method"] == "staff_on_behalf"
    with pytest.raises(Forbidden, match="manage_directory"):
        consent.set_preferences(READER, "res_edsger", {"voice": True}, WORDS)
    with pytest.raises(Forbidden):      # Maple Grove only: Birch Court is not theirs
        consent.set_preferences(MANAGER, "res_bob", {"voice": False}, WORDS)
    with pytest.raises(Forbidden, match="own preferences"):     # a unit mate
        consent.set_preferences(ADA, "res_edsger", {"sms": False}, WORDS)
    with pytest.raises(NotFound):
        consent.set_preferences(OUTSIDER, "res_edsger", {"sms": False}, WORDS)


@pytest.mark.parametrize("changes, wording, field", [
    ({}, WORDS, "channels"),
    ({"fax": False}, WORDS, "channels"),
    ({"sms": "no"}, WORDS, "channels"),
    ({"sms": False}, "", "wording"),
    ({"sms": False}, "   ", "wording"),
    ({"sms": False}, "x" * 1001, "wording"),
])
def test_what_is_wrong_is_named_and_nothing_is_written(consent, changes, wording, field):
    with pytest.raises(InvalidRequest) as wrong:
        consent.set_preferences(ADA, "res_ada", changes, wording)
    assert wrong.value.field == field
    assert consent.consent_history(ADA, "res_ada")["events"] == []


def test_history_shows_every_act_and_the_state_per_category_and_channel(consent):
    notices = consent.create_category(MANAGER, ORG, "Notices", "opt_in")
    offers = consent.create_category(MANAGER, ORG, "Offers", "opt_out")
    old = consent.create_category(MANAGER, ORG, "Old", "opt_in")
    consent.archive_category(MANAGER, old["id"])
    consent.record(MANAGER, "res_ada", "email", "grant", "portal", offers["id"],
                   {"wording": "Yes, offers"})
    consent.set_preferences(ADA, "res_ada", {"sms": False}, WORDS)
    history = consent.consent_history(MANAGER, "res_ada")
    assert [(e["category_name"], e["channel"], e["action"]) for e in history["events"]] == [
        ("Offers", "email", "grant"), (None, "sms", "withdraw")]
    state = {(s["category_name"], s["channel"]): (s["allowed"], s["reason"])
             for s in history["state"]}
    assert state == {
        ("Notices", "sms"): (False, "channel_preference_off"),
        ("Notices", "email"): (True, None), ("Notices", "voice"): (True, None),
        ("Offers", "sms"): (False, "channel_preference_off"),
        ("Offers", "email"): (True, None), ("Offers", "voice"): (False, "no_consent")}
    assert notices["id"] in {s["category_id"] for s in history["state"]}


def test_a_resident_reads_only_their_own_history_and_staff_those_they_may_see(consent):
    assert consent.consent_history(READER, "res_ada")["resident_id"] == "res_ada"
    with pytest.raises(Forbidden, match="their own"):
        consent.consent_history(ADA, "res_edsger")
    with pytest.raises(Forbidden):
        consent.get_preferences(ADA, "res_grace")
    with pytest.raises(Forbidden):
        consent.consent_history(READER, "res_bob")
    with pytest.raises(NotFound):
        consent.export_consents(OUTSIDER, resident_id="res_ada")


def rows(text):
    return list(csv.DictReader(io.StringIO(text)))


def test_the_export_is_csv_with_the_evidence_and_no_formulas(consent):
    category = consent.create_category(MANAGER, ORG, "=HYPERLINK(\"x\")", "opt_in")
    consent.set_preferences(ADA, "res_ada", {"sms": False}, "+1 call me", ip="10.0.0.1")
    consent.record(MANAGER, "res_edsger", "email", "withdraw", "staff_on_behalf",
                   category["id"], {"wording": "@SUM(A1)"})
    mine = rows(consent.export_consents(ADA, resident_id="res_ada"))
    assert [(r["resident_id"], r["channel"], r["action"], r["method"], r["wording"],
             r["address"], r["ip"], r["category_id"]) for r in mine] == [
        ("res_ada", "sms", "withdraw", "portal", "'+1 call me", "", "10.0.0.1", "")]
    everyone = rows(consent.export_consents(MANAGER, community_id=MAPLE))
    assert [r["resident_id"] for r in everyone] == ["res_ada", "res_edsger"]
    assert everyone[1]["category_name"] == "'=HYPERLINK(\"x\")"
    assert everyone[1]["wording"] == "'@SUM(A1)"
    assert list(everyone[0]) == ["occurred_at", "resident_id", "channel", "category_id",
                                 "category_name", "action", "method", "recorded_by",
                                 "wording", "address", "ip", "message_id", "obtained_at",
                                 "source"]


def test_the_community_export_follows_every_page_and_needs_a_permission_there(consent):
    consent.set_preferences(MANAGER, "res_grace", {"voice": False}, WORDS)   # on page two
    assert [r["resident_id"] for r in rows(consent.export_consents(
        MANAGER, community_id=MAPLE))] == ["res_grace"]
    assert consent.directory.pages_asked == 2
    with pytest.raises(Forbidden):
        consent.export_consents(READER, community_id=MAPLE)
    with pytest.raises(Forbidden):
        consent.export_consents(ADA, community_id=MAPLE)
    with pytest.raises(NotFound):
        consent.export_consents(OUTSIDER, community_id=MAPLE)
    with pytest.raises(InvalidRequest):
        consent.export_consents(MANAGER)
