"""Calls through Twilio's Calls API with the official client, reading TwiML the pipeline
builds (voice_calls). With no real credentials configured, the client's base URL points at
the local sandbox, as for texts."""

from contracts.vocabulary import UNREACHED_CALL_STATUSES
from services.messaging import voice_calls
from services.messaging.call_settings import MACHINE_DETECTION_TIMEOUT_SECONDS
from services.messaging.providers import twilio_rest
from services.messaging.providers.base import Provider, SendResult

# every step of a call, so that its progress shows while it rings
STATUS_EVENTS = ("initiated", "ringing", "answered", "completed")


class TwilioVoice(Provider):
    channel = "voice"

    def __init__(self, account_sid, auth_token, from_number, settings, base_url=None,
                 timeout=10, connections=32):
        self.client = twilio_rest.twilio_client(account_sid, auth_token, base_url, timeout,
                                                connections)
        self.from_number = from_number
        self.settings = settings      # voice_calls.CallSettings

    def send(self, delivery_id, to, body, subject=None, status_callback=None,
             unsubscribe_url=None, language=None, gather_action=None):
        settings = self.settings
        twiml = voice_calls.twiml(body, language, settings.voice,
                                  gather_action=gather_action if unsubscribe_url else None)
        options = {"time_limit": settings.time_limit_seconds}
        if settings.answer_timeout_seconds:
            options["timeout"] = settings.answer_timeout_seconds
        if settings.machine_detection:
            # the listening time is said, not left to Twilio's default: the hold counts it
            options["machine_detection"] = settings.machine_detection
            options["machine_detection_timeout"] = MACHINE_DETECTION_TIMEOUT_SECONDS
        call = twilio_rest.create(lambda: self.client.calls.create(
            to=to, from_=self.from_number, twiml=twiml, status_callback=status_callback,
            status_callback_event=list(STATUS_EVENTS), status_callback_method="POST",
            **options))
        if isinstance(call, SendResult):
            return call
        if call.status in UNREACHED_CALL_STATUSES:
            return SendResult("failed", call.sid, call.status, f"call {call.status}")
        return SendResult("sending", call.sid)

    def find_sent(self, to, body, since):
        calls = twilio_rest.look_up(lambda: self.client.calls.list(
            to=to, start_time_after=since, limit=50), "call")
        return next((c.sid for c in calls if c._from == self.from_number), None)

    def fetch_status(self, provider_id):
        """(CallStatus, error code, CallDuration in seconds)."""
        call = twilio_rest.fetch(lambda: self.client.calls(provider_id).fetch(), provider_id)
        if call is None:
            return None, None
        duration = int(call.duration) if call.duration not in (None, "") else None
        code = call.status if call.status in UNREACHED_CALL_STATUSES else None
        return call.status, code, duration
