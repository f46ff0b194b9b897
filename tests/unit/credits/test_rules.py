"""Seed 002's rules for individual user credits, and the other models' spend rules."""

import pytest

from services.credits.rules import (
    Actor,
    Refusal,
    User,
    check_purchase,
    check_spend,
    check_switch,
    check_transfer,
    payer,
    visible_wallets,
)

USERS = {
    "ann": User("ann", frozenset({"toronto"})),
    "bob": User("bob", frozenset({"toronto"})),
    "cat": User("cat", frozenset({"ottawa"})),
    "dan": User("dan", frozenset({"toronto"}), holds_send_sms=False),   # frozen
    "eve": User("eve", frozenset({"ottawa"}), active=False),
}
MASTER = Actor("mia", is_master=True, managed_offices="*", credit_communities="*")
OFFICE = Actor("ann", managed_offices=frozenset({"toronto"}))
REGULAR = Actor("bob", team_members=frozenset({"cat", "dan"}))


def user(name):
    return f"user:{name}"


@pytest.mark.parametrize("actor, source, target, allowed", [
    # master users move credits between the pool, unallocated credits and any user
    (MASTER, "pool", user("cat"), True),
    (MASTER, user("cat"), "pool", True),
    (MASTER, user("ann"), user("cat"), True),
    # manage_office_sms_credits: between any users of their offices, never the pool
    (OFFICE, user("bob"), user("ann"), True),
    (OFFICE, user("dan"), user("bob"), True),        # a frozen balance is moved away
    (OFFICE, user("bob"), user("cat"), False),       # cat is in Ottawa
    (OFFICE, "pool", user("bob"), False),
    # regular users give their own credits to team members, never take from them
    (REGULAR, user("bob"), user("cat"), True),
    (REGULAR, user("cat"), user("bob"), False),
    (REGULAR, user("bob"), user("ann"), False),      # ann is not in bob's team
    # nobody gives credits to a user without send_sms, or who is not active
    (MASTER, "pool", user("dan"), False),
    (REGULAR, user("bob"), user("dan"), False),
    (MASTER, "pool", user("eve"), False),
    # a community wallet is not one of this model's: refused, not a missing user
    (REGULAR, "community:c1", user("cat"), False),
    (OFFICE, "community:c1", user("bob"), False),
    (REGULAR, user("bob"), "community:c1", False),
])
def test_who_may_move_individual_user_credits(actor, source, target, allowed):
    if allowed:
        check_transfer("user", actor, source, target, USERS)
    else:
        with pytest.raises(Refusal):
            check_transfer("user", actor, source, target, USERS)


def test_a_refused_transfer_names_the_rule():
    with pytest.raises(Refusal, match="only your own credits") as taking:
        check_transfer("user", REGULAR, user("cat"), user("bob"), USERS)
    assert taking.value.field == "source"
    with pytest.raises(Refusal, match="does not hold send_sms") as frozen:
        check_transfer("user", MASTER, "pool", user("dan"), USERS)
    assert frozen.value.field == "target"


@pytest.mark.parametrize("actor, target, allowed", [
    (MASTER, "pool", True),
    (MASTER, user("cat"), True),
    (OFFICE, user("bob"), True),
    (OFFICE, user("cat"), False),
    (OFFICE, "pool", False),
    (REGULAR, user("bob"), True),
    (REGULAR, user("cat"), True),          # a team member
    (REGULAR, user("ann"), False),
    (REGULAR, user("dan"), False),         # no send_sms
])
def test_who_may_buy_individual_user_credits(actor, target, allowed):
    if allowed:
        check_purchase("user", actor, target, USERS)
    else:
        with pytest.raises(Refusal):
            check_purchase("user", actor, target, USERS)


def test_community_wallets_are_moved_and_bought_by_their_credit_managers():
    manager = Actor("max", credit_communities=frozenset({"c1", "c2"}))
    check_transfer("community", manager, "community:c1", "community:c2", {})
    with pytest.raises(Refusal, match="manage_credits for both"):
        check_transfer("community", manager, "community:c1", "community:c3", {})
    check_purchase("community", manager, "community:c1", {})
    with pytest.raises(Refusal, match="buy for community wallets"):
        check_purchase("community", manager, "pool", {})


def test_a_shared_pool_cannot_be_split():
    with pytest.raises(Refusal, match="cannot be split"):
        check_transfer("pool", MASTER, "pool", user("ann"), USERS)


def test_who_pays_under_each_model():
    assert payer("community", "c1", REGULAR) == "community:c1"
    assert payer("pool", "c1", REGULAR) == "pool"
    assert payer("user", "c1", REGULAR) == "user:bob"
    with pytest.raises(Refusal, match="not an API key"):
        payer("user", "c1", Actor("key_1", is_staff=False))
    # Townhall's own sends (work-order notices): as any send, but from the system pool
    # where only users hold credits
    tickets = Actor("tickets", is_master=True, is_staff=False, is_system=True)
    assert [payer(model, "c1", tickets) for model in ("community", "pool", "user")] == [
        "community:c1", "pool", "pool"]


def test_community_wallets_go_negative_unless_the_organization_sets_a_floor():
    check_spend("community", "community:c1", available=1, total=5)
    check_spend("community", "community:c1", available=1, total=5, floor=-10)
    with pytest.raises(Refusal, match="below the organization's floor of -3"):
        check_spend("community", "community:c1", available=1, total=5, floor=-3)


def test_users_and_pools_never_go_negative_and_frozen_credits_never_pay():
    check_spend("user", "user:bob", available=5, total=5, holder=USERS["bob"])
    with pytest.raises(Refusal, match="no negative"):
        check_spend("user", "user:bob", available=4, total=5, holder=USERS["bob"])
    with pytest.raises(Refusal, match="frozen"):
        check_spend("user", "user:dan", available=50, total=5, holder=USERS["dan"])
    with pytest.raises(Refusal, match="no negative"):
        check_spend("pool", "pool", available=0, total=1)


def test_switching_models_refuses_to_strand_credits():
    check_switch("community", "user", {"community:c1": 0, "pool": 7}, set())
    with pytest.raises(Refusal, match="strand the credits of community:c1"):
        check_switch("community", "user", {"community:c1": 3}, set())
    with pytest.raises(Refusal, match="strand the credits of user:ann"):
        check_switch("user", "pool", {"user:ann": 2, "pool": 5}, set())
    with pytest.raises(Refusal, match="in flight"):
        check_switch("community", "pool", {}, {"community:c1"})
    with pytest.raises(Refusal, match="must be one of"):
        check_switch("community", "gold", {}, set())


def test_each_actor_sees_the_wallets_seed_002_says():
    wallets = ["pool", user("ann"), user("bob"), user("cat"), user("dan")]
    assert visible_wallets(MASTER, wallets, USERS) == wallets
    assert visible_wallets(OFFICE, wallets, USERS) == [user("ann"), user("bob"), user("dan")]
    assert visible_wallets(REGULAR, wallets, USERS) == [user("bob"), user("cat")]
