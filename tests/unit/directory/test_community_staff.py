"""staff_contacts with worker_factory and an in-memory database: whom a community's notices
go to — staff by role or permission held for the community (organization, office or
community grants), staff and teams named by id — and who may ask."""

import pytest

from contracts.errors import Forbidden, InvalidRequest, NotFound
from servicekit.access import system_of
from services.directory.community_staff import covers, grant_names
from services.directory.models import Community


class World:
    """Oak (see conftest) and, besides its seeded staff, Quinn (manage_tickets on Elm
    directly), Rex (manager of East, disabled), Sam (master, no grant for tickets by
    name), teams of both organizations."""

    def __init__(self, oak):
        self.oak, directory, master = oak, oak.service, oak.caller["master"]
        self.id = {name: oak.caller[key]["actor_id"] for name, key in (
            ("Meg", "master"), ("Ned", "manager"), ("Ola", "sender"), ("Pia", "west"),
            ("Pam", "pine"))}
        east = directory.get_community(master, oak.community["Elm"])["office_id"]
        for name, grant in (("Quinn", ("manage_tickets", "community", oak.community["Elm"])),
                            ("Rex", ("manager", "office", east)),
                            ("Sam", ("senior_management", "organization",
                                     oak.organization_id))):
            self.id[name] = directory.create_staff(master, {
                "name": name, "email": f"{name.lower()}@oak.example"})["id"]
            directory.grant(master, self.id[name], *grant)
        directory.update_staff(master, self.id["Rex"], {"disabled": True})
        self.team = directory.create_team(master, {"name": "Maintenance"})["id"]
        self.other_team = directory.create_team(master, {"name": "Boiler crew"})["id"]
        self.pine_team = directory.create_team(oak.caller["pine"], {"name": "Pine crew"})["id"]

    def ask(self, community, caller="master", **named):
        caller = self.oak.caller[caller] if isinstance(caller, str) else caller
        return self.oak.service.staff_contacts(caller, self.oak.community[community], **named)

    def names(self, community, **named):
        return [s["name"] for s in self.ask(community, **named)["staff"]]


@pytest.fixture
def world(oak):
    return World(oak)


def test_a_role_name_matches_that_role_only_and_a_permission_every_grant_holding_it(world):
    # Meg is master (manage_tickets included), Ned a manager of East, Quinn holds
    # manage_tickets for Elm itself; Ola only sends, Pia dispatches in West, Rex is disabled
    assert world.names("Elm", roles=["manage_tickets"]) == ["Meg", "Ned", "Quinn"]
    assert world.names("Elm", roles=["manager"]) == ["Ned"]
    assert world.names("Elm", roles=["master"]) == ["Meg"]
    assert world.names("Elm", roles=["dispatcher"]) == []
    assert world.names("Elm", roles=["manager", "dispatcher"]) == ["Ned"]
    assert world.names("Elm", roles=["view_reports"]) == ["Meg", "Ned", "Sam"]
    assert world.names("Elm", roles=["send_communications"]) == ["Meg", "Ned", "Ola"]
    assert world.names("Elm") == []                      # nothing asked, nobody answered


def test_a_grant_counts_for_the_organization_the_communitys_office_or_the_community(world):
    # East holds Elm and Ash, West holds Fir
    assert world.names("Ash", roles=["manage_tickets"]) == ["Meg", "Ned"]   # not Quinn's
    assert world.names("Fir", roles=["manage_tickets"]) == ["Meg", "Pia"]
    assert world.names("Fir", roles=["dispatcher", "manager"]) == ["Pia"]
    assert world.names("Fir", roles=["send_communications"]) == ["Meg"]


def test_named_staff_are_the_organizations_enabled_ones_each_once_sorted_by_name(world):
    ids = world.id
    answer = world.ask("Elm", roles=["manager"], staff_user_ids=[
        ids["Ola"], ids["Ned"], ids["Pia"], ids["Rex"], ids["Pam"], "usr_nobody", ids["Ola"]])
    # Pia holds nothing for Elm but is named; Rex is disabled; Pam is of Pine
    assert answer["staff"] == [
        {"id": ids["Ned"], "name": "Ned", "email": "east@oak.example"},
        {"id": ids["Ola"], "name": "Ola", "email": "sender@oak.example"},
        {"id": ids["Pia"], "name": "Pia", "email": "west@oak.example"}]
    assert answer["teams"] == []


def test_disabled_staff_are_never_included(world):
    ids = world.id
    assert "Rex" not in world.names("Elm", roles=["manager", "manage_tickets"],
                                    staff_user_ids=[ids["Rex"]])
    world.oak.service.update_staff(world.oak.caller["master"], ids["Rex"], {"disabled": False})
    assert world.names("Elm", roles=["manager"]) == ["Ned", "Rex"]


def test_teams_are_the_organizations_teams_named(world):
    answer = world.ask("Elm", team_ids=[world.team, world.pine_team, "team_nothing",
                                        world.other_team])
    assert answer == {"staff": [], "teams": [{"id": world.other_team, "name": "Boiler crew"},
                                             {"id": world.team, "name": "Maintenance"}]}


def test_the_system_acting_for_the_organization_and_staff_who_see_the_community_ask(world):
    oak = world.oak
    tickets = system_of(oak.organization_id, "tickets")
    expected = world.ask("Elm", roles=["manage_tickets"])
    assert world.ask("Elm", tickets, roles=["manage_tickets"]) == expected
    assert world.ask("Elm", "sender", roles=["manage_tickets"]) == expected   # sees Elm
    key = oak.service.create_api_key(oak.caller["master"], "tickets app",
                                     ["manage_tickets"])["api_key"]
    assert world.ask("Elm", oak.service.authenticate(key), roles=["manage_tickets"]) == \
        expected
    with pytest.raises(Forbidden, match=oak.community["Elm"]):
        world.ask("Elm", "west", roles=["manage_tickets"])           # holds nothing for Elm
    with pytest.raises(Forbidden, match="residents"):
        world.ask("Elm", "ivy", roles=["manage_tickets"])


def test_another_organizations_community_does_not_exist(world):
    oak = world.oak
    for caller in (oak.caller["master"], system_of(oak.organization_id, "tickets")):
        with pytest.raises(NotFound) as hidden:
            world.ask("Pine Court", caller, roles=["manage_tickets"])
        assert hidden.value.field == "community_id"
    for caller in (oak.caller["pine"], system_of("org_elsewhere", "tickets")):
        with pytest.raises(NotFound):
            world.ask("Elm", caller, roles=["manage_tickets"])
    with pytest.raises(NotFound):
        oak.service.staff_contacts(oak.caller["master"], "com_nothing", roles=["manager"])


@pytest.mark.parametrize("named, field", [
    ({"roles": ["janitor"]}, "roles"),
    ({"roles": "manager"}, "roles"),
    ({"staff_user_ids": [1]}, "staff_user_ids"),
    ({"team_ids": "team_1"}, "team_ids")])
def test_a_wrong_argument_is_refused_naming_it(world, named, field):
    with pytest.raises(InvalidRequest) as refused:
        world.ask("Elm", **named)
    assert refused.value.field == field


def test_which_grants_match_and_where_they_hold():
    assert grant_names(["manage_tickets"]) == {"manage_tickets", "master", "manager",
                                               "dispatcher"}
    assert grant_names(["manager"]) == {"manager"}
    assert grant_names(["view_reports", "dispatcher"]) == {
        "view_reports", "master", "manager", "senior_management", "dispatcher"}
    elm = Community(id="com_elm", organization_id="org_1", office_id="off_east", name="Elm")
    loose = Community(id="com_loose", organization_id="org_1", office_id=None, name="Loose")
    assert covers("organization", "org_1", elm) and covers("organization", "org_1", loose)
    assert not covers("organization", "org_2", elm)
    assert covers("office", "off_east", elm) and not covers("office", "off_west", elm)
    assert not covers("office", None, loose)
    assert covers("community", "com_elm", elm) and not covers("community", "com_ash", elm)
