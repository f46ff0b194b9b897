"""Who is told of a work order's change, and in what words — pure rules, no I/O.

Work-order notices are business transactions: no unsubscribe link, no consent needed, but a
resident's channel preferences still apply (messaging sends them through the ordinary
pipeline under the organization's transactional work-order category; emails are free, texts
are paid like any other). Every notice opens with the community's custom header text
("Ticket Work Order Email Message") when it has one.

1. A new ticket: management is told — the staff the community's settings name for
   `created` (by role or permission held for the community, or by name; by default its
   managers and dispatchers) — except whoever reported it.
2. A resident's comment: management is told likewise (`resident_commented`).
3. A move: the reporter is told of the new status, with the move's note when residents may
   read it — unless they made the move themselves.
4. A comment residents may read, written by staff: the reporter is told, with its text.
   A managers-only comment or note tells no resident anything, in any channel.
A resident reporter hears back on the community's `reporter_channels` (email by default);
a staff reporter by email.
"""

from dataclasses import dataclass, field

DEFAULT_NOTIFY_ROLES = ("manager", "dispatcher")
STATUS_WORDS = {"new": "New", "acknowledged": "Acknowledged", "approved": "Approved",
                "in_progress": "In progress", "in_review": "In review", "on_hold": "On hold",
                "completed": "Completed", "cancelled": "Cancelled", "rejected": "Rejected"}
KIND_WORDS = {"unit": "unit work order", "common_area": "common-area work order"}


@dataclass(frozen=True)
class TicketText:
    """What a notice says of its ticket."""

    number: str
    kind: str
    title: str
    community_name: str
    place: str                       # "unit 101" or "Lobby"
    priority: str
    description: str = ""


@dataclass(frozen=True)
class Reporter:
    type: str                        # resident or staff
    id: str
    email: str | None = None         # staff: where to write


@dataclass(frozen=True)
class Settings:
    email_header: str | None = None
    reporter_channels: tuple = ("email",)
    notify: dict = field(default_factory=dict)


def staff_rule(settings, occasion):
    """(roles, staff_user_ids) the community names for `occasion` (created,
    resident_commented); its managers and dispatchers when it names nobody."""
    rule = (settings.notify or {}).get(occasion) or {}
    roles, named = tuple(rule.get("roles") or ()), tuple(rule.get("staff_user_ids") or ())
    if not roles and not named:
        roles = DEFAULT_NOTIFY_ROLES
    return roles, named


def _body(settings, *paragraphs):
    parts = [settings.email_header.strip()] if (settings.email_header or "").strip() else []
    return "\n\n".join(parts + [p for p in paragraphs if p])


def _subject(ticket, what):
    return f"[{ticket.community_name}] {what} {ticket.number}: {ticket.title}"


def _staff(recipients, subject, body, but=None):
    return [{"to": "staff", "id": r["id"], "email": r["email"], "subject": subject,
             "body": body} for r in recipients if r.get("email") and r["id"] != but]


def _reporter(reporter, settings, subject, body):
    if reporter.type == "resident":
        return [{"to": "resident", "id": reporter.id,
                 "channels": list(settings.reporter_channels), "subject": subject,
                 "body": body}]
    if reporter.email:
        return [{"to": "staff", "id": reporter.id, "email": reporter.email,
                 "subject": subject, "body": body}]
    return []


def on_created(ticket, settings, staff, reporter_name, reporter):
    """Notices for management of a new ticket (`staff`: [{id, email, name}])."""
    body = _body(settings,
                 f"A new {KIND_WORDS[ticket.kind]} was reported at {ticket.community_name}, "
                 f"{ticket.place}.",
                 f"{ticket.number}: {ticket.title}\nPriority: {ticket.priority}\n"
                 f"Reported by: {reporter_name}",
                 ticket.description)
    return _staff(staff, _subject(ticket, "New work order"), body, but=reporter.id)


def on_resident_comment(ticket, settings, staff, author_name, comment):
    body = _body(settings, f"{author_name} commented on {ticket.number}: {ticket.title} "
                           f"({ticket.community_name}, {ticket.place}).", comment)
    return _staff(staff, _subject(ticket, "Resident comment on"), body)


def on_moved(ticket, settings, reporter, mover_id, status, note=None):
    """The reporter's notice of a move (none when they made it)."""
    if reporter.id == mover_id:
        return []
    body = _body(settings, f"Your work order {ticket.number} \"{ticket.title}\" is now "
                           f"{STATUS_WORDS[status]}.", note and f"Note from management: {note}")
    return _reporter(reporter, settings, _subject(ticket, f"{STATUS_WORDS[status]}:"), body)


def on_staff_comment(ticket, settings, reporter, comment):
    """The reporter's notice of a comment they may read (only such comments come here)."""
    body = _body(settings, f"Management commented on your work order {ticket.number} "
                           f"\"{ticket.title}\":", comment)
    return _reporter(reporter, settings, _subject(ticket, "New comment on"), body)
