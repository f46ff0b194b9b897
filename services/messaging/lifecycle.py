"""The delivery state machine — pure rules, no I/O.

pending → queued → sending → sent → delivered | undelivered | failed; suppressed from
pending. A status only moves forward; a terminal status is never replaced, so a late
`sent` callback after `delivered` changes nothing.
"""

from contracts.vocabulary import STATUS_RANK, TERMINAL_STATUSES

# Twilio's MessageStatus values mapped onto ours
PROVIDER_STATUSES = {
    "accepted": "sending", "queued": "sending", "sending": "sending", "scheduled": "sending",
    "sent": "sent", "delivered": "delivered", "read": "delivered",
    "undelivered": "undelivered", "failed": "failed", "canceled": "failed",
}


def advances(current, new):
    """True when moving from `current` to `new` is a step forward."""
    if current in TERMINAL_STATUSES:
        return False
    return STATUS_RANK[new] > STATUS_RANK[current]


def from_provider(status):
    return PROVIDER_STATUSES.get(status)


def overall(counts):
    """The communication's status from its deliveries' counts by status."""
    total = sum(counts.values())
    if total == 0:
        return "accepted"
    done = sum(n for s, n in counts.items() if s in TERMINAL_STATUSES)
    if done < total:
        return "pending" if counts.get("pending", 0) == total else "sending"
    return "completed"
