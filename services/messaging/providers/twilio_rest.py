"""What texts and calls share of Twilio's REST API: the official client, pointed at the local
sandbox when no real credentials are configured, and how its answers become ours — a 429 or
a 5xx (and a network error) is transient, any other refusal a permanent failure with
Twilio's code, an unknown resource on fetch is "not known"."""

from requests.adapters import HTTPAdapter
from requests.utils import get_environ_proxies
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

from servicekit.config import TWILIO_API
from services.messaging.providers.base import SendResult, TransientProviderError


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


def create(make):
    """The resource `make()` created, or a SendResult of its permanent refusal; raises
    TransientProviderError for what is worth another try."""
    try:
        return make()
    except TwilioRestException as exc:
        if exc.status == 429 or exc.status >= 500:
            raise TransientProviderError(f"twilio answered {exc.status}", exc.status,
                                         str(exc.code or ""),
                                         maybe_sent=exc.status != 429) from exc
        return SendResult("failed", error_code=str(exc.code or exc.status),
                          error_message=exc.msg)
    except (TwilioException, OSError) as exc:
        raise TransientProviderError(str(exc)) from exc


def look_up(make, what):
    """The list `make()` answers; any error is transient (the look-up is tried again)."""
    try:
        return make()
    except (TwilioException, OSError) as exc:
        raise TransientProviderError(f"could not look the {what} up: {exc}") from exc


def fetch(make, provider_id):
    """The resource, or None when Twilio does not know it."""
    try:
        return make()
    except TwilioRestException as exc:
        if exc.status == 404:
            return None
        raise TransientProviderError(f"could not fetch {provider_id}: {exc.status}",
                                     exc.status) from exc
    except (TwilioException, OSError) as exc:
        raise TransientProviderError(f"could not fetch {provider_id}: {exc}") from exc
