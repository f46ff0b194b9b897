"""Who sees which ticket and which of its parts, due dates, and who is told what: the pure
rules of services/tickets, with no I/O."""

from datetime import UTC, datetime, timedelta

import pytest

from contracts.errors import InvalidRequest
from servicekit.access import Caller
from services.tickets import due_dates, notifying
from services.tickets.visibility import (
    SHARED,
    STAFF_ONLY,
    Place,
    list_scope,
    manages,
    may_mark,
    readable,
    reads,
    sees,
)

ADA = Caller.of({"actor_type": "resident", "actor_id": "res_ada", "organization_id": "org",
                 "resident": {"id": "res_ada", "community_id": "maple", "unit_id": "u101"}})
GRACE = Caller.of({"actor_type": "resident", "actor_id": "res_grace", "organization_id": "org",
                   "resident": {"id": "res_grace", "community_id": "maple",
                                "unit_id": "u102"}})
BIRCH_RESIDENT = Caller.of({"actor_type": "resident", "actor_id": "res_b",
                            "organization_id": "org",
                            "resident": {"id": "res_b", "community_id": "birch",
                                         "unit_id": "u9"}})
MANAGER = Caller.of({"actor_type": "staff", "actor_id": "usr_m", "organization_id": "org",
                     "scopes": {"manage_tickets": ["maple"], "send_communications": ["maple"]}})
REPORTS_ONLY = Caller.of({"actor_type": "staff", "actor_id": "usr_r", "organization_id": "org",
                          "scopes": {"view_reports": ["maple"]}})
OTTAWA = Caller.of({"actor_type": "staff", "actor_id": "usr_d", "organization_id": "org",
                    "scopes": {"manage_tickets": ["cedar"]}})

ADAS_UNIT = Place("org", "maple", "unit", "u101")
POOL = Place("org", "maple", "common_area")
BIRCH_POOL = Place("org", "birch", "common_area")

# caller → (Ada's unit ticket, Maple Grove's pool, Birch Court's pool)
SEES = {
    "ADA": (True, True, False),
    "GRACE": (False, True, False),
    "BIRCH_RESIDENT": (False, False, True),
    "MANAGER": (True, True, False),
    "REPORTS_ONLY": (True, True, False),
    "OTTAWA": (False, False, False),
}


@pytest.mark.parametrize("name", sorted(SEES))
def test_who_sees_which_ticket(name):
    caller = globals()[name]
    assert tuple(sees(caller, p) for p in (ADAS_UNIT, POOL, BIRCH_POOL)) == SEES[name]


def test_only_manage_tickets_there_changes_a_ticket():
    assert manages(MANAGER, "maple") and not manages(MANAGER, "birch")
    assert not manages(REPORTS_ONLY, "maple")
    assert not manages(ADA, "maple")


def test_residents_never_read_or_write_what_is_for_managers_only():
    assert reads(ADA, SHARED) and not reads(ADA, STAFF_ONLY)
    assert reads(REPORTS_ONLY, STAFF_ONLY)
    assert readable(ADA) == (SHARED,) and set(readable(MANAGER)) == {SHARED, STAFF_ONLY}
    assert may_mark(ADA, SHARED) and not may_mark(ADA, STAFF_ONLY)
    assert may_mark(MANAGER, STAFF_ONLY)


def test_a_list_is_narrowed_to_what_its_caller_sees():
    assert list_scope(ADA) == ("resident", ("maple", "u101"))
    assert list_scope(MANAGER) == ("communities", {"maple"})
    assert list_scope(Caller.of({"actor_type": "staff", "actor_id": "m",
                                 "organization_id": "org",
                                 "permissions": ["view_reports"]}))[1] == "*"


NOW = datetime(2026, 12, 6, 12, tzinfo=UTC)


@pytest.mark.parametrize("priority, hours", [("emergency", 4), ("high", 24), ("normal", 72),
                                             ("low", 168)])
def test_a_ticket_is_due_its_priority_s_response_target(priority, hours):
    assert due_dates.due_at(NOW, priority) == NOW + timedelta(hours=hours)


def test_an_organization_s_targets_replace_the_defaults_one_by_one():
    assert due_dates.due_at(NOW, "high", {"high": 8}) == NOW + timedelta(hours=8)
    assert due_dates.due_at(NOW, "low", {"high": 8}) == NOW + timedelta(hours=168)


@pytest.mark.parametrize("status, overdue", [("new", True), ("in_progress", True),
                                             ("on_hold", True), ("completed", False),
                                             ("cancelled", False), ("rejected", False)])
def test_only_an_open_ticket_past_its_due_date_is_overdue(status, overdue):
    assert due_dates.is_overdue(status, NOW - timedelta(seconds=1), NOW) is overdue
    assert due_dates.is_overdue(status, NOW + timedelta(seconds=1), NOW) is False
    assert due_dates.is_overdue(status, None, NOW) is False


def test_response_times_are_whole_seconds_and_none_until_they_happen():
    assert due_dates.seconds_between(NOW, NOW + timedelta(minutes=90, seconds=0.7)) == 5400
    assert due_dates.seconds_between(NOW, None) is None


def test_a_moment_must_carry_its_offset():
    assert due_dates.moment("2026-12-08T09:00:00-05:00", "due_at") == datetime(
        2026, 12, 8, 14, tzinfo=UTC)
    for bad in ("2026-12-08T09:00:00", "tomorrow"):
        with pytest.raises(InvalidRequest) as raised:
            due_dates.moment(bad, "due_at")
        assert raised.value.field == "due_at"


TICKET = notifying.TicketText(number="WO-1001", kind="unit", title="Leaking tap",
                              community_name="Maple Grove Apartments", place="unit 101",
                              priority="normal", description="Drips all night.")
HEADER = "Maple Grove: we answer work orders within a day."
SETTINGS = notifying.Settings(email_header=HEADER, reporter_channels=("email", "sms"))
STAFF = [{"id": "usr_m", "email": "manager@maplegrove.example", "name": "Pat"},
         {"id": "usr_x", "email": None, "name": "No email"}]
ADA_REPORTER = notifying.Reporter("resident", "res_ada")


def test_management_hears_of_a_new_ticket_with_the_community_s_header_first():
    [notice] = notifying.on_created(TICKET, SETTINGS, STAFF, "Ada Lovelace", ADA_REPORTER)
    assert notice["to"] == "staff" and notice["email"] == "manager@maplegrove.example"
    assert notice["body"].startswith(HEADER)
    assert "WO-1001: Leaking tap" in notice["body"] and "Drips all night." in notice["body"]
    assert notice["subject"] == "[Maple Grove Apartments] New work order WO-1001: Leaking tap"


def test_staff_who_reported_it_themselves_are_not_told():
    reporter = notifying.Reporter("staff", "usr_m", "manager@maplegrove.example")
    assert notifying.on_created(TICKET, SETTINGS, STAFF, "Pat", reporter) == []


def test_the_reporter_hears_of_each_move_on_the_community_s_channels_but_not_their_own():
    [notice] = notifying.on_moved(TICKET, SETTINGS, ADA_REPORTER, "usr_m", "in_progress",
                                  "Plumber on Tuesday")
    assert notice == {"to": "resident", "id": "res_ada", "channels": ["email", "sms"],
                      "subject": "[Maple Grove Apartments] In progress: WO-1001: Leaking tap",
                      "body": notice["body"]}
    assert notice["body"].startswith(HEADER) and "is now In progress" in notice["body"]
    assert "Plumber on Tuesday" in notice["body"]
    assert notifying.on_moved(TICKET, SETTINGS, ADA_REPORTER, "res_ada", "cancelled") == []


def test_a_community_that_names_nobody_tells_its_managers_and_dispatchers():
    assert notifying.staff_rule(notifying.Settings(), "created") == (
        ("manager", "dispatcher"), ())
    named = notifying.Settings(notify={"created": {"staff_user_ids": ["usr_1"]}})
    assert notifying.staff_rule(named, "created") == ((), ("usr_1",))
    assert notifying.staff_rule(named, "resident_commented") == (("manager", "dispatcher"),
                                                                 ())


def test_without_a_header_a_notice_starts_with_what_happened():
    [notice] = notifying.on_staff_comment(TICKET, notifying.Settings(), ADA_REPORTER,
                                          "We ordered the part.")
    assert notice["body"].startswith("Management commented on your work order WO-1001")
    assert notice["channels"] == ["email"]
