"""A scheduled send decides consent when it goes: a resident who texts STOP, or who uses the
unsubscribe link of an earlier text, between the scheduling and the firing is suppressed when
it fires, and nothing is sent to them.

Each send is scheduled an hour ahead, the resident withdraws, the withdrawal is seen to be
recorded, and only then is the send moved to a few seconds ahead: the withdrawal is certainly
between the two, however slow the machine. The community, its residents and their phone
numbers are this file's own."""

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import requests

from servicekit.testing import wait_until

pytestmark = pytest.mark.e2e

OURS = "+15550000000"   # config twilio.from_number: what residents text
LINK = re.compile(r"Unsubscribe: (http://\S+/u/\S+)")


@pytest.fixture(scope="module")
def town(system):
    run = uuid.uuid4().hex[:8]   # "-<8 hex>": what other tests know as test-made
    return system.own_community(f"Second Thoughts-{run}", ["Kai", "Lea"], "577", run)


def phone_of(resident):
    return next(c["value"] for c in resident["contact_points"] if c["kind"] == "phone")


def texts(system, resident, words):
    return [m["body"] for m in system.provider_messages(to=phone_of(resident))
            if words in m["body"]]


def schedule_in_an_hour(system, resident, body):
    answer = system.session.post(f"{system.url}/v1/communications", timeout=30, json={
        "kind": "message", "channels": ["sms"], "recipients": {"residents": [resident["id"]]},
        "category_id": system.demo["category_id"], "body": body,
        "send_at": (datetime.now(UTC) + timedelta(hours=1)).isoformat()})
    assert answer.status_code == 202, answer.text
    assert answer.json()["status"] == "scheduled"
    return answer.json()["id"]


def fire_soon(system, communication_id):
    """Move the send to two seconds from now and wait until it has gone and ended."""
    moved = system.session.post(
        f"{system.url}/v1/communications/{communication_id}/reschedule", timeout=30,
        json={"send_at": (datetime.now(UTC) + timedelta(seconds=2)).isoformat()})
    assert moved.status_code == 200, moved.text
    assert moved.json()["status"] == "scheduled"
    return system.wait_until_done(communication_id, timeout=60)


def test_a_stop_texted_before_a_scheduled_send_goes_suppresses_it(system, town):
    kai = town["residents"]["Kai"]
    body = f"Parking lot repaving {uuid.uuid4().hex[:6]}"
    communication_id = schedule_in_an_hour(system, kai, body)
    inbound = requests.post(f"{system.twilio_url}/_sandbox/inbound", timeout=30, json={
        "from": phone_of(kai), "to": OURS, "body": "STOP",
        "url": f"{system.url}/webhooks/twilio/inbound"})
    assert inbound.status_code == 200 and inbound.json()["status"] == 200, inbound.text
    # the confirmation is sent once consent has recorded the keyword
    wait_until(lambda: texts(system, kai, "you are unsubscribed"), timeout=30, interval=0.3)

    view = fire_soon(system, communication_id)
    (delivery,) = view["deliveries"]
    assert (delivery["status"], delivery["reason"], delivery["credits"]) == (
        "suppressed", "keyword_stop", 0)
    assert texts(system, kai, body) == []
    assert view["credits"]["held"] == view["credits"]["charged"] == 0


def test_an_unsubscribe_link_used_before_a_scheduled_send_goes_suppresses_it(system, town):
    lea = town["residents"]["Lea"]
    # an earlier text of the category carries her link
    earlier = f"Recycling day moved {uuid.uuid4().hex[:6]}"
    sent = system.send(lea, earlier)
    assert sent.status_code == 202, sent.text
    system.wait_until_done(sent.json()["id"])
    (text,) = texts(system, lea, earlier)
    link = LINK.search(text).group(1)

    body = f"Courtyard party {uuid.uuid4().hex[:6]}"
    communication_id = schedule_in_an_hour(system, lea, body)
    unsubscribed = requests.post(link, data={"scope": "category"}, timeout=30)
    # recorded before the page answers
    assert unsubscribed.status_code == 200 and "You are unsubscribed" in unsubscribed.text

    view = fire_soon(system, communication_id)
    (delivery,) = view["deliveries"]
    assert (delivery["status"], delivery["reason"], delivery["credits"]) == (
        "suppressed", "opted_out", 0)
    assert texts(system, lea, body) == []
