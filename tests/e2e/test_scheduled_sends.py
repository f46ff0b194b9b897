"""Scheduled sends through the whole system: a send scheduled a few seconds ahead goes out
once with two messaging instances running; one scheduled for later is listed, moved (a move
sent again under its Idempotency-Key answers the same) and cancelled and never goes; consent
is decided when it goes, so a withdrawal made meanwhile wins."""

import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from servicekit.supervisor import process_specs
from servicekit.testing import wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def town(system):
    run = uuid.uuid4().hex[:8]   # "-<8 hex>": what other tests know as test-made
    return system.own_community(f"Later Lane-{run}", ["Ivy", "Jon"], "572", run)


@pytest.fixture
def second_messaging(system):
    argv = dict(process_specs(system.stack.config))["messaging"]
    system.stack.start_process("messaging-2", argv)
    try:
        yield
    finally:
        system.stack.stop_process("messaging-2")


def phone_of(resident):
    return next(c["value"] for c in resident["contact_points"] if c["kind"] == "phone")


def schedule(system, resident, body, send_at):
    answer = system.session.post(f"{system.url}/v1/communications", timeout=30, json={
        "kind": "message", "channels": ["sms"], "recipients": {"residents": [resident["id"]]},
        "category_id": system.demo["category_id"], "body": body,
        "send_at": send_at.isoformat()})
    assert answer.status_code == 202, answer.text
    assert answer.json()["status"] == "scheduled"
    return answer.json()["id"]


def texts(system, resident, body):
    return [m for m in system.provider_messages(to=phone_of(resident)) if body in m["body"]]


def test_a_send_scheduled_seconds_ahead_goes_once_with_two_instances(system, town,
                                                                     second_messaging):
    ivy = town["residents"]["Ivy"]
    body = f"Board meeting tonight {uuid.uuid4().hex[:6]}"
    # an offset of its own: the moment is what counts, not the zone it is written in
    send_at = datetime.now(UTC).astimezone(
        datetime.now().astimezone().tzinfo) + timedelta(seconds=4)
    communication_id = schedule(system, ivy, body, send_at)
    assert system.communication(communication_id)["status"] == "scheduled"
    assert texts(system, ivy, body) == []
    view = system.wait_until_done(communication_id, timeout=60)
    assert datetime.fromisoformat(view["started_at"]) >= send_at
    time.sleep(2)   # a second firing would have come by now
    assert len(texts(system, ivy, body)) == 1


def test_a_later_send_is_listed_moved_and_cancelled_and_never_goes(system, town):
    jon = town["residents"]["Jon"]
    body = f"Pool party {uuid.uuid4().hex[:6]}"
    communication_id = schedule(system, jon, body, datetime.now(UTC) + timedelta(days=1))
    listed = system.session.get(f"{system.url}/v1/communications", timeout=30, params={
        "community_id": town["community"]["id"], "status": "scheduled"}).json()
    assert communication_id in [c["id"] for c in listed["items"]]
    key = {"Idempotency-Key": f"move-{uuid.uuid4().hex[:8]}"}
    two_days = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    moved = system.session.post(
        f"{system.url}/v1/communications/{communication_id}/reschedule", timeout=30,
        json={"send_at": two_days}, headers=key)
    assert moved.status_code == 200, moved.text
    assert moved.json()["status"] == "scheduled"
    again = system.session.post(
        f"{system.url}/v1/communications/{communication_id}/reschedule", timeout=30,
        json={"send_at": two_days}, headers=key)
    assert again.status_code == 200 and again.json() == moved.json()
    other = system.session.post(
        f"{system.url}/v1/communications/{communication_id}/reschedule", timeout=30,
        json={"send_at": (datetime.now(UTC) + timedelta(days=3)).isoformat()}, headers=key)
    assert other.status_code == 422 and other.json()["field"] == "Idempotency-Key"
    too_far = system.session.post(
        f"{system.url}/v1/communications/{communication_id}/reschedule", timeout=30,
        json={"send_at": (datetime.now(UTC) + timedelta(days=120)).isoformat()})
    assert too_far.status_code == 422 and too_far.json()["field"] == "send_at"
    cancelled = system.session.post(
        f"{system.url}/v1/communications/{communication_id}/cancel", timeout=30)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    again = system.session.post(
        f"{system.url}/v1/communications/{communication_id}/reschedule", timeout=30,
        json={"send_at": (datetime.now(UTC) + timedelta(days=2)).isoformat()})
    assert again.status_code == 409
    assert texts(system, jon, body) == []


def test_a_withdrawal_made_before_a_scheduled_send_goes_wins(system, town):
    ivy = town["residents"]["Ivy"]
    body = f"Gym closed {uuid.uuid4().hex[:6]}"
    communication_id = schedule(system, ivy, body, datetime.now(UTC) + timedelta(seconds=4))
    master = system.staff("master@maplegrove.example")
    answer = master.put(f"{system.url}/v1/residents/{ivy['id']}/preferences", timeout=30,
                        json={"channels": {"sms": False}, "wording": "Texts from my building: off"})
    assert answer.status_code == 200, answer.text
    try:
        view = wait_until(lambda: (lambda v: v if v["status"] == "completed" else None)(
            system.communication(communication_id)), timeout=60, interval=0.3)
        (delivery,) = view["deliveries"]
        assert delivery["status"] == "suppressed"
        assert texts(system, ivy, body) == []
    finally:
        master.put(f"{system.url}/v1/residents/{ivy['id']}/preferences", timeout=30,
                   json={"channels": {"sms": True}, "wording": "Texts from my building: on"})
