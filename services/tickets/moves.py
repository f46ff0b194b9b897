"""Which status a work order may move to, and who may make each move — pure rules, no I/O.

The statuses are Pilera's: New, Acknowledged, Approved, In progress, In review, On hold,
Completed, Cancelled, Rejected. `MOVES` lists every allowed move; anything else is refused
naming the two statuses. Who may make a move, the first rule that applies deciding:

1. staff (or an API key) holding `manage_tickets` for the ticket's community make any
   allowed move — but reopening a completed ticket (completed → in_progress) only when the
   organization's `reopen_completed` is `staff` or `staff_and_reporter`;
2. the resident who reported it may cancel it while it is New, and may reopen it once it is
   Completed when the organization's setting is `staff_and_reporter`;
3. nobody else: another resident, or staff without `manage_tickets` there, is refused
   naming what they lack.

Cancelled and Rejected are final: nothing leaves them.
"""

from dataclasses import dataclass

from contracts.vocabulary import REOPEN_POLICIES, TICKET_STATUSES

MOVES = {
    "new": {"acknowledged", "approved", "in_progress", "on_hold", "completed", "cancelled",
            "rejected"},
    "acknowledged": {"approved", "in_progress", "on_hold", "completed", "cancelled",
                     "rejected"},
    "approved": {"in_progress", "on_hold", "completed", "cancelled"},
    "in_progress": {"in_review", "on_hold", "completed", "cancelled"},
    "in_review": {"in_progress", "on_hold", "completed", "cancelled"},
    "on_hold": {"acknowledged", "approved", "in_progress", "cancelled"},
    "completed": {"in_progress"},          # reopening: an organization setting decides
    "cancelled": set(),
    "rejected": set(),
}
FINAL = frozenset(s for s, targets in MOVES.items() if not targets)
REOPEN = ("completed", "in_progress")
assert set(MOVES) == set(TICKET_STATUSES)


@dataclass(frozen=True)
class Mover:
    """What the rules need to know about who asks."""

    is_manager: bool = False       # manage_tickets for the ticket's community
    is_reporter: bool = False      # the resident who reported it
    is_resident: bool = False


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str | None = None      # why not, in words a user can act on
    field: str = "status"


def decide(current, target, mover, reopen_policy="staff"):
    """May `mover` move a ticket from `current` to `target`?"""
    if reopen_policy not in REOPEN_POLICIES:
        raise ValueError(f"unknown reopen policy {reopen_policy!r}")
    if target not in MOVES:
        return Decision(False, f"{target!r} is not a status; use one of "
                               f"{', '.join(TICKET_STATUSES)}")
    if target == current:
        return Decision(False, f"the ticket is already {current}")
    if target not in MOVES[current]:
        if current in FINAL:
            return Decision(False, f"a {current} ticket is final: it moves nowhere")
        return Decision(False, f"a ticket cannot move from {current} to {target}; from "
                               f"{current} it may go to {', '.join(sorted(MOVES[current]))}")
    reopening = (current, target) == REOPEN
    if mover.is_manager:
        if reopening and reopen_policy == "nobody":
            return Decision(False, "this organization does not reopen completed tickets "
                                   "(reopen_completed is nobody): report a new one")
        return Decision(True)
    if mover.is_reporter:
        if (current, target) == ("new", "cancelled"):
            return Decision(True)
        if reopening and reopen_policy == "staff_and_reporter":
            return Decision(True)
        if reopening:
            return Decision(False, "only management may reopen a completed ticket here",
                            "permission")
        return Decision(False, "a resident may cancel their own ticket while it is new, "
                               "and nothing else", "permission")
    if mover.is_resident:
        return Decision(False, "only the resident who reported it may cancel a ticket",
                        "permission")
    return Decision(False, "moving a ticket needs the permission 'manage_tickets' for its "
                           "community", "permission")


def allowed_moves(current, mover, reopen_policy="staff"):
    """Every status `mover` may move the ticket to now, sorted as the statuses are."""
    return [s for s in TICKET_STATUSES
            if s in MOVES[current] and decide(current, s, mover, reopen_policy).allowed]

