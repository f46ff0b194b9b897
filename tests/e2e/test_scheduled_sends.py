"""Scheduled sends through the whole system: a send scheduled a few seconds ahead is handed
on once (one `communication_accepted` on the broker) and goes out once with two messaging
instances running; one due while messaging was down goes once, late, when it is back; one
scheduled for later is listed, moved (a move sent again under its Idempotency-Key answers
the same) and cancelled and never goes; consent is decided when it goes, so a withdrawal
made meanwhile wins."""

import signal
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from servicekit.supervisor import process_specs
from servicekit.testing import EventTap, queue_consumers, wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def town(system):
    run = uuid.uuid4().hex[:8]   # "-<8 hex>": what other tests know as test-made
    return system.own_community(f"Later Lane-{run}", ["Ivy", "Jon"], "572", run)


def messaging_instances(system, wanted, timeout=60):
    """Wait until `wanted` messaging processes consume their RPC queue (each runs the
    scheduler from the moment it does)."""
    amqp_uri = system.env["TOWNHALL_AMQP_URI"]
    wait_until(lambda: queue_consumers(amqp_uri, "rpc-messaging") == wanted, timeout=timeout,
               interval=0.2)


@pytest.fixture
def second_messaging(system):
    argv = dict(process_specs(system.stack.config))["messaging"]
    system.stack.start_process("messaging-2", argv)
    try:
        messaging_instances(system, 2)
        yield
    finally:
        system.stack.stop_process("messaging-2")
        messaging_instances(system, 1)


@pytest.fixture
def accepted_events(system):
    """Every communication_accepted the broker carries while the test runs."""
    tap = EventTap(system.env["TOWNHALL_AMQP_URI"], "messaging", "communication_accepted")
    try:
        yield tap
    finally:
        tap.close()


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
                                                                     second_messaging,
                                                                     accepted_events):
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
    # both schedulers ran every second past send_at meanwhile; a second firing would have
    # put a second event on the broker by now (the relay publishes within a second)
    time.sleep(3)
    (accepted,) = accepted_events.envelopes(communication_id=communication_id)
    assert datetime.fromisoformat(accepted["occurred_at"]) >= send_at
    assert len(texts(system, ivy, body)) == 1


def test_a_send_due_while_messaging_was_down_goes_once_when_it_is_back(system, town,
                                                                       accepted_events):
    ivy = town["residents"]["Ivy"]
    body = f"Elevator inspection {uuid.uuid4().hex[:6]}"
    send_at = datetime.now(UTC) + timedelta(seconds=3)
    communication_id = schedule(system, ivy, body, send_at)
    # a crash: no scheduler runs while the send comes due
    system.stack.stop_process("messaging", sig=signal.SIGKILL)
    try:
        time.sleep(max(0.0, (send_at - datetime.now(UTC)).total_seconds()) + 2)
        assert accepted_events.envelopes(communication_id=communication_id) == []
        assert texts(system, ivy, body) == []
    finally:
        system.stack.start_process("messaging")
        messaging_instances(system, 1)
    view = system.wait_until_done(communication_id, timeout=60)
    assert datetime.fromisoformat(view["started_at"]) >= send_at + timedelta(seconds=2)
    time.sleep(3)   # as above: a second firing would be on the broker by now
    (accepted,) = accepted_events.envelopes(communication_id=communication_id)
    (delivery,) = view["deliveries"]
    assert delivery["status"] == "delivered"
    (text,) = texts(system, ivy, body)
    assert text["sid"] == delivery["provider_id"]


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
