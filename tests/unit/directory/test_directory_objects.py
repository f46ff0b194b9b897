"""Creating, changing and listing directory objects with worker_factory and an in-memory
database: who may, what is validated, what history and events it leaves."""

import pytest
from nameko.testing.services import worker_factory

from contracts.errors import (
    Conflict,
    Forbidden,
    IdempotencyKeyReused,
    InvalidRequest,
    NotFound,
    OrganizationChoice,
    Unauthenticated,
)
from servicekit import tokens as tokens_module
from servicekit.access import PERMISSIONS
from servicekit.testing import memory_database, outbox_events
from services.directory import passwords
from services.directory.models import ApiKey, AuditEvent, Base, LoginAccount
from services.directory.service import DirectoryService

SPEC = {
    "slug": "oak", "name": "Oak Property", "api_key_permissions": ["send_communications"],
    "offices": [
        {"name": "East", "communities": [
            {"name": "Elm", "residents": [
                {"name": "Ivy", "unit": "1A", "email": "ivy@oak.example",
                 "portal_password": "ivy-long-password"},
                {"name": "Jon", "unit": "2B", "email": "jon@oak.example",
                 "portal_password": "jon-long-password"}]}]},
        {"name": "West", "communities": [
            {"name": "Fir", "residents": [{"name": "Kim", "unit": "7"}]}]}],
    "staff": [
        {"name": "Meg", "email": "master@oak.example", "password": "master-long-password",
         "grants": [{"name": "master", "scope": "organization"}]},
        {"name": "Ned", "email": "east@oak.example", "password": "east-long-password",
         "grants": [{"name": "manager", "scope": "office:East"}]},
    ],
}
OTHER = {"slug": "pine", "name": "Pine", "api_key_permissions": [], "offices": [
    {"name": "Only", "communities": [{"name": "Pine Court", "residents": [
        {"name": "Zed", "unit": "1"}]}]}],
    "staff": [{"name": "Pam", "email": "master@pine.example", "password": "pine-long-password",
               "grants": [{"name": "master", "scope": "organization"}]}]}
CONFIG = {"auth": {"jwt_secret": "unit-test-signing-key-0123456789abcdef"},
          "directory": {"default_phone_region": "US"}}


@pytest.fixture
def directory():
    service = worker_factory(DirectoryService, db=memory_database(Base), config=CONFIG)
    seed = service.seed_demo(SPEC)
    other = service.seed_demo(OTHER)

    def who(email, password):
        return service.login(email, password, "10.0.0.1")["identity"]

    service.ids = {
        "elm": next(c["id"] for c in seed["communities"] if c["name"] == "Elm"),
        "fir": next(c["id"] for c in seed["communities"] if c["name"] == "Fir"),
        "east": next(o["id"] for o in seed["offices"] if o["name"] == "East"),
        "west": next(o["id"] for o in seed["offices"] if o["name"] == "West"),
        "ivy": next(r for r in seed["residents"] if r["name"] == "Ivy"),
        "jon": next(r for r in seed["residents"] if r["name"] == "Jon"),
        "pine_court": other["communities"][0]["id"],
    }
    service.callers = {
        "master": who("master@oak.example", "master-long-password"),
        "manager": who("east@oak.example", "east-long-password"),
        "ivy": who("ivy@oak.example", "ivy-long-password"),
        "other": who("master@pine.example", "pine-long-password"),
    }
    return service


def test_master_users_add_offices_and_communities_with_a_real_time_zone(directory):
    master = directory.callers["master"]
    office = directory.create_office(master, {"name": "North"})
    community = directory.create_community(master, {
        "name": "Hazel", "office_id": office["id"], "timezone": "America/Toronto"})

    assert community["office_id"] == office["id"]
    assert directory.get_office(master, office["id"])["community_ids"] == [community["id"]]
    created = outbox_events(directory.db, "community_created")[-1]["data"]
    assert created["community_id"] == community["id"]
    with pytest.raises(InvalidRequest, match="IANA") as bad:
        directory.create_community(master, {"name": "X", "office_id": office["id"],
                                            "timezone": "Mars/Olympus"})
    assert bad.value.field == "timezone"
    with pytest.raises(Forbidden, match="master users"):
        directory.create_community(directory.callers["manager"],
                                   {"name": "Y", "office_id": office["id"]})
    with pytest.raises(NotFound):  # another organization's office does not exist
        directory.create_community(directory.callers["other"],
                                   {"name": "Z", "office_id": office["id"]})


def test_a_manager_changes_only_the_communities_of_their_office(directory):
    manager = directory.callers["manager"]
    changed = directory.update_community(manager, directory.ids["elm"],
                                         {"address": "1 Elm Street"})
    assert changed["address"] == "1 Elm Street"
    with pytest.raises(Forbidden, match="manage_directory"):
        directory.update_community(manager, directory.ids["fir"], {"name": "Mine now"})
    with pytest.raises(Forbidden, match="master users"):  # moving offices: master only
        directory.update_community(manager, directory.ids["elm"],
                                   {"office_id": directory.ids["east"]})
    with pytest.raises(NotFound):
        directory.update_community(manager, directory.ids["pine_court"], {"name": "X"})


def test_unit_labels_are_unique_in_a_community_whatever_their_case_and_spacing(directory):
    manager = directory.callers["manager"]
    unit = directory.create_unit(manager, directory.ids["elm"], {"label": " 3  C "})
    assert unit["label"] == "3 C"
    with pytest.raises(Conflict, match="already exists") as taken:
        directory.create_unit(manager, directory.ids["elm"], {"label": "3 c"})
    assert taken.value.field == "label"
    units = directory.list_units(manager, directory.ids["elm"])["items"]
    assert {u["label"]: u["occupants"] for u in units} == {"1A": 1, "2B": 1, "3 C": 0}
    assert [u["label"] for u in directory.list_units(
        directory.callers["ivy"], directory.ids["elm"])["items"]] == ["1A"]


def new_resident(directory, caller="manager", key=None, **extra):
    unit = directory.ids["ivy"]["unit_id"]
    fields = {"community_id": directory.ids["elm"], "unit_id": unit, "name": "Lou Reed",
              "kind": "owner", "contact_points": [
                  {"kind": "phone", "value": "(202) 555-0143"},
                  {"kind": "email", "value": "Lou@Example.COM"}], **extra}
    return directory.create_resident(directory.callers[caller], fields, idempotency_key=key)


def test_a_new_resident_gets_normalized_primary_contact_points_and_one_move_in(directory):
    lou = new_resident(directory)

    assert (lou["phone"], lou["email"]) == ("+12025550143", "Lou@example.com")
    assert all(cp["primary"] for cp in lou["contact_points"])
    moved_in = outbox_events(directory.db, "occupant_moved_in")[-1]["data"]
    assert moved_in["occupants"][0]["resident_id"] == lou["id"]
    changes = [e["data"]["change"] for e in outbox_events(directory.db, "contact_point_changed")
               if e["data"]["resident_id"] == lou["id"]]
    assert changes == ["added", "made_primary", "added", "made_primary"]


def test_an_invalid_phone_is_refused_naming_the_field_and_nothing_is_written(directory):
    before = len(directory.list_residents(directory.callers["master"], limit=200)["items"])
    with pytest.raises(InvalidRequest, match="not a valid phone number") as bad:
        new_resident(directory, contact_points=[{"kind": "phone", "value": "555-1234"}])
    assert bad.value.field == "contact_points.0"
    assert len(directory.list_residents(directory.callers["master"], limit=200)["items"]) == before


def test_the_same_idempotency_key_answers_the_first_resident_again(directory):
    first = new_resident(directory, key="onboard-lou")
    again = new_resident(directory, key="onboard-lou")
    assert again["id"] == first["id"]
    found = directory.list_residents(directory.callers["manager"], q="Lou Reed")["items"]
    assert [r["id"] for r in found] == [first["id"]]
    with pytest.raises(IdempotencyKeyReused):
        new_resident(directory, key="onboard-lou", name="Someone Else")


def test_moving_out_keeps_the_record_and_ends_the_portal_login(directory):
    manager, ivy = directory.callers["manager"], directory.ids["ivy"]
    ivy_tokens = directory.login("ivy@oak.example", "ivy-long-password", "10.0.0.2")
    moved = directory.move_out(manager, ivy["id"], "2026-11-30")

    assert moved["move_out"] == "2026-11-30"
    out = outbox_events(directory.db, "occupant_moved_out")[-1]["data"]
    assert out["occupants"] == [{"resident_id": ivy["id"], "unit_id": ivy["unit_id"],
                                 "kind": "tenant", "date": "2026-11-30"}]
    current = directory.list_residents(manager, community_id=directory.ids["elm"])["items"]
    assert ivy["id"] not in [r["id"] for r in current]
    history = directory.list_residents(manager, community_id=directory.ids["elm"],
                                       include_moved_out=True)["items"]
    assert ivy["id"] in [r["id"] for r in history]
    assert directory.get_resident(manager, ivy["id"])["email"] == "ivy@oak.example"
    with pytest.raises(Conflict, match="moved out on 2026-11-30"):
        directory.move_out(manager, ivy["id"])
    with pytest.raises(Unauthenticated, match="the email or the password is wrong"):
        directory.login("ivy@oak.example", "ivy-long-password", "10.0.0.2")
    with pytest.raises(Unauthenticated, match="moved out"):   # the resident's old token
        directory.identity(**tokens_module.verify_session(CONFIG, ivy_tokens[
            "access_token"]))


def test_a_move_out_before_the_move_in_is_refused(directory):
    with pytest.raises(InvalidRequest, match="before the move-in date") as early:
        directory.move_out(directory.callers["manager"], directory.ids["jon"]["id"],
                           "1999-01-01")
    assert early.value.field == "date"


def test_a_resident_keeps_their_own_contact_points_and_nobody_elses(directory):
    ivy, jon = directory.callers["ivy"], directory.ids["jon"]
    view = directory.add_contact_point(ivy, directory.ids["ivy"]["id"],
                                       {"kind": "email", "value": "ivy.new@oak.example",
                                        "primary": True})
    assert view["email"] == "ivy.new@oak.example"
    old = next(cp for cp in view["contact_points"] if cp["value"] == "ivy@oak.example")
    assert old["primary"] is False
    with pytest.raises(Forbidden):
        directory.add_contact_point(ivy, jon["id"], {"kind": "email", "value": "x@oak.example"})
    with pytest.raises(Conflict, match="already has"):
        directory.add_contact_point(ivy, directory.ids["ivy"]["id"],
                                    {"kind": "email", "value": "IVY.NEW@oak.example"})
    new = next(cp for cp in view["contact_points"] if cp["value"] == "ivy.new@oak.example")
    after = directory.remove_contact_point(ivy, new["id"])
    assert after["email"] == "ivy@oak.example"   # the other email became primary again


def test_master_users_add_staff_who_can_sign_in_and_disabling_stops_them(directory):
    master = directory.callers["master"]
    staff = directory.create_staff(master, {"name": "Ola", "email": "Ola@Oak.example",
                                            "password": "ola-long-password"})
    assert staff["has_login"] and staff["email"] == "ola@oak.example"
    tokens = directory.login("ola@oak.example", "ola-long-password", "10.0.0.3")
    with pytest.raises(Conflict, match="already in use"):
        directory.create_staff(master, {"name": "Ola 2", "email": "ola@oak.example"})
    with pytest.raises(InvalidRequest, match="at least 12") as weak:
        directory.create_staff(master, {"name": "P", "email": "p@oak.example", "password": "short"})
    assert weak.value.field == "password"
    with pytest.raises(Forbidden):
        directory.list_staff(directory.callers["manager"])

    directory.update_staff(master, staff["id"], {"disabled": True})
    with pytest.raises(Unauthenticated):
        directory.identity(**tokens_module.verify_session(CONFIG, tokens["access_token"]))
    with pytest.raises(Unauthenticated):
        directory.refresh(tokens["refresh_token"], "10.0.0.3")
    actions = _audit_actions(directory)
    assert {"staff_created", "staff_disabled"} <= actions


def test_a_disabled_login_answers_a_right_password_as_a_wrong_one_and_audits_it(directory):
    master = directory.callers["master"]
    staff = directory.create_staff(master, {"name": "Ula", "email": "ula@oak.example",
                                            "password": "ula-long-password"})
    directory.update_staff(master, staff["id"], {"disabled": True})
    with directory.db.read() as session:
        login_row = session.query(LoginAccount).filter_by(email="ula@oak.example").one()
        assert login_row.disabled_at is not None   # the login is disabled, not only the user

    with pytest.raises(Unauthenticated) as right:
        directory.login("ula@oak.example", "ula-long-password", "10.0.7.1")
    with pytest.raises(Unauthenticated) as wrong:
        directory.login("ula@oak.example", "not-the-password", "10.0.7.1")
    assert (right.value.detail, right.value.field) == (wrong.value.detail, wrong.value.field)
    with directory.db.read() as session:
        refused = [(e.result, e.details.get("reason")) for e in session.query(AuditEvent)
                   .filter_by(action="login", actor="ula@oak.example")]
    assert refused == [("refused", "disabled"), ("failed", None)]

    directory.update_staff(master, staff["id"], {"disabled": False})
    assert directory.login("ula@oak.example", "ula-long-password", "10.0.7.2")["identity"][
        "name"] == "Ula"


def test_one_email_has_a_login_in_each_of_two_organizations_and_signs_into_the_right_one(
        directory):
    oak, pine = directory.callers["master"], directory.callers["other"]
    directory.create_staff(oak, {"name": "Sam", "email": "sam@shared.example",
                                 "password": "sam-oak-password"})
    # neither a 409 nor any hint: Pine cannot learn that Oak has a sam@, nor be blocked by it
    directory.create_staff(pine, {"name": "Sam", "email": "Sam@shared.example",
                                  "password": "sam-pine-password"})
    zed = directory.list_residents(pine)["items"][0]["id"]
    portal = directory.create_portal_account(pine, zed, {"email": "ivy@oak.example",
                                                          "password": "zed-long-password"})
    assert portal["email"] == "ivy@oak.example"
    with pytest.raises(Conflict, match="already in use") as taken:   # within Oak it is
        directory.create_staff(oak, {"name": "Sam 2", "email": "sam@shared.example",
                                     "password": "another-password"})
    assert taken.value.field == "email"

    def signs_into(email, password):
        return directory.login(email, password, "10.0.9.1")["identity"]["organization_id"]

    assert signs_into("sam@shared.example", "sam-oak-password") == oak["organization_id"]
    assert signs_into("sam@shared.example", "sam-pine-password") == pine["organization_id"]
    assert signs_into("ivy@oak.example", "zed-long-password") == pine["organization_id"]
    assert signs_into("ivy@oak.example", "ivy-long-password") == oak["organization_id"]


def test_a_password_good_in_two_organizations_asks_which_one_only_once_it_is_proven(
        directory, monkeypatch):
    oak, pine = directory.callers["master"], directory.callers["other"]
    for master in (oak, pine):
        directory.create_staff(master, {"name": "Tia", "email": "tia@shared.example",
                                        "password": "tia-same-password"})
    with pytest.raises(Unauthenticated) as wrong:
        directory.login("tia@shared.example", "not-the-password", "10.0.9.2")
    with pytest.raises(Unauthenticated) as unknown:
        directory.login("nobody@shared.example", "not-the-password", "10.0.9.2")
    assert wrong.value.detail == unknown.value.detail
    with pytest.raises(OrganizationChoice) as choice:
        directory.login("tia@shared.example", "tia-same-password", "10.0.9.2")
    assert choice.value.field == "organization_id"
    assert sorted(o["id"] for o in choice.value.organizations) == sorted(
        [oak["organization_id"], pine["organization_id"]])
    assert {o["name"] for o in choice.value.organizations} == {"Oak Property", "Pine"}
    chosen = directory.login("tia@shared.example", "tia-same-password", "10.0.9.2",
                             organization_id=pine["organization_id"])
    assert chosen["identity"]["organization_id"] == pine["organization_id"]
    with pytest.raises(Unauthenticated) as elsewhere:   # no login there: the same answer
        directory.login("tia@shared.example", "tia-same-password", "10.0.9.2",
                        organization_id="org_unknown")
    assert elsewhere.value.detail == unknown.value.detail

    # the same work for one, two or no accounts: as many passwords checked either way
    checked = []
    real = passwords.verify_password
    monkeypatch.setattr(passwords, "verify_password",
                        lambda stored, given: checked.append(stored) or real(stored, given))
    for email in ("tia@shared.example", "ivy@oak.example", "nobody@shared.example"):
        checked.clear()
        with pytest.raises(Unauthenticated):
            directory.login(email, "not-the-password", "10.0.9.3")
        assert len(checked) == 2, email


def test_teams_are_seen_by_master_users_and_their_members(directory):
    master, manager = directory.callers["master"], directory.callers["manager"]
    team = directory.create_team(master, {"name": "Leasing", "office_id": directory.ids["east"]})
    assert directory.list_teams(manager)["items"] == []
    with pytest.raises(Forbidden):
        directory.get_team(manager, team["id"])
    directory.add_team_member(master, team["id"], manager["actor_id"])
    assert [t["id"] for t in directory.list_teams(manager)["items"]] == [team["id"]]
    assert directory.get_staff(manager, manager["actor_id"])["team_ids"] == [team["id"]]
    with pytest.raises(Forbidden):
        directory.add_team_member(manager, team["id"], manager["actor_id"])
    with pytest.raises(NotFound):
        directory.get_team(directory.callers["other"], team["id"])


def test_an_api_key_is_shown_once_works_until_revoked_and_both_are_audited(directory):
    master = directory.callers["master"]
    made = directory.create_api_key(master, "crm sync", ["view_reports"])
    assert made["api_key"].startswith("th_") and made["prefix"] in made["api_key"]
    assert directory.authenticate(made["api_key"])["scopes"] == {"view_reports": "*"}
    listed = directory.list_api_keys(master)["items"]
    assert all("api_key" not in k for k in listed)
    with pytest.raises(InvalidRequest, match="unknown permissions: fly"):
        directory.create_api_key(master, "bad", ["fly"])
    with pytest.raises(NotFound):
        directory.revoke_api_key(directory.callers["other"], made["id"])

    directory.revoke_api_key(master, made["id"])
    with pytest.raises(Unauthenticated):
        directory.authenticate(made["api_key"])
    assert {"api_key_created", "api_key_revoked"} <= _audit_actions(directory)


def _organization_manager(directory):
    """A staff user with the manager role for the whole organization (so a master user by
    manage_directory) and manage_consent_categories for office East only."""
    master = directory.callers["master"]
    made = directory.create_staff(master, {"name": "Rae", "email": "rae@oak.example",
                                           "password": "rae-long-password"})
    directory.grant(master, made["id"], "manager", "organization", master["organization_id"])
    office = directory.grant(master, made["id"], "manage_consent_categories", "office",
                             directory.ids["east"])
    return made["id"], office["id"], directory.login("rae@oak.example", "rae-long-password",
                                                     "10.0.8.1")["identity"]


def test_a_key_may_hold_only_what_its_creator_holds(directory):
    _id, _grant, rae = _organization_manager(directory)
    with pytest.raises(Forbidden) as escalation:
        directory.create_api_key(rae, "everything", list(PERMISSIONS))
    assert escalation.value.field == "permissions"
    assert escalation.value.detail == (
        "a key holds only what its creator holds; this caller lacks send_emergency for the "
        "organization, manage_office_sms_credits for the organization, manage_credits for the "
        "organization, manage_consent_categories for the organization")
    with pytest.raises(Forbidden, match="manage_consent_categories for office"):
        directory.create_api_key(rae, "west", [], [
            {"name": "manage_consent_categories", "scope_type": "office",
             "scope_id": directory.ids["west"]}])
    with pytest.raises(Forbidden, match="manage_consent_categories for community"):
        directory.create_api_key(rae, "fir", [], [
            {"name": "manage_consent_categories", "scope_type": "community",
             "scope_id": directory.ids["fir"]}])
    with directory.db.read() as session:
        assert session.query(ApiKey).filter_by(created_by=rae["actor_id"]).count() == 0

    made = directory.create_api_key(rae, "sync", ["send_communications"], [
        {"name": "manage_consent_categories", "scope_type": "community",
         "scope_id": directory.ids["elm"]}])
    assert directory.authenticate(made["api_key"])["scopes"] == {
        "send_communications": "*", "manage_consent_categories": [directory.ids["elm"]]}
    assert made["grants"] == [{"name": "manage_consent_categories", "scope_type": "community",
                               "scope_id": directory.ids["elm"]}]


def test_a_key_loses_what_its_creator_loses_and_stops_when_they_are_disabled(directory):
    rae_id, office_grant, rae = _organization_manager(directory)
    made = directory.create_api_key(rae, "sync", ["view_reports"], [
        {"name": "manage_consent_categories", "scope_type": "office",
         "scope_id": directory.ids["east"]}])
    assert directory.authenticate(made["api_key"])["office_scopes"][
        "manage_consent_categories"] == [directory.ids["east"]]
    directory.revoke(directory.callers["master"], office_grant)
    assert directory.authenticate(made["api_key"])["scopes"] == {"view_reports": "*"}
    directory.update_staff(directory.callers["master"], rae_id, {"disabled": True})
    with pytest.raises(Unauthenticated, match="created this API key is disabled"):
        directory.authenticate(made["api_key"])


def test_keys_are_made_by_staff_not_by_other_keys(directory):
    key = directory.create_api_key(directory.callers["master"], "admin", ["manage_directory"])
    with pytest.raises(Forbidden, match="not by other keys"):
        directory.create_api_key(directory.authenticate(key["api_key"]), "child",
                                 ["manage_directory"])


def _audit_actions(directory):
    with directory.db.read() as session:
        return {e.action for e in session.query(AuditEvent)}


def test_permission_events_say_whether_the_user_still_holds_send_sms(directory):
    master, ned = directory.callers["master"], directory.callers["manager"]["actor_id"]
    extra = directory.grant(master, ned, "send_sms", "community", directory.ids["fir"])
    granted = outbox_events(directory.db, "permission_granted")[-1]["data"]
    assert granted["holds_send_sms"] is True
    directory.revoke(master, extra["id"])   # the manager role on East still gives send_sms
    assert outbox_events(directory.db, "permission_revoked")[-1]["data"]["holds_send_sms"]
    role = next(g for g in directory.list_grants(master, ned)["items"] if g["name"] == "manager")
    directory.revoke(master, role["id"])
    assert outbox_events(directory.db, "permission_revoked")[-1]["data"][
        "holds_send_sms"] is False


def test_a_resident_gets_a_portal_login_on_their_primary_email(directory):
    manager = directory.callers["manager"]
    lou = new_resident(directory)
    with pytest.raises(InvalidRequest, match="at least 12"):
        directory.create_portal_account(manager, lou["id"], {"password": "short"})
    made = directory.create_portal_account(manager, lou["id"],
                                           {"password": "lou-first-password"})
    assert made == {"resident_id": lou["id"], "email": "lou@example.com"}
    who = directory.login("lou@example.com", "lou-first-password", "10.0.0.4")["identity"]
    assert who["actor_type"] == "resident" and who["resident"]["unit_id"] == lou["unit_id"]
    with pytest.raises(Conflict, match="already has a portal account"):
        directory.create_portal_account(manager, lou["id"], {"password": "another-password"})
    with pytest.raises(Forbidden):
        directory.create_portal_account(directory.callers["ivy"], directory.ids["jon"]["id"],
                                        {"password": "jon-first-password"})


def test_the_organization_is_read_by_its_staff_and_renamed_by_master_users(directory):
    assert directory.get_organization(directory.callers["manager"])["name"] == "Oak Property"
    with pytest.raises(Forbidden):
        directory.get_organization(directory.callers["ivy"])
    with pytest.raises(Forbidden):
        directory.update_organization(directory.callers["manager"], {"name": "Mine"})
    renamed = directory.update_organization(directory.callers["master"], {"name": "Oak PM"})
    assert renamed["name"] == "Oak PM"
    assert directory.get_organization(directory.callers["other"])["name"] == "Pine"
