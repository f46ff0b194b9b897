"""messaging's call provider (services/messaging/providers/twilio_voice.py) with the real
twilio client against the sandbox: what `messaging.voice` configures reaches `calls.create`
as Twilio's parameters — `Timeout` and `MachineDetection` (with its `MachineDetectionTimeout`)
only when they are set, `TimeLimit` always — as the sandbox recorded them (`/_sandbox/calls`)."""

import pytest
import requests

from services.messaging.call_settings import CallSettings
from services.messaging.providers.twilio_voice import TwilioVoice

FROM = "+15550000000"
TO = "+15551230077"
CALLBACK = "http://127.0.0.1:9/webhooks/twilio/call-status"   # never reached: calls only


@pytest.fixture(autouse=True)
def fresh_sandbox(twilio_sandbox):
    twilio_sandbox.reset()
    twilio_sandbox.configure(call_delay_ms=5)


def call_made(twilio_sandbox, settings):
    provider = TwilioVoice(twilio_sandbox.account_sid, twilio_sandbox.auth_token, FROM,
                           settings, base_url=twilio_sandbox.url)
    result = provider.send("dlv_1", TO, "Water is off on Tuesday from 9 to 12.",
                           status_callback=CALLBACK, language="en")
    assert result.status == "sending" and result.provider_id.startswith("CA"), result
    calls = requests.get(f"{twilio_sandbox.url}/_sandbox/calls", params={"to": TO},
                         timeout=10).json()
    (call,) = [c for c in calls if c["sid"] == result.provider_id]
    return call["parameters"]


def test_timeout_and_machine_detection_reach_calls_create_when_configured(twilio_sandbox):
    settings = CallSettings(time_limit_seconds=180, answer_timeout_seconds=25,
                            machine_detection="DetectMessageEnd")
    parameters = call_made(twilio_sandbox, settings)
    assert parameters["Timeout"] == "25"
    assert parameters["MachineDetection"] == "DetectMessageEnd"
    # how long Twilio may listen for the machine: said, since the call's hold counts it
    assert parameters["MachineDetectionTimeout"] == "30"
    assert parameters["TimeLimit"] == "180"
    assert (parameters["To"], parameters["From"]) == (TO, FROM)
    assert "<Say" in parameters["Twiml"]


def test_neither_is_sent_when_left_unset(twilio_sandbox):
    parameters = call_made(twilio_sandbox, CallSettings(time_limit_seconds=300))
    assert not {"Timeout", "MachineDetection", "MachineDetectionTimeout"} & set(parameters)
    assert parameters["TimeLimit"] == "300"
