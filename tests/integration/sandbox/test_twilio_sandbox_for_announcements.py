"""What announcements at scale need of the Twilio sandbox, with the real twilio client:
transient failures to retry, outcomes left unknown for the sweeper, exact counts to check
invariants with, and status callbacks bounded in flight."""

import time
from datetime import UTC, datetime, timedelta

import pytest
import requests
from twilio.base.exceptions import TwilioException, TwilioRestException

from sandbox.launch import start_twilio_sandbox
from servicekit.testing import wait_until

FROM = "+15550000000"
OTHER_SENDER = "+15550000001"
TO = "+15551230001"
NEIGHBOUR = "+15551230002"


@pytest.fixture(autouse=True)
def fresh_sandbox(twilio_sandbox):
    twilio_sandbox.reset()


def refused(create):
    with pytest.raises(TwilioRestException) as answer:
        create()
    return answer.value.status, answer.value.code


def statuses(receiver):
    return [post["params"]["MessageStatus"] for post in receiver.received]


def stats(sandbox):
    return sandbox.read("stats")


# -- transient failures: what messaging's retries are tested against --------------------------

def test_a_server_error_creates_nothing(client, twilio_sandbox):
    twilio_sandbox.configure(server_error_rate=1)
    assert refused(lambda: client.messages.create(to=TO, from_=FROM, body="hi")) == (500, 20500)
    assert twilio_sandbox.messages() == []
    assert (stats(twilio_sandbox)["creates"], stats(twilio_sandbox)["created"]) == (1, 0)


def test_a_server_error_after_the_create_leaves_a_message_the_list_finds(
    client, twilio_sandbox, webhook_receiver
):
    twilio_sandbox.configure(server_error_after_create_rate=1)
    since = datetime.now(UTC) - timedelta(minutes=1)
    url = webhook_receiver.url("/status")
    assert refused(lambda: client.messages.create(
        to=TO, from_=FROM, body="water off at 9", status_callback=url)) == (500, 20500)

    # the careful client looks before sending again, and finds the one it made
    [found] = client.messages.list(to=TO, date_sent_after=since)
    assert (found.body, found.from_) == ("water off at 9", FROM)
    assert stats(twilio_sandbox)["created"] == 1
    wait_until(lambda: len(webhook_receiver.received) == 2)  # it lives on
    assert statuses(webhook_receiver) == ["sent", "delivered"]
    assert client.messages(found.sid).fetch().status == "delivered"


def test_throttling_is_429_with_twilio_error_20429_and_creates_nothing(client, twilio_sandbox):
    twilio_sandbox.configure(throttle_rate=1)
    assert refused(lambda: client.messages.create(to=TO, from_=FROM, body="hi")) == (429, 20429)
    assert twilio_sandbox.messages() == []
    twilio_sandbox.configure(throttle_rate=0)
    assert client.messages.create(to=TO, from_=FROM, body="hi").status == "queued"


def test_unavailable_answers_every_api_call_503(client, twilio_sandbox):
    made = client.messages.create(to=TO, from_=FROM, body="before")
    twilio_sandbox.configure(unavailable=True)
    assert refused(lambda: client.messages.create(to=TO, from_=FROM, body="hi")) == (503, 20503)
    assert refused(lambda: client.messages(made.sid).fetch()) == (503, 20503)
    with pytest.raises(TwilioException) as listing:  # the client's list raises the plain kind
        client.messages.list(to=TO)
    assert listing.value.args[1].status_code == 503
    assert (stats(twilio_sandbox)["creates"], stats(twilio_sandbox)["created"]) == (2, 1)
    twilio_sandbox.configure(unavailable=False)
    assert client.messages(made.sid).fetch().body == "before"


def test_a_full_queue_ends_failed_with_30001_in_the_final_callback(
    client, twilio_sandbox, webhook_receiver
):
    twilio_sandbox.configure(queue_full_rate=1)
    url = webhook_receiver.url("/status")
    message = client.messages.create(to=TO, from_=FROM, body="hi", status_callback=url)
    assert message.status == "queued"  # accepted: the overflow comes later

    wait_until(lambda: webhook_receiver.received)
    wait_until(lambda: client.messages(message.sid).fetch().status == "failed")
    time.sleep(0.1)  # nothing else follows
    [final] = webhook_receiver.received
    assert (final["params"]["MessageStatus"], final["params"]["ErrorCode"]) == ("failed", "30001")
    fetched = client.messages(message.sid).fetch()
    assert (fetched.error_code, fetched.error_message) == (30001, "Queue overflow")
    assert fetched.date_sent is None  # it never left the queue


def test_the_first_attempts_to_each_number_fail_then_it_works(client, twilio_sandbox):
    twilio_sandbox.configure(first_attempts_fail=2)

    def send(to):
        return client.messages.create(to=to, from_=FROM, body="drill at 10")

    for to in (TO, NEIGHBOUR):
        assert refused(lambda to=to: send(to)) == (500, 20500)
        assert refused(lambda to=to: send(to)) == (500, 20500)
        assert send(to).status == "queued"
    assert send(TO).status == "queued"  # past the first N it keeps working
    counted = stats(twilio_sandbox)
    assert (counted["creates"], counted["created"]) == (7, 3)
    assert counted["by_to"] == {TO: 2, NEIGHBOUR: 1}

    twilio_sandbox.configure(first_attempts_fail=1)  # counts again from the change
    assert refused(lambda: send(TO)) == (500, 20500)
    assert send(TO).status == "queued"


def test_seeded_rates_repeat_the_same_outcomes(client, twilio_sandbox):
    def outcomes():
        twilio_sandbox.reset()
        twilio_sandbox.configure(seed=11, server_error_rate=0.3, throttle_rate=0.3)
        answers = []
        for n in range(20):
            try:
                client.messages.create(to=f"+1555123{n:04d}", from_=FROM, body="hi")
                answers.append(201)
            except TwilioRestException as exc:
                answers.append(exc.status)
        return answers

    first = outcomes()
    assert {201, 429, 500} <= set(first)
    assert outcomes() == first


# -- unknown outcomes: what messaging's sweeper is tested against ------------------------------

def test_a_dropped_final_callback_leaves_only_fetch_to_tell_delivered(
    client, twilio_sandbox, webhook_receiver
):
    twilio_sandbox.configure(drop_callbacks_to=[TO], drop_final_callback_rate=0)
    url = webhook_receiver.url("/status")
    message = client.messages.create(to=TO, from_=FROM, body="hi", status_callback=url)
    wait_until(lambda: client.messages(message.sid).fetch().status == "delivered")
    time.sleep(0.2)  # the final callback would follow at once; none comes
    assert statuses(webhook_receiver) == ["sent"]
    [record] = twilio_sandbox.messages()
    assert (record["final_callback"], [c["status"] for c in record["callbacks"]]) == (
        False, ["sent"])

    twilio_sandbox.configure(drop_callbacks_to=[], drop_final_callback_rate=1)
    other = client.messages.create(to=NEIGHBOUR, from_=FROM, body="hi", status_callback=url)
    wait_until(lambda: client.messages(other.sid).fetch().status == "delivered")
    time.sleep(0.2)
    assert statuses(webhook_receiver) == ["sent", "sent"]


def test_a_stuck_message_stays_sent(client, twilio_sandbox, webhook_receiver):
    twilio_sandbox.configure(stuck_rate=1)
    url = webhook_receiver.url("/status")
    message = client.messages.create(to=TO, from_=FROM, body="hi", status_callback=url)
    wait_until(lambda: webhook_receiver.received)
    time.sleep(0.3)  # many times the 20 ms the final step would take
    assert statuses(webhook_receiver) == ["sent"]
    fetched = client.messages(message.sid).fetch()
    assert (fetched.status, fetched.error_code) == ("sent", None)


# -- the read API: exact invariants and segments per sender over time ---------------------------

def test_stats_count_creates_messages_numbers_duplicates_and_segments(client, twilio_sandbox):
    twilio_sandbox.configure(reject_to=["+15559999999"])
    client.messages.create(to=TO, from_=FROM, body="meeting at 7")
    client.messages.create(to=TO, from_=FROM, body="meeting at 7")  # the same text twice
    client.messages.create(to=TO, from_=FROM, body="another text")
    client.messages.create(to=NEIGHBOUR, from_=OTHER_SENDER, body="a" * 161)  # 2 segments
    client.messages.create(to=NEIGHBOUR, from_=FROM, body="ж" * 71)  # 2 UCS-2 segments
    refused(lambda: client.messages.create(to="+15559999999", from_=FROM, body="hi"))

    assert stats(twilio_sandbox) == {
        "creates": 6,
        "created": 5,
        "by_to": {TO: 3, NEIGHBOUR: 2},
        "duplicates": [TO],
        "segments": 7,
        "calls": {"creates": 0, "created": 0, "by_to": {}},
    }
    twilio_sandbox.reset()
    assert stats(twilio_sandbox) == {
        "creates": 0, "created": 0, "by_to": {}, "duplicates": [], "segments": 0,
        "calls": {"creates": 0, "created": 0, "by_to": {}}}


def test_the_timeline_lists_one_senders_messages_with_their_segments_in_order(
    client, twilio_sandbox
):
    began = time.time()
    client.messages.create(to=TO, from_=FROM, body="one")
    client.messages.create(to=NEIGHBOUR, from_=OTHER_SENDER, body="elsewhere")
    client.messages.create(to=NEIGHBOUR, from_=FROM, body="b" * 307)  # 3 segments
    client.messages.create(to=TO, from_=FROM, body="ж" * 70)
    ended = time.time()

    timeline = twilio_sandbox.read(f"timeline?from_={FROM.replace('+', '%2B')}")
    assert [segments for _, segments in timeline] == [1, 3, 1]
    moments = [moment for moment, _ in timeline]
    assert moments == sorted(moments) and began <= moments[0] and moments[-1] <= ended
    assert [s for _, s in twilio_sandbox.read("timeline?from_=%2B15550000001")] == [1]
    assert twilio_sandbox.read("timeline?from_=+15550000001") == twilio_sandbox.read(
        "timeline?from_=%2B15550000001")  # a '+' typed in a URL arrives as a space
    assert twilio_sandbox.read("timeline?from_=%2B15557777777") == []
    missing = requests.get(f"{twilio_sandbox.control_url}/timeline", timeout=5)
    assert missing.status_code == 400 and "from_" in missing.json()["error"]


def test_messages_page_by_sid_and_filter_by_number(client, twilio_sandbox):
    sids = [client.messages.create(to=to, from_=FROM, body=f"n{i}").sid
            for i, to in enumerate([TO, NEIGHBOUR, TO, NEIGHBOUR, TO])]

    def page(query):
        return [m["sid"] for m in twilio_sandbox.read(f"messages?{query}")]

    assert page("") == sids
    assert page("limit=2") == sids[:2]
    assert page(f"limit=2&after={sids[1]}") == sids[2:4]
    assert page(f"after={sids[4]}") == []
    assert page(f"to=%2B15551230001&after={sids[0]}") == [sids[2], sids[4]]
    assert page("to=+15551230002") == [sids[1], sids[3]]
    for query in ("limit=0", "limit=x", "after=SMnothing", f"to=%2B15551230001&after={sids[1]}"):
        answer = requests.get(f"{twilio_sandbox.control_url}/messages?{query}", timeout=5)
        assert answer.status_code == 400, query


# -- settings ----------------------------------------------------------------------------------

def test_status_callbacks_in_flight_are_bounded_by_callback_concurrency(
    client, twilio_sandbox, webhook_receiver
):
    twilio_sandbox.configure(callback_concurrency=2, callback_delay_ms=0)
    webhook_receiver.answer_delay = 0.1
    url = webhook_receiver.url("/status")
    for n in range(6):
        client.messages.create(to=f"+1555123{n:04d}", from_=FROM, body="hi", status_callback=url)
    wait_until(lambda: len(webhook_receiver.received) == 12)
    assert webhook_receiver.max_in_flight == 2
    assert sorted(statuses(webhook_receiver)) == ["delivered"] * 6 + ["sent"] * 6


def test_held_callbacks_wait_until_released_then_all_arrive_in_order(
    client, twilio_sandbox, webhook_receiver
):
    twilio_sandbox.configure(hold_callbacks=True)
    url = webhook_receiver.url("/status")
    sids = [client.messages.create(to=f"+1555123{n:04d}", from_=FROM, body="hi",
                                   status_callback=url).sid for n in range(3)]
    wait_until(lambda: all(client.messages(sid).fetch().status == "sent" for sid in sids))
    time.sleep(0.2)  # held at the first callback: nothing posted, nothing further
    assert webhook_receiver.received == []
    assert {client.messages(sid).fetch().status for sid in sids} == {"sent"}

    twilio_sandbox.configure(hold_callbacks=False)
    wait_until(lambda: len(webhook_receiver.received) == 6)
    for sid in sids:
        assert [p["params"]["MessageStatus"] for p in webhook_receiver.received
                if p["params"]["MessageSid"] == sid] == ["sent", "delivered"]


@pytest.mark.parametrize(("setting", "value"), [
    ("server_error_rate", 1.5),
    ("server_error_after_create_rate", -0.1),
    ("throttle_rate", "often"),
    ("queue_full_rate", True),
    ("unavailable", "yes"),
    ("first_attempts_fail", -1),
    ("first_attempts_fail", 1.5),
    ("drop_final_callback_rate", 2),
    ("drop_callbacks_to", TO),
    ("stuck_rate", None),
    ("callback_concurrency", 0),
    ("hold_callbacks", 1),
])
def test_a_bad_setting_is_refused_naming_it_and_changes_nothing(twilio_sandbox, setting, value):
    answer = requests.post(f"{twilio_sandbox.control_url}/config", timeout=5,
                           json={"throttle_rate": 0.5, setting: value})
    assert answer.status_code == 400 and setting in answer.json()["error"]
    assert twilio_sandbox.configure()["throttle_rate"] == 0


def test_start_flags_set_the_same_settings():
    with start_twilio_sandbox(unavailable=True, first_attempts_fail=3, stuck_rate=0.25,
                              drop_callbacks_to=[TO, NEIGHBOUR], callback_concurrency=7,
                              server_error_after_create_rate=0.5,
                              hold_callbacks=True) as sandbox:
        settings = sandbox.configure()
    assert settings["unavailable"] is True and settings["first_attempts_fail"] == 3
    assert settings["stuck_rate"] == 0.25 and settings["drop_callbacks_to"] == [TO, NEIGHBOUR]
    assert settings["callback_concurrency"] == 7
    assert settings["server_error_after_create_rate"] == 0.5 and settings["hold_callbacks"]
