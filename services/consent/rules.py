"""Who may be reached on which channel for a category — pure rules, no I/O.

A category's mode sets the default: `opt_in` reaches everybody until they opt out;
`opt_out` and `request` reach nobody until they opt in (express consent). The resident's
latest act decides after that. A withdrawal for the whole channel (STOP, or "no texts")
wins over every category, transactional ones included; a transactional category ignores
category-level opt-outs (business transactions need no consent).
"""

from dataclasses import dataclass

MODES = ("request", "opt_in", "opt_out")


@dataclass(frozen=True)
class Act:
    category_id: str | None   # None: the whole channel
    action: str               # "grant" or "withdraw"
    seq: int                  # order in the log


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str | None = None


def decide(mode, transactional, acts, has_contact_point):
    """acts: this resident's acts on this channel (any category or the whole channel)."""
    if not has_contact_point:
        return Decision(False, "no_contact_point")
    channel_acts = [a for a in acts if a.category_id is None]
    if channel_acts and _latest(channel_acts).action == "withdraw":
        return Decision(False, "opted_out_of_channel")
    if transactional:
        return Decision(True)
    category_acts = [a for a in acts if a.category_id is not None]
    if category_acts:
        latest = _latest(category_acts)
        return Decision(True) if latest.action == "grant" else Decision(False, "opted_out")
    if mode == "opt_in":
        return Decision(True)
    return Decision(False, "no_consent")


def _latest(acts):
    return max(acts, key=lambda a: a.seq)
