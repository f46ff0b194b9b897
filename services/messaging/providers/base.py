from dataclasses import dataclass


@dataclass(frozen=True)
class SendResult:
    """What the provider answered: its id and our status, or a permanent failure."""

    status: str                 # "sent", "delivered" or "failed"
    provider_id: str | None = None
    error_code: str | None = None
    error_message: str | None = None


@dataclass(frozen=True)
class Attachment:
    """A file an email carries (a document send's document)."""

    filename: str
    content_type: str       # as its content says (contracts.documents)
    data: bytes


class TransientProviderError(Exception):
    """The provider could not be reached or answered 5xx/429: worth another try.
    `maybe_sent`: the provider may have taken the message before the answer was lost (a
    timeout, a 5xx), so it is looked up before it is sent again; a 429 took nothing."""

    def __init__(self, message, status=None, code=None, maybe_sent=True):
        super().__init__(message)
        self.status, self.code, self.maybe_sent = status, code, maybe_sent


PROVIDER_ERROR = "provider_error"


def unexpected_failure(exc):
    """A provider call that raised anything but a TransientProviderError — a bug in an
    adapter, or input its library refuses (a header with a line break) — would raise the
    same again: a terminal failure a person can read, never a delivery left `sending`."""
    return SendResult("failed", None, PROVIDER_ERROR,
                      f"provider error: {type(exc).__name__}: {exc}"[:300])


class Provider:
    channel = None

    def send(self, delivery_id, to, body, subject=None, status_callback=None,
             unsubscribe_url=None) -> SendResult:
        """Send `body` as it is (any footer is already in it); `unsubscribe_url` is the
        link of an opt-out-enabled category, for a provider that can also put it in a
        header (email's List-Unsubscribe)."""
        raise NotImplementedError

    def find_sent(self, to, body, since):
        """Reconciliation: the provider id of a message we may have sent already, or None."""
        return None

    def fetch_status(self, provider_id):
        """Reconciliation: the provider's status of a message it took (its own word, e.g.
        Twilio's `delivered`) and its error code, or (None, None) when it does not know it.
        A provider that reports every outcome itself (email) answers None."""
        return None
