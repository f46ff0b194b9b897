from dataclasses import dataclass


@dataclass(frozen=True)
class SendResult:
    """What the provider answered: its id and our status, or a permanent failure."""

    status: str                 # "sent", "delivered" or "failed"
    provider_id: str | None = None
    error_code: str | None = None
    error_message: str | None = None


class TransientProviderError(Exception):
    """The provider could not be reached or answered 5xx/429: worth another try."""


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
