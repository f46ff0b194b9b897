"""The report of emergency sends, built only from events: who sent each and why, where, when
it ended and its deliveries by status — whatever the events' order or repetition — and only
for callers who may read every community a send reached."""

from datetime import UTC, datetime, timedelta

import pytest
from nameko.testing.services import worker_factory

from contracts.errors import Forbidden, InvalidRequest
from contracts.events import envelope
from servicekit.testing import memory_database
from services.reports.models import Base
from services.reports.service import ReportsService

START = datetime(2026, 12, 8, 3, 0, tzinfo=UTC)
READER = {"actor_type": "api_key", "actor_id": "key_1", "organization_id": "org_1",
          "permissions": ["view_reports"]}


def staff(**scopes):
    return {"actor_type": "staff", "actor_id": "stf_1", "organization_id": "org_1",
            "scopes": scopes}


def accepted(communication_id, communities=("com_1",), emergency=True, minutes=0,
             org="org_1", reason="Gas leak in building B"):
    return envelope("communication_accepted", {
        "communication_id": communication_id, "community_id": communities[0],
        "community_ids": list(communities), "kind": "announcement",
        "channels": ["sms", "voice"], "category_id": "cat_1", "recipient_count": 4,
        "emergency": emergency, "emergency_reason": reason if emergency else None,
        "sent_by": {"type": "staff", "id": "stf_9", "name": "Morgan Master"},
        "accepted_at": (START + timedelta(minutes=minutes)).isoformat()},
        organization_id=org)


def updated(communication_id, delivery_id, status, community="com_1"):
    return envelope("deliveries_updated", {
        "communication_id": communication_id, "community_id": community,
        "items": [{"delivery_id": delivery_id, "resident_id": "res_1", "channel": "sms",
                   "status": status, "previous_status": None, "reason": None,
                   "error_code": None, "credits": 1, "hold_id": None}]},
        organization_id="org_1")


def finished(communication_id, counts):
    return envelope("communication_finished", {
        "communication_id": communication_id, "community_ids": ["com_1"],
        "status": "completed", "counts": counts,
        "finished_at": (START + timedelta(minutes=2)).isoformat()}, organization_id="org_1")


@pytest.fixture
def reports():
    return worker_factory(ReportsService, db=memory_database(Base), config={})


def feed(reports, *events):
    handlers = {"communication_accepted": reports.record_emergency_sends,
                "communication_finished": reports.record_finished_communications,
                "deliveries_updated": reports.record_deliveries}
    for event in events:
        handlers[event["type"]](event)


def test_an_emergency_send_is_listed_with_who_why_and_counts_whatever_the_order(reports):
    done = finished("cmm_1", {"delivered": 2, "suppressed": 1})
    first = accepted("cmm_1")
    # the end and the deliveries before the send itself, and every event twice
    feed(reports, done, updated("cmm_1", "dlv_1", "delivered"), done,
         updated("cmm_1", "dlv_2", "sent"), updated("cmm_1", "dlv_3", "suppressed"),
         first, first, updated("cmm_1", "dlv_2", "delivered"),
         accepted("cmm_2", emergency=False))
    (item,) = reports.emergency_sends(READER)["items"]
    assert item == {
        "communication_id": "cmm_1", "community_ids": ["com_1"], "kind": "announcement",
        "category_id": "cat_1", "channels": ["sms", "voice"],
        "sent_by": {"type": "staff", "id": "stf_9", "name": "Morgan Master"},
        "emergency_reason": "Gas leak in building B", "accepted_at": START.isoformat(),
        "status": "completed", "finished_at": (START + timedelta(minutes=2)).isoformat(),
        "counts": {"delivered": 2, "suppressed": 1}, "total": 3}


def test_a_send_still_going_shows_what_has_happened_so_far(reports):
    feed(reports, accepted("cmm_1"), updated("cmm_1", "dlv_1", "queued"))
    (item,) = reports.emergency_sends(READER)["items"]
    assert (item["status"], item["finished_at"], item["counts"]) == (
        "accepted", None, {"queued": 1})


def test_an_event_without_a_sender_or_a_time_is_still_recorded(reports):
    older = accepted("cmm_1")
    del older["data"]["sent_by"], older["data"]["accepted_at"]
    feed(reports, older)
    (item,) = reports.emergency_sends(READER)["items"]
    assert item["sent_by"] == {"type": None, "id": None, "name": None}
    assert item["accepted_at"] == datetime.fromisoformat(older["occurred_at"]).isoformat()


def test_only_callers_who_may_read_every_community_reached_see_a_send(reports):
    feed(reports, accepted("cmm_here"), accepted("cmm_both", ("com_1", "com_2"), minutes=1),
         accepted("cmm_there", ("com_2",), minutes=2),
         accepted("cmm_other_org", ("com_9",), org="org_2", minutes=3))

    def listed(identity, **query):
        return [i["communication_id"] for i in reports.emergency_sends(identity, **query)[
            "items"]]

    assert listed(READER) == ["cmm_there", "cmm_both", "cmm_here"]
    emergency_sender = staff(send_emergency=["com_1"])
    assert listed(emergency_sender) == ["cmm_here"]
    assert listed(emergency_sender, community_id="com_1") == ["cmm_here"]
    assert listed(staff(view_reports=["com_1", "com_2"]), community_id="com_2") == [
        "cmm_there", "cmm_both"]
    with pytest.raises(Forbidden) as refused:
        reports.emergency_sends(emergency_sender, community_id="com_2")
    assert "'view_reports' or 'send_emergency'" in refused.value.detail
    for nobody in (staff(send_communications=["com_1"]),
                   {"actor_type": "resident", "actor_id": "res_1", "organization_id": "org_1",
                    "resident": {"id": "res_1", "community_id": "com_1", "unit_id": None}}):
        with pytest.raises(Forbidden) as refused:
            reports.emergency_sends(nobody)
        assert refused.value.field == "permission"
    other_org = dict(READER, organization_id="org_2")
    assert listed(other_org) == ["cmm_other_org"]
    assert listed(other_org, community_id="com_1") == []


def test_pages_follow_each_other_and_times_narrow_them(reports):
    feed(reports, *[accepted(f"cmm_{n}", minutes=n) for n in range(5)])
    first = reports.emergency_sends(READER, limit=2)
    assert [i["communication_id"] for i in first["items"]] == ["cmm_4", "cmm_3"]
    second = reports.emergency_sends(READER, limit=2, cursor=first["next"])
    third = reports.emergency_sends(READER, limit=2, cursor=second["next"])
    assert [i["communication_id"] for i in second["items"] + third["items"]] == [
        "cmm_2", "cmm_1", "cmm_0"]
    assert third["next"] is None
    window = reports.emergency_sends(
        READER, created_after=(START + timedelta(minutes=1)).isoformat(),
        created_before=(START + timedelta(minutes=3)).isoformat())
    assert [i["communication_id"] for i in window["items"]] == ["cmm_2", "cmm_1"]


@pytest.mark.parametrize("cursor", ["bm90IGEgY3Vyc29y", "fA", "MjAyNi0xMi0wOHxjbW1fMQ"])
def test_a_cursor_this_report_never_gave_is_refused_naming_it(reports, cursor):
    # "not a cursor", "|", and a time without an offset
    with pytest.raises(InvalidRequest) as refused:
        reports.emergency_sends(READER, cursor=cursor)
    assert refused.value.field == "cursor"
