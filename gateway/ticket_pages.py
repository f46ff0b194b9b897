"""A work order's printable page: what its PDF says (services/tickets/printing.py gives both
the rows of details, the comments' headings and the log's lines), as plain HTML with a print
stylesheet. The ticket and its log come already cut to the reader by tickets; every value is
escaped here."""

from html import escape

from gateway.pages import page
from services.tickets import printing

STYLE = """
main{max-width:48rem}
h2{font-size:1.1rem;margin:1.5rem 0 .5rem;border-bottom:1px solid #d0d7de}
table.details{border-collapse:collapse}
table.details th{text-align:left;vertical-align:top;padding:.15rem 1.5rem .15rem 0;
white-space:nowrap}
table.details td{padding:.15rem 0}
.text{white-space:pre-wrap;margin:.25rem 0 .75rem}
.comment .meta{font-weight:600;margin:.5rem 0 0}
.managers-only .meta{color:#9a6700}
ol.activity{padding-left:1.25rem}
.hint{color:#57606a;font-size:.9rem}
@media print{
@page{margin:15mm}
body{background:#fff;color:#000;font-size:10.5pt}
main{max-width:none;margin:0;padding:0;border:0;border-radius:0}
.hint{display:none}
.comment,tr,li{break-inside:avoid}
h2{break-after:avoid}
}
"""


def printable_page(ticket, entries, community_name):
    """The page of a ticket view and its log entries (as tickets' printout gives them)."""
    rows = "".join(f'<tr><th scope="row">{escape(label)}</th><td>{escape(str(value))}</td>'
                   f"</tr>" for label, value in printing.details(ticket))
    comments = "".join(_comment(c) for c in ticket.get("comments") or ()) or \
        '<p class="none">(none)</p>'
    files = "".join(f"<li>{escape(line)}</li>" for line in printing.file_lines(ticket))
    files = f'<ul id="files">{files}</ul>' if files else '<p class="none">(none)</p>'
    log = "".join(f"<li>{escape(printing.activity_line(e))}</li>" for e in entries)
    body = ('<p class="hint">Print this page with your browser\'s Print command; the '
            "work order's PDF says the same.</p>"
            f'<table class="details" id="details">{rows}</table>'
            f'<h2>Description</h2><p class="text" id="description">'
            f'{escape(ticket.get("description") or "(none)")}</p>'
            f'<h2>Comments</h2><div id="comments">{comments}</div>'
            f"<h2>Files</h2>{files}"
            f'<h2>Activity</h2><ol class="activity" id="activity">{log}</ol>')
    return page(f"Work order {ticket['number']}: {ticket['title']}", body, community_name,
                style=STYLE)


def _comment(comment):
    shared = comment["visibility"] != "managers_only"
    return (f'<div class="comment{"" if shared else " managers-only"}">'
            f'<p class="meta">{escape(printing.comment_heading(comment))}</p>'
            f'<p class="text">{escape(comment["body"])}</p></div>')
