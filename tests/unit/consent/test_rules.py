import pytest

from services.consent.rules import Act, decide

CAT = "cat_1"


def acts(*pairs):
    return [Act(category, action, seq) for seq, (category, action) in enumerate(pairs)]


@pytest.mark.parametrize("mode, history, transactional, expected", [
    # defaults by mode
    ("opt_in", [], False, (True, None)),
    ("opt_out", [], False, (False, "no_consent")),
    ("request", [], False, (False, "no_consent")),
    # explicit acts on the category: the latest wins
    ("opt_in", [(CAT, "withdraw")], False, (False, "opted_out")),
    ("opt_in", [(CAT, "withdraw"), (CAT, "grant")], False, (True, None)),
    ("request", [(CAT, "grant")], False, (True, None)),
    ("opt_out", [(CAT, "grant"), (CAT, "withdraw")], False, (False, "opted_out")),
    # a channel-wide stop beats every category, transactional included
    ("opt_in", [(None, "withdraw")], False, (False, "opted_out_of_channel")),
    ("opt_in", [(None, "withdraw")], True, (False, "opted_out_of_channel")),
    ("request", [(CAT, "grant"), (None, "withdraw")], False, (False, "opted_out_of_channel")),
    ("opt_in", [(None, "withdraw"), (None, "grant")], False, (True, None)),
    # transactional messages ignore category-level opt-outs and need no consent
    ("opt_in", [(CAT, "withdraw")], True, (True, None)),
    ("request", [], True, (True, None)),
])
def test_rule_table(mode, history, transactional, expected):
    decision = decide(mode, transactional, acts(*history), has_contact_point=True)
    assert (decision.allowed, decision.reason) == expected


def test_no_contact_point_is_never_reached():
    decision = decide("opt_in", True, [], has_contact_point=False)
    assert (decision.allowed, decision.reason) == (False, "no_contact_point")
