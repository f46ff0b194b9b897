"""The per-sender segment budget with a fake clock: senders' rates, refills, grants of a
batch written out, and long simulated runs that never exceed rate × T + burst in any
window, taken per batch or one by one, by one instance or two sharing the bucket; an
emergency's batch served first while an ordinary backlog waits, the rate still held."""

import math
import random

import pytest

from services.messaging.rate_limit import (
    SENDER_RATES,
    URGENT_GRACE_SECONDS,
    Bucket,
    Grant,
    burst_for,
    full,
    refill,
    sender_rate,
    take,
)


@pytest.mark.parametrize("entry, rate", [
    ({"kind": "long_code"}, 1.0),
    ({"kind": "toll_free"}, 3.0),
    ({"kind": "short_code"}, 100.0),
    ({"segments_per_second": 25}, 25.0),
    ({"segments_per_second": 0.5}, 0.5),
    ({"kind": "short_code", "number": "+15550000000"}, 100.0),   # other keys are its own
])
def test_sender_rates(entry, rate):
    assert sender_rate(entry) == rate


@pytest.mark.parametrize("entry, message", [
    ({"kind": "alphanumeric"}, "kind must be one of long_code, short_code, toll_free"),
    ({}, "kind must be one of"),
    ({"segments_per_second": 0}, "segments_per_second must be a positive number"),
    ({"segments_per_second": -3}, "segments_per_second must be a positive number"),
    ({"segments_per_second": "fast"}, "segments_per_second must be a positive number"),
    ({"segments_per_second": True}, "segments_per_second must be a positive number"),
    ({"segments_per_second": float("inf")}, "segments_per_second must be a positive number"),
    ({"segments_per_second": 5, "kind": "long_code"}, "not both"),
    ("short_code", "a sender must be a mapping"),
])
def test_a_wrong_sender_names_the_field_and_the_allowed_values(entry, message):
    with pytest.raises(ValueError, match=message):
        sender_rate(entry)


def test_the_kinds():
    assert SENDER_RATES == {"long_code": 1.0, "toll_free": 3.0, "short_code": 100.0}


@pytest.mark.parametrize("rate, burst", [(1.0, 1.0), (3.0, 3.0), (100.0, 100.0), (0.2, 1.0)])
def test_the_default_burst_is_one_seconds_worth_and_at_least_one(rate, burst):
    assert burst_for(rate) == burst
    assert full(7.0, rate) == Bucket(burst, 7.0)


# bucket, now, rate, burst → bucket after refilling
@pytest.mark.parametrize("bucket, now, rate, burst, after", [
    (Bucket(0.0, 10.0), 10.0, 3.0, 3.0, Bucket(0.0, 10.0)),
    (Bucket(0.0, 10.0), 10.5, 3.0, 3.0, Bucket(1.5, 10.5)),
    (Bucket(0.0, 10.0), 20.0, 3.0, 3.0, Bucket(3.0, 20.0)),      # capped at the burst
    (Bucket(-4.0, 10.0), 11.0, 3.0, 3.0, Bucket(-1.0, 11.0)),    # a debt is paid back first
    (Bucket(1.0, 10.0), 9.0, 3.0, 3.0, Bucket(1.0, 10.0)),       # the clock went back
    (Bucket(1.0, 10.0), 12.0, 1.0, 10.0, Bucket(3.0, 12.0)),
])
def test_refill(bucket, now, rate, burst, after):
    assert refill(bucket, now, rate, burst) == after


# tokens, costs → granted, tokens left, retry_after (rate 2/s, burst 4, no time passes)
@pytest.mark.parametrize("tokens, costs, granted, left, retry_after", [
    (4.0, [], 0, 4.0, 0.0),
    (4.0, [1, 1, 1], 3, 1.0, 0.0),
    (4.0, [1, 1, 1, 1], 4, 0.0, 0.0),
    (4.0, [1, 1, 1, 1, 1], 4, 0.0, 0.5),
    (4.0, [3, 2], 1, 1.0, 0.5),          # a two-segment text waits for its second token
    (4.0, [2, 3, 1], 1, 2.0, 0.5),       # in order: the 1 behind the 3 waits too
    (1.0, [2], 0, 1.0, 0.5),
    (0.0, [1], 0, 0.0, 0.5),
    (4.0, [6], 1, -2.0, 0.0),            # longer than the burst, full bucket: it goes
    (4.0, [6, 1], 1, -2.0, 1.5),         # and its debt is paid before the next
    (3.0, [6], 0, 3.0, 0.5),             # not full: it waits until the bucket is
    (-2.0, [6], 0, -2.0, 3.0),
    (4.0, [0, 0, 4, 0], 4, 0.0, 0.0),
])
def test_take(tokens, costs, granted, left, retry_after):
    grant = take(Bucket(tokens, 50.0), 50.0, 2.0, 4.0, costs)
    assert grant == Grant(granted, Bucket(left, 50.0), retry_after)


def test_take_refills_first_and_a_clock_going_back_grants_nothing_more():
    assert take(Bucket(0.0, 50.0), 51.0, 2.0, 4.0, [1, 1, 1]).granted == 2
    back = take(Bucket(0.0, 50.0), 20.0, 2.0, 4.0, [1])
    assert back == Grant(0, Bucket(0.0, 50.0), 0.5)
    # when the clock comes back forward, only the time past the latest reading counts
    assert take(back.bucket, 50.5, 2.0, 4.0, [1, 1]).granted == 1


def test_a_rate_must_be_positive():
    with pytest.raises(ValueError, match="rate must be a positive number"):
        take(Bucket(1.0, 0.0), 0.0, 0, 1.0, [1])


def run(rate, burst, batches, instances=1, per_batch=True, seed=7, pauses=True):
    """Send `batches` batches of texts (their segment counts) on a fake clock, by
    `instances` workers taking turns with one shared Bucket value; each worker sleeps what
    it was told (retry_after), or when all of its batch went, a little or now and then long
    enough for the bucket to fill up (without `pauses`, it goes on at once).
    Returns the (time, segments) of every text sent."""
    rng = random.Random(seed)
    clock, bucket = 0.0, full(0.0, rate, burst)
    queues = [list(b) for b in batches]
    sent, wake = [], [0.0] * instances
    while any(queues):
        worker = min(range(instances), key=lambda w: wake[w])
        clock = max(clock, wake[worker])
        queue = next((q for q in queues if q), None)
        if per_batch:
            grant = take(bucket, clock, rate, burst, queue)
            taken = grant.granted
        else:
            taken, grant = 0, None
            for cost in queue:
                grant = take(bucket, clock, rate, burst, [cost])
                if not grant.granted:
                    break
                bucket, taken = grant.bucket, taken + 1
        bucket = grant.bucket
        sent.extend((clock, cost) for cost in queue[:taken])
        del queue[:taken]
        idle = rng.uniform(0.0, 0.3) if rng.random() < 0.8 else rng.uniform(1.0, 5.0)
        wake[worker] = clock + (grant.retry_after or (idle if pauses else 0.0))
    return sent


def worst_excess(sent, rate, burst):
    """The most any window [t_i, t_j] between two sends exceeds rate × T + burst by: the
    segments sent in it are S_j - S_(i-1), so the worst start for each end is the lowest
    S_(i-1) - rate × t_i seen so far."""
    worst, lowest, before = float("-inf"), float("inf"), 0
    for moment, cost in sent:
        lowest = min(lowest, before - rate * moment)
        before += cost
        worst = max(worst, before - rate * moment - lowest - burst)
    return worst


def random_batches(seed, count, size, costs):
    rng = random.Random(seed)
    return [[rng.choice(costs) for _ in range(rng.randint(1, size))] for _ in range(count)]


@pytest.mark.parametrize("rate, burst", [(1.0, 1.0), (3.0, 3.0), (100.0, 100.0), (25.0, 50.0)])
@pytest.mark.parametrize("instances", [1, 2])
def test_a_long_run_never_exceeds_the_rate_in_any_window(rate, burst, instances):
    costs = [c for c in (1, 2, 3, 4) if c <= burst] or [1]
    batches = random_batches(rate, 40, int(rate * 4) + 3, costs)
    sent = run(rate, burst, batches, instances=instances)
    assert len(sent) == sum(map(len, batches))
    assert worst_excess(sent, rate, burst) <= 1e-6


@pytest.mark.parametrize("rate, burst", [(1.0, 1.0), (3.0, 3.0), (100.0, 100.0), (25.0, 50.0)])
@pytest.mark.parametrize("instances", [1, 2])
def test_a_backlog_goes_at_the_full_rate(rate, burst, instances):
    """The limit holds the rate, not less: 1,000 segments, the first `burst` at once and
    the rest at `rate`, in one batch or in many."""
    for batches in ([[1] * 1000], [[1, 1, 1, 1]] * 250, [[2, 1, 1]] * 250):
        if max(map(max, batches)) > burst:
            continue
        sent = run(rate, burst, batches, instances=instances, pauses=False)
        assert sum(cost for _, cost in sent) == 1000
        assert sent[-1][0] == pytest.approx((1000 - burst) / rate, rel=1e-6)


def test_taking_per_batch_sends_what_taking_one_by_one_sends():
    batches = random_batches(3, 30, 12, [1, 1, 1, 2, 3])
    assert run(3.0, 3.0, batches, per_batch=True) == run(3.0, 3.0, batches, per_batch=False)


def test_texts_longer_than_the_burst_are_never_stuck_and_the_rate_holds():
    batches = [[5, 1, 7], [1, 1], [9]]
    sent = run(1.0, 1.0, batches)
    assert [cost for _, cost in sent] == [5, 1, 7, 1, 1, 9]
    # the bound grows by the one text's excess over the burst, no more
    assert worst_excess(sent, 1.0, 1.0) <= 9 - 1.0 + 1e-6
    gaps = [later[0] - earlier[0] for earlier, later in zip(sent, sent[1:], strict=False)]
    assert gaps[:2] == pytest.approx([5.0, 1.0])    # the debt of 4, then the next token


def test_two_instances_sharing_one_bucket_send_no_more_than_one():
    batches = random_batches(11, 60, 8, [1, 2])
    one, two = run(3.0, 3.0, batches, instances=1), run(3.0, 3.0, batches, instances=2)
    assert len(one) == len(two) == sum(map(len, batches))
    assert worst_excess(two, 3.0, 3.0) <= 1e-6


# --- an emergency's batches take the tokens first (rule 6) -------------------------------

def test_an_urgent_batch_that_falls_short_holds_ordinary_ones_back_until_it_is_served():
    rate, burst, grace = 2.0, 4.0, URGENT_GRACE_SECONDS
    short = take(Bucket(0.0, 50.0), 50.0, rate, burst, [1] * 6, urgent=True)
    # nothing now; its 6 segments accrue in 3 s, then the grace to come back for them
    assert short == Grant(0, Bucket(0.0, 50.0, 53.0 + grace), 0.5)
    # an ordinary batch finds 2 tokens and takes none: they are the emergency's
    ordinary = take(short.bucket, 51.0, rate, burst, [1])
    assert ordinary == Grant(0, Bucket(2.0, 51.0, 53.0 + grace), 2.0 + grace)
    # the emergency comes back and takes them, then the rest as they accrue
    served = take(ordinary.bucket, 51.0, rate, burst, [1] * 6, urgent=True)
    assert (served.granted, served.bucket.tokens) == (2, 0.0)
    rest = take(served.bucket, 53.0, rate, burst, [1] * 4, urgent=True)
    assert (rest.granted, rest.retry_after) == (4, 0.0)
    # ordinary batches go again once the mark has passed, with what accrued meanwhile
    assert take(rest.bucket, 53.0 + grace / 2, rate, burst, [1]).granted == 0
    accrued = min(burst, rate * grace)
    assert take(rest.bucket, 53.0 + grace, rate, burst, [1] * 9).granted == accrued


def test_an_urgent_batch_that_fits_marks_nothing_and_urgent_ones_ignore_the_mark():
    fits = take(Bucket(4.0, 50.0), 50.0, 2.0, 4.0, [1, 1], urgent=True)
    assert fits == Grant(2, Bucket(2.0, 50.0, 0.0), 0.0)
    marked = Bucket(3.0, 50.0, 60.0)
    assert take(marked, 50.0, 2.0, 4.0, [1, 1], urgent=True).granted == 2
    assert take(marked, 50.0, 2.0, 4.0, [], urgent=False) == Grant(0, marked, 0.0)


def test_an_urgent_batch_that_never_comes_back_holds_ordinary_ones_only_until_the_mark():
    short = take(Bucket(0.0, 0.0), 0.0, 1.0, 1.0, [1] * 3, urgent=True)
    until = short.bucket.urgent_until
    assert until == 3.0 + URGENT_GRACE_SECONDS
    assert take(short.bucket, until - 0.01, 1.0, 1.0, [1]).granted == 0
    assert take(short.bucket, until, 1.0, 1.0, [1]).granted == 1


def race(rate, burst, ordinary, urgent, arrives, latency, priority=True):
    """Two workers dispatch an ordinary backlog (batches) from one shared bucket; an
    emergency's batch arrives at `arrives`. Every batch comes back `latency` after the time
    it was told (the release timer, the event); `priority` False takes it as ordinary.
    Returns the (time, segments, urgent) of every text sent."""
    clock, bucket = 0.0, full(0.0, rate, burst)
    queues = {"ordinary": [list(b) for b in ordinary], "urgent": [list(urgent)]}
    wake = {"ordinary-1": 0.0, "ordinary-2": 0.0, "urgent": arrives}
    sent = []
    while any(queues.values()):
        ready = [w for w in wake if queues[w.split("-")[0]]]
        worker = min(ready, key=lambda w: wake[w])
        kind = worker.split("-")[0]
        clock = max(clock, wake[worker])
        queue = queues[kind][0]
        grant = take(bucket, clock, rate, burst, queue,
                     urgent=priority and kind == "urgent")
        bucket = grant.bucket
        sent.extend((clock, cost, kind == "urgent") for cost in queue[:grant.granted])
        del queue[:grant.granted]
        if not queue:
            queues[kind].pop(0)
        wake[worker] = clock + grant.retry_after + latency
    return sent


@pytest.mark.parametrize("rate, burst", [(1.0, 1.0), (4.0, 4.0), (25.0, 50.0)])
@pytest.mark.parametrize("latency", [0.0, 0.3, 0.9])
def test_an_emergency_overtakes_a_rate_limited_backlog_and_the_rate_still_holds(rate, burst,
                                                                                latency):
    ordinary = [[1] * 50] * int(rate * 4)           # minutes of backlog at this rate
    urgent = [1] * int(rate * 3)
    sent = race(rate, burst, ordinary, urgent, arrives=5.0, latency=latency)
    assert len(sent) == sum(map(len, ordinary)) + len(urgent)
    assert worst_excess([(t, c) for t, c, _ in sent], rate, burst) <= 1e-6
    first, last = (min(t for t, _, u in sent if u), max(t for t, _, u in sent if u))
    # from the emergency's first text to its last, no ordinary one goes
    assert [t for t, _, u in sent if not u and first <= t <= last] == []
    # and it is served as the bucket refills: it comes back at most 1/rate + latency after
    # each take, and takes what accrued meanwhile (at least a token, at most the burst)
    interval = 1 / rate + latency
    each = min(burst, 1 + rate * latency)
    assert first - 5.0 <= interval + 1e-6
    assert last - 5.0 <= (math.ceil(len(urgent) / each) + 1) * interval + 1e-6
    if latency:
        # without the rule the backlog, coming back as late, shares the tokens with it
        shared = race(rate, burst, ordinary, urgent, arrives=5.0, latency=latency,
                      priority=False)
        first, last = (min(t for t, _, u in shared if u), max(t for t, _, u in shared if u))
        assert [t for t, _, u in shared if not u and first <= t <= last]
