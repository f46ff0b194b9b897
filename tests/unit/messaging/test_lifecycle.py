import pytest

from contracts.vocabulary import TERMINAL_STATUSES
from services.messaging.lifecycle import advances, from_provider, overall


@pytest.mark.parametrize("current, new", [
    ("pending", "queued"), ("queued", "sending"), ("sending", "sent"), ("sent", "delivered"),
    ("sending", "delivered"), ("sent", "undelivered"), ("sending", "failed"),
    ("pending", "suppressed"),
])
def test_statuses_move_forward(current, new):
    assert advances(current, new)


@pytest.mark.parametrize("current, new", [
    ("sent", "sending"), ("queued", "pending"), ("sent", "sent"),
])
def test_statuses_never_move_back(current, new):
    assert not advances(current, new)


@pytest.mark.parametrize("terminal", sorted(TERMINAL_STATUSES))
@pytest.mark.parametrize("late", ["sent", "delivered", "failed", "undelivered"])
def test_terminal_states_win_over_late_ones(terminal, late):
    assert not advances(terminal, late)


def test_twilio_statuses_map_onto_ours():
    assert from_provider("delivered") == "delivered"
    assert from_provider("undelivered") == "undelivered"
    assert from_provider("queued") == "sending"
    assert from_provider("receiving") is None


def test_communication_status_from_counts():
    assert overall({}) == "accepted"
    assert overall({"pending": 2}) == "pending"
    assert overall({"sent": 1, "delivered": 1}) == "sending"
    assert overall({"delivered": 1, "suppressed": 1, "failed": 1}) == "completed"
