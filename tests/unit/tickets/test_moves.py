"""The work-order status table, written out: every (from, to) pair of Pilera's statuses, and
who may make each allowed move under each reopen policy."""

import itertools

import pytest

from contracts.vocabulary import REOPEN_POLICIES, TICKET_STATUSES
from services.tickets.moves import MOVES, Mover, allowed_moves, decide

# every allowed move, by hand (the module's table must equal it)
ALLOWED = {
    ("new", "acknowledged"), ("new", "approved"), ("new", "in_progress"), ("new", "on_hold"),
    ("new", "completed"), ("new", "cancelled"), ("new", "rejected"),
    ("acknowledged", "approved"), ("acknowledged", "in_progress"),
    ("acknowledged", "on_hold"), ("acknowledged", "completed"),
    ("acknowledged", "cancelled"), ("acknowledged", "rejected"),
    ("approved", "in_progress"), ("approved", "on_hold"), ("approved", "completed"),
    ("approved", "cancelled"),
    ("in_progress", "in_review"), ("in_progress", "on_hold"), ("in_progress", "completed"),
    ("in_progress", "cancelled"),
    ("in_review", "in_progress"), ("in_review", "on_hold"), ("in_review", "completed"),
    ("in_review", "cancelled"),
    ("on_hold", "acknowledged"), ("on_hold", "approved"), ("on_hold", "in_progress"),
    ("on_hold", "cancelled"),
    ("completed", "in_progress"),
}
MANAGER = Mover(is_manager=True)
REPORTER = Mover(is_reporter=True, is_resident=True)
NEIGHBOUR = Mover(is_resident=True)
STAFF_WITHOUT = Mover()


def test_the_module_lists_exactly_these_moves():
    assert {(a, b) for a, targets in MOVES.items() for b in targets} == ALLOWED


@pytest.mark.parametrize("current, target", sorted(itertools.product(TICKET_STATUSES,
                                                                     repeat=2)))
def test_a_manager_makes_every_allowed_move_and_no_other(current, target):
    decision = decide(current, target, MANAGER, "staff")
    assert decision.allowed == ((current, target) in ALLOWED)
    if not decision.allowed:
        assert decision.field == "status" and decision.reason


@pytest.mark.parametrize("current, target", sorted(ALLOWED))
def test_the_reporter_cancels_while_new_and_nothing_else_by_default(current, target):
    decision = decide(current, target, REPORTER, "staff")
    assert decision.allowed == ((current, target) == ("new", "cancelled"))
    if not decision.allowed:
        assert decision.field == "permission"


@pytest.mark.parametrize("mover", [NEIGHBOUR, STAFF_WITHOUT])
@pytest.mark.parametrize("current, target", sorted(ALLOWED))
def test_nobody_else_moves_a_ticket(mover, current, target):
    decision = decide(current, target, mover, "staff_and_reporter")
    assert not decision.allowed and decision.field == "permission"


# reopen policy → (manager may reopen, reporter may reopen)
REOPENING = {"nobody": (False, False), "staff": (True, False),
             "staff_and_reporter": (True, True)}


@pytest.mark.parametrize("policy", REOPEN_POLICIES)
def test_reopening_a_completed_ticket_follows_the_organization(policy):
    manager, reporter = REOPENING[policy]
    assert decide("completed", "in_progress", MANAGER, policy).allowed is manager
    assert decide("completed", "in_progress", REPORTER, policy).allowed is reporter


def test_cancelled_and_rejected_are_final_with_a_reason_that_says_so():
    for final in ("cancelled", "rejected"):
        decision = decide(final, "in_progress", MANAGER)
        assert not decision.allowed and "final" in decision.reason


def test_a_refusal_names_where_the_ticket_may_go():
    decision = decide("new", "in_review", MANAGER)
    assert "from new it may go to" in decision.reason and "acknowledged" in decision.reason
    assert "already" in decide("new", "new", MANAGER).reason


def test_allowed_moves_are_what_the_caller_may_do_now():
    assert allowed_moves("new", REPORTER) == ["cancelled"]
    assert allowed_moves("acknowledged", REPORTER) == []
    assert allowed_moves("completed", MANAGER, "nobody") == []
    assert allowed_moves("in_review", MANAGER) == ["in_progress", "on_hold", "completed",
                                                   "cancelled"]


def test_an_unknown_reopen_policy_is_a_bug_not_a_refusal():
    with pytest.raises(ValueError):
        decide("completed", "in_progress", MANAGER, "sometimes")
