"""The delivery status machine, written out: every (current, new) pair of statuses with
whether the move is allowed; the forward-only test of provider callbacks; Twilio's statuses;
and the communication's status and progress from its deliveries' counts."""

import itertools

import pytest

from contracts.vocabulary import DELIVERY_STATUSES, STATUS_RANK, TERMINAL_STATUSES
from services.messaging.lifecycle import (
    MOVES,
    PROVIDER_STATUSES,
    TERMINAL,
    advances,
    from_provider,
    may_move,
    overall,
    progress,
)

ALLOWED = {
    ("pending", "queued"), ("pending", "suppressed"), ("pending", "failed"),
    ("pending", "cancelled"),
    ("queued", "sending"), ("queued", "failed"), ("queued", "cancelled"),
    ("sending", "sent"), ("sending", "delivered"), ("sending", "undelivered"),
    ("sending", "failed"), ("sending", "unconfirmed"),
    ("sending", "queued"),     # the one move back: the provider did not take it, retry later
    ("sending", "cancelled"),  # claimed by a worker, cancelled before its provider call
    ("sent", "delivered"), ("sent", "undelivered"), ("sent", "failed"),
    ("sent", "unconfirmed"),
}


def test_the_statuses_and_terminal_ones():
    assert DELIVERY_STATUSES == ("pending", "queued", "sending", "sent", "delivered",
                                 "undelivered", "failed", "suppressed", "cancelled",
                                 "unconfirmed")
    assert TERMINAL == TERMINAL_STATUSES == {"delivered", "undelivered", "failed",
                                             "suppressed", "cancelled", "unconfirmed"}
    assert set(MOVES) == set(DELIVERY_STATUSES)


@pytest.mark.parametrize("current, new", list(itertools.product(DELIVERY_STATUSES,
                                                                repeat=2)))
def test_move_table(current, new):
    assert may_move(current, new) == ((current, new) in ALLOWED)


def test_terminal_statuses_move_nowhere_and_unknown_ones_neither():
    assert all(MOVES[status] == frozenset() for status in TERMINAL)
    assert not may_move("delivered", "sent")
    assert not may_move("bogus", "queued") and not may_move("pending", "bogus")


def test_every_terminal_status_ranks_above_every_other_in_the_old_order():
    ranks = [STATUS_RANK[s] for s in ("pending", "queued", "sending", "sent")]
    assert ranks == sorted(ranks) and len(set(ranks)) == 4
    assert min(STATUS_RANK[s] for s in TERMINAL) > max(ranks)
    assert set(STATUS_RANK) == set(DELIVERY_STATUSES)


@pytest.mark.parametrize("current, new", [
    ("pending", "queued"), ("queued", "sending"), ("sending", "sent"), ("sent", "delivered"),
    ("sending", "delivered"), ("sent", "undelivered"), ("sending", "failed"),
    ("pending", "suppressed"), ("queued", "delivered"), ("sent", "unconfirmed"),
    ("queued", "cancelled"),
])
def test_statuses_move_forward(current, new):
    assert advances(current, new)


@pytest.mark.parametrize("current, new", [
    ("sent", "sending"), ("queued", "pending"), ("sent", "sent"), ("sending", "queued"),
])
def test_statuses_never_move_back_on_a_callback(current, new):
    assert not advances(current, new)


@pytest.mark.parametrize("terminal", sorted(TERMINAL_STATUSES))
@pytest.mark.parametrize("late", ["sent", "delivered", "failed", "undelivered"])
def test_terminal_states_win_over_late_ones(terminal, late):
    assert not advances(terminal, late)


@pytest.mark.parametrize("twilio, ours", [
    ("accepted", "sending"), ("queued", "sending"), ("sending", "sending"),
    ("scheduled", "sending"), ("sent", "sent"), ("delivered", "delivered"),
    ("read", "delivered"), ("undelivered", "undelivered"), ("failed", "failed"),
    ("canceled", "failed"),      # cancelled at Twilio: it never went, a technical failure
    ("receiving", None), ("received", None), ("", None),
])
def test_twilio_statuses_map_onto_ours(twilio, ours):
    assert from_provider(twilio) == ours


def test_every_twilio_status_maps_onto_a_delivery_status():
    assert set(PROVIDER_STATUSES.values()) <= set(DELIVERY_STATUSES)


# counts, audience complete, cancelled → the communication's status, progress
OVERALL = [
    ({}, False, False, "accepted", 0.0),
    ({}, True, False, "completed", 1.0),          # an audience of nobody is done at once
    ({}, False, True, "cancelled", 0.0),
    ({"pending": 2}, False, False, "preparing", 0.0),
    ({"pending": 2}, True, False, "preparing", 0.0),
    ({"suppressed": 3}, False, False, "preparing", 1.0),    # the rest still resolving
    ({"suppressed": 1, "pending": 1}, True, False, "preparing", 0.5),
    ({"queued": 1, "pending": 3}, True, False, "sending", 0.0),
    ({"queued": 4}, False, False, "sending", 0.0),
    ({"sending": 1, "delivered": 1}, False, False, "sending", 0.5),
    ({"sent": 1, "delivered": 1}, True, False, "sending", 0.5),
    ({"failed": 1, "pending": 1}, True, False, "sending", 0.5),
    ({"delivered": 1, "suppressed": 1, "failed": 1}, True, False, "completed", 1.0),
    ({"delivered": 1, "suppressed": 1, "failed": 1}, False, False, "sending", 1.0),
    ({"suppressed": 2}, True, False, "completed", 1.0),
    ({"unconfirmed": 1, "undelivered": 1}, True, False, "completed", 1.0),
    ({"cancelled": 3, "delivered": 1}, True, True, "cancelled", 1.0),
    ({"cancelled": 3, "delivered": 1}, False, True, "cancelled", 1.0),
    ({"cancelled": 3, "sent": 1}, True, True, "sending", 0.75),     # one still at Twilio
    ({"cancelled": 4}, True, False, "completed", 1.0),
]


@pytest.mark.parametrize("counts, audience_complete, cancelled, status, share", OVERALL)
def test_communication_status_and_progress_from_counts(counts, audience_complete, cancelled,
                                                       status, share):
    assert overall(counts, audience_complete=audience_complete, cancelled=cancelled) == status
    assert progress(counts, audience_complete=audience_complete) == share


def test_the_old_one_argument_calls_still_work():
    assert overall({"pending": 2}) == "preparing"
    assert overall({"sent": 1, "delivered": 1}) == "sending"
    assert overall({"delivered": 1, "suppressed": 1, "failed": 1}) == "completed"
    assert progress({"delivered": 3, "sent": 1}) == 0.75
