"""A sender's budget of Twilio segments per second — a token bucket, pure, no I/O.

Every messaging instance shares one bucket per sender (the caller keeps it in a database
row and calls these functions under that row's lock); tokens are taken per batch.

1. A sender's rate comes from its configuration: its kind (SENDER_RATES: long_code 1
   segment/s, toll_free 3/s, short_code 100/s) or a number it sets, `segments_per_second`.
2. The bucket refills at the rate for the time since it was last seen, up to `burst` tokens
   (by default one second's worth and never less than one: `burst_for`). A clock that went
   back adds nothing and is not believed: the later time is kept.
3. A batch's texts go in order while their segments fit in the tokens: the longest prefix
   whose sum fits is granted and its segments taken.
4. When not even the first fits but the bucket is full, that one goes anyway and the tokens
   go below zero: a text longer than the burst is never stuck, and the debt is paid back
   before anything else goes, so the rate holds over time.
5. What was not granted says when the next one could go (`retry_after`, seconds), so the
   caller schedules it instead of polling.
6. An emergency's batch (`urgent`) takes the tokens first. When it cannot take all it
   asked for, the bucket is marked as wanted by urgent work (`urgent_until`) until the time
   its remaining segments take to accrue, plus URGENT_GRACE_SECONDS for it to come back for
   them; each urgent take that still falls short moves the mark on. While the mark stands
   an ordinary batch takes nothing, however many tokens there are, and is told to come back
   when the mark ends — so the tokens that accrue are the emergency's, never shared with the
   ordinary backlog waiting beside it. An urgent batch ignores the mark (emergencies go in
   the order they come); the mark ends by itself, so a batch that never comes back (a crash,
   a cancel) holds the ordinary ones back no longer than that.

Over any window of T seconds a sender so sends at most rate × T + burst segments (plus one
text's excess over the burst when a text is longer than it), whichever batches send them.
"""

import math
from dataclasses import dataclass

SENDER_RATES = {"long_code": 1.0, "toll_free": 3.0, "short_code": 100.0}

# how long ordinary batches keep holding back after the time an emergency's remaining
# segments take to accrue: the time it takes the emergency's batch to come back for them
# (the release timer's tick, an event to the urgent workers)
URGENT_GRACE_SECONDS = 2.0

# tokens are floats: what is short of a whole segment by less than this is a rounding error
_EPSILON = 1e-9


@dataclass(frozen=True)
class Bucket:
    tokens: float
    updated_at: float    # seconds, on whatever clock the caller uses throughout
    urgent_until: float = 0.0   # ordinary batches take nothing before then (rule 6)


@dataclass(frozen=True)
class Grant:
    granted: int         # how many of the costs, from the first, may go now
    bucket: Bucket       # the bucket after taking them
    retry_after: float   # seconds until costs[granted] could go; 0 when all were granted


def sender_rate(entry):
    """Segments per second of a configured sender: {"kind": "short_code"} or
    {"segments_per_second": 25}."""
    if not isinstance(entry, dict):
        raise ValueError("a sender must be a mapping with kind or segments_per_second")
    kinds = ", ".join(sorted(SENDER_RATES))
    if "segments_per_second" in entry:
        if "kind" in entry:
            raise ValueError("a sender sets kind or segments_per_second, not both")
        rate = entry["segments_per_second"]
        if isinstance(rate, bool) or not isinstance(rate, int | float) \
                or not math.isfinite(rate) or rate <= 0:
            raise ValueError(f"segments_per_second must be a positive number, not {rate!r}")
        return float(rate)
    if entry.get("kind") not in SENDER_RATES:
        raise ValueError(f"kind must be one of {kinds} (or set segments_per_second), "
                         f"not {entry.get('kind')!r}")
    return SENDER_RATES[entry["kind"]]


def burst_for(rate):
    """The default burst: one second's worth, at least one segment."""
    return max(float(rate), 1.0)


def full(now, rate, burst=None):
    """A new sender's bucket: full, so its first texts go at once."""
    return Bucket(tokens=burst_for(rate) if burst is None else float(burst), updated_at=now)


def refill(bucket, now, rate, burst=None):
    burst = burst_for(rate) if burst is None else burst
    if now <= bucket.updated_at:
        return bucket
    tokens = min(float(burst), bucket.tokens + (now - bucket.updated_at) * rate)
    return Bucket(tokens=tokens, updated_at=now, urgent_until=bucket.urgent_until)


def take(bucket, now, rate, burst, costs, urgent=False):
    """Take the segments of as many of `costs` (segments per text, in order) as may go now;
    `urgent`: an emergency's batch (rule 6)."""
    if rate <= 0:
        raise ValueError(f"rate must be a positive number of segments per second, not {rate!r}")
    burst = burst_for(rate) if burst is None else burst
    bucket = refill(bucket, now, rate, burst)
    if not urgent and costs and now < bucket.urgent_until:
        return Grant(0, bucket, bucket.urgent_until - now)
    tokens, granted = bucket.tokens, 0
    for cost in costs:
        if cost > tokens + _EPSILON:
            break
        tokens -= cost
        granted += 1
    if granted == 0 and costs and bucket.tokens >= burst - _EPSILON:
        tokens, granted = tokens - costs[0], 1     # longer than the burst: goes, in debt
    urgent_until = bucket.urgent_until
    if urgent and granted < len(costs):
        # the emergency's remaining segments accrue for it alone, then a grace to take them
        accrued = max(0.0, sum(costs[granted:]) - tokens) / rate
        urgent_until = max(urgent_until, bucket.updated_at + accrued + URGENT_GRACE_SECONDS)
    after = Bucket(tokens=tokens, updated_at=bucket.updated_at, urgent_until=urgent_until)
    if granted == len(costs):
        return Grant(granted, after, 0.0)
    needed = min(costs[granted], burst)
    return Grant(granted, after, max(0.0, (needed - tokens) / rate))
