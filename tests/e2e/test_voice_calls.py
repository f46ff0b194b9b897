"""Voice announcements through the whole system and the real `twilio` client: the Twilio
sandbox makes each call (answered, busy or unanswered, by its seeded draw), posts signed
call-status callbacks with CallDuration, and shows the TwiML each call received. A call is
held for the longest it can last and charged for its started minutes; a busy or unanswered
call costs nothing; pressing 9 in the call's opt-out offer stops the next call."""

import math
import time
import uuid

import pytest
import requests
from kombu import Connection, Queue
from nameko.standalone.events import get_event_exchange
from twilio.request_validator import RequestValidator

from servicekit.testing import wait_until

pytestmark = pytest.mark.e2e

BODY = "The water is off on Tuesday from noon to four. Please fill a kettle beforehand."


@pytest.fixture(scope="module")
def town(system):
    run = uuid.uuid4().hex[:8]   # "-<8 hex>": what other tests know as test-made
    return system.own_community(f"Call Court-{run}", ["Ann", "Ben", "Cid", "Dee", "Eve",
                                                       "Fay", "Gus", "Hal"], "571", run)


def calls_to(system, phone):
    answer = requests.get(f"{system.twilio_url}/_sandbox/calls", params={"to": phone},
                          timeout=10)
    answer.raise_for_status()
    return answer.json()


def announce(system, recipients, channels=("voice",)):
    answer = system.session.post(f"{system.url}/v1/communications", timeout=30, json={
        "kind": "announcement", "channels": list(channels), "recipients": recipients,
        "category_id": system.demo["category_id"], "body": BODY})
    assert answer.status_code == 202, answer.text
    return answer.json()["id"]


def done(system, communication_id, timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        view = system.communication(communication_id)
        if view["status"] == "completed" and view["credits"]["held"] == 0:
            return view
        assert time.monotonic() < deadline, f"not done: {view}"
        time.sleep(0.3)


def deliveries(system, communication_id):
    answer = system.session.get(
        f"{system.url}/v1/communications/{communication_id}/deliveries", timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()["items"]


class Partner:
    """A partner's own queue bound to messaging's deliveries_updated, as docs/events.md says."""

    def __init__(self, system):
        self.connection = Connection(system.env["TOWNHALL_AMQP_URI"])
        self.queue = Queue(f"e2e-partner-{uuid.uuid4().hex[:8]}", routing_key="deliveries_updated",
                           exchange=get_event_exchange("messaging", {}), exclusive=True,
                           auto_delete=True)(self.connection.channel())
        self.queue.declare()
        self.ended = {}

    def final_items(self, communication_id, count):
        """Each delivery's final item, once `count` deliveries have ended."""
        message = self.queue.get(no_ack=True)
        while message is not None:
            data = message.payload["data"]
            if data["communication_id"] == communication_id:
                for item in data["items"]:
                    if item["status"] in ("delivered", "undelivered", "failed"):
                        self.ended[item["delivery_id"]] = item
            message = self.queue.get(no_ack=True)
        return self.ended if len(self.ended) >= count else None


@pytest.fixture
def partner(system):
    partner = Partner(system)
    try:
        yield partner
    finally:
        partner.connection.close()


def test_a_voice_announcement_is_charged_by_the_minutes_answered(system, town, partner):
    system.configure_provider(seed=11, call_busy_rate=0.3, call_no_answer_rate=0.3,
                              call_min_seconds=30, call_max_seconds=150)
    try:
        preview = system.session.post(f"{system.url}/v1/communications/preview", timeout=30,
                                      json={"kind": "announcement", "channels": ["voice"],
                                            "recipients": {"communities": [
                                                town["community"]["id"]]},
                                            "category_id": system.demo["category_id"],
                                            "body": BODY})
        assert preview.status_code == 200, preview.text
        communication_id = announce(system, {"communities": [town["community"]["id"]]})
        view = done(system, communication_id)
    finally:
        system.configure_provider(seed=None, call_busy_rate=0, call_no_answer_rate=0,
                                  call_min_seconds=20, call_max_seconds=90)
    made = {d["address"]: d for d in deliveries(system, communication_id)}
    assert len(made) == 8
    # what a partner bound to deliveries_updated learns of each call's end
    told = wait_until(lambda: partner.final_items(communication_id, 8), timeout=30)
    outcomes, charged = {}, 0
    for resident in town["residents"].values():
        phone = next(c["value"] for c in resident["contact_points"] if c["kind"] == "phone")
        (call,) = calls_to(system, phone)          # one call per resident, never two
        delivery = made[phone]
        assert delivery["provider_id"] == call["sid"]
        outcomes[call["status"]] = outcomes.get(call["status"], 0) + 1
        # the body read twice in the resident's language, then the opt-out offer
        assert 'loop="2"' in call["twiml"] and BODY in call["twiml"]
        assert 'language="en-US"' in call["twiml"] and "<Gather" in call["twiml"]
        assert call["parameters"]["TimeLimit"] == "300"
        item = told[delivery["id"]]
        assert (item["status"], item["error_code"]) == (delivery["status"],
                                                        delivery["error_code"])
        assert item["duration_seconds"] == int(call["duration"])
        if call["status"] == "completed":
            assert delivery["status"] == "delivered"
            assert delivery["credits"] == math.ceil(int(call["duration"]) / 60)
            assert item["credits_charged"] == delivery["credits"]
            charged += delivery["credits"]
        else:
            assert delivery["status"] == "undelivered"
            assert delivery["error_code"] == call["status"]
            assert (item["duration_seconds"], item["credits_charged"]) == (0, 0)
    # the seeded draw gives each kind of call at least once
    assert set(outcomes) == {"completed", "busy", "no-answer"}, outcomes
    assert view["credits"]["charged"] == charged
    assert view["credits"]["held"] == 0
    # the preview equals the hold: one call's longest, per resident; what was not answered
    # is released whole, what was answered is charged by its minutes instead
    per_call = preview.json()["credits"] // 8
    assert preview.json()["credits"] == 8 * per_call > 0
    assert view["credits"]["released"] == per_call * (8 - outcomes["completed"])


def test_pressing_9_stops_the_next_call(system, town):
    resident = town["residents"]["Ann"]
    phone = next(c["value"] for c in resident["contact_points"] if c["kind"] == "phone")
    before = len(calls_to(system, phone))
    first = announce(system, {"residents": [resident["id"]]})
    done(system, first)
    call = calls_to(system, phone)[-1]
    pressed = requests.post(f"{system.twilio_url}/_sandbox/calls/{call['sid']}/keypress",
                            json={"digits": "9", "speech": "stop calling"}, timeout=10)
    assert pressed.status_code == 200, pressed.text
    assert pressed.json()["status"] == 200
    assert "You will not receive these calls again" in pressed.json()["body"]

    def withdrawn():
        history = system.session.get(f"{system.url}/v1/residents/{resident['id']}/consents",
                                     timeout=30).json()
        return next((e for e in history["events"] if e["method"] == "call_keypress"), None)

    act = wait_until(withdrawn, timeout=30)
    assert (act["channel"], act["action"], act["category_id"]) == (
        "voice", "withdraw", system.demo["category_id"])
    assert act["evidence"]["call_sid"] == call["sid"] and act["evidence"]["digits"] == "9"
    assert act["evidence"]["words_shown"] == "To stop these calls, press 9."
    assert act["evidence"]["speech"] == "stop calling"

    second = announce(system, {"residents": [resident["id"]]})
    done(system, second)
    (delivery,) = deliveries(system, second)
    assert delivery["status"] == "suppressed"
    assert len(calls_to(system, phone)) == before + 1     # no second call


@pytest.mark.parametrize("path, form", [
    ("/webhooks/twilio/call-status", {"CallSid": "CA" + "0" * 32, "CallStatus": "completed",
                                      "CallDuration": "61"}),
    ("/webhooks/twilio/gather", {"CallSid": "CA" + "0" * 32, "Digits": "9"}),
])
def test_call_webhooks_believe_only_twilios_signature(system, path, form):
    unsigned = requests.post(f"{system.url}{path}", data=form, timeout=10)
    assert unsigned.status_code == 403
    forged = requests.post(f"{system.url}{path}", data=form, timeout=10,
                           headers={"X-Twilio-Signature": RequestValidator("wrong")
                                    .compute_signature(f"{system.url}{path}", form)})
    assert forged.status_code == 403
    public = system.env.get("TOWNHALL_GATEWAY__PUBLIC_URL", system.url).rstrip("/")
    signed = requests.post(f"{system.url}{path}", data=form, timeout=10, headers={
        "X-Twilio-Signature": RequestValidator(system.auth_token).compute_signature(
            public + path, form)})
    assert signed.status_code in (200, 204), signed.text
