"""Communication categories with worker_factory and an in-memory database: who may change
them, what is checked, the change log, and archive instead of delete once used."""

import pytest
from nameko.testing.services import worker_factory

from contracts.errors import Conflict, Forbidden, InvalidRequest, NotFound
from contracts.events import envelope
from servicekit.testing import memory_database
from services.consent.models import Base
from services.consent.service import ConsentService

ORG = "org_1"
MANAGER = {"actor_type": "staff", "actor_id": "usr_1", "organization_id": ORG,
           "scopes": {"manage_consent_categories": "*"}}
SENDER = {"actor_type": "staff", "actor_id": "usr_2", "organization_id": ORG,
          "scopes": {"send_communications": "*"}}
STRANGER = dict(MANAGER, organization_id="org_2", actor_id="usr_9")


class FakeDirectory:
    teams = {"team_1": ORG, "team_2": ORG, "team_x": "org_2"}

    def get_team(self, identity, team_id):
        if team_id not in self.teams:
            raise NotFound(f"team {team_id} does not exist", "team_id")
        return {"id": team_id, "organization_id": self.teams[team_id]}


@pytest.fixture
def consent():
    return worker_factory(ConsentService, db=memory_database(Base), config={},
                          directory=FakeDirectory())


def create(consent, name="Maintenance notices", mode="opt_in", caller=MANAGER, **options):
    return consent.create_category(caller, ORG, name, mode, **options)


def test_a_category_has_every_property_of_seed_004_with_sensible_defaults(consent):
    made = create(consent, type="broadcast", access_team_ids=["team_2", "team_1"],
                  response_team_ids=["team_1"])
    assert {k: made[k] for k in ("type", "mode", "opt_out_enabled", "transactional",
                                 "access_team_ids", "response_team_ids", "archived")} == {
        "type": "broadcast", "mode": "opt_in", "opt_out_enabled": True, "transactional": False,
        "access_team_ids": ["team_1", "team_2"], "response_team_ids": ["team_1"],
        "archived": False}
    assert create(consent, type="broadcast", access_team_ids=["team_1", "team_2"],
                  response_team_ids=["team_1"])["id"] == made["id"]     # seeding again
    with pytest.raises(Conflict, match="another definition"):
        create(consent, "maintenance NOTICES", mode="request")


@pytest.mark.parametrize("options, field", [
    ({"mode": "sometimes"}, "mode"),
    ({"type": "poster"}, "type"),
    ({"opt_out_enabled": "yes"}, "opt_out_enabled"),
    ({"access_team_ids": ["team_404"]}, "access_team_ids"),
    ({"response_team_ids": ["team_x"]}, "response_team_ids"),   # another organization's
    ({"name": "   "}, "name"),
    ({"colour": "red"}, "colour"),
])
def test_what_is_wrong_is_named(consent, options, field):
    made = create(consent)
    with pytest.raises((InvalidRequest, NotFound)) as wrong:
        consent.update_category(MANAGER, made["id"], options)
    assert wrong.value.field == field


def test_only_holders_of_manage_consent_categories_change_them_and_each_change_is_logged(
        consent):
    made = create(consent)
    with pytest.raises(Forbidden, match="manage_consent_categories"):
        consent.update_category(SENDER, made["id"], {"mode": "request"})
    with pytest.raises(Forbidden):
        create(consent, "Another", caller=SENDER)
    consent.update_category(MANAGER, made["id"], {"mode": "request", "opt_out_enabled": False})
    consent.update_category(MANAGER, made["id"], {"mode": "request"})    # no change, no entry
    log = consent.category_changes(MANAGER, made["id"])["items"]
    assert [e["action"] for e in log] == ["created", "changed"]
    assert log[1]["changes"] == {"mode": ["opt_in", "request"], "opt_out_enabled": [True, False]}
    assert log[1]["actor"] == "usr_1" and log[1]["at"]
    assert consent.get_category(SENDER, made["id"])["mode"] == "request"   # all may read


def test_a_category_communications_used_is_archived_not_deleted(consent):
    unused, used = create(consent, "Unused"), create(consent, "Used")
    consent.note_category_used(envelope("communication_accepted", {
        "communication_id": "cmm_1", "community_id": "com_1", "kind": "message",
        "channels": ["sms"], "category_id": used["id"], "recipient_count": 1},
        organization_id=ORG))
    assert consent.delete_category(MANAGER, unused["id"]) == {"deleted": unused["id"]}
    with pytest.raises(Conflict, match="archive it instead"):
        consent.delete_category(MANAGER, used["id"])
    archived = consent.archive_category(MANAGER, used["id"])
    assert archived["archived"] is True
    assert consent.list_categories(SENDER)["items"] == []
    assert [c["id"] for c in consent.list_categories(SENDER, include_archived=True)["items"]] \
        == [used["id"]]
    with pytest.raises(Conflict, match="archived"):
        consent.update_category(MANAGER, used["id"], {"name": "Renamed"})
    assert consent.archive_category(MANAGER, used["id"], archived=False)["archived"] is False
    actions = [e["action"] for e in consent.category_changes(MANAGER, unused["id"])["items"]]
    assert actions == ["created", "deleted"]    # the log outlives the category


def test_another_organizations_category_does_not_exist(consent):
    made = create(consent)
    for call in (lambda: consent.get_category(STRANGER, made["id"]),
                 lambda: consent.update_category(STRANGER, made["id"], {"name": "x"}),
                 lambda: consent.delete_category(STRANGER, made["id"])):
        with pytest.raises(NotFound):
            call()
    assert consent.list_categories(STRANGER)["items"] == []
