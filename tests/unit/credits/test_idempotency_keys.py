"""Idempotency keys of credits' callers cannot reach the ledger's own keys, nor each other's:
a client key equal to an internal one (`reserve:<communication>`) changes nothing of the
send, two callers of one organization may use one key, and one caller's key is bound to the
request it first came with (a replay answers the first result, another request is a 422)."""

import pytest
from nameko.testing.services import worker_factory

from contracts.errors import Forbidden, IdempotencyKeyReused, NotFound
from servicekit.testing import memory_database, outbox_events
from services.credits.models import Base
from services.credits.service import CreditsService

ORG = "org_1"
MANAGER = {"actor_type": "staff", "actor_id": "usr_ann", "organization_id": ORG,
           "scopes": {"manage_credits": "*", "send_communications": "*", "send_sms": "*"}}
OTHER_MANAGER = dict(MANAGER, actor_id="usr_bob")
ITEMS = [{"delivery_id": "dlv_1", "amount": 2}, {"delivery_id": "dlv_2", "amount": 1}]


class FakeDirectory:
    """directory's staff_facts (every user is active, holds send_sms, shares one team) and
    get_community."""

    def staff_facts(self, identity, ids):
        return [{"id": i, "office_ids": ["off_1"], "team_ids": ["tm_1"],
                 "team_member_ids": ["usr_ann", "usr_bob", "usr_cat"], "holds_send_sms": True,
                 "active": True} for i in ids]

    def get_community(self, identity, community_id):
        """Only ORG's communities exist, for a caller of ORG."""
        if identity["organization_id"] != ORG:
            raise NotFound(f"no community {community_id}", "community_id")
        return {"id": community_id}


@pytest.fixture
def credits():
    service = worker_factory(CreditsService, db=memory_database(Base), config={},
                             directory=FakeDirectory())
    for community_id in ("com_1", "com_2"):
        service.open_wallet(MANAGER, ORG, community_id)
    service.add_credits(MANAGER, "community:com_1", 10, "opening", "opening-1")
    service.add_credits(MANAGER, "community:com_2", 10, "opening", "opening-2")
    return service


def available(credits, wallet):
    return credits.wallet(MANAGER, wallet)["available"]


def test_a_transfer_keyed_like_a_send_leaves_that_send_to_be_held(credits):
    """The free text: a transfer under the key messaging reserves a communication with."""
    credits.transfer(MANAGER, "community:com_1", "community:com_2", 1, "mine to mine",
                     "reserve:cmm_1")

    reserved = credits.reserve(MANAGER, "com_1", "cmm_1", ITEMS, "reserve:cmm_1")

    assert reserved["total"] == 3 and len(reserved["holds"]) == 2
    assert credits.wallet(MANAGER, "community:com_1")["held"] == 3
    assert len(outbox_events(credits.db, "credits_reserved")) == 1


def test_a_grant_keyed_like_a_send_leaves_that_send_to_be_held(credits):
    credits.add_credits(MANAGER, "community:com_1", 1, "support", "reserve:cmm_1")

    assert credits.reserve(MANAGER, "com_1", "cmm_1", ITEMS, "reserve:cmm_1")["total"] == 3
    assert credits.wallet(MANAGER, "community:com_1")["held"] == 3


def test_a_reservation_key_answers_only_the_send_it_reserved(credits):
    first = credits.reserve(MANAGER, "com_1", "cmm_1", ITEMS, "reserve:cmm_1")
    # messaging's redelivered batch, smaller since a resident stopped texts: the first holds
    assert credits.reserve(MANAGER, "com_1", "cmm_1", ITEMS[:1], "reserve:cmm_1") == first
    other = [{"delivery_id": "dlv_9", "amount": 1}]
    with pytest.raises(IdempotencyKeyReused):
        credits.reserve(MANAGER, "com_1", "cmm_2", other, "reserve:cmm_1")
    with pytest.raises(IdempotencyKeyReused):
        credits.reserve(MANAGER, "com_2", "cmm_1", ITEMS, "reserve:cmm_1")
    assert credits.wallet(MANAGER, "community:com_1")["held"] == 3
    assert credits.wallet(MANAGER, "community:com_2")["held"] == 0


def test_two_callers_of_one_organization_each_transfer_under_the_same_key(credits):
    first = credits.transfer(MANAGER, "community:com_1", "community:com_2", 1, "move", "k")
    second = credits.transfer(OTHER_MANAGER, "community:com_1", "community:com_2", 2, "move",
                              "k")

    assert first["transaction_id"] != second["transaction_id"]
    assert (available(credits, "community:com_1"), available(credits, "community:com_2")) == (
        7, 13)


def test_two_callers_of_one_organization_each_grant_under_the_same_key(credits):
    credits.add_credits(MANAGER, "community:com_1", 5, "support", "k")
    added = credits.add_credits(OTHER_MANAGER, "community:com_1", 3, "support", "k")

    assert added["available"] == 18 == available(credits, "community:com_1")
    assert len(outbox_events(credits.db, "credits_granted")) == 4


def test_a_grant_replayed_answers_the_first_result_and_another_body_is_refused(credits):
    first = credits.add_credits(MANAGER, "community:com_1", 5, "support", "k")
    credits.transfer(MANAGER, "community:com_1", "community:com_2", 1, "move", "t")

    assert credits.add_credits(MANAGER, "community:com_1", 5, "support", "k") == first
    with pytest.raises(IdempotencyKeyReused) as refused:
        credits.add_credits(MANAGER, "community:com_1", 6, "support", "k")
    assert refused.value.field == "Idempotency-Key"
    with pytest.raises(IdempotencyKeyReused):
        credits.grant(MANAGER, ORG, "com_2", 5, "support", "k")
    assert available(credits, "community:com_1") == 14


def test_a_key_is_bound_to_one_request_across_grants_and_transfers(credits):
    credits.add_credits(MANAGER, "community:com_1", 5, "support", "k")
    with pytest.raises(IdempotencyKeyReused):
        credits.transfer(MANAGER, "community:com_1", "community:com_2", 5, "support", "k")
    assert available(credits, "community:com_2") == 10


def test_a_community_grant_replayed_by_its_key_adds_nothing(credits):
    credits.grant(MANAGER, ORG, "com_1", 5, "seed", "seed:opening:com_1")
    again = credits.grant(MANAGER, ORG, "com_1", 5, "seed", "seed:opening:com_1")
    assert again["balance"] == 15 == available(credits, "community:com_1")


def test_an_agent_moving_a_community_wallet_under_user_credits_is_refused_naming_the_rule(
        credits):
    """Item 6: a KeyError (a 500) before; the community wallet is not a wallet of the model."""
    credits.transfer(MANAGER, "community:com_1", "pool", 10, "before the switch")
    credits.transfer(MANAGER, "community:com_2", "pool", 10, "before the switch")
    credits.change_settings(MANAGER, {"model": "user"})
    agent = {"actor_type": "staff", "actor_id": "usr_cat", "organization_id": ORG,
             "scopes": {"send_communications": "*", "send_sms": "*"}}

    with pytest.raises(Forbidden) as refused:
        credits.transfer(agent, "community:com_1", "user:usr_bob", 1, "take")
    assert refused.value.field == "source" and "user credits" in str(refused.value)
    with pytest.raises(Forbidden) as refused:
        credits.transfer(agent, "user:usr_cat", "community:com_1", 1, "give")
    assert refused.value.field == "target"


def test_another_organizations_caller_does_not_see_its_keys(credits):
    stranger = dict(MANAGER, organization_id="org_2")
    with pytest.raises(NotFound):
        credits.transfer(stranger, "community:com_1", "community:com_2", 1, "move",
                         "opening-1")
