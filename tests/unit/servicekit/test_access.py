import pytest

from contracts.errors import Forbidden, NotFound, Unauthenticated
from servicekit.access import (
    EVERYWHERE,
    PERMISSIONS,
    ROLES,
    SYSTEM,
    Caller,
    expand_scopes,
    system_of,
)


def staff(scopes, org="org_1"):
    return Caller.of({"actor_type": "staff", "actor_id": "usr_1", "organization_id": org,
                      "scopes": scopes})


def test_office_grants_expand_to_the_office_communities_and_roles_to_permissions():
    scopes = expand_scopes([("manager", "office", "off_1"), ("view_reports", "community", "c9"),
                            ("manage_credits", "organization", "org_1")],
                           {"off_1": ["c1", "c2"]})
    assert scopes["send_communications"] == ["c1", "c2"]
    assert scopes["view_reports"] == ["c1", "c2", "c9"]
    assert scopes["manage_credits"] == EVERYWHERE
    assert "manage_consent_categories" not in scopes
    assert set(ROLES["master"]) == set(PERMISSIONS)


def test_a_permission_holds_only_where_it_was_granted():
    caller = staff({"send_communications": ["c1"], "view_reports": EVERYWHERE})
    assert caller.may("send_communications", "c1")
    assert not caller.may("send_communications", "c2")
    assert caller.may("view_reports", "anything")
    assert not caller.may("manage_credits")
    with pytest.raises(Forbidden, match="send_communications.*c2"):
        caller.require("send_communications", "c2")
    assert caller.communities(["send_communications"]) == {"c1"}
    assert caller.communities() == EVERYWHERE


def test_another_organizations_objects_do_not_exist():
    with pytest.raises(NotFound):
        staff({"view_reports": EVERYWHERE}).check_owner("org_2", "community", "c1")


def test_a_resident_sees_only_their_own_community_and_holds_no_staff_permission():
    resident = Caller.of({"actor_type": "resident", "actor_id": "res_1",
                          "organization_id": "org_1",
                          "resident": {"id": "res_1", "community_id": "c1", "unit_id": "u1"}})
    assert resident.sees_community("c1") and not resident.sees_community("c2")
    assert not any(resident.may(p, "c1") for p in PERMISSIONS)


def test_an_identity_is_required_and_legacy_permission_lists_are_organization_wide():
    with pytest.raises(Unauthenticated):
        Caller.of({})
    key = Caller.of({"actor_type": "api_key", "actor_id": "key_1", "organization_id": "o",
                     "permissions": ["send_sms"]})
    assert key.may("send_sms", "any-community") and not key.may("view_reports")


def test_a_system_identity_that_names_an_organization_is_confined_to_it():
    tickets = Caller.of(system_of("org_1", "tickets"))
    assert tickets.is_system and tickets.confined and tickets.organization_id == "org_1"
    assert tickets.may("send_sms", "any-community of org_1")
    tickets.check_owner("org_1", "community", "c1")
    with pytest.raises(NotFound):
        tickets.check_owner("org_2", "community", "c9")
    # written out by hand, with the "*" shorthand, it is the same caller
    assert Caller.of({"actor_type": "system", "actor_id": "tickets",
                      "organization_id": "org_1", "scopes": {"*": "*"}}) == tickets
    # Townhall's own services acting for no organization see every one
    everywhere = Caller.of(SYSTEM)
    assert not everywhere.confined and everywhere.owns("org_2")
    everywhere.check_owner("org_2", "community", "c9")
