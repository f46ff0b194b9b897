"""Who sees which work order, and which of its comments, attachments and notes — pure rules
over the shared caller policy (servicekit.access.Caller), no I/O.

A ticket, the first rule that applies deciding:
1. another organization's ticket does not exist for the caller (not found, never forbidden);
2. a resident sees the unit tickets of their own unit and every common-area ticket of their
   own community — nobody else's unit tickets, none of another community;
3. staff and API keys see the tickets of every community they hold any permission for;
   changing one (editing, moving, assigning, due dates) needs `manage_tickets` there.

What a reader of a ticket sees of it:
- a comment, an attachment or a move's note marked `managers_only` is read by staff only:
  residents never get it, in any answer, list, export, activity entry or notice;
- a vendor assignee's email and phone are read by staff only;
- the reporter and staff read the rest.
"""

from dataclasses import dataclass

from servicekit.access import EVERYWHERE

STAFF_ONLY = "managers_only"
SHARED = "managers_and_residents"


@dataclass(frozen=True)
class Place:
    """Where a ticket is, as the rules need it."""

    organization_id: str
    community_id: str
    kind: str                       # unit or common_area
    unit_id: str | None = None


def sees(caller, place):
    """Whether `caller` may read a ticket at `place` (assumes the same organization)."""
    if caller.is_system:
        return True
    if caller.is_resident:
        mine = caller.resident or {}
        if place.kind == "common_area":
            return mine.get("community_id") == place.community_id
        return place.unit_id is not None and mine.get("unit_id") == place.unit_id
    return caller.sees_community(place.community_id)


def manages(caller, community_id):
    """Whether `caller` may change tickets of this community (manage_tickets there)."""
    return not caller.is_resident and caller.may("manage_tickets", community_id)


def reads(caller, visibility):
    """Whether `caller` may read something marked `visibility`."""
    return visibility != STAFF_ONLY or not caller.is_resident


def readable(caller):
    """The visibilities `caller` reads."""
    return (SHARED,) if caller.is_resident else (SHARED, STAFF_ONLY)


def may_mark(caller, visibility):
    """Residents write only what everyone reads; staff choose."""
    return visibility == SHARED or not caller.is_resident


def list_scope(caller):
    """What a list of tickets is narrowed to for this caller:
    ("everything", None) for the system; ("resident", (community_id, unit_id));
    ("communities", EVERYWHERE or a set of community ids) for staff and keys."""
    if caller.is_system:
        return "everything", None
    if caller.is_resident:
        mine = caller.resident or {}
        return "resident", (mine.get("community_id"), mine.get("unit_id"))
    visible = caller.communities()
    return "communities", (EVERYWHERE if visible == EVERYWHERE else set(visible))
