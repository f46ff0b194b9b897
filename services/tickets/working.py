"""Working on a work order: changing its details, moving it through its statuses, assigning
it. Mixed into TicketsService.

- Changes: staff with `manage_tickets` for the community change any detail, the priority,
  the category and the due date; the resident who reported it may change what they wrote
  (title, description, entry permission and notes, preferred times, contact email) while
  it is New. A new priority moves a due date not set by hand (due_dates.py).
- Moves: moves.py decides; each keeps who, when and an optional note (managers-only or
  not). The first move by staff out of New times the acknowledgement; completing times the
  completion (a reopened ticket's is timed again when it completes again).
- Assignment: staff with `manage_tickets` assign a staff user or a team of the
  organization, or a named vendor with contact details, or nobody.
Every change is in the activity log and announced in its own transaction; the reporter is
told of each move.
"""

from contracts.errors import Forbidden, InvalidRequest
from servicekit.access import Caller
from servicekit.db import utcnow
from servicekit.entrypoints import rpc
from services.tickets import (
    activity,
    announcing,
    due_dates,
    moves,
    policy,
    settings,
    visibility,
)
from services.tickets.models import OrganizationTicketSettings
from services.tickets.reading import full_view

REPORTER_FIELDS = ("title", "description", "permission_to_enter", "entry_notes",
                   "preferred_times", "contact_email")
STAFF_FIELDS = REPORTER_FIELDS + ("category", "priority", "location", "due_at")


class Working:
    @rpc
    def update_ticket(self, identity, ticket_id, fields):
        caller = Caller.of(identity)
        unknown = set(fields) - set(STAFF_FIELDS)
        if unknown:
            raise InvalidRequest("cannot be changed", sorted(unknown)[0])
        with self.db.unit_of_work() as uow:
            session = uow.session
            row = policy.for_reading(session, caller, ticket_id, lock=True)
            org = settings.organization_view(
                row.organization_id, session.get(OrganizationTicketSettings,
                                                 row.organization_id))
            _may_change(caller, row, fields)
            now = utcnow()
            changed = {}
            for name in STAFF_FIELDS:
                if name not in fields or name == "due_at":
                    continue
                value = fields[name]
                if name == "category":
                    value = value.strip().lower()
                    if value not in org["categories"]:
                        raise InvalidRequest(f"{value!r} is not one of this organization's "
                                             f"categories: {', '.join(org['categories'])}",
                                             "category")
                if name in ("entry_notes", "permission_to_enter", "preferred_times") and \
                        row.kind != "unit" and value:
                    raise InvalidRequest("belongs to unit work orders only", name)
                if getattr(row, name) != value:
                    changed[name] = {"from": getattr(row, name), "to": value}
                    setattr(row, name, value)
            due_before = row.due_at
            if "due_at" in fields:
                if fields["due_at"] is None:
                    row.due_set_by_hand = False
                    row.due_at = due_dates.due_at(row.created_at, row.priority,
                                                  org["response_targets_hours"])
                else:
                    row.due_set_by_hand = True
                    row.due_at = due_dates.moment(fields["due_at"], "due_at")
            elif "priority" in changed and not row.due_set_by_hand:
                row.due_at = due_dates.due_at(row.created_at, row.priority,
                                              org["response_targets_hours"])
            if changed:
                activity.record(session, row.id, identity, "changed",
                                {"fields": _printable(changed)}, at=now)
            if row.due_at != due_before:
                if row.due_at and row.due_at > now:
                    row.overdue_at = None     # a later due date may pass again, and is told
                activity.record(session, row.id, identity, "due_date_changed",
                                {"from": due_before and due_before.isoformat(),
                                 "to": row.due_at and row.due_at.isoformat()}, at=now)
            row.updated_at = now
            session.flush()
            return full_view(session, caller, row)

    @rpc
    def move_ticket(self, identity, ticket_id, status, note=None,
                    note_visibility=visibility.SHARED):
        caller = Caller.of(identity)
        if not visibility.may_mark(caller, note_visibility):
            raise Forbidden("residents write only what everyone reads", "note_visibility")
        with self.db.read() as session:
            row = policy.for_reading(session, caller, ticket_id)
        reporter_email = announcing.staff_reporter_email(self.directory, row)
        with self.db.unit_of_work() as uow:
            session = uow.session
            row = policy.for_reading(session, caller, ticket_id, lock=True)
            org = settings.organization_view(
                row.organization_id, session.get(OrganizationTicketSettings,
                                                 row.organization_id))
            decision = moves.decide(row.status, status, policy.mover(caller, row),
                                    org["reopen_completed"])
            if not decision.allowed:
                if decision.field == "permission":
                    raise Forbidden(decision.reason, "permission")
                raise InvalidRequest(decision.reason, "status")
            now, previous = utcnow(), row.status
            row.status, row.updated_at = status, now
            staff = not caller.is_resident
            if staff and previous == "new" and row.acknowledged_at is None:
                row.acknowledged_at = now
            if staff and row.first_response_at is None:
                row.first_response_at = now
            row.completed_at = now if status == "completed" else (
                None if previous == "completed" else row.completed_at)
            details = {"from": previous, "to": status, "note_visibility": note_visibility}
            if note:
                details["note"] = note
            activity.record(session, row.id, identity, "moved", details, at=now)
            session.flush()
            announcing.moved(uow, row, previous, caller.actor_type, caller.actor_id, note,
                             note_visibility, reporter_email)
            return full_view(session, caller, row)

    @rpc
    def assign_ticket(self, identity, ticket_id, assignee, note=None):
        caller = Caller.of(identity)
        with self.db.read() as session:
            row = policy.for_change(session, caller, ticket_id)
        chosen = self._assignee(row, assignee)
        with self.db.unit_of_work() as uow:
            session = uow.session
            row = policy.for_change(session, caller, ticket_id)
            now = utcnow()
            previous = ({"type": row.assignee_type, "id": row.assignee_id,
                         "name": row.assignee_name} if row.assignee_type else None)
            (row.assignee_type, row.assignee_id, row.assignee_name, row.assignee_email,
             row.assignee_phone) = chosen
            row.updated_at = now
            if row.first_response_at is None:
                row.first_response_at = now
            details = {"from": previous,
                       "to": {"type": chosen[0], "id": chosen[1], "name": chosen[2]}
                       if chosen[0] else None, "note_visibility": visibility.STAFF_ONLY}
            if note:
                details["note"] = note
            activity.record(session, row.id, identity, "assigned", details, at=now)
            session.flush()
            announcing.assigned(uow, row)
            return full_view(session, caller, row)

    def _assignee(self, row, assignee):
        """(type, id, name, email, phone) of the new assignee; all None for nobody."""
        if assignee is None:
            return None, None, None, None, None
        kind = assignee["type"]
        if kind == "vendor":
            return ("vendor", None, assignee["name"], assignee.get("email"),
                    assignee.get("phone"))
        found = self.directory.staff_contacts(
            settings.system_identity(row.organization_id), row.community_id,
            staff_user_ids=[assignee["id"]] if kind == "staff" else [],
            team_ids=[assignee["id"]] if kind == "team" else [])
        match = next((f for f in found["staff" if kind == "staff" else "teams"]
                      if f["id"] == assignee["id"]), None)
        if match is None:
            raise InvalidRequest(f"{kind} {assignee['id']} is not a {kind} of this "
                                 "organization", "assignee.id")
        return kind, match["id"], match["name"], None, None


def _may_change(caller, row, fields):
    if visibility.manages(caller, row.community_id):
        return
    if caller.is_resident and caller.actor_id == row.reporter_id:
        staff_only = sorted(set(fields) - set(REPORTER_FIELDS))
        if staff_only:
            raise Forbidden(f"only management changes {staff_only[0]}", staff_only[0])
        if row.status != "new":
            raise Forbidden("a resident changes their work order only while it is new; "
                            "add a comment instead", "status")
        return
    policy.require_manager(caller, row.community_id)


def _printable(changed):
    """The activity log's record of changed fields (times as text)."""
    return {name: {side: (value.isoformat() if hasattr(value, "isoformat") else value)
                   for side, value in change.items()} for name, change in changed.items()}
