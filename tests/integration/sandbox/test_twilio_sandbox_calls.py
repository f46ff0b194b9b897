"""The Calls API of the Twilio sandbox with the real twilio client: create, fetch, list, the
life of a call (answered, busy, no-answer, failed, by a machine) told by signed status
callbacks, the read API and a person pressing keys at a <Gather>."""

import time
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator

from sandbox.launch import HOST
from servicekit.testing import LocalHttpServer, wait_until

FROM = "+15550000000"
TO = "+15551230001"
NEIGHBOUR = "+15551230002"
ALL_EVENTS = ["initiated", "ringing", "answered", "completed"]
SAY = "<Response><Say>Water is off on Tuesday from 9 to 12.</Say></Response>"


class SignedReceiver:
    """Records every webhook (method, path, params) with whether its X-Twilio-Signature is
    the one Twilio computes for it, and answers with the body set for its path."""

    def __init__(self, auth_token: str) -> None:
        self.validator = RequestValidator(auth_token)
        self.received: list[dict] = []
        self.answers: dict[str, tuple[int, str]] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                url = receiver.url(self.path)
                self._record(dict(parse_qsl(urlsplit(url).query, keep_blank_values=True)),
                             receiver.validator.validate(url, {}, self._signature()))

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                params = dict(parse_qsl(body, keep_blank_values=True))
                self._record(params, receiver.validator.validate(
                    receiver.url(self.path), params, self._signature()))

            def _signature(self):
                return self.headers.get("X-Twilio-Signature", "")

            def _record(self, params, signed):
                path = urlsplit(self.path).path
                receiver.received.append(
                    {"method": self.command, "path": path, "params": params, "signed": signed})
                status, text = receiver.answers.get(path, (200, "<Response/>"))
                payload = text.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/xml")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.http = LocalHttpServer(Handler, HOST)

    def url(self, path: str) -> str:
        return self.http.url(path)

    def to(self, path: str) -> list[dict]:
        return [r for r in self.received if r["path"] == path]

    def close(self) -> None:
        self.http.close()


@pytest.fixture
def receiver(twilio_sandbox):
    receiver = SignedReceiver(twilio_sandbox.auth_token)
    yield receiver
    receiver.close()


@pytest.fixture(autouse=True)
def fresh_sandbox(twilio_sandbox):
    twilio_sandbox.reset()
    # a call's life is four steps: a few milliseconds each keeps every test quick
    twilio_sandbox.configure(call_delay_ms=5)


def call(client, to=TO, **options):
    options.setdefault("twiml", SAY)
    return client.calls.create(to=to, from_=FROM, **options)


def callbacks(receiver, path="/status", count=None):
    """The params of the status callbacks to `path`, once `count` of them arrived."""
    if count is not None:
        wait_until(lambda: len(receiver.to(path)) >= count)
    posts = receiver.to(path)
    assert all(post["signed"] for post in posts)
    return [post["params"] for post in posts]


def refused(create):
    with pytest.raises(TwilioRestException) as answer:
        create()
    return answer.value.status, answer.value.code


def wait_for_status(client, sid, status):
    wait_until(lambda: client.calls(sid).fetch().status == status)
    return client.calls(sid).fetch()


# -- the REST API --------------------------------------------------------------------------

def test_create_fetch_and_list_round_trip(client, twilio_sandbox):
    made = call(client)
    assert made.sid.startswith("CA") and len(made.sid) == 34
    int(made.sid[2:], 16)  # 32 hex digits
    assert (made.status, made.direction, made.duration, made.answered_by) == (
        "queued", "outbound-api", None, None)
    # twilio 9.4.6's CallInstance keeps `from` as `_from`
    assert (made.to, made._from, made.account_sid) == (TO, FROM, twilio_sandbox.account_sid)
    assert made.api_version == "2010-04-01" and made.uri.endswith(f"/Calls/{made.sid}.json")
    assert made.date_created.tzinfo is not None and made.price is None

    fetched = client.calls(made.sid).fetch()
    assert (fetched.sid, fetched.to, fetched._from) == (made.sid, TO, FROM)

    others = [call(client).sid for _ in range(2)]
    call(client, to=NEIGHBOUR)
    listed = client.calls.list(to=TO, limit=20, page_size=2)
    assert [c.sid for c in listed] == [*reversed(others), made.sid]  # newest first, 2 pages
    assert len(client.calls.list(from_=FROM)) == 4
    assert client.calls.list(from_="+15559999999") == []


def test_the_list_filters_by_status_and_start_time(client):
    done = call(client)
    wait_for_status(client, done.sid, "completed")
    started = client.calls(done.sid).fetch().start_time
    assert [c.sid for c in client.calls.list(status="completed")] == [done.sid]
    assert client.calls.list(status="busy") == []
    assert [c.sid for c in client.calls.list(start_time_after=started)] == [done.sid]
    later = started.replace(year=started.year + 1)
    assert client.calls.list(start_time_after=later) == []
    assert [c.sid for c in client.calls.list(start_time_before=later)] == [done.sid]


@pytest.mark.parametrize(("options", "code"), [
    ({"to": ""}, 21201),
    ({"from_": ""}, 21213),
    ({"twiml": None}, 21205),
    ({"twiml": None, "url": "not a url"}, 21205),
    ({"to": "5551230001"}, 21211),
    ({"from_": "Townhall"}, 21212),
    ({"twiml": "<Response><Say>" + "a" * 3980 + "</Say></Response>"}, 32018),
    ({"status_callback": "http://127.0.0.1:9/s", "status_callback_event": ["answerd"]}, 21626),
    ({"status_callback_method": "PUT"}, 21209),
    ({"timeout": 0}, 21208),
    ({"time_limit": "soon"}, 21200),
    ({"machine_detection": "Maybe"}, 21200),
])
def test_validation_errors_match_twilio(client, twilio_sandbox, options, code):
    request = {"to": TO, "from_": FROM, "twiml": SAY, **options}
    if request["twiml"] is None:
        del request["twiml"]
    assert refused(lambda: client.calls.create(**request)) == (400, code)
    assert twilio_sandbox.read("calls") == []


def test_twiml_of_exactly_4000_characters_is_taken(client):
    twiml = "<Response><Say>" + "a" * (4000 - 32) + "</Say></Response>"
    assert len(twiml) == 4000
    assert call(client, twiml=twiml).status == "queued"


def test_throttling_server_errors_and_unavailability_apply_to_calls(client, twilio_sandbox):
    twilio_sandbox.configure(throttle_rate=1)
    assert refused(lambda: call(client)) == (429, 20429)
    twilio_sandbox.configure(throttle_rate=0, server_error_rate=1)
    assert refused(lambda: call(client)) == (500, 20500)
    twilio_sandbox.configure(server_error_rate=0, unavailable=True)
    assert refused(lambda: call(client)) == (503, 20503)
    twilio_sandbox.configure(unavailable=False)
    call(client)
    assert twilio_sandbox.read("stats")["calls"] == {"creates": 4, "created": 1, "by_to": {TO: 1}}


# -- the life of a call, told by status callbacks --------------------------------------------

def test_an_answered_call_posts_every_event_asked_for_signed(client, twilio_sandbox, receiver):
    twilio_sandbox.configure(call_min_seconds=75, call_max_seconds=75)
    made = call(client, status_callback=receiver.url("/status"),
                status_callback_event=ALL_EVENTS)
    posted = callbacks(receiver, count=4)
    assert [p["CallStatus"] for p in posted] == ["initiated", "ringing", "in-progress",
                                                 "completed"]
    assert [p["SequenceNumber"] for p in posted] == ["0", "1", "2", "3"]
    for params in posted:
        assert (params["CallSid"], params["AccountSid"]) == (made.sid, twilio_sandbox.account_sid)
        assert (params["From"], params["To"], params["Direction"]) == (FROM, TO, "outbound-api")
        assert (params["ApiVersion"], params["CallbackSource"]) == (
            "2010-04-01", "call-progress-events")
        assert params["Timestamp"].endswith("+0000") and "AnsweredBy" not in params
    assert "CallDuration" not in posted[2]
    assert (posted[3]["CallDuration"], posted[3]["Duration"]) == ("75", "2")  # minutes, up

    fetched = client.calls(made.sid).fetch()
    assert (fetched.status, fetched.duration, fetched.answered_by) == ("completed", "75", None)
    assert fetched.start_time is not None and fetched.end_time is not None


def test_without_events_only_the_final_callback_comes(client, receiver):
    made = call(client, status_callback=receiver.url("/status"))
    wait_for_status(client, made.sid, "completed")
    time.sleep(0.05)
    [final] = callbacks(receiver, count=1)
    assert (final["CallStatus"], final["SequenceNumber"]) == ("completed", "0")
    assert 20 <= int(final["CallDuration"]) <= 90  # the default simulated duration


def test_events_are_filtered_and_a_get_callback_is_signed_over_its_url(client, receiver):
    made = call(client, status_callback=receiver.url("/status?community=7"),
                status_callback_event=["ringing", "completed"], status_callback_method="GET")
    posted = callbacks(receiver, count=2)
    wait_for_status(client, made.sid, "completed")
    assert [p["CallStatus"] for p in posted] == ["ringing", "completed"]
    assert [p["community"] for p in posted] == ["7", "7"]
    assert {post["method"] for post in receiver.received} == {"GET"}


@pytest.mark.parametrize(("setting", "outcome", "statuses"), [
    ("call_busy_rate", "busy", ["initiated", "ringing", "busy"]),
    ("call_no_answer_rate", "no-answer", ["initiated", "ringing", "no-answer"]),
    ("call_failed_rate", "failed", ["initiated", "failed"]),
])
def test_unanswered_calls_end_with_their_status_and_no_duration(
    client, twilio_sandbox, receiver, setting, outcome, statuses
):
    twilio_sandbox.configure(**{setting: 1})
    made = call(client, status_callback=receiver.url("/status"),
                status_callback_event=ALL_EVENTS)
    fetched = wait_for_status(client, made.sid, outcome)
    posted = callbacks(receiver, count=len(statuses))
    time.sleep(0.05)  # nothing follows the end
    assert [p["CallStatus"] for p in callbacks(receiver)] == statuses
    assert (posted[-1]["CallDuration"], posted[-1]["Duration"]) == ("0", "0")
    assert (fetched.duration, fetched.answered_by) == ("0", None)


def test_seeded_shares_repeat_the_same_outcomes(client, twilio_sandbox):
    def outcomes():
        twilio_sandbox.reset()
        twilio_sandbox.configure(seed=5, call_busy_rate=0.3, call_no_answer_rate=0.3,
                                 call_failed_rate=0.1)
        for n in range(30):
            call(client, to=f"+1555123{n:04d}")
        return [c["outcome"] for c in twilio_sandbox.read("calls")]

    first = outcomes()
    assert {"completed", "busy", "no-answer", "failed"} == set(first)
    assert outcomes() == first


def test_time_limit_caps_the_duration(client, twilio_sandbox, receiver):
    twilio_sandbox.configure(call_min_seconds=300, call_max_seconds=600)
    made = call(client, time_limit=45, status_callback=receiver.url("/status"))
    [final] = callbacks(receiver, count=1)
    assert (final["CallDuration"], final["Duration"]) == ("45", "1")
    assert wait_for_status(client, made.sid, "completed").duration == "45"


@pytest.mark.parametrize(("detection", "machine_rate", "answered_by"), [
    ("Enable", 1, "machine_start"),
    ("DetectMessageEnd", 1, "machine_end_beep"),
    ("Enable", 0, "human"),
    (None, 1, None),
])
def test_machine_detection_tells_who_answered(
    client, twilio_sandbox, receiver, detection, machine_rate, answered_by
):
    twilio_sandbox.configure(call_machine_rate=machine_rate)
    options = {"machine_detection": detection} if detection else {}
    made = call(client, status_callback=receiver.url("/status"),
                status_callback_event=["answered", "completed"], **options)
    posted = callbacks(receiver, count=2)
    assert [p.get("AnsweredBy") for p in posted] == [answered_by, answered_by]
    assert wait_for_status(client, made.sid, "completed").answered_by == answered_by
    [seen] = twilio_sandbox.read("calls")
    assert seen["answerer"] == ("machine" if machine_rate else "human")


# -- what the sandbox saw, and a person pressing keys ----------------------------------------

def test_the_read_api_shows_each_calls_twiml_parameters_and_callbacks(
    client, twilio_sandbox, receiver
):
    made = call(client, timeout=25, time_limit=120, machine_detection="Enable",
                status_callback=receiver.url("/status"),
                status_callback_event=["answered", "completed"])
    call(client, to=NEIGHBOUR, twiml="<Response><Hangup/></Response>")
    callbacks(receiver, count=2)
    wait_until(lambda: len(twilio_sandbox.read(f"calls/{made.sid}")["callbacks"]) == 2)

    [seen] = twilio_sandbox.read("calls?to=%2B15551230001")
    assert (seen["sid"], seen["to"], seen["from"], seen["twiml"]) == (made.sid, TO, FROM, SAY)
    parameters = seen["parameters"]
    assert (parameters["Timeout"], parameters["TimeLimit"]) == ("25", "120")
    assert parameters["MachineDetection"] == "Enable"
    assert parameters["StatusCallbackEvent"] == ["answered", "completed"]
    assert (seen["status"], seen["answered_by"]) == ("completed", "human")
    assert 20 <= int(seen["duration"]) <= 90
    assert [(c["event"], c["status"], c["sequence"], c["http_status"])
            for c in seen["callbacks"]] == [("answered", "in-progress", 0, 200),
                                            ("completed", "completed", 1, 200)]
    assert [c["to"] for c in twilio_sandbox.read("calls")] == [TO, NEIGHBOUR]
    assert twilio_sandbox.read("calls?to=+15551230002")[0]["twiml"] == (
        "<Response><Hangup/></Response>")
    assert twilio_sandbox.read("stats")["calls"] == {
        "creates": 2, "created": 2, "by_to": {TO: 1, NEIGHBOUR: 1}}
    assert requests.get(f"{twilio_sandbox.control_url}/calls/CAnothing", timeout=5
                        ).status_code == 404


GATHER = ('<Response><Gather action="{action}" numDigits="1">'
          "<Say>Press 9 to confirm you read this.</Say></Gather></Response>")


def keypress(sandbox, sid, **body):
    return requests.post(f"{sandbox.control_url}/calls/{sid}/keypress", json=body, timeout=5)


def test_a_keypress_posts_the_gather_action_signed_and_answers_its_twiml(
    client, twilio_sandbox, receiver
):
    receiver.answers["/gather"] = (200, "<Response><Say>Thank you.</Say></Response>")
    made = call(client, twiml=GATHER.format(action=receiver.url("/gather")))
    wait_for_status(client, made.sid, "completed")  # answered: simulated minutes take no time

    answer = keypress(twilio_sandbox, made.sid, digits="9")
    assert answer.status_code == 200
    assert (answer.json()["status"], answer.json()["body"]) == (
        200, "<Response><Say>Thank you.</Say></Response>")
    [post] = receiver.to("/gather")
    assert (post["method"], post["signed"]) == ("POST", True)
    params = post["params"]
    assert (params["CallSid"], params["AccountSid"]) == (made.sid, twilio_sandbox.account_sid)
    assert (params["From"], params["To"], params["CallStatus"]) == (FROM, TO, "in-progress")
    assert (params["Digits"], params["FinishedOnKey"]) == ("9", "")
    assert "SpeechResult" not in params

    keypress(twilio_sandbox, made.sid, digits="12#", speech="yes I read it", confidence=0.75)
    params = receiver.to("/gather")[1]["params"]
    assert (params["Digits"], params["FinishedOnKey"]) == ("1", "")  # numDigits="1" ends it
    assert (params["SpeechResult"], params["Confidence"]) == ("yes I read it", "0.75")
    assert len(twilio_sandbox.read(f"calls/{made.sid}")["keypresses"]) == 2


def test_a_call_made_with_a_url_fetches_its_twiml_and_gathers_to_a_relative_action(
    client, twilio_sandbox, receiver
):
    receiver.answers["/voice/announcement"] = (
        200, '<Response><Gather action="confirm" finishOnKey="*"><Say>Hi</Say></Gather></Response>')
    made = call(client, twiml=None, url=receiver.url("/voice/announcement"))
    wait_for_status(client, made.sid, "completed")
    [fetch] = receiver.to("/voice/announcement")
    assert fetch["signed"] and fetch["params"]["CallStatus"] == "in-progress"

    assert keypress(twilio_sandbox, made.sid, digits="42*7").status_code == 200
    [post] = receiver.to("/voice/confirm")
    assert (post["params"]["Digits"], post["params"]["FinishedOnKey"]) == ("42", "*")


def test_a_keypress_is_refused_when_nobody_could_press_one(client, twilio_sandbox, receiver):
    assert keypress(twilio_sandbox, "CA" + "0" * 32, digits="9").status_code == 404

    no_gather = call(client)
    wait_for_status(client, no_gather.sid, "completed")
    refused_answer = keypress(twilio_sandbox, no_gather.sid, digits="9")
    assert refused_answer.status_code == 409 and "<Gather>" in refused_answer.json()["error"]
    assert keypress(twilio_sandbox, no_gather.sid, digits="x").status_code == 400
    assert keypress(twilio_sandbox, no_gather.sid).status_code == 400

    twilio_sandbox.configure(call_busy_rate=1)
    busy = call(client, twiml=GATHER.format(action=receiver.url("/gather")))
    wait_for_status(client, busy.sid, "busy")
    refused_answer = keypress(twilio_sandbox, busy.sid, digits="9")
    assert refused_answer.status_code == 409
    assert "not answered" in refused_answer.json()["error"]

    twilio_sandbox.configure(call_busy_rate=0, call_machine_rate=1)
    voicemail = call(client, twiml=GATHER.format(action=receiver.url("/gather")))
    wait_for_status(client, voicemail.sid, "completed")
    refused_answer = keypress(twilio_sandbox, voicemail.sid, digits="9")
    assert refused_answer.status_code == 409 and "machine" in refused_answer.json()["error"]
    assert receiver.to("/gather") == []


# -- settings ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("changes", "named"), [
    ({"call_busy_rate": 0.6, "call_no_answer_rate": 0.6}, "call_busy_rate"),
    ({"call_min_seconds": 100, "call_max_seconds": 10}, "call_min_seconds"),
    ({"call_min_seconds": -1}, "call_min_seconds"),
    ({"call_machine_rate": 2}, "call_machine_rate"),
    ({"call_delay_ms": "fast"}, "call_delay_ms"),
])
def test_a_bad_call_setting_is_refused_naming_it_and_changes_nothing(
    twilio_sandbox, changes, named
):
    answer = requests.post(f"{twilio_sandbox.control_url}/config", json=changes, timeout=5)
    assert answer.status_code == 400 and named in answer.json()["error"]
    settings = twilio_sandbox.configure()
    assert (settings["call_busy_rate"], settings["call_min_seconds"]) == (0, 20)
    assert (settings["call_max_seconds"], settings["call_delay_ms"]) == (90, 5)
