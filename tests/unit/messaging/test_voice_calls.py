"""The call a resident receives, and how it is held and charged — no I/O."""

import xml.etree.ElementTree as ET

import pytest

from contracts import pricing, voice_opt_out
from contracts.errors import InvalidRequest
from services.messaging import call_settings, intake, voice_calls
from services.messaging.call_settings import CallSettings
from services.messaging.document_links import DocumentLinks

ACTION = "https://townhall.example/webhooks/twilio/gather"


def parsed(twiml):
    return ET.fromstring(twiml)


@pytest.mark.parametrize("language, tag", [
    ("en", "en-US"), ("fr", "fr-CA"), ("es", "es-MX"), ("ES", "es-MX"), ("xx", "en-US"),
    (None, "en-US"),
])
def test_the_body_is_read_twice_in_the_residents_language(language, tag):
    (say,) = parsed(voice_calls.twiml("Water off at noon & four", language, "alice"))
    assert (say.tag, say.text, say.get("loop")) == ("Say", "Water off at noon & four", "2")
    assert (say.get("language"), say.get("voice")) == (tag, "alice")


@pytest.mark.parametrize("language, prompt, tag", [
    ("en", "To stop these calls, press 9.", "en-US"),
    ("fr", "Pour ne plus recevoir ces appels, appuyez sur 9.", "fr-CA"),
    ("de", "To stop these calls, press 9.", "en-US"),   # no German prompt: said in English
])
def test_an_opt_out_category_ends_with_one_key_posted_to_the_gateway(language, prompt, tag):
    say, gather = parsed(voice_calls.twiml("Fire drill at ten", language, "alice", ACTION))
    assert say.tag == "Say" and gather.tag == "Gather"
    assert (gather.get("action"), gather.get("method"), gather.get("numDigits")) == (
        ACTION, "POST", "1")
    assert gather.get("input") == "dtmf speech"
    (offer,) = gather
    assert (offer.text, offer.get("language")) == (prompt, tag)
    assert voice_opt_out.prompt(language) == prompt


def test_a_body_too_long_for_a_call_is_refused_naming_the_field():
    voice_calls.check_length("x" * 1600, "alice", ACTION)        # 1,600 letters fit
    with pytest.raises(InvalidRequest) as refused:
        voice_calls.check_length("&" * 900, "alice", ACTION)     # each & is 5 in TwiML
    assert refused.value.field == "body" and "4,000" in refused.value.detail


@pytest.mark.parametrize("digits, confirmed", [("9", True), ("19", True), ("1", False),
                                               (None, False), ("", False)])
def test_the_keypress_answer_confirms_only_the_opt_out_key(digits, confirmed):
    answer = voice_opt_out.answer(digits)
    assert ("You will not receive these calls again" in answer) is confirmed
    assert "<Hangup" in answer


@pytest.mark.parametrize("said, waiting, limit, seconds", [
    (["", ""], 0, None, 2),                                # 2 x (0 spoken + 1 pause)
    (["x" * 125] * 2, 0, None, 22),                        # 2 x (10 + 1)
    (["x" * 125] * 2 + ["y" * 25], 5, None, 30),           # + 2 spoken + 1 + 5 waiting
    (["x" * 1600] * 2, 5, 60, 60),                         # capped by TimeLimit
    ([], 0, None, 1),                                      # at least a second
])
def test_a_call_is_estimated_from_what_it_says_and_waits_and_capped(said, waiting, limit,
                                                                    seconds):
    assert pricing.call_seconds_estimate(said, waiting, limit) == seconds


def spoken_in(twiml):
    """(every text the TwiML says, as often as it says it; seconds it waits for a key)."""
    said, waiting = [], 0
    for element in parsed(twiml).iter():
        if element.tag == "Say":
            said += [element.text] * int(element.get("loop") or 1)
        elif element.tag == "Gather":
            waiting += int(element.get("timeout"))
    return said, waiting


@pytest.mark.parametrize("language", ["en", "es", "fr", "de", None])
@pytest.mark.parametrize("machine_detection", [None, "Enable", "DetectMessageEnd"])
def test_the_hold_is_estimated_from_what_the_call_really_says(language, machine_detection):
    """The TwiML the resident hears, the confirmation the gateway says when 9 is pressed at
    the last moment, and the seconds Twilio listens for a machine first: nothing left out."""
    settings = CallSettings(machine_detection=machine_detection)
    body = "The water is off on Tuesday from noon to four. " * 3
    listening = call_settings.MACHINE_DETECTION_TIMEOUT_SECONDS if machine_detection else 0
    confirmation, _ = spoken_in(voice_opt_out.answer("9"))
    said, waiting = spoken_in(voice_calls.twiml(body, language, "alice", ACTION))
    assert voice_calls.longest_seconds(body, language, True, settings) == \
        pricing.call_seconds_estimate(said + confirmation, waiting + listening,
                                      settings.time_limit_seconds)
    said, waiting = spoken_in(voice_calls.twiml(body, language, "alice"))
    assert voice_calls.longest_seconds(body, language, False, settings) == \
        pricing.call_seconds_estimate(said, waiting + listening, settings.time_limit_seconds)


@pytest.mark.parametrize("language, opt_out, machine_detection, limit, seconds, credits", [
    ("en", True, None, 300, 60, 1),       # 2 x (22 + 1) + offer 3 + 1 + confirmation 4 + 1 + 5
    ("es", True, None, 300, 61, 2),       # the Spanish offer is longer: a second minute
    ("fr", True, None, 300, 61, 2),       # so is the French one
    ("de", True, None, 300, 60, 1),       # no German offer: the English one is said
    ("en", False, None, 300, 46, 1),      # no offer, no wait, no confirmation
    ("en", False, "Enable", 300, 76, 2),  # + 30 s listening for a machine
    ("en", True, "DetectMessageEnd", 60, 60, 1),   # capped by TimeLimit
])
def test_the_hold_covers_the_longest_call_in_the_residents_language(
        language, opt_out, machine_detection, limit, seconds, credits):
    settings = CallSettings(time_limit_seconds=limit, machine_detection=machine_detection)
    found = voice_calls.longest_seconds("x" * 270, language, opt_out, settings)
    assert (found, pricing.voice_credits(found)) == (seconds, credits)


@pytest.mark.parametrize("body, limit, credits", [
    ("short", 300, 1), ("x" * 750, 300, 3), ("x" * 1600, 300, 5), ("x" * 1600, 120, 2),
])
def test_the_hold_covers_the_started_minutes_of_the_longest_call(body, limit, credits):
    seconds = voice_calls.longest_seconds(body, "en", False,
                                          CallSettings(time_limit_seconds=limit))
    assert pricing.voice_credits(seconds) == credits


@pytest.mark.parametrize("seconds, per_credit, credits", [
    (0, 60, 0), (1, 60, 1), (60, 60, 1), (61, 60, 2), (299, 60, 5), (61, 30, 3),
])
def test_an_answered_call_is_charged_per_started_minute_of_its_rate_card(seconds, per_credit,
                                                                          credits):
    assert pricing.voice_credits(seconds, pricing.RateCard(voice_seconds=per_credit)) == credits


@pytest.mark.parametrize("settings, field", [
    ({"voice": ""}, "voice"), ({"time_limit_seconds": 0}, "time_limit_seconds"),
    ({"answer_timeout_seconds": 2}, "answer_timeout_seconds"),
    ({"machine_detection": "yes"}, "machine_detection"),
    ({"calls_per_second": 0}, "calls_per_second"), ({"speed": 1}, "speed"),
])
def test_call_settings_name_the_wrong_one(settings, field):
    with pytest.raises(ValueError, match=f"messaging.voice.{field}"):
        CallSettings.from_config(settings)


def test_call_settings_from_the_environment_are_read_as_numbers():
    found = CallSettings.from_config({"calls_per_second": "50", "time_limit_seconds": "120"})
    assert (found.calls_per_second, found.time_limit_seconds) == (50.0, 120)


def test_a_document_calls_link_counts_toward_the_limit():
    links = DocumentLinks("secret", "https://townhall.example")
    fits = next(n for n in range(4000, 0, -1) if _fits("x" * n))
    request = {"kind": "document", "document_id": "doc_1", "channels": ["voice"],
               "body": "x" * fits}
    settings = CallSettings.from_config({})
    intake.check_supported(request | {"kind": "announcement", "document_id": None},
                           settings, ACTION, links)
    with pytest.raises(InvalidRequest) as refused:
        intake.check_supported(request, settings, ACTION, links)   # + "\nDocument: <link>"
    assert refused.value.field == "body" and "4,000" in refused.value.detail


def _fits(body):
    try:
        voice_calls.check_length(body, "alice", ACTION)
    except InvalidRequest:
        return False
    return True
