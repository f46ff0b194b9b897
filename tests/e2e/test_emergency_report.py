"""The report of emergency sends through the whole system: an emergency announcement sent by
the master user is listed by reports — built from messaging's events alone — with who sent it
and why, when it ended and its deliveries by status, as JSON and as CSV; senior management
(view_reports for the organization) sees it, a manager of its office too, a dispatcher of
another office is refused, another organization sees none of it, and ordinary sends are not
in it. The community and its residents are this file's own."""

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from servicekit.testing import wait_until

pytestmark = pytest.mark.e2e

REASON = "Gas leak in building B: leave now"


@pytest.fixture(scope="module")
def town(system):
    run = uuid.uuid4().hex[:8]   # "-<8 hex>": what other tests know as test-made
    return system.own_community(f"Siren Square-{run}", ["Ora", "Pim"], "578", run)


@pytest.fixture(scope="module")
def emergency(system, town):
    """One emergency text to the whole community, sent by the master user; Pim's texts are
    off, so one delivery goes and one is suppressed."""
    master = system.staff("master@maplegrove.example")
    pim = town["residents"]["Pim"]
    off = master.put(f"{system.url}/v1/residents/{pim['id']}/preferences", timeout=30,
                     json={"channels": {"sms": False}, "wording": "Texts from my building: off"})
    assert off.status_code == 200, off.text
    community_id = town["community"]["id"]
    answer = master.post(f"{system.url}/v1/communications", timeout=30, json={
        "kind": "announcement", "channels": ["sms"],
        "recipients": {"communities": [community_id]},
        "category_id": system.demo["category_id"], "emergency": True,
        "emergency_reason": REASON, "body": f"Leave the building now {uuid.uuid4().hex[:6]}"})
    assert answer.status_code == 202, answer.text
    view = system.wait_until_done(answer.json()["id"])
    ordinary = system.send(town["residents"]["Ora"], "Pool opens Saturday")
    assert ordinary.status_code == 202, ordinary.text
    system.wait_until_done(ordinary.json()["id"])
    return {"id": view["id"], "community_id": community_id, "ordinary_id": ordinary.json()["id"],
            "accepted_at": view["accepted_at"]}


def report(session, system, **params):
    return session.get(f"{system.url}/v1/reports/emergency-sends", params=params, timeout=30)


def listed(session, system, **params):
    answer = report(session, system, **params)
    assert answer.status_code == 200, answer.text
    return {item["communication_id"]: item for item in answer.json()["items"]}


def test_an_emergency_send_is_reported_with_who_why_and_its_counts(system, emergency):
    senior = system.staff("senior@maplegrove.example")
    master_id = next(a["principal_id"] for a in system.demo["accounts"]
                     if a["email"] == "master@maplegrove.example")

    def finished():
        item = listed(senior, system, community_id=emergency["community_id"]).get(
            emergency["id"])
        return item if item and item["status"] == "completed" and item["total"] == 2 else None

    item = wait_until(finished, timeout=30, interval=0.3)
    assert item["sent_by"] == {"type": "staff", "id": master_id, "name": "Morgan Master"}
    assert item["emergency_reason"] == REASON
    assert (item["community_ids"], item["channels"], item["kind"]) == (
        [emergency["community_id"]], ["sms"], "announcement")
    assert item["counts"] == {"delivered": 1, "suppressed": 1}
    assert item["accepted_at"] == emergency["accepted_at"]
    assert item["finished_at"] >= item["accepted_at"]
    # ordinary sends are not emergencies
    assert emergency["ordinary_id"] not in listed(senior, system,
                                                  community_id=emergency["community_id"])

    # the same as a download: one row, a column per status
    download = report(senior, system, community_id=emergency["community_id"], format="csv")
    assert download.status_code == 200, download.text
    assert download.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in download.headers["Content-Disposition"]
    (row,) = csv.DictReader(io.StringIO(download.text))
    assert (row["communication_id"], row["sent_by_name"], row["sent_by_id"],
            row["emergency_reason"], row["status"]) == (
        emergency["id"], "Morgan Master", master_id, REASON, "completed")
    assert (row["delivered"], row["suppressed"], row["failed"], row["total"]) == (
        "1", "1", "0", "2")
    assert row["community_ids"] == emergency["community_id"] and row["channels"] == "sms"


def test_who_sees_the_report(system, emergency):
    # senior management and the manager of its office (Toronto) see it, with or without a
    # community; a dispatcher of the Ottawa office holds neither permission anywhere
    for email in ("senior@maplegrove.example", "manager@maplegrove.example"):
        session = system.staff(email)
        assert emergency["id"] in listed(session, system)
        assert emergency["id"] in listed(session, system,
                                         community_id=emergency["community_id"])
    dispatcher = system.staff("dispatcher@maplegrove.example")
    refused = report(dispatcher, system)
    assert refused.status_code == 403
    assert refused.headers["Content-Type"] == "application/problem+json"
    assert "send_emergency" in refused.json()["detail"]
    # another organization: nothing of ours, and our community is not found
    harbor = system.staff("manager@harborview.example")
    assert emergency["id"] not in listed(harbor, system)
    assert report(harbor, system, community_id=emergency["community_id"]).status_code == 404


def test_the_report_is_narrowed_by_time_and_refuses_what_it_cannot_read(system, emergency):
    senior = system.staff("senior@maplegrove.example")
    accepted = datetime.fromisoformat(emergency["accepted_at"])
    around = listed(senior, system, community_id=emergency["community_id"],
                    created_after=(accepted - timedelta(seconds=1)).isoformat(),
                    created_before=(accepted + timedelta(seconds=1)).isoformat())
    assert emergency["id"] in around
    assert listed(senior, system, community_id=emergency["community_id"],
                  created_after=(datetime.now(UTC) + timedelta(minutes=1)).isoformat()) == {}
    for params, field in ((dict(created_after="2026-12-08T09:00:00"), "created_after"),
                          (dict(created_before="0001-01-01T00:00:00+05:00"),
                           "created_before"),
                          (dict(cursor="bm90IGEgY3Vyc29y"), "cursor"),
                          (dict(format="pdf"), "format"), (dict(limit="0"), "limit")):
        answer = report(senior, system, **params)
        assert answer.status_code == 422, (params, answer.text)
        problem = answer.json()
        # named as the rule's field (reports) or among the query's invalid fields (gateway)
        assert problem.get("field") == field or field in problem.get("errors", {}), problem
