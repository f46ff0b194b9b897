"""A work order on paper: its details, the comments and the activity log its reader may
read — as a PDF (fpdf2, no system fonts needed). Pure: a ticket view and its log entries in
(already cut to the reader, views.py), bytes out; the same inputs and time give the same
document."""

from datetime import datetime

from servicekit.pdf_text import a4_document
from servicekit.pdf_text import shown as _text
from services.tickets.notifying import STATUS_WORDS

LINE_HEIGHT = 5.5
LABEL_WIDTH = 45
ACTION_WORDS = {"created": "reported", "changed": "changed", "moved": "moved",
                "assigned": "assigned", "commented": "commented",
                "attachment_added": "attached a file", "due_date_changed": "changed the due "
                "date", "overdue": "marked overdue"}


def render_ticket_pdf(ticket, entries, community_name, printed_at: datetime) -> bytes:
    pdf = a4_document(f"Work order {ticket['number']}", printed_at)
    pdf.set_font("Helvetica", "B", 16)
    pdf.multi_cell(0, 9, _text(f"Work order {ticket['number']}: {ticket['title']}"),
                   new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 9)
    pdf.cell(0, LINE_HEIGHT, _text(f"{community_name} - printed "
                                   f"{printed_at.strftime('%Y-%m-%d %H:%M %Z')}"),
             new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    for label, value in details(ticket):
        _row(pdf, label, value)
    _section(pdf, "Description")
    _paragraph(pdf, ticket.get("description") or "(none)")
    _section(pdf, "Comments")
    if not ticket.get("comments"):
        _paragraph(pdf, "(none)")
    for comment in ticket.get("comments") or ():
        pdf.set_font("Helvetica", "B", 10)
        pdf.multi_cell(0, LINE_HEIGHT, _text(comment_heading(comment)), new_x="LMARGIN",
                       new_y="NEXT")
        _paragraph(pdf, comment["body"])
    _section(pdf, "Files")
    for line in file_lines(ticket) or ["(none)"]:
        _paragraph(pdf, line)
    _section(pdf, "Activity")
    for entry in entries:
        _paragraph(pdf, activity_line(entry))
    return bytes(pdf.output())


def details(ticket):
    """(label, value) rows of the ticket's facts, as printed and on the printable page."""
    place = (f"Unit {ticket.get('unit_label') or ticket.get('unit_id')}"
             if ticket["kind"] == "unit" else f"Common area: {ticket.get('location')}")
    assignee = ticket.get("assignee")
    rows = [("Status", STATUS_WORDS[ticket["status"]]), ("Where", place),
            ("Category", ticket["category"]), ("Priority", ticket["priority"]),
            ("Reported by", (ticket.get("reporter") or {}).get("name") or "-"),
            ("Reported", _when(ticket["created_at"])),
            ("Due", _when(ticket.get("due_at")) + (" (overdue)" if ticket.get("overdue")
                                                  else "")),
            ("Assigned to", assignee["name"] if assignee else "nobody yet")]
    if ticket["kind"] == "unit":
        rows.append(("Permission to enter", "yes" if ticket.get("permission_to_enter")
                     else "no"))
        if ticket.get("entry_notes"):
            rows.append(("Entry notes", ticket["entry_notes"]))
        for window in ticket.get("preferred_times") or ():
            days = ", ".join(window.get("days") or ()) or "any day"
            rows.append(("Preferred time", f"{days} {window['start']}-{window['end']}"))
    if ticket.get("completed_at"):
        rows.append(("Completed", _when(ticket["completed_at"])))
    return rows


def comment_heading(comment):
    """When and by whom a comment was written, as printed and on the printable page (a
    managers-only one says so)."""
    author = (comment.get("author") or {}).get("name") or (comment.get("author") or {}).get(
        "type")
    marker = " [managers only]" if comment["visibility"] == "managers_only" else ""
    return f"{_when(comment['created_at'])} {author}{marker}"


def file_lines(ticket):
    """One line per file the reader may see, the ticket's own and its comments', as printed
    and on the printable page: a printout says what was attached even without the bytes."""
    files = list(ticket.get("attachments") or ())
    for comment in ticket.get("comments") or ():
        files += comment.get("attachments") or ()
    return [f"{f['filename']} ({f['content_type']}, {_size(f['size'])}), "
            f"{_when(f['created_at'])}" for f in files]


def _size(size):
    return f"{size} bytes" if size < 1024 else (
        f"{size / 1024:.0f} KB" if size < 1024 * 1024 else f"{size / 1024 / 1024:.1f} MB")


def activity_line(entry):
    who = (entry.get("actor") or {}).get("name") or (entry.get("actor") or {}).get("type")
    what = ACTION_WORDS.get(entry["action"], entry["action"])
    details = entry.get("details") or {}
    if entry["action"] == "moved":
        what = (f"moved it from {STATUS_WORDS.get(details.get('from'), details.get('from'))} "
                f"to {STATUS_WORDS.get(details.get('to'), details.get('to'))}")
    elif entry["action"] == "assigned":
        to = details.get("to")
        what = f"assigned it to {to['name']}" if to else "unassigned it"
    elif entry["action"] == "attachment_added" and details.get("filename"):
        what = f"attached {details['filename']}"
    elif entry["action"] == "changed":
        what = "changed " + ", ".join(sorted(details.get("fields") or {}))
    line = f"{_when(entry['at'])} {who} {what}"
    if details.get("note"):
        line += f": {details['note']}"
    return line


def _when(iso):
    return iso[:16].replace("T", " ") + " UTC" if iso else "-"


def _row(pdf, label, value):
    pdf.set_font("Helvetica", "B", 10)
    pdf.cell(LABEL_WIDTH, LINE_HEIGHT, _text(label))
    pdf.set_font("Helvetica", "", 10)
    pdf.multi_cell(0, LINE_HEIGHT, _text(str(value)), new_x="LMARGIN", new_y="NEXT")


def _section(pdf, heading):
    pdf.ln(3)
    pdf.set_font("Helvetica", "B", 12)
    pdf.cell(0, 7, _text(heading), new_x="LMARGIN", new_y="NEXT")


def _paragraph(pdf, text):
    pdf.set_font("Helvetica", "", 10)
    pdf.multi_cell(0, LINE_HEIGHT, _text(text), new_x="LMARGIN", new_y="NEXT")
