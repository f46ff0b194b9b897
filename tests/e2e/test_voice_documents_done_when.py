"""Issue 12's done-when, as a new user would do it through the API: schedule a document
announcement by email and text for tomorrow 09:00, see it wait, cancel it; then, in a
community where it is 23:00, see an ordinary call held until 08:00 and an emergency voice call
dialled at once. The calls are
charged per started minute of their real duration and nothing for unanswered ones, and a
resident who pressed 9 is not called again."""

import math
import time
import uuid
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from zoneinfo import ZoneInfo

import pytest
import requests
from fpdf import FPDF

pytestmark = pytest.mark.e2e


def eleven_pm_timezone(now=None):
    """An IANA zone where it is about 23:00 now (Etc/GMT-N is N hours ahead of UTC)."""
    hour = (now or datetime.now(UTC)).hour
    ahead = (23 - hour + 11) % 24 - 11
    return "Etc/UTC" if ahead == 0 else f"Etc/GMT{'-' if ahead > 0 else '+'}{abs(ahead)}"


def phone_of(resident):
    return next(c["value"] for c in resident["contact_points"] if c["kind"] == "phone")


def calls_to(system, phone):
    return requests.get(f"{system.twilio_url}/_sandbox/calls", params={"to": phone},
                        timeout=10).json()


def wait_for(found, what, timeout=30):
    deadline = time.monotonic() + timeout
    while not (answer := found()):
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.3)
    return answer


def test_done_when(system):
    master = system.staff("master@maplegrove.example")
    run = uuid.uuid4().hex[:8]   # "-<8 hex>": what other tests know as test-made
    zone = eleven_pm_timezone()
    town = system.own_community(f"Late Court-{run}", ["Oda", "Pia", "Quy", "Rex"], "575",
                                run, timezone=zone)
    community = town["community"]["id"]

    # 1. a document announcement by email and text, scheduled for tomorrow 09:00 there
    document = FPDF()
    document.add_page()
    document.set_font("Helvetica", size=14)
    document.cell(text="Annual general meeting: agenda")
    uploaded = master.post(f"{system.url}/v1/documents", timeout=30, files={
        "file": ("agm-agenda.pdf", bytes(document.output()), "application/pdf")})
    assert uploaded.status_code == 201, uploaded.text
    tomorrow = (datetime.now(ZoneInfo(zone)) + timedelta(days=1)).replace(
        hour=9, minute=0, second=0, microsecond=0)
    scheduled = master.post(f"{system.url}/v1/communications", timeout=30, json={
        "kind": "document", "document_id": uploaded.json()["id"],
        "channels": ["email", "sms"], "recipients": {"communities": [community]},
        "category_id": system.demo["category_id"], "subject": "AGM agenda",
        "body": "The AGM agenda is attached.", "send_at": tomorrow.isoformat()})
    assert scheduled.status_code == 202, scheduled.text
    waiting = master.get(f"{system.url}/v1/communications/{scheduled.json()['id']}",
                         timeout=30).json()
    assert waiting["status"] == "scheduled"
    assert datetime.fromisoformat(waiting["send_at"]) == tomorrow
    cancelled = master.post(
        f"{system.url}/v1/communications/{scheduled.json()['id']}/cancel", timeout=30)
    assert cancelled.json()["status"] == "cancelled"

    # 2. at 23:00 there an ordinary call waits for 08:00 (the hours are quiet indeed) ...
    oda = town["residents"]["Oda"]
    ordinary = master.post(f"{system.url}/v1/communications", timeout=30, json={
        "kind": "message", "channels": ["voice"], "recipients": {"residents": [oda["id"]]},
        "category_id": system.demo["category_id"], "body": "The pool opens on Monday."})
    assert ordinary.status_code == 202, ordinary.text
    held = wait_for(lambda: (lambda v: v if v["held"]["deliveries"] == 1 else None)(
        master.get(f"{system.url}/v1/communications/{ordinary.json()['id']}",
                   timeout=30).json()), "the ordinary call to be held")
    opens = datetime.fromisoformat(held["held"]["until"]).astimezone(ZoneInfo(zone))
    assert (opens.hour, opens.minute) == (8, 0) and opens > datetime.now(ZoneInfo(zone))
    master.post(f"{system.url}/v1/communications/{ordinary.json()['id']}/cancel", timeout=30)

    # ... and an emergency call goes at once, charged by the minutes answered
    # seed 14 draws, in order: busy, answered (123 s), answered (71 s), no answer
    system.configure_provider(seed=14, call_busy_rate=0.25, call_no_answer_rate=0.25,
                              call_min_seconds=40, call_max_seconds=130)
    try:
        sent_at = datetime.now(UTC).replace(microsecond=0)
        sent = master.post(f"{system.url}/v1/communications", timeout=30, json={
            "kind": "announcement", "channels": ["voice"],
            "recipients": {"communities": [community]}, "emergency": True,
            "emergency_reason": "Gas leak on the second floor: leave the building now",
            "category_id": system.demo["category_id"],
            "body": "Gas leak on the second floor. Leave the building now."})
        assert sent.status_code == 202, sent.text
        view = system.wait_until_done(sent.json()["id"], timeout=60)
    finally:
        system.configure_provider(seed=None, call_busy_rate=0, call_no_answer_rate=0,
                                  call_min_seconds=20, call_max_seconds=90)
    assert view["emergency"]
    charged, outcomes = 0, set()
    by_phone = {d["address"]: d for d in view["deliveries"]}
    for resident in town["residents"].values():
        (call,) = calls_to(system, phone_of(resident))
        # dialled within seconds of the send, not at 08:00 (Twilio's dates are in seconds)
        dialled = parsedate_to_datetime(call["date_created"]) - sent_at
        assert timedelta(0) <= dialled < timedelta(seconds=30), (call["sid"], dialled)
        outcomes.add(call["status"])
        delivery = by_phone[phone_of(resident)]
        expected = math.ceil(int(call["duration"]) / 60) if call["status"] == "completed" \
            else 0
        if call["status"] == "completed":
            assert delivery["credits"] == expected
        charged += expected
    assert "completed" in outcomes and outcomes - {"completed"}, outcomes
    assert view["credits"]["charged"] == charged

    # 3. a resident who pressed 9 is not called again
    answered = next(r for r in town["residents"].values()
                    if calls_to(system, phone_of(r))[0]["status"] == "completed")
    call = calls_to(system, phone_of(answered))[0]
    pressed = requests.post(f"{system.twilio_url}/_sandbox/calls/{call['sid']}/keypress",
                            json={"digits": "9"}, timeout=10)
    assert pressed.status_code == 200 and pressed.json()["status"] == 200
    deadline = time.monotonic() + 30
    while True:
        history = master.get(f"{system.url}/v1/residents/{answered['id']}/consents",
                             timeout=30).json()
        if any(e["method"] == "call_keypress" for e in history["events"]):
            break
        assert time.monotonic() < deadline, "the keypress was not recorded"
        time.sleep(0.3)
    again = master.post(f"{system.url}/v1/communications", timeout=30, json={
        "kind": "announcement", "channels": ["voice"],
        "recipients": {"residents": [answered["id"]]}, "emergency": True,
        "emergency_reason": "All clear", "category_id": system.demo["category_id"],
        "body": "The gas leak is fixed; you may go back in."})
    assert again.status_code == 202, again.text
    (delivery,) = system.wait_until_done(again.json()["id"], timeout=60)["deliveries"]
    assert delivery["status"] == "suppressed"
    assert len(calls_to(system, phone_of(answered))) == 1
