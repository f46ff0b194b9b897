"""The consent rule table: every mode × default or explicit grant/withdrawal × transactional
flag, written out, and then every one of those under each channel preference, keyword stop
and missing contact point, with the expected decision."""

import itertools

import pytest

from services.consent.rules import MODES, Act, Facts, decide, facts_from_log

ALLOWED = (True, None)
# mode, the latest act for the category (None: none yet), transactional → decision
BASE = {
    ("opt_in", None, False): ALLOWED,
    ("opt_in", "grant", False): ALLOWED,
    ("opt_in", "withdraw", False): (False, "opted_out"),
    ("opt_out", None, False): (False, "no_consent"),
    ("opt_out", "grant", False): ALLOWED,
    ("opt_out", "withdraw", False): (False, "opted_out"),
    ("request", None, False): (False, "no_consent"),
    ("request", "grant", False): ALLOWED,
    ("request", "withdraw", False): (False, "opted_out"),
    # business transactions need no consent and ignore category opt-outs
    ("opt_in", None, True): ALLOWED,
    ("opt_in", "grant", True): ALLOWED,
    ("opt_in", "withdraw", True): ALLOWED,
    ("opt_out", None, True): ALLOWED,
    ("opt_out", "grant", True): ALLOWED,
    ("opt_out", "withdraw", True): ALLOWED,
    ("request", None, True): ALLOWED,
    ("request", "grant", True): ALLOWED,
    ("request", "withdraw", True): ALLOWED,
}


def test_the_table_covers_every_mode_act_and_transactional_flag():
    assert set(BASE) == set(itertools.product(MODES, (None, "grant", "withdraw"),
                                              (False, True)))


@pytest.mark.parametrize("mode, act, transactional", sorted(BASE, key=str))
@pytest.mark.parametrize("preference", [None, True, False])
@pytest.mark.parametrize("keyword_stopped", [False, True])
@pytest.mark.parametrize("has_contact_point", [True, False])
def test_rule_table(mode, act, transactional, preference, keyword_stopped, has_contact_point):
    expected = BASE[(mode, act, transactional)]
    if preference is False:          # "no texts": transactional messages too
        expected = (False, "channel_preference_off")
    if keyword_stopped:              # STOP from their number beats the preference
        expected = (False, "keyword_stop")
    if not has_contact_point:        # nothing to send to beats everything
        expected = (False, "no_contact_point")
    decision = decide(Facts(mode=mode, transactional=transactional, category_act=act,
                            channel_preference=preference, keyword_stopped=keyword_stopped,
                            has_contact_point=has_contact_point))
    assert (decision.allowed, decision.reason) == expected


def acts(*pairs):
    return [Act(category, action, seq) for seq, (category, action) in enumerate(pairs)]


@pytest.mark.parametrize("history, category_act, preference", [
    ([], None, None),
    ([("cat", "withdraw"), ("cat", "grant")], "grant", None),
    ([("cat", "grant"), ("cat", "withdraw")], "withdraw", None),
    ([(None, "withdraw")], None, False),
    ([(None, "withdraw"), ("cat", "grant"), (None, "grant")], "grant", True),
])
def test_the_latest_act_of_each_kind_counts(history, category_act, preference):
    facts = facts_from_log("opt_out", False, acts(*history), has_contact_point=True)
    assert (facts.category_act, facts.channel_preference) == (category_act, preference)
