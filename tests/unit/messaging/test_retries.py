"""Transient or permanent, written out for the answers a provider gives; and the retry
schedule: its waits, its bounds in count and in time, its jitter."""

import random

import pytest

from services.messaging.retries import (
    GIVE_UP_REASON,
    RetryPolicy,
    classify,
    delay,
    next_attempt,
)


# HTTP status, Twilio error code, network error → class
@pytest.mark.parametrize("http_status, error_code, network_error, expected", [
    (None, None, True, "transient"),            # refused, reset, timed out
    (503, None, True, "transient"),
    (500, None, False, "transient"),
    (502, None, False, "transient"),
    (503, "20503", False, "transient"),
    (599, None, False, "transient"),
    (429, None, False, "transient"),
    (429, "20429", False, "transient"),          # Too Many Requests
    (400, "30001", False, "transient"),          # queue overflow
    (None, "30001", False, "transient"),
    (None, 30001, False, "transient"),           # the twilio client's codes are ints
    (500, "20500", False, "transient"),
    (400, "21211", False, "permanent"),          # invalid 'To' number
    (400, "21610", False, "permanent"),          # the recipient sent STOP
    (400, "21614", False, "permanent"),          # not a mobile number
    (400, 21211, False, "permanent"),
    (None, "21408", False, "permanent"),         # a code alone is the provider's refusal
    (400, None, False, "permanent"),
    (401, None, False, "permanent"),
    (404, None, False, "permanent"),
    (499, None, False, "permanent"),
    (500, "21211", False, "transient"),          # a 5xx is worth a retry whatever it says
    (400, "", False, "permanent"),
])
def test_classify(http_status, error_code, network_error, expected):
    assert classify(http_status, error_code, network_error) == expected


@pytest.mark.parametrize("http_status, error_code", [(None, None), (200, None), (302, "")])
def test_a_failure_nothing_describes_is_a_bug_not_a_guess(http_status, error_code):
    with pytest.raises(ValueError, match="nothing says the send failed"):
        classify(http_status, error_code, False)


def test_the_default_policy_and_its_give_up_reason():
    assert RetryPolicy() == RetryPolicy(max_attempts=6, first_delay=2.0, factor=2.0,
                                        max_delay=300.0, max_age=1800.0, jitter=0.2)
    assert GIVE_UP_REASON == "provider_unavailable"


def test_from_config():
    assert RetryPolicy.from_config(None) == RetryPolicy()
    assert RetryPolicy.from_config({"max_attempts": 3, "jitter": 0, "max_age": None}) == \
        RetryPolicy(max_attempts=3, jitter=0)
    with pytest.raises(ValueError, match="messaging.retries has no attempts; it takes "
                                         "factor, first_delay, jitter, max_age"):
        RetryPolicy.from_config({"attempts": 3})


@pytest.mark.parametrize("settings, message", [
    ({"max_attempts": 0}, "max_attempts must be a whole number of at least 1"),
    ({"max_attempts": 2.5}, "max_attempts must be a whole number"),
    ({"first_delay": 0}, "first_delay must be a positive number of seconds"),
    ({"max_age": -1}, "max_age must be a positive number of seconds"),
    ({"max_delay": "5m"}, "max_delay must be a positive number of seconds"),
    ({"factor": 0.5}, "factor must be a number of at least 1"),
    ({"jitter": 1}, "jitter must be a share from 0 to below 1"),
    ({"first_delay": 10, "max_delay": 5}, "max_delay must be at least first_delay"),
])
def test_a_wrong_policy_names_the_field_and_the_rule(settings, message):
    with pytest.raises(ValueError, match=message):
        RetryPolicy(**settings)


# attempts made → the wait before the next (no jitter): 2, 4, 8 … capped at max_delay
@pytest.mark.parametrize("attempts_made, wait", [
    (0, 0.0), (1, 2.0), (2, 4.0), (3, 8.0), (4, 16.0), (5, 32.0), (8, 256.0), (9, 300.0),
    (50, 300.0), (5000, 300.0),
])
def test_the_waits_grow_and_stop_at_max_delay(attempts_made, wait):
    assert delay(RetryPolicy(), attempts_made) == wait


def test_the_default_schedule_without_jitter():
    policy, first = RetryPolicy(jitter=0), 1000.0
    now, attempts, tries = first, 1, [first]
    while (at := next_attempt(policy, attempts, first, now)) is not None:
        tries.append(at)
        now, attempts = at, attempts + 1
    assert tries == [1000.0, 1002.0, 1006.0, 1014.0, 1030.0, 1062.0]   # six tries in all


def test_never_more_tries_than_max_attempts():
    policy = RetryPolicy(max_attempts=3, jitter=0)
    assert next_attempt(policy, 2, 0.0, 10.0) == 14.0
    assert next_attempt(policy, 3, 0.0, 10.0) is None
    assert next_attempt(RetryPolicy(max_attempts=1), 1, 0.0, 0.0) is None


def test_never_past_max_age():
    policy = RetryPolicy(max_attempts=100, first_delay=60, max_delay=600, max_age=1800,
                         jitter=0)
    assert next_attempt(policy, 4, 0.0, 1000.0) == 1480.0
    assert next_attempt(policy, 6, 0.0, 1500.0) == 1800.0       # cut to the deadline
    assert next_attempt(policy, 7, 0.0, 1800.0) is None
    assert next_attempt(policy, 2, 0.0, 2500.0) is None          # a worker came back late


@pytest.mark.parametrize("seed", range(5))
def test_a_whole_schedule_is_bounded_in_count_and_time(seed):
    rng, policy = random.Random(seed), RetryPolicy(max_attempts=50, max_age=900.0)
    now, attempts, first = 0.0, 1, 0.0
    while (at := next_attempt(policy, attempts, first, now, rng)) is not None:
        assert now <= at <= first + policy.max_age
        now, attempts = at, attempts + 1
    assert attempts <= policy.max_attempts and now <= first + policy.max_age


def test_jitter_stays_within_its_share_and_spreads_the_retries():
    policy, rng = RetryPolicy(max_attempts=20), random.Random(42)
    for attempts_made in (1, 3, 9):
        waits = [next_attempt(policy, attempts_made, 0.0, 0.0, rng) for _ in range(500)]
        nominal = delay(policy, attempts_made)
        assert all(nominal * 0.8 <= w <= nominal * 1.2 for w in waits)
        assert max(waits) - min(waits) > nominal * 0.3      # not all back at once
    assert next_attempt(RetryPolicy(jitter=0), 1, 0.0, 0.0, rng) == 2.0
