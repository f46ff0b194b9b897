"""SMS keywords through the whole system: a handset texts our number (the Twilio sandbox's
inbound simulation posts the signed webhook to the gateway), consent records the keyword,
messaging sends the one reply — and what is sent afterwards honours it. Residents of this
file are its own, with phone numbers nobody else uses."""

import csv
import io
import random
import time
import uuid

import pytest
import requests
from kombu import Connection, Queue
from nameko.standalone.events import get_event_exchange
from twilio.request_validator import RequestValidator

from servicekit.testing import wait_until

pytestmark = pytest.mark.e2e

OURS = "+15550000000"   # config twilio.from_number: what residents text
ORG_NAME = "Maple Grove Property Management"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def sign_in(system, email):
    account = next(a for a in system.demo["accounts"] if a["email"] == email)
    answer = requests.post(f"{system.url}/v1/auth/login", timeout=30,
                           json={"email": email, "password": account["password"]})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def new_phone():
    return f"+1647555{random.randrange(10 ** 4):04d}"


@pytest.fixture(scope="module")
def master(system):
    return sign_in(system, "master@maplegrove.example")


@pytest.fixture(scope="module")
def unit(system, master):
    made = requests.post(f"{system.url}/v1/communities/{system.community_id}/units",
                         headers=master, json={"label": f"Keywords {uuid.uuid4().hex[:6]}"},
                         timeout=30)
    assert made.status_code == 201, made.text
    return made.json()


def new_resident(system, master, unit, name):
    phone = new_phone()
    made = requests.post(f"{system.url}/v1/residents", headers=master, timeout=30, json={
        "community_id": system.community_id, "unit_id": unit["id"], "name": name,
        "contact_points": [{"kind": "phone", "value": phone}]})
    assert made.status_code == 201, made.text
    return made.json()


def text_us(system, phone, body, sid=None):
    """The sandbox plays the handset: a signed webhook to the gateway."""
    sms = {"from": phone, "to": OURS, "body": body,
           "url": f"{system.url}/webhooks/twilio/inbound"}
    if sid:
        sms["message_sid"] = sid
    answer = requests.post(f"{system.twilio_url}/_sandbox/inbound", json=sms, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()


def texts_to(system, phone):
    """Bodies sent to `phone`, without the unsubscribe link messaging may add."""
    return [m["body"].split("\nUnsubscribe: ")[0] for m in system.provider_messages(to=phone)]


def settled(system, phone, count, quiet=1.5):
    """The texts to `phone` once there are `count` and no more came for `quiet` seconds."""
    assert wait_until(lambda: len(texts_to(system, phone)) >= count, timeout=30), \
        texts_to(system, phone)
    time.sleep(quiet)
    return texts_to(system, phone)


def history(system, master, resident):
    answer = requests.get(f"{system.url}/v1/residents/{resident['id']}/consents",
                          headers=master, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()


def send_and_wait(system, resident, body):
    answer = system.send(resident, body)
    assert answer.status_code == 202, answer.text
    (delivery,) = system.wait_until_done(answer.json()["id"])["deliveries"]
    return delivery


def test_stop_is_answered_once_and_stops_texts_until_start(system, master, unit):
    stella = new_resident(system, master, unit, "Stella Stop")
    phone = stella["phone"]
    inbound = text_us(system, phone, "  Stop ")
    assert (inbound["status"], inbound["body"]) == (200, EMPTY_TWIML)
    again = text_us(system, phone, "  Stop ", sid=inbound["message_sid"])   # a retry
    assert again["status"] == 200
    confirmation = (f"{ORG_NAME}: you are unsubscribed and will get no more texts from this "
                    "number. Reply START to resume.")
    assert settled(system, phone, 1) == [confirmation]

    # nothing that is not signed by the provider gets in
    webhook = f"{system.url}/webhooks/twilio/inbound"
    params = {"MessageSid": "SM" + uuid.uuid4().hex, "From": phone, "To": OURS,
              "Body": "START"}
    unsigned = requests.post(webhook, data=params, timeout=30)
    forged = requests.post(webhook, data=params, timeout=30, headers={
        "X-Twilio-Signature": RequestValidator("not-the-token").compute_signature(
            webhook, params)})
    for answer in (unsigned, forged):
        assert answer.status_code == 403
        assert answer.headers["Content-Type"] == "application/problem+json"
        assert answer.json()["field"] == "X-Twilio-Signature"

    suppressed = send_and_wait(system, stella, "Pool opens Saturday.")
    assert (suppressed["status"], suppressed["reason"]) == ("suppressed", "keyword_stop")
    assert texts_to(system, phone) == [confirmation]   # neither a START nor the news

    events = history(system, master, stella)["events"]
    (stop,) = [e for e in events if e["method"] == "sms_keyword"]
    assert (stop["action"], stop["channel"], stop["category_id"], stop["label"]) == (
        "withdraw", "sms", None, "keyword stop")
    assert stop["evidence"]["message_sid"] == inbound["message_sid"]
    assert (stop["evidence"]["phone"], stop["evidence"]["sender"]) == (phone, OURS)
    assert stop["evidence"]["wording"] == confirmation
    proof = requests.get(f"{system.url}/v1/residents/{stella['id']}/consents.csv",
                         headers=master, timeout=30)
    (row,) = [r for r in csv.DictReader(io.StringIO(proof.text)) if r["method"] == "sms_keyword"]
    assert (row["action"], row["address"], row["message_id"], row["wording"]) == (
        "withdraw", "'" + phone, inbound["message_sid"], confirmation)  # '+' escaped

    text_us(system, phone, "start")
    resumed = (f"{ORG_NAME}: you will get texts from this number again. "
               "Reply STOP to stop.")
    assert settled(system, phone, 2, quiet=0.5) == [confirmation, resumed]
    delivered = send_and_wait(system, stella, "Pool opens Sunday after all.")
    assert delivered["status"] == "delivered"
    assert texts_to(system, phone)[-1] == "Pool opens Sunday after all."


def test_help_answers_the_organizations_help_text(system, master, unit):
    hugo = new_resident(system, master, unit, "Hugo Help")
    words = f"Maple Grove office: 416-555-0100, weekdays 9-5. Ref {uuid.uuid4().hex[:6]}"
    set_text = requests.put(f"{system.url}/v1/consent/settings", headers=master, timeout=30,
                            json={"sms_help_text": words})
    assert set_text.status_code == 200, set_text.text
    assert set_text.json()["sms_help_text"] == words
    too_long = requests.put(f"{system.url}/v1/consent/settings", headers=master, timeout=30,
                            json={"sms_help_text": "x" * 321})
    assert too_long.status_code == 422 and "sms_help_text" in too_long.json()["errors"]

    text_us(system, hugo["phone"], "INFO")
    assert settled(system, hugo["phone"], 1) == [words]
    # HELP changes nothing: texts still reach them
    assert send_and_wait(system, hugo, "Parking lot sweep Monday.")["status"] == "delivered"


def test_a_text_that_is_no_keyword_is_a_reply_and_gets_no_answer(system, master, unit):
    rita = new_resident(system, master, unit, "Rita Reply")
    with Connection(system.env["TOWNHALL_AMQP_URI"]) as conn:
        exchange = get_event_exchange("messaging", {})
        queue = Queue(f"e2e-replies-{uuid.uuid4().hex[:8]}", exchange=exchange,
                      routing_key="reply_received", exclusive=True, auto_delete=True)
        bound = queue(conn.channel())
        bound.declare()
        text_us(system, rita["phone"], "Running late, sorry")

        def mine():
            message = bound.get(no_ack=True)
            while message is not None:
                if message.payload["data"]["resident_id"] == rita["id"]:
                    return message.payload
                message = bound.get(no_ack=True)
            return None

        event = wait_until(mine, timeout=30)
    assert event["organization_id"] == system.demo["organization_id"]
    assert (event["data"]["body"], event["data"]["community_id"]) == (
        "Running late, sorry", system.community_id)
    time.sleep(1.5)
    assert texts_to(system, rita["phone"]) == []


def test_a_carrier_opt_out_21610_stops_texts_like_stop(system, master, unit):
    olga = new_resident(system, master, unit, "Olga Optout")
    system.configure_provider(opted_out=[olga["phone"]])
    try:
        failed = send_and_wait(system, olga, "Elevator maintenance Tuesday.")
    finally:
        system.configure_provider(opted_out=[])
    assert (failed["status"], failed["error_code"]) == ("failed", "21610")

    def carrier_stop():
        return [e for e in history(system, master, olga)["events"]
                if e["method"] == "carrier_opt_out"]

    (stop,) = wait_until(carrier_stop, timeout=30)
    assert (stop["action"], stop["evidence"]["message_sid"]) == ("withdraw", failed["id"])
    assert stop["label"].startswith("keyword stop")
    # the carrier's opt-out holds though the sandbox would take the text again now
    later = send_and_wait(system, olga, "Elevator back in service.")
    assert (later["status"], later["reason"]) == ("suppressed", "keyword_stop")
    assert texts_to(system, olga["phone"]) == []
