"""Texts through Twilio's REST API with the official client. With no real credentials
configured, base_url points the same client at the local sandbox."""

from requests.adapters import HTTPAdapter
from requests.utils import get_environ_proxies
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

from servicekit.config import TWILIO_API
from services.messaging.providers.base import Provider, SendResult, TransientProviderError


def twilio_client(account_sid, auth_token, base_url=None, timeout=10, connections=32):
    """The official client with a kept connection per call in flight (`connections`)."""
    from twilio.http.http_client import TwilioHttpClient

    # the environment's proxies are read once here: left to requests, every create
    # would read the whole environment again (a tenth of a create's CPU)
    api = (base_url or TWILIO_API).rstrip("/")
    http = TwilioHttpClient(timeout=timeout, proxy=get_environ_proxies(api) or None)
    http.session.trust_env = False
    http.session.mount("https://", HTTPAdapter(pool_maxsize=connections))
    http.session.mount("http://", HTTPAdapter(pool_maxsize=connections))
    client = Client(account_sid, auth_token, http_client=http)
    if base_url and base_url.rstrip("/") != TWILIO_API:
        client.api.base_url = base_url.rstrip("/")
    return client


class TwilioSms(Provider):
    channel = "sms"

    def __init__(self, account_sid, auth_token, from_number, base_url=None, timeout=10,
                 connections=32):
        self.client = twilio_client(account_sid, auth_token, base_url, timeout, connections)
        self.from_number = from_number

    def send(self, delivery_id, to, body, subject=None, status_callback=None,
             unsubscribe_url=None):
        # a text has no headers: its link is in the footer of `body` already
        try:
            message = self.client.messages.create(to=to, from_=self.from_number, body=body,
                                                  status_callback=status_callback)
        except TwilioRestException as exc:
            if exc.status == 429 or exc.status >= 500:
                raise TransientProviderError(f"twilio answered {exc.status}", exc.status,
                                             str(exc.code or ""),
                                             maybe_sent=exc.status != 429) from exc
            return SendResult("failed", error_code=str(exc.code or exc.status),
                              error_message=exc.msg)
        except (TwilioException, OSError) as exc:
            raise TransientProviderError(str(exc)) from exc
        if message.status in ("failed", "undelivered"):
            return SendResult("failed", message.sid, str(message.error_code or ""),
                              message.error_message)
        return SendResult("sending", message.sid)

    def find_sent(self, to, body, since):
        try:
            messages = self.client.messages.list(to=to, date_sent_after=since, limit=50)
        except (TwilioException, OSError) as exc:
            raise TransientProviderError(f"could not look the message up: {exc}") from exc
        return next((m.sid for m in messages if m.body == body), None)

    def fetch_status(self, provider_id):
        try:
            message = self.client.messages(provider_id).fetch()
        except TwilioRestException as exc:
            if exc.status == 404:
                return None, None
            raise TransientProviderError(f"could not fetch {provider_id}: {exc.status}",
                                         exc.status) from exc
        except (TwilioException, OSError) as exc:
            raise TransientProviderError(f"could not fetch {provider_id}: {exc}") from exc
        return message.status, (str(message.error_code) if message.error_code else None)
