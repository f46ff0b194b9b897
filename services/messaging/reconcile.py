"""Deliveries whose outcome is unknown, and what the sweeper does with them — pure rules.

A delivery is unknown while it is `sending` or `sent` with no final status. The sweeper
(once per period however many instances run) asks `due` about each, the first rule that
applies deciding:

1. not sending or sent                                   → nothing (None)
2. no provider id (a crash between claiming it and recording the provider's answer, or an
   answer lost on the way back), unchanged for stale_sending_after → "find": look for it at
   the provider by our reference (to, body, since handed_at) — never sent again blindly;
3. handed over give_up_after + reconcile_after ago (even the last look-up could not be made)
   → "give_up";
4. handed over give_up_after ago and not looked up since  → "look_up", one last time;
5. no news for reconcile_after, or since the last look-up for a quarter of the time it has
   been unknown if that is longer (so a text the carrier never confirms is asked about
   some 30 times in 72 h, not every sweep)               → "look_up" by the provider's id;
6. otherwise                                             → not yet (None).

The provider's answer (`after_look_up`) is mapped through lifecycle.from_provider and taken
only if it is a step forward (lifecycle.advances). A final answer ends the delivery; one
that is not final, or a provider that does not know the id, waits — until give_up_after,
when the delivery ends `unconfirmed`.

`unconfirmed` (`give_up`) settles the delivery's credits when the provider accepted the
text and reported it `sent` — it has the provider's id and carriers bill what was sent to
them; some carriers never send a delivery receipt, so `sent` is as final as it gets there.
It releases them otherwise: a text the provider still called queued or sending after
72 h, or one it has no record of, never reached a carrier. A known outcome settles only
`delivered`, as every callback does.

A text that `find` does not find was never taken by the provider: it goes back to
`queued` to be sent again under the retry policy (the one move back), unless it has been
unknown past give_up_after, when it ends `failed` (retries.GIVE_UP_REASON) — a
three-day-old announcement is not sent late.
"""

import math
from dataclasses import dataclass, fields

from services.messaging import lifecycle
from services.messaging.retries import GIVE_UP_REASON

UNKNOWN_STATUSES = frozenset({"sending", "sent"})


@dataclass(frozen=True)
class ReconcilePolicy:
    reconcile_after: float = 300.0       # seconds without news before the provider is asked
    give_up_after: float = 259200.0      # 72 h: then a delivery ends unconfirmed
    stale_sending_after: float = 60.0    # sending without a provider id: looked for after

    def __post_init__(self):
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int | float) \
                    or not math.isfinite(value) or value <= 0:
                raise ValueError(f"messaging.{f.name} must be a positive number of seconds, "
                                 f"not {value!r}")
        if self.give_up_after < self.reconcile_after:
            raise ValueError("messaging.give_up_after must be at least "
                             "messaging.reconcile_after")

    @classmethod
    def from_config(cls, config):
        """From the `messaging` section (or the whole configuration, which holds it): its
        keys reconcile_after, give_up_after and stale_sending_after, in seconds; a key
        left out or null keeps its default."""
        config = config or {}
        section = config.get("messaging") if isinstance(config.get("messaging"), dict) \
            else config
        return cls(**{f.name: section[f.name] for f in fields(cls)
                      if section.get(f.name) is not None})


@dataclass(frozen=True)
class Unknown:
    """A delivery as the sweeper sees it (times in seconds, one clock)."""
    status: str
    provider_id: str | None
    handed_at: float                     # claimed for sending / handed to the provider
    last_change_at: float                # its latest status change
    looked_up_at: float | None = None    # the sweeper's latest question about it, if any


@dataclass(frozen=True)
class Decision:
    """What becomes of the delivery: status None — nothing yet, ask again later."""
    status: str | None
    reason: str | None
    settle: bool | None                  # True settle, False release, None: not ended
    provider_id: str | None = None       # the provider's id, when `find` found it


WAIT = Decision(None, None, None)


def due(policy, unknown, now):
    """"look_up", "find", "give_up" or None (see the rules)."""
    if unknown.status not in UNKNOWN_STATUSES:
        return None
    if unknown.provider_id is None:
        stale = now - unknown.last_change_at >= policy.stale_sending_after
        return "find" if stale else None
    age = now - unknown.handed_at
    if age >= policy.give_up_after + policy.reconcile_after:
        return "give_up"
    deadline = unknown.handed_at + policy.give_up_after
    if age >= policy.give_up_after and (unknown.looked_up_at or -math.inf) < deadline:
        return "look_up"
    since = max(unknown.last_change_at, unknown.looked_up_at or -math.inf)
    wait = max(policy.reconcile_after, (since - unknown.handed_at) / 4)
    return "look_up" if now - since >= wait else None


def after_look_up(unknown, provider_status, now, policy):
    """The provider's answer about a delivery it has the id of (provider_status None: it
    does not know the id), as a Decision."""
    status = _taken(unknown.status, provider_status)
    if status in lifecycle.TERMINAL:
        return _ended(status, provider_status)
    if now - unknown.handed_at >= policy.give_up_after:
        found = provider_status is not None
        return _unconfirmed(status, unknown.provider_id if found else None, policy)
    if status != unknown.status:
        return Decision(status, None, None)
    return WAIT


def after_find(unknown, found, now, policy):
    """What looking a delivery up by our reference found: (provider id, its status) or None."""
    if found is None:
        if now - unknown.handed_at >= policy.give_up_after:
            return Decision("failed", GIVE_UP_REASON, False)
        return Decision("queued", "not found at the provider: to be sent again", None)
    provider_id, provider_status = found
    status = _taken(unknown.status, provider_status)
    if status in lifecycle.TERMINAL:
        return _ended(status, provider_status, provider_id)
    return Decision(status, None, None, provider_id)


def give_up(unknown, policy=None):
    """The end of a delivery the provider never gave a final status for."""
    return _unconfirmed(unknown.status, unknown.provider_id, policy or ReconcilePolicy())


def _taken(current, provider_status):
    new = lifecycle.from_provider(provider_status) if provider_status else None
    return new if new is not None and lifecycle.advances(current, new) else current


def _ended(status, provider_status, provider_id=None):
    reason = None if status == "delivered" else f"the provider reported it {provider_status}"
    return Decision(status, reason, status == "delivered", provider_id)


def _unconfirmed(status, provider_id, policy):
    hours = f"{policy.give_up_after / 3600:g} h"
    if provider_id is None:
        return Decision("unconfirmed", f"no record of it at the provider after {hours}", False)
    if status == "sent":
        return Decision("unconfirmed", f"sent, but no final status from the provider after "
                                       f"{hours}", True)
    return Decision("unconfirmed", f"the provider never reported it sent after {hours}", False)
