"""tickets' entrypoints with worker_factory: a real (in-memory) database, a real blob store
in a temporary folder, and a fake directory. What each caller may do and read, and what
each change writes to the outbox."""

import base64
import io
from datetime import datetime, timedelta

import pytest
from nameko.testing.services import worker_factory
from pypdf import PdfReader

from contracts.errors import Forbidden, IdempotencyKeyReused, InvalidRequest, NotFound
from servicekit.blobs import BlobStore
from servicekit.db import utcnow
from servicekit.testing import memory_database, outbox_events
from services.tickets.models import Base, Ticket
from services.tickets.overdue import mark_overdue
from services.tickets.service import TicketsService

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08"
       b"\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05"
       b"\xfe\x02\xfe\xa75\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82")


def resident(rid, unit, community="maple", org="org", email=None):
    return {"actor_type": "resident", "actor_id": rid, "organization_id": org,
            "name": rid.title(),
            "resident": {"id": rid, "community_id": community, "unit_id": unit}}


ADA = resident("ada", "u101", email="ada@example.com")
EDSGER = resident("edsger", "u101")
GRACE = resident("grace", "u102")
MANAGER = {"actor_type": "staff", "actor_id": "usr_m", "organization_id": "org",
           "name": "Pat Manager", "scopes": {"manage_tickets": ["maple"],
                                             "send_communications": ["maple"]}}
READER = {"actor_type": "staff", "actor_id": "usr_r", "organization_id": "org",
          "name": "Sam Senior", "scopes": {"view_reports": ["maple"]}}
MASTER = {"actor_type": "staff", "actor_id": "usr_master", "organization_id": "org",
          "name": "Morgan Master", "permissions": ["*"]}
OTHER_ORG = {"actor_type": "staff", "actor_id": "usr_h", "organization_id": "harbor",
             "name": "Hal", "permissions": ["*"]}


class FakeDirectory:
    def __init__(self):
        self.units = {"u101": ("maple", "101"), "u102": ("maple", "102"),
                      "u9": ("birch", "9")}
        self.residents = {"ada": ("u101", ["ada@example.com"]), "edsger": ("u101", []),
                          "grace": ("u102", ["grace@example.com"])}
        self.staff = [{"id": "usr_m", "name": "Pat Manager",
                       "email": "manager@maplegrove.example"},
                      {"id": "usr_d", "name": "Dee", "email": "dee@maplegrove.example"}]
        self.added = []

    def get_unit(self, identity, unit_id):
        if unit_id not in self.units:
            raise NotFound(f"unit {unit_id} does not exist", "unit_id")
        community, label = self.units[unit_id]
        return {"id": unit_id, "community_id": community, "label": label}

    def get_community(self, identity, community_id):
        if community_id not in ("maple", "birch") or identity["organization_id"] != "org":
            raise NotFound(f"community {community_id} does not exist", "community_id")
        return {"id": community_id, "organization_id": "org",
                "name": {"maple": "Maple Grove Apartments", "birch": "Birch Court"}[
                    community_id]}

    def get_resident(self, identity, resident_id):
        unit, emails = self.residents[resident_id]
        emails = emails + [e for r, e in self.added if r == resident_id]
        return {"id": resident_id, "name": resident_id.title(), "unit_id": unit,
                "community_id": self.units[unit][0], "email": emails[0] if emails else None,
                "contact_points": [{"kind": "email", "value": e} for e in emails]}

    def add_contact_point(self, identity, resident_id, fields):
        assert identity["actor_id"] == resident_id
        self.added.append((resident_id, fields["value"]))

    def staff_contacts(self, identity, community_id, roles=(), staff_user_ids=(),
                       team_ids=()):
        staff = [s for s in self.staff if s["id"] in staff_user_ids or
                 (roles and s["id"] == "usr_m")]
        teams = [{"id": t, "name": "Plumbers"} for t in team_ids if t == "team_p"]
        return {"staff": staff, "teams": teams}


@pytest.fixture
def service(tmp_path):
    return worker_factory(TicketsService, db=memory_database(Base), config={},
                          directory=FakeDirectory(), blobs=BlobStore(tmp_path))


def unit_ticket(service, who=ADA, **extra):
    return service.create_ticket(who, {"kind": "unit", "title": "Leaking tap",
                                       "description": "Drips all night.", **extra})


def pool_ticket(service, who=ADA):
    return service.create_ticket(who, {"kind": "common_area", "location": "Pool",
                                       "title": "Broken gate"})


def events(service, kind):
    return [e["data"] for e in outbox_events(service.db, kind)]


def test_a_resident_reports_for_their_own_unit_and_management_is_told(service):
    made = unit_ticket(service, priority="high", permission_to_enter=True)
    assert made["number"] == "WO-1001" and made["status"] == "new"
    assert made["unit_id"] == "u101" and made["unit_label"] == "101"
    assert made["community_id"] == "maple" and made["category"] == "other"
    [created] = events(service, "ticket_created")
    assert created["ticket_id"] == made["id"] and created["reporter_type"] == "resident"
    [notices] = events(service, "ticket_notices_requested")
    assert notices["occasion"] == "created"
    assert [n["email"] for n in notices["notices"]] == ["manager@maplegrove.example"]
    view = service.get_ticket(ADA, made["id"])
    due = view["due_at"]
    assert due > view["created_at"]
    assert view["reporter"] == {"type": "resident", "id": "ada", "name": "Ada"}
    assert view["contact_email"] == "ada@example.com" and view["allowed_moves"] == [
        "cancelled"]
    assert unit_ticket(service)["number"] == "WO-1002"


def test_a_resident_reports_nothing_for_another_unit_or_community(service):
    with pytest.raises(Forbidden) as raised:
        unit_ticket(service, unit_id="u102")
    assert raised.value.field == "unit_id"
    with pytest.raises(Forbidden):
        service.create_ticket(ADA, {"kind": "common_area", "location": "Gym",
                                    "title": "Treadmill", "community_id": "birch"})
    assert events(service, "ticket_created") == []


def test_a_resident_without_an_email_is_asked_for_one_which_is_kept(service):
    with pytest.raises(InvalidRequest) as raised:
        unit_ticket(service, who=EDSGER)
    assert raised.value.field == "contact_email"
    made = unit_ticket(service, who=EDSGER, contact_email="edsger@example.com")
    assert service.directory.added == [("edsger", "edsger@example.com")]
    assert service.get_ticket(EDSGER, made["id"])["contact_email"] == "edsger@example.com"


@pytest.mark.parametrize("fields, field", [
    ({"kind": "common_area", "title": "Gate"}, "location"),
    ({"kind": "common_area", "title": "Gate", "location": "Pool", "entry_notes": "dog"},
     "entry_notes"),
    ({"kind": "unit", "title": "Tap", "category": "gardening"}, "category"),
])
def test_bad_input_is_refused_naming_the_field_and_nothing_is_written(service, fields,
                                                                      field):
    with pytest.raises(InvalidRequest) as raised:
        service.create_ticket(ADA, fields)
    assert raised.value.field == field
    assert events(service, "ticket_created") == [] and service.directory.added == []


def test_staff_report_with_manage_tickets_on_a_residents_behalf(service):
    made = service.create_ticket(MANAGER, {"kind": "unit", "unit_id": "u102",
                                           "title": "Heater", "reporter_resident_id": "grace",
                                           "category": "heating_cooling"})
    view = service.get_ticket(GRACE, made["id"])
    assert view["reporter"]["id"] == "grace" and view["created_by"]["id"] == "usr_m"
    with pytest.raises(Forbidden):
        service.create_ticket(READER, {"kind": "unit", "unit_id": "u102", "title": "Heater"})
    with pytest.raises(InvalidRequest) as raised:
        service.create_ticket(MANAGER, {"kind": "unit", "unit_id": "u101", "title": "Heater",
                                        "reporter_resident_id": "grace"})
    assert raised.value.field == "reporter_resident_id"


def test_residents_see_their_unit_and_their_community_s_common_area_only(service):
    mine = unit_ticket(service)
    pool = pool_ticket(service)
    assert service.get_ticket(EDSGER, mine["id"])["title"] == "Leaking tap"  # same unit
    with pytest.raises(Forbidden):
        service.get_ticket(GRACE, mine["id"])
    assert service.get_ticket(GRACE, pool["id"])["location"] == "Pool"
    assert service.get_ticket(READER, mine["id"])
    with pytest.raises(NotFound):
        service.get_ticket(OTHER_ORG, mine["id"])
    listed = service.list_tickets(GRACE)
    assert [t["id"] for t in listed["items"]] == [pool["id"]]
    assert [t["id"] for t in service.list_tickets(ADA)["items"]] == [pool["id"], mine["id"]]
    assert service.list_tickets(OTHER_ORG)["items"] == []


def test_a_managers_only_comment_reaches_no_resident_anywhere(service):
    made = unit_ticket(service)
    secret = service.add_comment(MANAGER, made["id"], "Tenant owes rent; go slow.",
                                 "managers_only")
    service.add_comment(MANAGER, made["id"], "Plumber booked for Tuesday.")
    service.add_attachment(MANAGER, made["id"], base64.b64encode(PNG).decode(), "quote.png",
                           comment_id=secret["id"])
    for reader in (ADA, EDSGER):
        view = service.get_ticket(reader, made["id"])
        assert [c["body"] for c in view["comments"]] == ["Plumber booked for Tuesday."]
        log = service.ticket_activity(reader, made["id"])["items"]
        assert all(e["details"].get("comment_id") != secret["id"] for e in log)
        assert [e["action"] for e in log] == ["created", "commented"]
        printout = service.ticket_printout(reader, made["id"])
        assert "rent" not in str(printout)
        pdf = base64.b64decode(service.ticket_pdf(reader, made["id"])["content_base64"])
        text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
        assert "Plumber booked" in text and "rent" not in text and "WO-1001" in text
        assert "quote.png" not in text         # the file of a managers-only comment
    pdf = base64.b64decode(service.ticket_pdf(MANAGER, made["id"])["content_base64"])
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "quote.png (image/png" in text and "attached quote.png" in text
    manager_view = service.get_ticket(MANAGER, made["id"])
    assert len(manager_view["comments"]) == 2
    assert manager_view["comments"][0]["attachments"][0]["visibility"] == "managers_only"
    commented = events(service, "ticket_commented")
    assert [c["body"] for c in commented] == [None, "Plumber booked for Tuesday."]
    told = [n for e in events(service, "ticket_notices_requested") for n in e["notices"]
            if n["to"] == "resident"]
    assert len(told) == 1 and "Plumber booked" in told[0]["body"]
    assert "rent" not in str(events(service, "ticket_notices_requested"))


def test_residents_write_only_what_everyone_reads_and_only_where_allowed(service):
    made = unit_ticket(service)
    with pytest.raises(Forbidden) as raised:
        service.add_comment(ADA, made["id"], "Psst", "managers_only")
    assert raised.value.field == "visibility"
    service.add_comment(EDSGER, made["id"], "It got worse.")
    [told] = [e for e in events(service, "ticket_notices_requested")
              if e["occasion"] == "resident_commented"]
    assert told["notices"][0]["to"] == "staff" and "It got worse." in told["notices"][0][
        "body"]
    service.update_community_settings(MANAGER, "maple", {"residents_may_comment": False})
    with pytest.raises(Forbidden):
        service.add_comment(EDSGER, made["id"], "Hello?")
    assert service.get_ticket(EDSGER, made["id"])["may_comment"] is False
    # the reporter still attaches a photo to their own ticket
    service.add_attachment(ADA, made["id"], base64.b64encode(PNG).decode(), "drip.png")
    with pytest.raises(Forbidden):
        service.add_comment(READER, made["id"], "I only read reports")


def test_moves_follow_the_table_and_the_reporter_hears_of_each(service):
    made = unit_ticket(service)
    with pytest.raises(Forbidden):
        service.move_ticket(ADA, made["id"], "acknowledged")
    with pytest.raises(InvalidRequest) as raised:
        service.move_ticket(MANAGER, made["id"], "in_review")
    assert raised.value.field == "status"
    view = service.move_ticket(MANAGER, made["id"], "acknowledged", "Seen, thanks")
    assert view["acknowledged_at"] and view["time_to_acknowledge_seconds"] is not None
    service.move_ticket(MANAGER, made["id"], "in_progress", "Tenant is difficult",
                        "managers_only")
    done = service.move_ticket(MANAGER, made["id"], "completed")
    assert done["time_to_complete_seconds"] is not None and done["allowed_moves"] == [
        "in_progress"]
    changed = events(service, "ticket_status_changed")
    assert [(c["previous_status"], c["status"], c["note"]) for c in changed] == [
        ("new", "acknowledged", "Seen, thanks"), ("acknowledged", "in_progress", None),
        ("in_progress", "completed", None)]
    told = [n for e in events(service, "ticket_notices_requested")
            if e["occasion"] == "status_changed" for n in e["notices"]]
    assert len(told) == 3 and all(n["id"] == "ada" for n in told)
    assert "difficult" not in str(told)
    log = service.ticket_activity(ADA, made["id"])["items"]
    assert [e["details"].get("note") for e in log if e["action"] == "moved"] == [
        "Seen, thanks", None, None]
    staff_log = service.ticket_activity(MANAGER, made["id"])["items"]
    assert "Tenant is difficult" in str(staff_log)


def test_the_reporter_cancels_their_own_new_ticket_and_is_not_told_of_it(service):
    made = unit_ticket(service)
    service.move_ticket(ADA, made["id"], "cancelled")
    assert [e for e in events(service, "ticket_notices_requested")
            if e["occasion"] == "status_changed"] == []
    with pytest.raises(InvalidRequest):
        service.move_ticket(MANAGER, made["id"], "in_progress")


def test_assigning_names_staff_teams_or_vendors_whose_details_stay_with_staff(service):
    made = unit_ticket(service)
    view = service.assign_ticket(MANAGER, made["id"], {"type": "vendor", "name": "AquaFix",
                                                       "email": "jobs@aquafix.example",
                                                       "phone": "+14165550000"})
    assert view["assignee"]["email"] == "jobs@aquafix.example"
    seen = service.get_ticket(ADA, made["id"])["assignee"]
    assert seen == {"type": "vendor", "id": None, "name": "AquaFix", "email": None,
                    "phone": None}
    assert service.assign_ticket(MANAGER, made["id"], {"type": "staff", "id": "usr_d"})[
        "assignee"]["name"] == "Dee"
    assert service.assign_ticket(MANAGER, made["id"], {"type": "team", "id": "team_p"})[
        "assignee"]["name"] == "Plumbers"
    with pytest.raises(InvalidRequest) as raised:
        service.assign_ticket(MANAGER, made["id"], {"type": "staff", "id": "usr_nobody"})
    assert raised.value.field == "assignee.id"
    with pytest.raises(Forbidden):
        service.assign_ticket(ADA, made["id"], None)
    assert [a["assignee_name"] for a in events(service, "ticket_assigned")] == [
        "AquaFix", "Dee", "Plumbers"]
    assert service.list_tickets(MANAGER, assignee_id="team_p")["items"][0]["id"] == made["id"]


def test_attachments_are_checked_by_their_content(service):
    made = unit_ticket(service)
    with pytest.raises(InvalidRequest) as raised:
        service.add_attachment(ADA, made["id"], base64.b64encode(b"MZ not a photo").decode(),
                               "photo.png")
    assert raised.value.field == "file" and "an attachment must be" in str(raised.value)
    too_big = PNG + b"\0" * (10 * 1024 * 1024)
    with pytest.raises(InvalidRequest) as raised:
        service.add_attachment(ADA, made["id"], base64.b64encode(too_big).decode())
    assert "at most" in str(raised.value)
    kept = service.add_attachment(ADA, made["id"], base64.b64encode(PNG).decode(),
                                  "../../drip.png")
    assert kept["filename"] == "drip.png" and kept["content_type"] == "image/png"
    back = service.get_attachment(EDSGER, made["id"], kept["id"], content=True)
    assert base64.b64decode(back["content_base64"]) == PNG


def test_changes_keep_the_reporter_to_what_they_wrote_while_new(service):
    made = unit_ticket(service)
    service.update_ticket(ADA, made["id"], {"description": "Drips all day too."})
    with pytest.raises(Forbidden) as raised:
        service.update_ticket(ADA, made["id"], {"priority": "emergency"})
    assert raised.value.field == "priority"
    view = service.update_ticket(MANAGER, made["id"], {"priority": "emergency"})
    due, created = (datetime.fromisoformat(view[k]) for k in ("due_at", "created_at"))
    assert due - created == timedelta(hours=4)    # the emergency target, not normal's 72 h
    service.move_ticket(MANAGER, made["id"], "acknowledged")
    with pytest.raises(Forbidden):
        service.update_ticket(ADA, made["id"], {"description": "and more"})
    actions = [e["action"] for e in service.ticket_activity(MANAGER, made["id"])["items"]]
    assert actions == ["created", "changed", "changed", "due_date_changed", "moved"]


def test_the_sweeper_marks_a_ticket_overdue_once_and_announces_it(service):
    made = unit_ticket(service)
    past = (utcnow() - timedelta(hours=1)).isoformat()
    service.update_ticket(MANAGER, made["id"], {"due_at": past})
    assert service.list_tickets(MANAGER, overdue=True)["items"][0]["id"] == made["id"]
    assert mark_overdue(service.db) == 1
    assert mark_overdue(service.db) == 0
    [late] = events(service, "ticket_overdue")
    assert late["ticket_id"] == made["id"]
    assert service.get_ticket(ADA, made["id"])["overdue_at"]
    later = (utcnow() + timedelta(days=1)).isoformat()
    assert service.update_ticket(MANAGER, made["id"], {"due_at": later})["overdue_at"] is None


def test_lists_filter_search_and_page_newest_first(service):
    for n in range(5):
        unit_ticket(service, title=f"Tap {n}")
    pool_ticket(service)
    page = service.list_tickets(MANAGER, kind="unit", limit=2)
    assert [t["title"] for t in page["items"]] == ["Tap 4", "Tap 3"]
    rest = service.list_tickets(MANAGER, kind="unit", limit=10, cursor=page["next"])
    assert [t["title"] for t in rest["items"]] == ["Tap 2", "Tap 1", "Tap 0"]
    assert [t["title"] for t in service.list_tickets(MANAGER, q="gate")["items"]] == [
        "Broken gate"]
    assert [t["number"] for t in service.list_tickets(MANAGER, q="wo-1002")["items"]] == [
        "WO-1002"]
    assert service.list_tickets(MANAGER, status="open")["items"]
    assert service.list_tickets(MANAGER, status="completed")["items"] == []
    board = service.ticket_dashboard(ADA)
    assert board["unit"]["open"] == 5 and board["common_area"]["open"] == 1
    with pytest.raises(Forbidden):
        service.ticket_dashboard(MANAGER)


def test_the_same_key_reports_once(service):
    first = unit_ticket(service)
    again = service.create_ticket(ADA, {"kind": "unit", "title": "Door"},
                                  idempotency_key="k-1")
    assert service.create_ticket(ADA, {"kind": "unit", "title": "Door"},
                                 idempotency_key="k-1") == again
    assert first["id"] != again["id"]
    with service.db.read() as session:
        assert session.query(Ticket).count() == 2


def test_settings_are_the_defaults_until_management_sets_them(service):
    assert "plumbing" in service.get_settings(ADA)["categories"]
    with pytest.raises(Forbidden):
        service.update_settings(MANAGER, {"reopen_completed": "nobody"})
    changed = service.update_settings(MASTER, {"categories": ["Plumbing", "Lifts"],
                                               "response_targets_hours": {"high": 8}})
    assert changed["categories"] == ["plumbing", "lifts"]
    assert changed["response_targets_hours"]["high"] == 8
    with pytest.raises(InvalidRequest):
        unit_ticket(service)   # "other" is no longer a category
    community = service.update_community_settings(MANAGER, "maple", {
        "email_header": "Maple Grove maintenance", "notify": {"created": {
            "staff_user_ids": ["usr_d"]}}})
    assert community["notify"]["created"] == {"roles": [], "staff_user_ids": ["usr_d"]}
    assert community["notify"]["resident_commented"]["roles"] == ["manager", "dispatcher"]
    unit_ticket(service, category="plumbing")
    [notices] = events(service, "ticket_notices_requested")
    assert [n["email"] for n in notices["notices"]] == ["dee@maplegrove.example"]
    assert notices["notices"][0]["body"].startswith("Maple Grove maintenance")
    with pytest.raises(Forbidden):
        service.get_community_settings(ADA, "maple")
    with pytest.raises(InvalidRequest) as raised:
        service.update_community_settings(MANAGER, "maple", {"notify": {"created": {
            "staff_user_ids": ["usr_ghost"]}}})
    assert raised.value.field == "notify.staff_user_ids"


@pytest.mark.parametrize("declared", ["application/pdf", "image/jpeg", "text/plain"])
def test_an_attachment_declared_as_what_it_is_not_is_refused(service, declared):
    made = unit_ticket(service)
    with pytest.raises(InvalidRequest) as raised:
        service.add_attachment(ADA, made["id"], base64.b64encode(PNG).decode(), "tap.png",
                               declared_type=declared)
    assert raised.value.field == "file"
    assert f"declared as {declared} but its content is image/png" in str(raised.value)
    for fine in ("image/png", "application/octet-stream", None):
        assert service.add_attachment(ADA, made["id"], base64.b64encode(PNG).decode(),
                                      declared_type=fine)["content_type"] == "image/png"


def test_the_same_key_comments_and_attaches_once(service):
    made = unit_ticket(service)
    first = service.add_comment(ADA, made["id"], "Still dripping", idempotency_key="c-1")
    assert service.add_comment(ADA, made["id"], "Still dripping",
                               idempotency_key="c-1") == first
    with pytest.raises(IdempotencyKeyReused):
        service.add_comment(ADA, made["id"], "Something else", idempotency_key="c-1")
    photo = base64.b64encode(PNG).decode()
    kept = service.add_attachment(ADA, made["id"], photo, "tap.png", idempotency_key="a-1")
    assert service.add_attachment(ADA, made["id"], photo, "tap.png",
                                  idempotency_key="a-1") == kept
    view = service.get_ticket(ADA, made["id"])
    assert len(view["comments"]) == 1 and len(view["attachments"]) == 1
    assert len(events(service, "ticket_commented")) == 1
