"""Which provider errors are worth another try, and when — pure rules, no I/O.

A failed hand-over is classified, the first rule that applies deciding:

1. a network error (no answer, or none we could read)          → transient
2. a Twilio error code in TRANSIENT_CODES (queue full 30001, too many requests 20429,
   Twilio's own 20500 / 20503)                                   → transient
3. HTTP 429 or any 5xx                                          → transient
4. any other Twilio error code (21211 invalid number, 21610 the recipient sent STOP,
   21614 not a mobile, …)                                        → permanent, with that code
5. any other 4xx                                                → permanent

A permanent error ends the delivery `failed` at once. A transient one is tried again on the
RetryPolicy's schedule, kept by the broker or the database (never by a sleeping worker):

- the n-th retry waits first_delay × factor^(n-1), at most max_delay, spread by ± jitter
  (a share of the delay) so the retries of one batch do not come back together;
- never more than max_attempts tries in all, and none after first_attempt_at + max_age (a
  wait that would end later is cut to that moment);
- then the delivery ends `failed` with GIVE_UP_REASON and its credits are released.

A transient error may hide a text the provider did create (the answer was lost on the way
back), so a retry looks the text up by our reference before it sends it again.
"""

import math
import random
from dataclasses import dataclass, fields

GIVE_UP_REASON = "provider_unavailable"
TRANSIENT_CODES = frozenset({"30001", "20429", "20500", "20503"})


def classify(http_status, error_code, network_error):
    """"transient" or "permanent" for one failed hand-over to the provider."""
    code = None if error_code in (None, "") else str(error_code)
    if network_error or code in TRANSIENT_CODES:
        return "transient"
    if http_status is not None and (http_status == 429 or 500 <= http_status <= 599):
        return "transient"
    if code is not None or (http_status is not None and 400 <= http_status <= 499):
        return "permanent"
    raise ValueError(f"nothing says the send failed (HTTP {http_status}, no error code, "
                     "no network error)")


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 6        # tries in all, the first included
    first_delay: float = 2.0     # seconds before the first retry
    factor: float = 2.0
    max_delay: float = 300.0
    max_age: float = 1800.0      # seconds from the first try after which none is made
    jitter: float = 0.2          # each wait is spread by up to this share, either way

    def __post_init__(self):
        if isinstance(self.max_attempts, bool) or not isinstance(self.max_attempts, int) \
                or self.max_attempts < 1:
            raise ValueError(f"max_attempts must be a whole number of at least 1, "
                             f"not {self.max_attempts!r}")
        for name in ("first_delay", "max_delay", "max_age"):
            _require(name, getattr(self, name), lambda v: v > 0, "a positive number of seconds")
        _require("factor", self.factor, lambda v: v >= 1, "a number of at least 1")
        _require("jitter", self.jitter, lambda v: 0 <= v < 1, "a share from 0 to below 1")
        if self.max_delay < self.first_delay:
            raise ValueError("max_delay must be at least first_delay")

    @classmethod
    def from_config(cls, section):
        """From the `messaging.retries` section of the configuration (None: the defaults);
        a key left out keeps its default."""
        section = section or {}
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(section) - known)
        if unknown:
            raise ValueError(f"messaging.retries has no {', '.join(unknown)}; "
                             f"it takes {', '.join(sorted(known))}")
        return cls(**{k: v for k, v in section.items() if v is not None})


def delay(policy, attempts_made):
    """The wait before the next try, before jitter, after `attempts_made` tries."""
    if attempts_made < 1:
        return 0.0
    ceiling = math.log(policy.max_delay / policy.first_delay)
    if policy.factor > 1 and (attempts_made - 1) * math.log(policy.factor) >= ceiling:
        return policy.max_delay
    return min(policy.max_delay, policy.first_delay * policy.factor ** (attempts_made - 1))


def next_attempt(policy, attempts_made, first_attempt_at, now, rng=None):
    """When to try again (on the clock of `now`), or None when the tries or the time are
    used up and the delivery ends failed with GIVE_UP_REASON."""
    if attempts_made >= policy.max_attempts:
        return None
    deadline = first_attempt_at + policy.max_age
    if now >= deadline:
        return None
    wait = delay(policy, attempts_made)
    if wait and policy.jitter:
        wait *= (rng or random).uniform(1 - policy.jitter, 1 + policy.jitter)
    return min(now + wait, deadline)


def _require(name, value, rule, wanted):
    if isinstance(value, bool) or not isinstance(value, int | float) \
            or not math.isfinite(value) or not rule(value):
        raise ValueError(f"{name} must be {wanted}, not {value!r}")
