"""Quiet hours through the whole system: a community where it is night now (its time zone
chosen so, whenever the test runs) has its texts held until 08:00 there, neither dropped
nor sent; an emergency call by someone allowed to send one goes at once, is recorded with
who and why, and is listed among the emergency sends."""

import time
import uuid
from datetime import UTC, datetime

import pytest
import requests

pytestmark = pytest.mark.e2e


def night_timezone(now=None):
    """An IANA zone where it is about 2 a.m. now (Etc/GMT-N is N hours ahead of UTC)."""
    hour = (now or datetime.now(UTC)).hour
    ahead = (2 - hour + 11) % 24 - 11        # -11 .. +12
    return "Etc/UTC" if ahead == 0 else f"Etc/GMT{'-' if ahead > 0 else '+'}{abs(ahead)}"


@pytest.fixture(scope="module")
def night(system):
    run = uuid.uuid4().hex[:8]   # "-<8 hex>": what other tests know as test-made
    return system.own_community(f"Night Row-{run}", ["Kim", "Lou"], "573", run,
                                timezone=night_timezone())


def send(session, system, community, channels, **extra):
    return session.post(f"{system.url}/v1/communications", timeout=30, json={
        "kind": "announcement", "channels": channels,
        "recipients": {"communities": [community["id"]]},
        "category_id": system.demo["category_id"], "body": "Pool party on Saturday!", **extra})


def test_a_text_inside_quiet_hours_waits_for_the_window(system, night):
    answer = send(system.session, system, night["community"], ["sms", "email"])
    assert answer.status_code == 202, answer.text
    communication_id = answer.json()["id"]
    deadline = time.monotonic() + 30
    while True:
        view = system.communication(communication_id)
        if view["counts"].get("delivered", 0) == 2 and view["counts"].get("queued") == 2:
            break
        assert time.monotonic() < deadline, view
        time.sleep(0.3)
    texts = [d for d in view["deliveries"] if d["channel"] == "sms"]
    emails = [d for d in view["deliveries"] if d["channel"] == "email"]
    assert all(d["status"] == "delivered" for d in emails)        # email is never held
    for d in texts:
        assert d["status"] == "queued" and d["held_until"], d
        # about 2 a.m. there now: the window opens at 08:00, five to six hours on
        held = datetime.fromisoformat(d["held_until"])
        assert 5 * 3600 < (held - datetime.now(UTC)).total_seconds() <= 6 * 3600 + 60
    assert view["held"]["deliveries"] == 2 and view["held"]["until"]
    for resident in night["residents"].values():
        phone = next(c["value"] for c in resident["contact_points"] if c["kind"] == "phone")
        assert system.provider_messages(to=phone) == []
    # nothing is lost: a cancel releases what waits
    cancelled = system.session.post(
        f"{system.url}/v1/communications/{communication_id}/cancel", timeout=30)
    assert cancelled.status_code == 200 and cancelled.json()["counts"].get("cancelled") == 2


def test_an_emergency_call_goes_at_once_and_is_recorded(system, night):
    master = system.staff("master@maplegrove.example")
    manager = system.staff("manager@maplegrove.example")
    refused = send(manager, system, night["community"], ["voice"], emergency=True,
                   emergency_reason="Gas leak in building B")
    assert refused.status_code == 403 and "send_emergency" in refused.json()["detail"]
    unexplained = send(master, system, night["community"], ["voice"], emergency=True)
    assert unexplained.status_code == 422
    assert unexplained.json()["field"] == "emergency_reason"

    answer = send(master, system, night["community"], ["voice"], emergency=True,
                  emergency_reason="Gas leak in building B: leave now")
    assert answer.status_code == 202, answer.text
    view = system.wait_until_done(answer.json()["id"], timeout=60)
    assert view["emergency"] is True
    assert view["emergency_reason"] == "Gas leak in building B: leave now"
    assert view["sent_by"]["id"]
    assert {d["status"] for d in view["deliveries"]} <= {"delivered", "undelivered"}
    for resident in night["residents"].values():
        phone = next(c["value"] for c in resident["contact_points"] if c["kind"] == "phone")
        calls = requests.get(f"{system.twilio_url}/_sandbox/calls", params={"to": phone},
                             timeout=10).json()
        assert len(calls) == 1
    listed = master.get(f"{system.url}/v1/communications", timeout=30,
                        params={"emergency": "true"}).json()["items"]
    assert answer.json()["id"] in [c["id"] for c in listed]
    assert all(c["emergency"] for c in listed)
