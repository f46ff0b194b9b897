"""The work-order routes' own work, with tickets faked: what each hands to tickets (dates as
text, the Idempotency-Key, a file as base64 with its name), the CSV export that pages through
every match, a file's download headers, and the printable page — the PDF's words, every
value escaped, with a print stylesheet."""

import base64
import csv
import io

import pytest
from nameko.testing.services import worker_factory
from werkzeug.test import EnvironBuilder

from contracts import documents
from contracts.errors import PayloadTooLarge
from gateway.http import download_disposition
from gateway.service import GatewayService
from gateway.ticket_routes import TICKET_COLUMNS

IDENTITY = {"actor_type": "staff", "actor_id": "stf_1", "organization_id": "org_1"}
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08"
       b"\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05"
       b"\xfe\x02\xfe\xa75\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82")


def summary(number, **extra):
    return {"id": f"tkt_{number}", "number": f"WO-{number}", "kind": "unit",
            "community_id": "com_1", "unit_id": "unt_1", "unit_label": "101", "location": None,
            "title": f"Leak {number}", "category": "plumbing", "priority": "normal",
            "status": "new", "assignee": None, "due_at": "2026-12-10T12:00:00+00:00",
            "overdue": False, "created_at": "2026-12-07T12:00:00+00:00",
            "updated_at": "2026-12-07T12:00:00+00:00",
            "links": {"self": f"/v1/tickets/tkt_{number}"}, **extra}


def comment(body, visibility="managers_and_residents", name="Pat Manager"):
    return {"id": f"tcm_{len(body)}", "body": body, "visibility": visibility,
            "author": {"type": "staff", "id": "stf_1", "name": name},
            "created_at": "2026-12-07T13:05:00+00:00", "attachments": []}


def view(**extra):
    return {**summary(1001), "description": "Water under the <sink>", "reporter": {
        "type": "resident", "id": "res_1", "name": "Ada <Lovelace>"},
        "permission_to_enter": True, "entry_notes": "Cat & dog", "preferred_times": [],
        "completed_at": None, "comments": [comment("Plumber booked")], "attachments": [],
        **extra}


class FakeDirectory:
    def authenticate(self, key):
        return IDENTITY


class FakeTickets:
    def __init__(self, tickets=()):
        self.tickets, self.asked = list(tickets), []

    def create_ticket(self, identity, fields, idempotency_key=None):
        self.asked.append(("create_ticket", fields, idempotency_key))
        return summary(1001)

    def list_tickets(self, identity, cursor=None, limit=None, **filters):
        self.asked.append(("list_tickets", filters, cursor, limit))
        start = int(cursor or 0)
        page = self.tickets[start:start + (limit or 50)]
        more = start + len(page) < len(self.tickets)
        return {"items": page, "next": str(start + len(page)) if more else None}

    def add_attachment(self, identity, ticket_id, content_base64, filename=None,
                       comment_id=None, visibility=None, declared_type=None, idempotency_key=None):
        self.asked.append(("add_attachment", ticket_id, base64.b64decode(content_base64),
                           filename, comment_id, visibility, declared_type))
        return {"id": "tat_1", "filename": filename or "document.png", "links": {
            "self": f"/v1/tickets/{ticket_id}/attachments/tat_1"}}

    def get_attachment(self, identity, ticket_id, attachment_id, content=False):
        return {"id": attachment_id, "filename": "Kitchen “sink”.png",
                "content_type": "image/png", "content_base64": base64.b64encode(PNG).decode()}

    def ticket_printout(self, identity, ticket_id):
        return {"ticket": view(comments=[
            comment("Plumber <b>booked</b>"),
            comment("Vendor quote: $400", "managers_only")], attachments=[
                {"id": "tat_1", "filename": "<tap>.png", "content_type": "image/png",
                 "size": 2048, "created_at": "2026-12-07T12:01:00+00:00"}]),
            "activity": [{"id": "1", "at": "2026-12-07T12:00:00+00:00", "action": "created",
                          "actor": {"type": "resident", "id": "res_1", "name": "Ada"},
                          "details": {}},
                         {"id": "2", "at": "2026-12-07T12:01:00+00:00",
                          "action": "attachment_added",
                          "actor": {"type": "resident", "id": "res_1", "name": "Ada"},
                          "details": {"attachment_id": "tat_1", "filename": "<tap>.png"}},
                         {"id": "3", "at": "2026-12-07T13:00:00+00:00", "action": "moved",
                          "actor": {"type": "staff", "id": "stf_1", "name": "Pat Manager"},
                          "details": {"from": "new", "to": "acknowledged",
                                      "note": "On it & soon"}}],
            "community_name": "Maple Grove <Apartments>"}

    def ticket_pdf(self, identity, ticket_id):
        return {"filename": "WO-1001.pdf", "content_base64": base64.b64encode(b"%PDF-1.4")
                .decode()}


def gateway_with(tickets):
    return worker_factory(GatewayService, directory=FakeDirectory(), tickets=tickets,
                          config={})


def request(method, path, **options):
    headers = {"Authorization": "Bearer th_key", **options.pop("headers", {})}
    return EnvironBuilder(method=method, path=path, headers=headers, **options).get_request()


def test_a_new_ticket_goes_to_tickets_with_its_key_and_is_followed_by_location():
    tickets = FakeTickets()
    answer = gateway_with(tickets).create_ticket(request(
        "POST", "/v1/tickets", headers={"Idempotency-Key": "k-1"}, json={
            "kind": "common_area", "community_id": "com_1", "location": "Lobby",
            "title": "Door sticks"}))
    assert answer.status_code == 201
    assert answer.headers["Location"] == "/v1/tickets/tkt_1001"
    assert tickets.asked == [("create_ticket", {
        "kind": "common_area", "community_id": "com_1", "location": "Lobby",
        "title": "Door sticks", "description": "", "priority": "normal",
        "permission_to_enter": False}, "k-1")]


def test_list_filters_travel_as_text():
    tickets = FakeTickets([summary(1002)])
    page = gateway_with(tickets).list_tickets(request(
        "GET", "/v1/tickets", query_string={"status": "open", "overdue": "true",
                                            "created_after": "2026-12-01T00:00:00-05:00"}))
    assert [t["number"] for t in page["items"]] == ["WO-1002"]
    assert tickets.asked == [("list_tickets", {
        "status": "open", "overdue": True, "created_after": "2026-12-01T00:00:00-05:00"},
        None, None)]


def test_the_csv_export_pages_through_every_match_with_the_assignee_in_columns():
    vendor = {"type": "vendor", "id": None, "name": "Quick Plumbing", "email": "q@example.com",
              "phone": None}
    many = [summary(1000 + n, assignee=vendor if n == 0 else None,
                    title="=HYPERLINK(1)" if n == 1 else f"Leak {n}") for n in range(450)]
    tickets = FakeTickets(many)
    answer = gateway_with(tickets).list_tickets(request(
        "GET", "/v1/tickets", query_string={"format": "csv", "kind": "unit"}))
    assert answer.mimetype == "text/csv"
    assert answer.headers["Content-Disposition"] == 'attachment; filename="work-orders.csv"'
    rows = list(csv.DictReader(io.StringIO(answer.get_data(as_text=True))))
    assert tuple(rows[0]) == TICKET_COLUMNS == (
        "number", "id", "kind", "status", "priority", "category", "title", "community_id",
        "unit_id", "unit_label", "location", "assignee_type", "assignee_id", "assignee_name",
        "due_at", "overdue", "created_at", "updated_at")
    assert len(rows) == 450 and rows[-1]["number"] == "WO-1449"
    assert (rows[0]["assignee_type"], rows[0]["assignee_name"]) == ("vendor", "Quick Plumbing")
    assert rows[1]["title"] == "'=HYPERLINK(1)" and rows[1]["assignee_type"] == ""
    # pages of 200, the filters on every one
    assert [(a[1], a[2], a[3]) for a in tickets.asked] == [
        ({"kind": "unit"}, None, 200), ({"kind": "unit"}, "200", 200),
        ({"kind": "unit"}, "400", 200)]


def test_a_file_goes_to_tickets_as_base64_with_its_name_and_declared_type():
    tickets = FakeTickets()
    gateway = gateway_with(tickets)
    made = gateway.add_ticket_attachment(request(
        "POST", "/v1/tickets/tkt_1/attachments", query_string={"visibility": "managers_only"},
        data={"file": (io.BytesIO(PNG), "leak.png", "image/png")},
        content_type="multipart/form-data"), "tkt_1")
    assert made.status_code == 201
    assert made.headers["Location"] == "/v1/tickets/tkt_1/attachments/tat_1"
    gateway.add_ticket_attachment(request(
        "POST", "/v1/tickets/tkt_1/attachments", data=PNG, content_type="image/png",
        query_string={"filename": "raw.png", "comment_id": "tcm_1"}), "tkt_1")
    gateway.add_ticket_attachment(request(
        "POST", "/v1/tickets/tkt_1/attachments", data=PNG, content_type="application/pdf"),
        "tkt_1")
    assert tickets.asked == [
        ("add_attachment", "tkt_1", PNG, "leak.png", None, "managers_only", "image/png"),
        ("add_attachment", "tkt_1", PNG, "raw.png", "tcm_1", None, "image/png"),
        # tickets decides: a PNG declared as a PDF is refused there
        ("add_attachment", "tkt_1", PNG, None, None, None, "application/pdf")]


def test_a_file_over_10_mb_is_refused_before_tickets_is_asked():
    tickets = FakeTickets()
    with pytest.raises(PayloadTooLarge, match="the most an attachment may be"):
        gateway_with(tickets).add_ticket_attachment(request(
            "POST", "/v1/tickets/tkt_1/attachments", data=b"x" * (documents.MAX_BYTES + 1),
            content_type="image/png"), "tkt_1")
    assert tickets.asked == []


def test_a_file_downloads_as_its_own_kind_never_sniffed():
    answer = gateway_with(FakeTickets()).ticket_attachment_content(
        request("GET", "/v1/tickets/tkt_1/attachments/tat_1/content"), "tkt_1", "tat_1")
    assert answer.get_data() == PNG and answer.mimetype == "image/png"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["Content-Disposition"] == (
        "attachment; filename=\"Kitchen _sink_.png\"; "
        "filename*=UTF-8''Kitchen%20%E2%80%9Csink%E2%80%9D.png")
    pdf = gateway_with(FakeTickets()).ticket_pdf(request("GET", "/v1/tickets/tkt_1/pdf"),
                                                 "tkt_1")
    assert pdf.mimetype == "application/pdf"
    assert pdf.headers["Content-Disposition"] == 'attachment; filename="WO-1001.pdf"'


def test_a_download_name_is_latin_1_on_the_wire_whatever_it_holds():
    assert download_disposition("a.pdf") == 'attachment; filename="a.pdf"'
    header = download_disposition('évier "\\ €.pdf\r\n')
    header.encode("latin-1")
    assert header.startswith('attachment; filename="_vier __ _.pdf__"; filename*=UTF-8')


def test_the_printable_page_says_what_the_pdf_says_escaped_with_a_print_stylesheet():
    answer = gateway_with(FakeTickets()).ticket_print_page(
        request("GET", "/v1/tickets/tkt_1/print"), "tkt_1")
    html = answer.get_data(as_text=True)
    assert answer.mimetype == "text/html"
    assert answer.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert "<title>Work order WO-1001: Leak 1001</title>" in html
    assert '<p class="org">Maple Grove &lt;Apartments&gt;</p>' in html
    assert '<th scope="row">Reported by</th><td>Ada &lt;Lovelace&gt;</td>' in html
    assert '<th scope="row">Where</th><td>Unit 101</td>' in html
    assert '<th scope="row">Entry notes</th><td>Cat &amp; dog</td>' in html
    assert "Water under the &lt;sink&gt;" in html
    assert "2026-12-07 13:05 UTC Pat Manager</p><p class=\"text\">Plumber &lt;b&gt;booked" in html
    assert ('<div class="comment managers-only"><p class="meta">2026-12-07 13:05 UTC Pat '
            'Manager [managers only]</p>') in html
    assert "<li>2026-12-07 12:00 UTC Ada reported</li>" in html
    assert "<li>2026-12-07 12:01 UTC Ada attached &lt;tap&gt;.png</li>" in html
    assert ('<ul id="files"><li>&lt;tap&gt;.png (image/png, 2 KB), 2026-12-07 12:01 UTC'
            '</li></ul>') in html
    assert ("<li>2026-12-07 13:00 UTC Pat Manager moved it from New to Acknowledged: On it "
            "&amp; soon</li>") in html
    assert "@media print{" in html
    assert "<b>" not in html and "<sink>" not in html
