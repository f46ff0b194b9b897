"""The delivery status machine — pure rules, no I/O.

A delivery moves only along MOVES, one table:

- pending → queued (consent given, credits held) | suppressed (not to be sent, with its
  reason) | failed (it cannot be paid for) | cancelled;
- queued → sending (a dispatch worker claimed it) | failed | cancelled;
- sending → sent | delivered | undelivered | failed (the provider's answer) | unconfirmed
  (no final answer however long we asked) | queued — the one move back: the provider did not
  take it (a transient error) and a retry is scheduled | cancelled (claimed by a worker, a
  cancel came before its provider call);
- sent → delivered | undelivered | failed | unconfirmed;
- a terminal status (TERMINAL) moves nowhere.

Nothing handed to the provider is cancelled: cancel stops pending and queued deliveries, and
those a worker claimed but has not yet called the provider for.

Provider callbacks use `advances` instead, a forward-only test over STATUS_RANK: a callback
may skip steps (`delivered` straight after `queued`), never goes back, and never replaces a
terminal status, so a late `sent` after `delivered` changes nothing.

A communication's status (`overall`), the first rule that applies:

1. cancelled, and every delivery terminal               → cancelled
2. nothing recorded yet and the audience not resolved    → accepted
3. every delivery terminal and the audience complete     → completed (an empty audience too)
4. some delivery queued or handed to the provider, or one
   that ended other than suppressed (the send is under way) → sending
5. otherwise (audience resolving, deliveries pending)    → preparing

A cancelled send whose handed-over deliveries still await the provider is `sending` until they
end.
"""

from contracts.vocabulary import STATUS_RANK, TERMINAL_STATUSES

TERMINAL = TERMINAL_STATUSES

MOVES = {
    "pending": frozenset({"queued", "suppressed", "failed", "cancelled"}),
    "queued": frozenset({"sending", "failed", "cancelled"}),
    "sending": frozenset({"sent", "delivered", "undelivered", "failed", "unconfirmed",
                          "queued", "cancelled"}),
    "sent": frozenset({"delivered", "undelivered", "failed", "unconfirmed"}),
    **{status: frozenset() for status in TERMINAL},
}

# Twilio's MessageStatus and CallStatus values mapped onto ours. A call that rings is
# `sending`, one answered is `sent`, one that ended after it was answered is `delivered`
# (charged by its duration); busy and no-answer are `undelivered`, failed and canceled
# `failed` (all four free). The two vocabularies share only words that mean the same.
PROVIDER_STATUSES = {
    "accepted": "sending", "queued": "sending", "sending": "sending", "scheduled": "sending",
    "sent": "sent", "delivered": "delivered", "read": "delivered",
    "undelivered": "undelivered", "failed": "failed", "canceled": "failed",
    "initiated": "sending", "ringing": "sending", "in-progress": "sent",
    "completed": "delivered", "busy": "undelivered", "no-answer": "undelivered",
}

_UNDER_WAY = frozenset({"queued", "sending", "sent"}) | (TERMINAL - {"suppressed"})


def may_move(current, new):
    """True when MOVES allows `current` → `new` (an unknown status moves nowhere)."""
    return new in MOVES.get(current, ())


def advances(current, new):
    """True when a provider's `new` is a step forward from `current`."""
    if current in TERMINAL:
        return False
    return STATUS_RANK[new] > STATUS_RANK[current]


def from_provider(status):
    """Our status for Twilio's, or None for one that says nothing about a delivery."""
    return PROVIDER_STATUSES.get(status)


def overall(counts, audience_complete=True, cancelled=False):
    """The communication's status from its deliveries' counts by status (see the rules)."""
    total = sum(counts.values())
    done = _terminal(counts)
    if cancelled and done == total:
        return "cancelled"
    if total == 0 and not audience_complete:
        return "accepted"
    if done == total and audience_complete:
        return "completed"
    if any(counts.get(status, 0) for status in _UNDER_WAY):
        return "sending"
    return "preparing"


def progress(counts, audience_complete=True):
    """The share of deliveries that ended, 0..1: 1.0 for a resolved audience with nothing to
    send, 0.0 while nothing is known yet. While the audience resolves, it is the share of
    those known so far."""
    total = sum(counts.values())
    if total == 0:
        return 1.0 if audience_complete else 0.0
    return _terminal(counts) / total


def _terminal(counts):
    return sum(n for status, n in counts.items() if status in TERMINAL)
