"""The real twilio client against the Twilio sandbox subprocess."""

from datetime import UTC, datetime, timedelta

import pytest
import requests
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from sandbox.launch import free_port
from servicekit.testing import wait_until

FROM = "+15550000000"
TO = "+15551230001"


@pytest.fixture(autouse=True)
def fresh_sandbox(twilio_sandbox):
    twilio_sandbox.reset()


def statuses(receiver, path):
    return [post["params"]["MessageStatus"] for post in receiver.posts_to(path)]


def test_create_fetch_and_list_round_trip(client):
    created = client.messages.create(to=TO, from_=FROM, body="hi")
    assert created.sid.startswith("SM") and len(created.sid) == 34
    assert (created.status, created.num_segments, created.num_media) == ("queued", "1", "0")
    assert created.error_code is None
    assert created.direction == "outbound-api"
    assert created.date_created.tzinfo is not None

    fetched = client.messages(created.sid).fetch()
    assert (fetched.sid, fetched.to, fetched.from_, fetched.body) == (created.sid, TO, FROM, "hi")

    others = [client.messages.create(to=TO, from_=FROM, body=f"n{i}").sid for i in range(2)]
    client.messages.create(to="+15551230002", from_=FROM, body="elsewhere")
    since = datetime.now(UTC) - timedelta(minutes=1)
    listed = client.messages.list(to=TO, date_sent_after=since, limit=20, page_size=2)
    assert [m.sid for m in listed] == [*reversed(others), created.sid]  # newest first, 2 pages
    assert client.messages.list(to=TO, date_sent_after=since + timedelta(hours=1)) == []


def test_segments_follow_gsm7_and_ucs2(client):
    assert client.messages.create(to=TO, from_=FROM, body="a" * 160).num_segments == "1"
    assert client.messages.create(to=TO, from_=FROM, body="a" * 161).num_segments == "2"
    assert client.messages.create(to=TO, from_=FROM, body="€" * 80).num_segments == "1"
    assert client.messages.create(to=TO, from_=FROM, body="ж" * 71).num_segments == "2"


def test_status_callbacks_arrive_in_order_and_signed(client, twilio_sandbox, webhook_receiver):
    callback_url = webhook_receiver.url("/webhooks/twilio/status")
    message = client.messages.create(to=TO, from_=FROM, body="hi", status_callback=callback_url)

    wait_until(lambda: len(webhook_receiver.received) == 2)
    assert statuses(webhook_receiver, "/webhooks/twilio/status") == ["sent", "delivered"]
    validator = RequestValidator(twilio_sandbox.auth_token)
    for post in webhook_receiver.received:
        params = post["params"]
        assert params["MessageSid"] == params["SmsSid"] == message.sid
        assert (params["To"], params["From"], params["ApiVersion"]) == (TO, FROM, "2010-04-01")
        assert "ErrorCode" not in params
        assert validator.validate(callback_url, params, post["headers"]["X-Twilio-Signature"])
    assert not validator.validate(
        callback_url + "?x=1", params, post["headers"]["X-Twilio-Signature"]
    )

    fetched = client.messages(message.sid).fetch()
    assert fetched.status == "delivered" and fetched.date_sent is not None
    [record] = [m for m in twilio_sandbox.messages() if m["sid"] == message.sid]
    assert [(c["status"], c["http_status"]) for c in record["callbacks"]] == [
        ("sent", 200),
        ("delivered", 200),
    ]


def test_wrong_credentials_are_refused_with_20003(twilio_sandbox):
    client = Client(twilio_sandbox.account_sid, "not-the-token")
    client.api.base_url = twilio_sandbox.url
    with pytest.raises(TwilioRestException) as refused:
        client.messages.create(to=TO, from_=FROM, body="hi")
    assert (refused.value.status, refused.value.code) == (401, 20003)


@pytest.mark.parametrize(
    ("to", "body", "code"),
    [("5551230001", "hi", 21211), ("+15551230001", "", 21602), ("", "hi", 21604)],
)
def test_validation_errors_match_twilio(client, to, body, code):
    with pytest.raises(TwilioRestException) as refused:
        client.messages.create(to=to, from_=FROM, body=body)
    assert (refused.value.status, refused.value.code) == (400, code)


def test_unknown_message_is_404(client):
    with pytest.raises(TwilioRestException) as missing:
        client.messages("SM" + "0" * 32).fetch()
    assert (missing.value.status, missing.value.code) == (404, 20404)


def test_reject_to_refuses_the_create(client, twilio_sandbox):
    twilio_sandbox.configure(reject_to=[TO])
    with pytest.raises(TwilioRestException) as refused:
        client.messages.create(to=TO, from_=FROM, body="hi")
    assert (refused.value.status, refused.value.code) == (400, 21211)
    assert twilio_sandbox.messages() == []


def test_fail_to_ends_failed_with_error_code(client, twilio_sandbox, webhook_receiver):
    twilio_sandbox.configure(fail_to=[TO])
    url = webhook_receiver.url("/status")
    message = client.messages.create(to=TO, from_=FROM, body="hi", status_callback=url)
    wait_until(lambda: len(webhook_receiver.received) == 2)
    assert statuses(webhook_receiver, "/status") == ["sent", "failed"]
    assert webhook_receiver.received[1]["params"]["ErrorCode"] == "30003"
    fetched = client.messages(message.sid).fetch()
    assert (fetched.status, fetched.error_code) == ("failed", 30003)


def test_failure_rate_one_ends_undelivered(client, twilio_sandbox, webhook_receiver):
    twilio_sandbox.configure(failure_rate=1, failure_error_code=30005)
    url = webhook_receiver.url("/status")
    client.messages.create(to=TO, from_=FROM, body="hi", status_callback=url)
    wait_until(lambda: len(webhook_receiver.received) == 2)
    assert statuses(webhook_receiver, "/status") == ["sent", "undelivered"]
    assert webhook_receiver.received[1]["params"]["ErrorCode"] == "30005"


def test_unreachable_callback_is_retried_and_recorded(client, twilio_sandbox):
    url = f"http://127.0.0.1:{free_port()}/status"
    message = client.messages.create(to=TO, from_=FROM, body="hi", status_callback=url)

    def attempts():
        [record] = twilio_sandbox.messages()
        return len(record["callbacks"]) >= 2 and record["callbacks"]

    first, second = wait_until(attempts)[:2]
    assert (first["attempt"], second["attempt"]) == (1, 2)
    assert first["http_status"] is None and first["error"]
    assert client.messages(message.sid).fetch().sid == message.sid  # still serving


def test_config_answers_full_settings_and_reset_restores_them(client, twilio_sandbox):
    settings = twilio_sandbox.configure(create_delay_ms=5, fail_to=[TO])
    assert settings["create_delay_ms"] == 5 and settings["fail_to"] == [TO]
    assert settings["callback_delay_ms"] == 20 and settings["create_error_code"] == 21211
    bad = requests.post(f"{twilio_sandbox.url}/_sandbox/config", json={"failure_rate": 2})
    assert bad.status_code == 400 and "failure_rate" in bad.json()["error"]
    client.messages.create(to=TO, from_=FROM, body="hi")
    assert len(twilio_sandbox.messages()) == 1

    restored = twilio_sandbox.reset()
    assert restored["create_delay_ms"] == 0 and restored["fail_to"] == []
    assert twilio_sandbox.messages() == []


def test_inbound_simulation_posts_a_signed_webhook(twilio_sandbox, webhook_receiver):
    url = webhook_receiver.url("/webhooks/twilio/inbound")
    answer = requests.post(
        f"{twilio_sandbox.url}/_sandbox/inbound",
        json={"from": TO, "to": FROM, "body": "STOP", "url": url},
        timeout=5,
    ).json()
    assert (answer["status"], answer["body"]) == (200, "<Response/>")
    [post] = webhook_receiver.received
    params = post["params"]
    assert (params["From"], params["To"], params["Body"], params["NumMedia"]) == (
        TO,
        FROM,
        "STOP",
        "0",
    )
    assert params["MessageSid"] == answer["message_sid"]
    validator = RequestValidator(twilio_sandbox.auth_token)
    assert validator.validate(url, params, post["headers"]["X-Twilio-Signature"])


def test_opted_out_refuses_the_create_with_21610_until_reset(client, twilio_sandbox):
    settings = twilio_sandbox.configure(opted_out=[TO])
    assert settings["opted_out"] == [TO]
    with pytest.raises(TwilioRestException) as refused:
        client.messages.create(to=TO, from_=FROM, body="hi")
    assert (refused.value.status, refused.value.code) == (400, 21610)
    assert refused.value.msg.endswith("Attempt to send to unsubscribed recipient")
    assert twilio_sandbox.messages() == []
    client.messages.create(to="+15551230002", from_=FROM, body="others still get texts")
    bad = requests.post(f"{twilio_sandbox.url}/_sandbox/config", json={"opted_out": TO})
    assert bad.status_code == 400 and "opted_out" in bad.json()["error"]

    assert twilio_sandbox.reset()["opted_out"] == []
    client.messages.create(to=TO, from_=FROM, body="hi")


def test_inbound_simulation_replays_a_message_sid(twilio_sandbox, webhook_receiver):
    url = webhook_receiver.url("/webhooks/twilio/inbound")
    sms = {"from": TO, "to": FROM, "body": "STOP", "url": url}
    first = requests.post(f"{twilio_sandbox.url}/_sandbox/inbound", json=sms, timeout=5).json()
    again = requests.post(f"{twilio_sandbox.url}/_sandbox/inbound", timeout=5,
                          json=dict(sms, message_sid=first["message_sid"])).json()
    assert again["message_sid"] == first["message_sid"]
    assert [p["params"]["MessageSid"] for p in webhook_receiver.received] == [
        first["message_sid"]] * 2
