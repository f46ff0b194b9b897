"""Unknown outcomes, written out: when the sweeper looks a delivery up, looks for it, or
gives up; what the provider's answer makes of it; and whose credits an unconfirmed delivery
settles."""

import pytest

from services.messaging.reconcile import (
    Decision,
    ReconcilePolicy,
    Unknown,
    after_find,
    after_look_up,
    due,
    give_up,
)

POLICY = ReconcilePolicy()          # 300 s, 72 h, 60 s
H = 3600.0
DEADLINE = 72 * H


def test_the_default_policy():
    assert POLICY == ReconcilePolicy(reconcile_after=300.0, give_up_after=259200.0,
                                     stale_sending_after=60.0)


@pytest.mark.parametrize("config, policy", [
    (None, POLICY),
    ({}, POLICY),
    ({"messaging": {"reconcile_after": 60, "give_up_after": 7200}},
     ReconcilePolicy(reconcile_after=60, give_up_after=7200)),
    ({"reconcile_after": 60, "stale_sending_after": 5, "other": "kept apart"},
     ReconcilePolicy(reconcile_after=60, stale_sending_after=5)),
    ({"messaging": {"give_up_after": None}}, POLICY),
])
def test_from_config_reads_the_messaging_section(config, policy):
    assert ReconcilePolicy.from_config(config) == policy


@pytest.mark.parametrize("settings, message", [
    ({"reconcile_after": 0}, "messaging.reconcile_after must be a positive number of seconds"),
    ({"give_up_after": "72h"}, "messaging.give_up_after must be a positive number of seconds"),
    ({"stale_sending_after": -1}, "messaging.stale_sending_after must be a positive number"),
    ({"reconcile_after": 600, "give_up_after": 300},
     "messaging.give_up_after must be at least messaging.reconcile_after"),
])
def test_a_wrong_policy_names_the_key_and_the_rule(settings, message):
    with pytest.raises(ValueError, match=message):
        ReconcilePolicy(**settings)


def unknown(status="sent", provider_id="SM1", handed_at=0.0, last_change_at=None,
            looked_up_at=None):
    return Unknown(status, provider_id, handed_at,
                   handed_at if last_change_at is None else last_change_at, looked_up_at)


# the delivery, now → what the sweeper does
@pytest.mark.parametrize("delivery, now, expected", [
    # nothing unknown about these
    (unknown("pending", None), 10 * DEADLINE, None),
    (unknown("queued", None), 10 * DEADLINE, None),
    (unknown("delivered"), 10 * DEADLINE, None),
    (unknown("unconfirmed"), 10 * DEADLINE, None),
    (unknown("failed", None), 10 * DEADLINE, None),
    # no provider id: looked for by our reference once stale, never given up blindly
    (unknown("sending", None), 59.0, None),
    (unknown("sending", None), 60.0, "find"),
    (unknown("sending", None, last_change_at=100.0), 150.0, None),
    (unknown("sending", None), 10 * DEADLINE, "find"),
    (unknown("sent", None), 60.0, "find"),
    # with the provider's id: asked after reconcile_after without news
    (unknown("sending"), 299.0, None),
    (unknown("sending"), 300.0, "look_up"),
    (unknown("sent"), 300.0, "look_up"),
    (unknown("sent", last_change_at=200.0), 450.0, None),
    (unknown("sent", last_change_at=200.0), 500.0, "look_up"),
    # after a look-up, again after reconcile_after or a quarter of its age if longer
    (unknown("sent", looked_up_at=300.0), 599.0, None),
    (unknown("sent", looked_up_at=300.0), 600.0, "look_up"),
    (unknown("sent", looked_up_at=8 * H), 9 * H, None),
    (unknown("sent", looked_up_at=8 * H), 10 * H, "look_up"),
    (unknown("sent", looked_up_at=40 * H), 49 * H, None),
    # one last look at the deadline, then give up even if it could not be made
    (unknown("sent", looked_up_at=70 * H), DEADLINE - 1, None),
    (unknown("sent", looked_up_at=70 * H), DEADLINE, "look_up"),
    (unknown("sent", looked_up_at=DEADLINE), DEADLINE + 100, None),
    (unknown("sent", looked_up_at=DEADLINE), DEADLINE + 300, "give_up"),
    (unknown("sending"), DEADLINE + 299, "look_up"),
    (unknown("sending"), DEADLINE + 300, "give_up"),
])
def test_due(delivery, now, expected):
    assert due(POLICY, delivery, now) == expected


def test_a_text_never_confirmed_is_asked_about_some_30_times_in_72_hours():
    delivery, now, asked = unknown("sent"), 0.0, 0
    while (what := due(POLICY, delivery, now)) != "give_up":
        if what == "look_up":
            asked += 1
            decision = after_look_up(delivery, "sent", now, POLICY)
            if decision.status is not None:
                break
            delivery = unknown("sent", looked_up_at=now)
        now += 60.0                     # the sweeper's period
    assert 20 <= asked <= 40
    assert decision == Decision("unconfirmed", "sent, but no final status from the provider "
                                               "after 72 h", True)


# the delivery, the provider's answer (None: unknown id), when → Decision
@pytest.mark.parametrize("status, answer, now, expected", [
    ("sending", "delivered", 400.0, Decision("delivered", None, True)),
    ("sent", "read", 400.0, Decision("delivered", None, True)),
    ("sent", "undelivered", 400.0,
     Decision("undelivered", "the provider reported it undelivered", False)),
    ("sending", "failed", 400.0, Decision("failed", "the provider reported it failed", False)),
    ("sending", "canceled", 400.0,
     Decision("failed", "the provider reported it canceled", False)),
    ("sending", "sent", 400.0, Decision("sent", None, None)),     # news, not final
    ("sending", "queued", 400.0, Decision(None, None, None)),      # no news: wait
    ("sent", "sending", 400.0, Decision(None, None, None)),        # never backwards
    ("sent", "sent", 400.0, Decision(None, None, None)),
    ("sent", "receiving", 400.0, Decision(None, None, None)),      # says nothing of it
    ("sent", None, 400.0, Decision(None, None, None)),             # not found yet: wait
    # at the deadline what is not final ends unconfirmed, settled only when it was sent
    ("sent", "sent", DEADLINE,
     Decision("unconfirmed", "sent, but no final status from the provider after 72 h", True)),
    ("sending", "sent", DEADLINE,
     Decision("unconfirmed", "sent, but no final status from the provider after 72 h", True)),
    ("sending", "queued", DEADLINE,
     Decision("unconfirmed", "the provider never reported it sent after 72 h", False)),
    ("sent", "sending", DEADLINE,
     Decision("unconfirmed", "sent, but no final status from the provider after 72 h", True)),
    ("sent", None, DEADLINE,
     Decision("unconfirmed", "no record of it at the provider after 72 h", False)),
    ("sending", None, DEADLINE,
     Decision("unconfirmed", "no record of it at the provider after 72 h", False)),
    # a final answer wins at the deadline too
    ("sent", "delivered", DEADLINE + 300, Decision("delivered", None, True)),
])
def test_after_look_up(status, answer, now, expected):
    assert after_look_up(unknown(status), answer, now, POLICY) == expected


# what looking for it by our reference found: (provider id, its status) or None
@pytest.mark.parametrize("found, now, expected", [
    (None, 60.0, Decision("queued", "not found at the provider: to be sent again", None)),
    (None, DEADLINE, Decision("failed", "provider_unavailable", False)),
    (("SM9", "queued"), 60.0, Decision("sending", None, None, "SM9")),
    (("SM9", "sent"), 60.0, Decision("sent", None, None, "SM9")),
    (("SM9", "delivered"), 60.0, Decision("delivered", None, True, "SM9")),
    (("SM9", "failed"), 60.0,
     Decision("failed", "the provider reported it failed", False, "SM9")),
])
def test_after_find(found, now, expected):
    assert after_find(unknown("sending", None), found, now, POLICY) == expected


@pytest.mark.parametrize("delivery, expected", [
    (unknown("sent"),
     Decision("unconfirmed", "sent, but no final status from the provider after 72 h", True)),
    (unknown("sending"),
     Decision("unconfirmed", "the provider never reported it sent after 72 h", False)),
    (unknown("sending", None),
     Decision("unconfirmed", "no record of it at the provider after 72 h", False)),
])
def test_give_up_settles_only_what_the_provider_sent(delivery, expected):
    assert give_up(delivery) == expected


def test_give_up_names_the_configured_time():
    assert give_up(unknown("sent"), ReconcilePolicy(give_up_after=5400)).reason == \
        "sent, but no final status from the provider after 1.5 h"
