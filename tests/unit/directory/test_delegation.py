"""The API-key delegation table: what a creator holding a permission organization-wide, for
an office or for one community may put on a key at each scope, and how a key in use is cut
down to what its creator holds now."""

import pytest

from contracts.errors import InvalidRequest
from services.directory import delegation
from services.directory.delegation import describe, lacking, narrowed

# the creator's holdings as an identity has them: office North = communities c1, c2
HOLDINGS = {
    "organization": ({"p": "*"}, {"p": "*"}),
    "office North": ({"p": ["c1", "c2"]}, {"p": ["North"]}),
    "community c1": ({"p": ["c1"]}, {}),
    "nothing": ({}, {}),
}
# the creator holds p at …, the key asks for p at … → held
TABLE = {
    ("organization", ("organization", "org")): True,
    ("organization", ("office", "North")): True,
    ("organization", ("office", "South")): True,
    ("organization", ("community", "c3")): True,
    ("office North", ("organization", "org")): False,
    ("office North", ("office", "North")): True,
    ("office North", ("office", "South")): False,
    ("office North", ("community", "c1")): True,
    ("office North", ("community", "c3")): False,
    ("community c1", ("organization", "org")): False,
    ("community c1", ("office", "North")): False,   # an office covers communities to come
    ("community c1", ("community", "c1")): True,
    ("community c1", ("community", "c2")): False,
    ("nothing", ("organization", "org")): False,
    ("nothing", ("office", "North")): False,
    ("nothing", ("community", "c1")): False,
}


@pytest.mark.parametrize(("creator", "asked"), list(TABLE))
def test_a_key_holds_only_what_its_creator_holds_scope_by_scope(creator, asked):
    scopes, office_scopes = HOLDINGS[creator]
    wanted = [("p", *asked)]
    assert lacking(scopes, office_scopes, wanted) == ([] if TABLE[creator, asked] else wanted)


def test_every_lacking_permission_is_named_permission_by_permission():
    manager = {"send_communications": "*", "manage_directory": "*", "view_reports": ["c1"]}
    wanted = [("send_communications", "organization", "org"),
              ("manage_credits", "organization", "org"),
              ("view_reports", "community", "c1"),
              ("view_reports", "community", "c2")]
    missing = lacking(manager, {}, wanted)
    assert missing == [("manage_credits", "organization", "org"),
                       ("view_reports", "community", "c2")]
    assert describe(missing) == ("manage_credits for the organization, "
                                 "view_reports for community c2")


# key scopes, creator's scopes now → the key's scopes in use
NARROWED = [
    ({"p": "*"}, {"p": "*"}, {"p": "*"}),
    ({"p": "*"}, {"p": ["c1"]}, {"p": ["c1"]}),
    ({"p": ["c1", "c2"]}, {"p": "*"}, {"p": ["c1", "c2"]}),
    ({"p": ["c1", "c2"]}, {"p": ["c2", "c3"]}, {"p": ["c2"]}),
    ({"p": ["c1"]}, {"p": ["c2"]}, {}),
    ({"p": "*", "q": "*"}, {"q": "*"}, {"q": "*"}),   # a grant lost leaves the key
    ({"p": "*"}, {}, {}),
]


@pytest.mark.parametrize(("key", "creator", "in_use"), NARROWED)
def test_a_key_in_use_holds_only_what_its_creator_still_holds(key, creator, in_use):
    assert narrowed(key, creator) == in_use


def test_what_a_key_asks_for_is_checked_for_shape_and_listed_once():
    asked = delegation.asked("org_1", ["send_sms", "send_sms"], [
        {"name": "view_reports", "scope_type": "community", "scope_id": "com_1"}])
    assert asked == [("send_sms", "organization", "org_1"),
                     ("view_reports", "community", "com_1")]
    with pytest.raises(InvalidRequest) as refused:
        delegation.asked("org_1", [], [{"name": "send_sms", "scope_type": "organization"}])
    assert refused.value.field == "grants.0.scope_type"
    with pytest.raises(InvalidRequest) as refused:
        delegation.asked("org_1", ["launch_rockets"], [])
    assert refused.value.field == "permissions" and "launch_rockets" in refused.value.detail
