"""The call a resident receives, and how it is held and charged — no I/O."""

import xml.etree.ElementTree as ET

import pytest

from contracts import pricing, voice_opt_out
from contracts.errors import InvalidRequest
from services.messaging import voice_calls
from services.messaging.call_settings import CallSettings

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


@pytest.mark.parametrize("body, prompt, limit, seconds", [
    ("", None, None, 2),                      # 2 x (0 spoken + 1 pause)
    ("x" * 125, None, None, 22),              # 2 x (10 + 1)
    ("x" * 125, "y" * 25, None, 29),          # + 2 spoken + 5 waiting for the key
    ("x" * 1600, "y" * 25, 60, 60),           # capped by TimeLimit
])
def test_a_call_is_estimated_from_its_spoken_length_and_capped(body, prompt, limit, seconds):
    assert pricing.call_seconds_estimate(body, 2, prompt, limit) == seconds


@pytest.mark.parametrize("body, limit, credits", [
    ("short", 300, 1), ("x" * 750, 300, 3), ("x" * 1600, 300, 5), ("x" * 1600, 120, 2),
])
def test_the_hold_covers_the_started_minutes_of_the_longest_call(body, limit, credits):
    assert pricing.voice_hold_credits(body, pricing.DEFAULT_RATES, 2, None, limit) == credits


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
