"""What other services (credits, seed 002) learn about staff from directory: the offices a
staff user works in, the offices where the caller's permissions hold, and staff_facts — with
worker_factory and an in-memory database."""

import pytest
from nameko.testing.services import worker_factory
from sqlalchemy import event

from contracts.api import Identity
from contracts.errors import Forbidden, InvalidRequest, NotFound
from servicekit.access import EVERYWHERE, SYSTEM
from servicekit.seed import demo_spec, other_spec
from servicekit.testing import memory_database
from services.directory.identity import office_scopes
from services.directory.models import AuditEvent, Base
from services.directory.service import DirectoryService

SPEC = {
    "slug": "oak", "name": "Oak Property", "api_key_permissions": ["send_sms"],
    "offices": [
        {"name": "East", "communities": [
            {"name": "Elm", "residents": [
                {"name": "Ivy", "unit": "1A", "email": "ivy@oak.example",
                 "portal_password": "ivy-long-password"}]}]},
        {"name": "West", "communities": [
            {"name": "Fir", "residents": [{"name": "Kim", "unit": "7"}]}]},
        {"name": "North", "communities": []}],
    "staff": [
        {"name": "Meg", "email": "master@oak.example", "password": "master-long-password",
         "offices": ["West", "East"], "grants": [{"name": "master", "scope": "organization"}]},
        {"name": "Ned", "email": "ned@oak.example", "password": "ned-long-password",
         "offices": ["East"], "grants": [{"name": "manager", "scope": "office:East"}]},
        {"name": "Ola", "email": "ola@oak.example", "password": "ola-long-password",
         "offices": ["West"], "grants": [
             {"name": "manage_office_sms_credits", "scope": "office:West"},
             {"name": "send_sms", "scope": "community:Fir"}]},
        {"name": "Pia", "email": "pia@oak.example", "password": "pia-long-password",
         "offices": ["East", "North"], "grants": []},
        {"name": "Quin", "email": "quin@oak.example", "password": "quin-long-password",
         "grants": [{"name": "send_sms", "scope": "organization"}]},
    ],
}
OTHER = {"slug": "pine", "name": "Pine", "api_key_permissions": [], "offices": [
    {"name": "Only", "communities": [{"name": "Pine Court", "residents": [
        {"name": "Zed", "unit": "1"}]}]}],
    "staff": [{"name": "Pam", "email": "master@pine.example", "password": "pine-long-password",
               "offices": ["Only"], "grants": [{"name": "master", "scope": "organization"}]}]}
CONFIG = {"auth": {"jwt_secret": "unit-test-signing-key-0123456789abcdef"},
          "directory": {"default_phone_region": "US"}}


@pytest.fixture
def directory():
    service = worker_factory(DirectoryService, db=memory_database(Base), config=CONFIG)
    seed = service.seed_demo(SPEC)
    other = service.seed_demo(OTHER)

    def who(email, password):
        return service.login(email, password, "10.0.0.1")["identity"]

    service.offices = {o["name"]: o["id"] for o in seed["offices"]}
    service.fir = next(c["id"] for c in seed["communities"] if c["name"] == "Fir")
    service.other_office = other["offices"][0]["id"]
    service.api_keys = {"oak": seed["api_key"], "pine": other["api_key"]}
    service.callers = {name: who(f"{name}@oak.example", f"{name}-long-password")
                       for name in ("ned", "ola", "pia", "quin")}
    service.callers.update(master=who("master@oak.example", "master-long-password"),
                           ivy=who("ivy@oak.example", "ivy-long-password"),
                           other=who("master@pine.example", "pine-long-password"))
    service.staff = {name: caller["actor_id"] for name, caller in service.callers.items()
                     if caller["actor_type"] == "staff" and name != "other"}
    return service


# --- the offices a staff user works in ----------------------------------------------------

def test_the_demo_puts_staff_in_their_offices_primary_first(directory):
    east, west, north = (directory.offices[n] for n in ("East", "West", "North"))
    master = directory.callers["master"]
    offices = {s["name"]: s["office_ids"] for s in directory.list_staff(master)["items"]}
    assert offices == {"Meg": [west, east], "Ned": [east], "Ola": [west],
                       "Pia": [east, north], "Quin": []}


def test_the_seed_names_only_offices_of_its_own_organization():
    for spec in (demo_spec(), other_spec()):
        names = {office["name"] for office in spec["offices"]}
        for staff in spec["staff"]:
            assert staff["offices"] and set(staff["offices"]) <= names, staff["name"]


def test_master_users_give_new_staff_a_primary_and_additional_offices(directory):
    master, east, west = (directory.callers["master"], directory.offices["East"],
                          directory.offices["West"])
    made = directory.create_staff(master, {"name": "Rex", "email": "rex@oak.example",
                                           "office_ids": [west, east]})
    assert made["office_ids"] == [west, east]
    assert directory.get_staff(master, made["id"])["office_ids"] == [west, east]
    plain = directory.create_staff(master, {"name": "Sid", "email": "sid@oak.example"})
    assert plain["office_ids"] == []


def test_changing_offices_replaces_them_and_is_audited(directory):
    master, pia = directory.callers["master"], directory.staff["pia"]
    east, west, north = (directory.offices[n] for n in ("East", "West", "North"))

    changed = directory.update_staff(master, pia, {"office_ids": [west, north]})
    assert changed["office_ids"] == [west, north]
    assert directory.update_staff(master, pia, {"name": "Pia P."})["office_ids"] == [west, north]
    assert directory.update_staff(master, pia, {"office_ids": [north, east]})["office_ids"] == [
        north, east]
    assert directory.update_staff(master, pia, {"office_ids": []})["office_ids"] == []
    with directory.db.read() as session:
        changes = [e.details for e in session.query(AuditEvent).filter_by(
            action="staff_offices_changed").order_by(AuditEvent.seq)]
    assert [c["office_ids"] for c in changes] == [[west, north], [north, east], []]
    assert changes[0]["previous"] == [east, north]


def test_offices_must_be_the_organizations_own_and_listed_once(directory):
    master, east = directory.callers["master"], directory.offices["East"]
    with pytest.raises(InvalidRequest, match="listed twice") as twice:
        directory.create_staff(master, {"name": "Tam", "email": "tam@oak.example",
                                        "office_ids": [east, east]})
    assert twice.value.field == "office_ids"
    for unknown in (directory.other_office, "off_nowhere"):
        with pytest.raises(NotFound, match=unknown) as missing:
            directory.create_staff(master, {"name": "Tam", "email": "tam@oak.example",
                                            "office_ids": [east, unknown]})
        assert missing.value.field == "office_ids"
    # nothing was half-written: the email is still free
    assert directory.create_staff(master, {"name": "Tam", "email": "tam@oak.example"})

    ned = directory.staff["ned"]
    with pytest.raises(NotFound) as missing:
        directory.update_staff(master, ned, {"name": "Renamed",
                                             "office_ids": [directory.other_office]})
    assert missing.value.field == "office_ids"
    unchanged = directory.get_staff(master, ned)
    assert (unchanged["name"], unchanged["office_ids"]) == ("Ned", [east])
    with pytest.raises(Forbidden, match="master users"):
        directory.update_staff(directory.callers["ned"], ned, {"office_ids": [east]})


# --- office scopes in the identity ------------------------------------------------------

def test_the_identity_says_in_which_offices_each_permission_holds(directory):
    east, west = directory.offices["East"], directory.offices["West"]
    ola, ned = directory.callers["ola"], directory.callers["ned"]

    assert ola["office_scopes"] == {"manage_office_sms_credits": [west]}  # community: nothing
    assert ola["scopes"] == {"send_sms": [directory.fir],   # scopes are as they were
                             "manage_office_sms_credits": [directory.fir]}
    assert ned["office_scopes"] == {p: [east] for p in ned["scopes"]}
    assert set(directory.callers["master"]["office_scopes"].values()) == {EVERYWHERE}
    assert directory.callers["pia"]["office_scopes"] == {}
    assert directory.callers["ivy"]["office_scopes"] == {}
    assert directory.authenticate(directory.api_keys["oak"])["office_scopes"] == {
        "send_sms": EVERYWHERE}
    assert Identity().dump(ola)["office_scopes"] == {"manage_office_sms_credits": [west]}


def test_an_organization_grant_wins_over_office_grants_in_either_order():
    office, org = ("send_sms", "office", "off_b"), ("send_sms", "organization", "org_1")
    assert office_scopes([office, org]) == office_scopes([org, office]) == {
        "send_sms": EVERYWHERE}
    assert office_scopes([("send_sms", "office", "off_b"), ("send_sms", "office", "off_a"),
                          ("dispatcher", "office", "off_a")]) == {
        "send_sms": ["off_a", "off_b"], "manage_tickets": ["off_a"]}


def test_a_new_office_grant_shows_in_the_identity_at_once(directory):
    master, pia = directory.callers["master"], directory.staff["pia"]
    north = directory.offices["North"]
    directory.grant(master, pia, "manage_office_sms_credits", "office", north)
    account = directory.login("pia@oak.example", "pia-long-password", "10.0.0.1")
    assert account["identity"]["office_scopes"] == {"manage_office_sms_credits": [north]}


# --- staff_facts ------------------------------------------------------------------------

@pytest.fixture
def teams(directory):
    master, staff = directory.callers["master"], directory.staff
    leasing = directory.create_team(master, {"name": "Leasing"})["id"]
    sales = directory.create_team(master, {"name": "Sales"})["id"]
    for team, members in ((leasing, ("ned", "pia")), (sales, ("pia", "ola", "quin"))):
        for name in members:
            directory.add_team_member(master, team, staff[name])
    return {"leasing": leasing, "sales": sales}


def test_staff_facts_answer_offices_teams_team_mates_send_sms_and_activity(directory, teams):
    staff, offices = directory.staff, directory.offices
    directory.update_staff(directory.callers["master"], staff["quin"], {"disabled": True})
    asked = [staff[n] for n in ("pia", "ned", "ola", "quin", "master")]

    facts = directory.staff_facts(directory.callers["ned"], asked)

    assert [f["id"] for f in facts] == asked
    pia, ned, ola, quin, meg = facts
    assert pia == {"id": staff["pia"], "office_ids": [offices["East"], offices["North"]],
                   "team_ids": sorted(teams.values()),
                   "team_member_ids": sorted(staff[n] for n in ("ned", "ola", "quin")),
                   "holds_send_sms": False, "active": True}
    assert ned["team_member_ids"] == [staff["pia"]]
    assert ned["holds_send_sms"] is True            # through the manager role
    assert ola["holds_send_sms"] is True            # a community grant is a current grant
    assert ola["team_member_ids"] == sorted([staff["pia"], staff["quin"]])
    assert (quin["active"], quin["holds_send_sms"]) == (False, True)
    assert meg["office_ids"] == [offices["West"], offices["East"]]
    assert (meg["team_ids"], meg["team_member_ids"], meg["holds_send_sms"]) == ([], [], True)


def test_staff_facts_follow_revoked_grants_and_left_teams(directory, teams):
    master, staff = directory.callers["master"], directory.staff
    role = next(g for g in directory.list_grants(master, staff["ned"])["items"])
    directory.revoke(master, role["id"])
    directory.remove_team_member(master, teams["leasing"], staff["pia"])
    ned, pia = directory.staff_facts(master, [staff["ned"], staff["pia"]])
    assert (ned["holds_send_sms"], ned["team_member_ids"]) == (False, [])
    assert pia["team_ids"] == [teams["sales"]]


def test_staff_facts_are_for_the_organizations_staff_keys_and_the_system(directory):
    staff = directory.staff
    asked = [staff["ola"], staff["ola"]]   # asked twice, answered twice
    assert len(directory.staff_facts(directory.callers["pia"], asked)) == 2
    key = directory.authenticate(directory.api_keys["oak"])
    assert directory.staff_facts(key, [staff["ola"]])[0]["id"] == staff["ola"]
    assert directory.staff_facts(SYSTEM, [staff["ola"], directory.callers["other"][
        "actor_id"]])[1]["active"] is True
    assert directory.staff_facts(directory.callers["pia"], []) == []

    with pytest.raises(Forbidden, match="residents"):
        directory.staff_facts(directory.callers["ivy"], [staff["ola"]])
    for outsider in (directory.callers["other"],
                     directory.authenticate(directory.api_keys["pine"])):
        with pytest.raises(NotFound, match=staff["ola"]) as hidden:
            directory.staff_facts(outsider, [staff["ola"]])
        assert hidden.value.field == "staff_user_ids"
    with pytest.raises(NotFound, match="usr_first") as unknown:
        directory.staff_facts(directory.callers["pia"],
                              [staff["ola"], "usr_first", "usr_second"])
    assert unknown.value.field == "staff_user_ids"
    with pytest.raises(InvalidRequest) as bad:
        directory.staff_facts(directory.callers["pia"], staff["ola"])
    assert bad.value.field == "staff_user_ids"


def test_staff_facts_ask_each_table_once_however_many_users(directory, teams):
    everyone = sorted(directory.staff.values())
    one = _statements(directory, everyone[:1])
    assert _statements(directory, everyone) == one
    assert one <= 4   # staff users, their offices, team memberships, grants


def _statements(directory, staff_user_ids):
    seen = []

    def count(*_args):
        seen.append(1)

    engine = directory.db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        directory.staff_facts(directory.callers["pia"], staff_user_ids)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(seen)
