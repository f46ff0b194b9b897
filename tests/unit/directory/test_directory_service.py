"""directory's logins, identities and object-level checks with worker_factory and an
in-memory database."""

import pytest
from nameko.testing.services import worker_factory

from contracts.errors import Forbidden, NotFound, TooManyAttempts, Unauthenticated
from servicekit import tokens
from servicekit.access import EVERYWHERE
from servicekit.testing import memory_database
from services.directory.models import AuditEvent, Base
from services.directory.service import DirectoryService

SPEC = {
    "slug": "acme", "name": "Acme", "api_key_permissions": ["send_communications"],
    "offices": [
        {"name": "North", "communities": [
            {"name": "Alder", "residents": [
                {"name": "Ann", "unit": "1", "phone": "+15550000001", "email": "ann@x.test",
                 "portal_password": "ann-long-password"},
                {"name": "Ben", "unit": "1", "phone": "+15550000002", "email": "ben@x.test"},
                {"name": "Cat", "unit": "2", "email": "cat@x.test",
                 "portal_password": "cat-long-password"}]},
            {"name": "Birch", "residents": [{"name": "Dan", "unit": "9"}]}]},
        {"name": "South", "communities": [
            {"name": "Cedar", "residents": [{"name": "Eve", "unit": "3"}]}]}],
    "staff": [
        {"name": "Mia", "email": "master@x.test", "password": "master-long-password",
         "grants": [{"name": "master", "scope": "organization"}]},
        {"name": "Max", "email": "north@x.test", "password": "north-long-password",
         "grants": [{"name": "manager", "scope": "office:North"}]},
    ],
}
CONFIG = {"auth": {"jwt_secret": "unit-test-signing-key-0123456789abcdef",
                   "login_failures_per_account": 3, "login_failures_per_address": 5,
                   "login_window_seconds": 900}}


@pytest.fixture(scope="module")
def directory():
    service = worker_factory(DirectoryService, db=memory_database(Base), config=CONFIG)
    service.seed = service.seed_demo(SPEC)
    return service


def community(directory, name):
    return next(c["id"] for c in directory.seed["communities"] if c["name"] == name)


def resident(directory, name):
    return next(r["id"] for r in directory.seed["residents"] if r["name"] == name)


def login(directory, email, password, address="10.9.9.9"):
    return directory.login(email, password, address)


def session_of(tokens_):
    """What the gateway reads from an access token: {account_id, session_id}."""
    return tokens.verify_session(CONFIG, tokens_["access_token"])


def test_a_manager_holds_permissions_for_the_communities_of_their_office(directory):
    who = login(directory, "north@x.test", "north-long-password")["identity"]
    assert sorted(who["scopes"]["send_communications"]) == sorted(
        [community(directory, "Alder"), community(directory, "Birch")])
    master = login(directory, "MASTER@x.test ", "master-long-password")["identity"]
    assert master["scopes"]["manage_directory"] == EVERYWHERE


def test_the_access_token_is_signed_short_lived_and_names_the_account(directory):
    tokens_ = login(directory, "north@x.test", "north-long-password")
    assert directory.identity(**session_of(tokens_))["name"] == "Max"
    assert tokens_["expires_in"] == 900
    with pytest.raises(Unauthenticated):
        tokens.verify_access_token({"auth": {"jwt_secret": "another-key-" + "x" * 32}},
                                   tokens_["access_token"])


def test_the_gateway_refuses_an_access_token_that_names_no_session():
    token, _ttl = tokens.issue_access_token(CONFIG, "acct_x", "org_x")
    assert tokens.verify_access_token(CONFIG, token) == "acct_x"   # validly signed, but
    with pytest.raises(Unauthenticated, match="sid"):
        tokens.verify_session(CONFIG, token)


def test_wrong_password_and_unknown_account_get_the_same_answer(directory):
    with pytest.raises(Unauthenticated) as wrong:
        login(directory, "north@x.test", "not-the-password", address="10.0.0.1")
    with pytest.raises(Unauthenticated) as unknown:
        login(directory, "nobody@x.test", "not-the-password", address="10.0.0.1")
    assert str(wrong.value) == str(unknown.value)


def test_failed_logins_are_slowed_per_account_even_with_the_right_password(directory):
    for n in range(3):
        with pytest.raises(Unauthenticated):
            login(directory, "cat@x.test", f"guess-{n}", address=f"10.1.0.{n}")
    with pytest.raises(TooManyAttempts):
        login(directory, "cat@x.test", "cat-long-password", address="10.1.0.99")


def test_failed_logins_are_slowed_per_address(directory):
    for n in range(5):
        with pytest.raises(Unauthenticated):
            login(directory, f"someone{n}@x.test", "guess", address="10.2.0.1")
    with pytest.raises(TooManyAttempts):
        login(directory, "master@x.test", "master-long-password", address="10.2.0.1")


def test_a_refresh_token_is_single_use_and_its_reuse_revokes_the_family(directory):
    first = login(directory, "ann@x.test", "ann-long-password")
    second = directory.refresh(first["refresh_token"], "10.3.0.1")
    with pytest.raises(Unauthenticated, match="already used"):
        directory.refresh(first["refresh_token"], "10.3.0.1")
    with pytest.raises(Unauthenticated):  # the stolen family is dead too
        directory.refresh(second["refresh_token"], "10.3.0.1")


def test_logout_revokes_the_refresh_token(directory):
    tokens_ = login(directory, "ann@x.test", "ann-long-password")
    assert directory.logout(tokens_["refresh_token"], "10.4.0.1") == {"revoked": True}
    with pytest.raises(Unauthenticated):
        directory.refresh(tokens_["refresh_token"], "10.4.0.1")


def test_logout_ends_the_access_token_of_that_session_only(directory):
    mine = login(directory, "ann@x.test", "ann-long-password")
    other_device = login(directory, "ann@x.test", "ann-long-password")
    assert directory.identity(**session_of(mine))["name"] == "Ann"
    directory.logout(mine["refresh_token"], "10.4.0.2")
    with pytest.raises(Unauthenticated, match="session has ended") as ended:
        directory.identity(**session_of(mine))
    assert ended.value.field == "Authorization"
    assert directory.identity(**session_of(other_device))["name"] == "Ann"


def test_a_reused_refresh_token_ends_every_access_token_of_the_account(directory):
    first = login(directory, "north@x.test", "north-long-password")
    second = directory.refresh(first["refresh_token"], "10.4.1.1")
    elsewhere = login(directory, "north@x.test", "north-long-password")
    with pytest.raises(Unauthenticated, match="already used"):
        directory.refresh(first["refresh_token"], "10.4.1.1")
    for tokens_ in (first, second, elsewhere):
        with pytest.raises(Unauthenticated, match="session has ended"):
            directory.identity(**session_of(tokens_))
    assert directory.identity(**session_of(
        login(directory, "north@x.test", "north-long-password")))["name"] == "Max"


def test_an_access_token_names_a_session_of_its_own_account(directory):
    ann = session_of(login(directory, "ann@x.test", "ann-long-password"))
    max_ = session_of(login(directory, "north@x.test", "north-long-password"))
    with pytest.raises(Unauthenticated, match="session has ended"):
        directory.identity(ann["account_id"], max_["session_id"])


def test_every_login_outcome_is_audited_with_address_and_result(directory):
    master = login(directory, "master@x.test", "master-long-password",
                   address="10.5.0.1")["identity"]
    with directory.db.read() as session:
        results = {(e.action, e.result) for e in session.query(AuditEvent)}
    assert {("login", "succeeded"), ("login", "failed"), ("login", "throttled"),
            ("refresh", "reused"), ("token_revoked", "succeeded")} <= results
    page = directory.audit_log(master, limit=200)
    assert any(e["address"] == "10.5.0.1" and e["result"] == "succeeded" for e in page["items"])


def test_a_resident_sees_only_their_own_unit(directory):
    ann = login(directory, "ann@x.test", "ann-long-password")["identity"]
    listed = directory.list_residents(ann)["items"]
    assert sorted(r["name"] for r in listed) == ["Ann", "Ben"]
    assert directory.get_resident(ann, resident(directory, "Ben"))["name"] == "Ben"
    with pytest.raises(Forbidden):
        directory.get_resident(ann, resident(directory, "Cat"))


def test_staff_see_only_communities_they_hold_a_permission_for(directory):
    max_ = login(directory, "north@x.test", "north-long-password")["identity"]
    names = [c["name"] for c in directory.list_communities(max_)["items"]]
    assert sorted(names) == ["Alder", "Birch"]
    with pytest.raises(Forbidden):
        directory.get_community(max_, community(directory, "Cedar"))
    with pytest.raises(Forbidden):
        directory.get_resident(max_, resident(directory, "Eve"))


def test_another_organizations_objects_are_not_found(directory):
    stranger = {"actor_type": "staff", "actor_id": "usr_x", "organization_id": "org_other",
                "scopes": {"view_reports": EVERYWHERE, "manage_directory": EVERYWHERE}}
    with pytest.raises(NotFound):
        directory.get_community(stranger, community(directory, "Alder"))
    with pytest.raises(NotFound):
        directory.get_resident(stranger, resident(directory, "Ann"))
    assert directory.list_residents(stranger)["items"] == []


def test_search_pages_through_residents_by_name_unit_phone_or_email(directory):
    master = login(directory, "master@x.test", "master-long-password",
                   address="10.6.0.1")["identity"]
    assert [r["name"] for r in directory.list_residents(master, q="+1555000000")["items"]] \
        == sorted(["Ann", "Ben"], key=lambda n: resident(directory, n))
    assert [r["name"] for r in directory.list_residents(master, q="cat@")["items"]] == ["Cat"]
    first = directory.list_residents(master, limit=2)
    rest = directory.list_residents(master, limit=2, cursor=first["next_cursor"])
    names = [r["name"] for r in first["items"] + rest["items"]]
    assert len(names) == len(set(names)) == 4


def test_grants_are_for_master_users_and_are_events(directory):
    master = login(directory, "master@x.test", "master-long-password",
                   address="10.7.0.1")["identity"]
    max_ = login(directory, "north@x.test", "north-long-password",
                 address="10.7.0.2")["identity"]
    staff_id = max_["actor_id"]
    granted = directory.grant(master, staff_id, "view_reports", "community",
                              community(directory, "Cedar"))
    assert community(directory, "Cedar") in directory.identity(
        **session_of(login(directory, "north@x.test", "north-long-password")))[
        "scopes"]["view_reports"]
    with pytest.raises(Forbidden):
        directory.grant(max_, staff_id, "manage_credits", "organization", "x")
    directory.revoke(master, granted["id"])
    assert community(directory, "Cedar") not in directory.identity(
        **session_of(login(directory, "north@x.test", "north-long-password")))[
        "scopes"].get("view_reports", [])
