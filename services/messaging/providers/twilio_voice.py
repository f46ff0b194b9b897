"""Calls through Twilio's Calls API with the official client, reading TwiML the pipeline
builds (voice_calls). With no real credentials configured, the client's base URL points at
the local sandbox, as for texts."""

from twilio.base.exceptions import TwilioException, TwilioRestException

from services.messaging import voice_calls
from services.messaging.providers.base import Provider, SendResult, TransientProviderError
from services.messaging.providers.twilio_sms import twilio_client

# every step of a call, so that its progress shows while it rings
STATUS_EVENTS = ("initiated", "ringing", "answered", "completed")


class TwilioVoice(Provider):
    channel = "voice"

    def __init__(self, account_sid, auth_token, from_number, settings, base_url=None,
                 timeout=10, connections=32):
        self.client = twilio_client(account_sid, auth_token, base_url, timeout, connections)
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
            options["machine_detection"] = settings.machine_detection
        try:
            call = self.client.calls.create(
                to=to, from_=self.from_number, twiml=twiml, status_callback=status_callback,
                status_callback_event=list(STATUS_EVENTS), status_callback_method="POST",
                **options)
        except TwilioRestException as exc:
            if exc.status == 429 or exc.status >= 500:
                raise TransientProviderError(f"twilio answered {exc.status}", exc.status,
                                             str(exc.code or ""),
                                             maybe_sent=exc.status != 429) from exc
            return SendResult("failed", error_code=str(exc.code or exc.status),
                              error_message=exc.msg)
        except (TwilioException, OSError) as exc:
            raise TransientProviderError(str(exc)) from exc
        if call.status in ("failed", "busy", "no-answer", "canceled"):
            return SendResult("failed", call.sid, call.status, f"call {call.status}")
        return SendResult("sending", call.sid)

    def find_sent(self, to, body, since):
        try:
            calls = self.client.calls.list(to=to, start_time_after=since, limit=50)
        except (TwilioException, OSError) as exc:
            raise TransientProviderError(f"could not look the call up: {exc}") from exc
        return next((c.sid for c in calls if c._from == self.from_number), None)

    def fetch_status(self, provider_id):
        """(CallStatus, error code, CallDuration in seconds)."""
        try:
            call = self.client.calls(provider_id).fetch()
        except TwilioRestException as exc:
            if exc.status == 404:
                return None, None
            raise TransientProviderError(f"could not fetch {provider_id}: {exc.status}",
                                         exc.status) from exc
        except (TwilioException, OSError) as exc:
            raise TransientProviderError(f"could not fetch {provider_id}: {exc}") from exc
        duration = int(call.duration) if call.duration not in (None, "") else None
        code = call.status if call.status in ("busy", "no-answer", "failed", "canceled") else None
        return call.status, code, duration
