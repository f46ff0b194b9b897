"""Audiences: which residents `recipients` names now, page by page. The shape rules are pure
functions; the rest runs the service's RPCs on an in-memory database with its models."""

import pytest
from sqlalchemy import event

from contracts.errors import Forbidden, InvalidRequest, NotFound
from servicekit.access import SYSTEM, system_of
from services.directory import audiences


def resolve_all(directory, caller, recipients, limit=1000):
    """Every page, as (sizes of the pages, every resident)."""
    sizes, found, after = [], [], None
    while True:
        page = directory.resolve_audience(caller, recipients, after=after, limit=limit)
        sizes.append(len(page["residents"]))
        found += page["residents"]
        after = page["next"]
        if after is None:
            return sizes, found


def names(directory, caller, recipients):
    return sorted(r["name"] for r in resolve_all(directory, caller, recipients)[1])


def group(oak, name, residents=(), units=()):
    return oak.service.create_group(oak.caller["master"], {
        "community_id": oak.resident[(residents or units)[0]]["community_id"], "name": name,
        "members": {"residents": [oak.resident[r]["id"] for r in residents],
                    "units": [oak.unit(u) for u in units]}})["id"]


# --- the shape of recipients (pure) ----------------------------------------------------

def test_an_audience_keeps_each_id_once_in_the_order_given():
    audience = audiences.parse({"units": ["u2", "u1", "u2"], "residents": [],
                                "occupancy": "owner"})
    assert audience == audiences.Audience(units=("u2", "u1"), occupancy="owner")
    assert audiences.parse({"groups": ["g1"], "occupancy": None}).occupancy is None


@pytest.mark.parametrize("recipients, field, words", [
    ({}, "recipients", "names nobody"),
    ({"communities": [], "units": [], "residents": [], "groups": []}, "recipients",
     "names nobody"),
    ({"occupancy": "owner"}, "recipients", "names nobody"),
    (["res_1"], "recipients", "must be an object"),
    ({"residents": ["r"], "occupancy": "landlord"}, "recipients.occupancy", "Must be one of"),
    ({"residents": ["r"], "households": ["h"]}, "recipients.households", "Unknown field"),
    ({"units": "unt_1"}, "recipients.units", "Not a valid list"),
    ({"units": [""]}, "recipients.units", "Length must be between 1 and 64"),
    ({"residents": [f"r{n}" for n in range(1001)]}, "recipients.residents",
     "Longer than maximum length 1000"),
])
def test_a_wrong_shape_or_an_empty_audience_is_refused_naming_the_field(recipients, field,
                                                                         words):
    with pytest.raises(InvalidRequest, match=words) as refused:
        audiences.parse(recipients)
    assert refused.value.field == field


def test_the_first_id_named_that_was_not_found_is_named_with_its_field():
    audience = audiences.Audience(communities=("c1",), units=("u1", "u2"), groups=("g1",))
    found = [("communities", "c1", "c1"), ("units", "u1", "c1"), ("groups", "g1", "c2")]
    with pytest.raises(NotFound, match="unit u2 does not exist") as missing:
        audiences.communities_named(audience, found)
    assert missing.value.field == "recipients.units"
    assert audiences.communities_named(audience, found + [("units", "u2", "c3")]) == [
        "c1", "c2", "c3"]


@pytest.mark.parametrize("limit", [0, 1001, -5, "10", 2.5, True])
def test_a_page_holds_1_to_1000_residents(limit):
    with pytest.raises(InvalidRequest) as refused:
        audiences.page_limit(limit)
    assert refused.value.field == "limit"
    assert audiences.page_limit(None) == 1000 and audiences.page_limit(1) == 1


def test_a_page_says_whether_another_follows():
    class Row:
        def __init__(self, n):
            self.id, self.community_id, self.unit_id = f"res_{n}", "com_1", f"unt_{n}"
            self.kind, self.language, self.name = "owner", "fr", f"R {n}"

    contacts = [("res_1", "phone", "+15550000011"), ("res_1", "phone", "+15550000010"),
                ("res_2", "email", "r2@example.com")]       # newest first
    full = audiences.page([Row(1), Row(2), Row(3)], contacts, 2)
    assert [r["id"] for r in full["residents"]] == ["res_1", "res_2"]
    assert full["next"] == "res_2"
    assert full["residents"][0] == {"id": "res_1", "community_id": "com_1", "unit_id": "unt_1",
                                    "kind": "owner", "language": "fr", "name": "R 1",
                                    "phone": "+15550000010", "email": None}
    assert audiences.page([Row(1), Row(2)], [], 2)["next"] is None
    assert audiences.page([], [], 2) == {"residents": [], "next": None}


# --- who the audience is (the service on its models) -------------------------------------

def test_a_mix_of_communities_units_residents_and_groups(oak):
    directory, master = oak.service, oak.caller["master"]
    board = group(oak, "Board", residents=("Lou",))
    unit_group = group(oak, "Unit 1A", units=("Ivy",))
    recipients = {"communities": [oak.community["Fir"]], "units": [oak.unit("Kay")],
                  "residents": [oak.resident["Max"]["id"]], "groups": [board, unit_group]}

    # Fir: Nia; Kay's unit: Kay; Max (of Ash) by name; Lou through Board; Ivy and Jon
    # living in unit 1A of group Unit 1A
    assert names(directory, master, recipients) == ["Ivy", "Jon", "Kay", "Lou", "Max", "Nia"]
    touched = sorted([oak.community["Ash"], oak.community["Elm"], oak.community["Fir"]])
    # each community with its time zone: quiet hours are counted in it
    assert directory.audience_scope(master, recipients) == {
        "communities": touched, "size": 6, "timezones": dict.fromkeys(touched, "UTC")}
    assert names(directory, master, {"groups": [board]}) == ["Lou"]


def test_a_resident_has_their_primary_phone_and_email_or_none(oak):
    directory, manager = oak.service, oak.caller["manager"]
    ivy = oak.resident["Ivy"]
    directory.add_contact_point(manager, ivy["id"], {"kind": "phone", "value": "+14165550199"})
    found = {r["name"]: r for r in resolve_all(directory, manager, {
        "units": [oak.unit("Ivy"), oak.unit("Kay"), oak.unit("Lou")]})[1]}
    assert found["Ivy"] == {"id": ivy["id"], "community_id": oak.community["Elm"],
                            "unit_id": ivy["unit_id"], "kind": "owner", "language": "en",
                            "name": "Ivy", "phone": "+15550000001", "email": "ivy@oak.example"}
    assert (found["Jon"]["phone"], found["Jon"]["email"]) == ("+15550000002", None)
    assert (found["Kay"]["phone"], found["Kay"]["email"]) == (None, "kay@oak.example")
    assert (found["Lou"]["phone"], found["Lou"]["email"]) == (None, None)


def test_who_moved_out_by_today_is_never_included_and_who_leaves_tomorrow_is(oak):
    directory, master = oak.service, oak.caller["master"]
    oak.move_out("Ivy", 0)      # today
    oak.move_out("Jon", -30)    # last month
    oak.move_out("Kay", 1)      # tomorrow
    board = group(oak, "Everyone", residents=("Ivy", "Jon", "Kay", "Lou"))
    for recipients in ({"communities": [oak.community["Elm"]]}, {"groups": [board]},
                       {"residents": [oak.resident[n]["id"] for n in ("Ivy", "Jon", "Kay",
                                                                     "Lou")]},
                       {"units": [oak.unit(n) for n in ("Ivy", "Kay", "Lou")]}):
        assert names(directory, master, recipients) == ["Kay", "Lou"], recipients
        assert directory.audience_scope(master, recipients)["size"] == 2


def test_occupancy_keeps_only_owners_or_only_tenants(oak):
    directory, master = oak.service, oak.caller["master"]
    elm = [oak.community["Elm"]]
    assert names(directory, master, {"communities": elm, "occupancy": "owner"}) == [
        "Ivy", "Lou"]
    assert names(directory, master, {"communities": elm, "occupancy": "tenant"}) == [
        "Jon", "Kay"]
    assert names(directory, master, {"communities": elm, "occupancy": None}) == [
        "Ivy", "Jon", "Kay", "Lou"]
    assert directory.audience_scope(master, {"communities": elm,
                                             "occupancy": "tenant"})["size"] == 2


def test_a_resident_named_several_ways_is_one_recipient(oak):
    directory, master = oak.service, oak.caller["master"]
    ivy = oak.resident["Ivy"]["id"]
    twice = group(oak, "Ivy twice", residents=("Ivy",), units=("Ivy",))
    recipients = {"communities": [oak.community["Elm"]], "units": [oak.unit("Ivy")],
                  "residents": [ivy, ivy], "groups": [twice]}
    sizes, found = resolve_all(directory, master, recipients)
    assert [r["id"] for r in found].count(ivy) == 1
    assert sorted(r["name"] for r in found) == ["Ivy", "Jon", "Kay", "Lou"]
    assert directory.audience_scope(master, recipients)["size"] == 4
    assert resolve_all(directory, master, recipients, limit=1) == ([1, 1, 1, 1], found)


def test_a_community_of_2500_comes_in_pages_of_1000_1000_and_500_without_overlap(oak):
    directory, master = oak.service, oak.caller["master"]
    made = oak.add_residents("Fir", 2499, "big")          # and Nia: 2,500
    sizes, found = resolve_all(directory, master, {"communities": [oak.community["Fir"]]})
    ids = [r["id"] for r in found]
    assert sizes == [1000, 1000, 500]
    assert len(set(ids)) == 2500 and set(ids) == set(made) | {oak.resident["Nia"]["id"]}
    assert ids == sorted(ids)                               # in order of id
    assert directory.audience_scope(master, {"communities": [oak.community["Fir"]]}) == {
        "communities": [oak.community["Fir"]], "size": 2500,
        "timezones": {oak.community["Fir"]: "UTC"}}


def test_each_page_is_one_query_and_one_for_its_contact_points(oak):
    directory, master = oak.service, oak.caller["master"]
    oak.add_residents("Fir", 2100, "page")
    recipients = {"communities": [oak.community["Fir"]], "groups": [group(oak, "N", ("Nia",))]}
    statements = []
    event.listen(directory.db.engine, "before_cursor_execute",
                 lambda *args: statements.append(args[2]))
    first = directory.resolve_audience(master, recipients)
    assert len(statements) == 3                  # the names checked, residents, contacts
    statements.clear()
    second = directory.resolve_audience(master, recipients, after=first["next"])
    assert len(statements) == 2 and len(second["residents"]) == 1000
    statements.clear()
    directory.audience_scope(master, recipients)
    assert len(statements) == 3     # the names checked, the count, the time zones


@pytest.mark.parametrize("field, named", [
    ("recipients.communities", lambda oak: oak.community["Pine Court"]),
    ("recipients.units", lambda oak: oak.unit("Zed")),
    ("recipients.residents", lambda oak: oak.resident["Zed"]["id"]),
    ("recipients.groups", lambda oak: oak.service.create_group(oak.caller["pine"], {
        "community_id": oak.community["Pine Court"], "name": "Pine",
        "members": {"residents": [oak.resident["Zed"]["id"]]}})["id"])])
def test_another_organizations_ids_are_not_found_naming_the_field(oak, field, named):
    directory = oak.service
    wrong = named(oak)
    kind = field.split(".")[1]
    recipients = {"communities": [oak.community["Elm"]]}
    recipients[kind] = recipients.get(kind, []) + [wrong]
    for ask in (directory.audience_scope, directory.resolve_audience):
        with pytest.raises(NotFound, match=wrong) as missing:
            ask(oak.caller["master"], recipients)
        assert missing.value.field == field
    # for their own organization's master user it is Zed
    assert directory.audience_scope(oak.caller["pine"], {kind: [wrong]}) == {
        "communities": [oak.community["Pine Court"]], "size": 1,
        "timezones": {oak.community["Pine Court"]: "UTC"}}


def test_an_unknown_id_is_not_found_naming_the_field(oak):
    recipients = {"residents": [oak.resident["Ivy"]["id"]], "groups": ["grp_nothing"]}
    for caller in (oak.caller["master"], SYSTEM):
        with pytest.raises(NotFound, match="group grp_nothing does not exist") as missing:
            oak.service.audience_scope(caller, recipients)
        assert missing.value.field == "recipients.groups"


def test_later_pages_hold_only_the_callers_organization(oak):
    # the names are checked on the first page; a later page never leaks another's residents
    directory = oak.service
    zed = oak.resident["Zed"]["id"]
    page = directory.resolve_audience(oak.caller["master"], {"residents": [zed]}, after="res_")
    assert page == {"residents": [], "next": None}


def test_the_system_caller_resolves_any_organizations_audience(oak):
    recipients = {"communities": [oak.community["Elm"], oak.community["Pine Court"]]}
    assert oak.service.audience_scope(SYSTEM, recipients)["size"] == 5
    assert names(oak.service, SYSTEM, recipients) == ["Ivy", "Jon", "Kay", "Lou", "Zed"]


def test_a_system_caller_acting_for_one_organization_resolves_only_its_audiences(oak):
    tickets = system_of(oak.organization_id, "tickets")
    elm, zed = oak.community["Elm"], oak.resident["Zed"]["id"]
    assert oak.service.audience_scope(tickets, {"communities": [elm]})["size"] == 4
    assert names(oak.service, tickets, {"communities": [elm]}) == ["Ivy", "Jon", "Kay", "Lou"]
    for ask in (oak.service.audience_scope, oak.service.resolve_audience):
        with pytest.raises(NotFound, match=zed):
            ask(tickets, {"residents": [zed]})
    with pytest.raises(NotFound, match=zed):
        oak.service.get_residents(tickets, [zed])
    assert oak.service.resolve_audience(tickets, {"residents": [zed]}, after="res_") == {
        "residents": [], "next": None}


def test_residents_may_not_resolve_audiences(oak):
    for ask in (oak.service.audience_scope, oak.service.resolve_audience):
        with pytest.raises(Forbidden, match="residents"):
            ask(oak.caller["ivy"], {"units": [oak.unit("Ivy")]})


def test_a_bad_after_is_refused_by_name(oak):
    with pytest.raises(InvalidRequest) as refused:
        oak.service.resolve_audience(oak.caller["master"],
                                     {"communities": [oak.community["Elm"]]}, after=5)
    assert refused.value.field == "after"
