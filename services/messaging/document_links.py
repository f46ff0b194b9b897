"""The link to a document in a text or a call — pure rules, no I/O.

1. Each delivery of a document send has its own link, `<public_url>/d/<token>`: the token
   names the delivery, so a link opens that recipient's document and nobody else's, and a
   changed character is caught by its signature (HMAC-SHA256 under messaging.link_secret)
   before the database is asked.
2. It is valid until the end of the day (UTC) `messaging.document_link_days` (30) after the
   send was accepted; the day is inside the token, so the same delivery always has the same
   link (a text sent again after a lost answer carries the same one).
3. Every link of an installation has the same length (ids and days are fixed-width), so a
   preview prices a stand-in of that length exactly as the send prices the real one.
"""

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta

SIGNATURE_BYTES = 12
DEFAULT_DAYS = 30
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class LinkError(ValueError):
    """`reason`: "invalid" (not one we signed) or "expired"."""

    def __init__(self, reason, detail):
        super().__init__(detail)
        self.reason, self.detail = reason, detail


def last_day(accepted_at, days=DEFAULT_DAYS):
    """The day number (days since 1970-01-01, UTC) a link is still good on."""
    return (accepted_at.astimezone(UTC) + timedelta(days=days) - _EPOCH).days


def token(secret, delivery_id, day):
    body = f"{delivery_id}.{day:05d}"
    return f"{body}.{_signature(secret, body)}"


def verify(secret, value, now=None):
    """The delivery id of a token we signed that is still good; LinkError saying why not."""
    parts = value.split(".") if isinstance(value, str) and len(value) < 120 else []
    if len(parts) != 3 or not parts[1].isdigit():
        raise LinkError("invalid", "this link is not complete; use the one in your message")
    body = f"{parts[0]}.{parts[1]}"
    if not hmac.compare_digest(parts[2].encode(), _signature(secret, body).encode()):
        raise LinkError("invalid", "this link has been changed; use the one in your message")
    today = ((now or datetime.now(UTC)) - _EPOCH).days
    if today > int(parts[1]):
        raise LinkError("expired", "this link has expired; ask the management office for "
                                   "the document")
    return parts[0]


def url(public_url, value):
    return f"{public_url.rstrip('/')}/d/{value}"


def text_with_link(body, link):
    """What a text or call says: the body, then the document's link."""
    return f"{body}\nDocument: {link}"


def body_for(channel, body, link):
    """A document send's body on a channel: texts and calls carry the link, an email the
    document itself (attached), so its body is as written."""
    if link is None or channel == "email":
        return body
    return text_with_link(body, link)


def stand_in(public_url):
    """A link of the real ones' length, for a preview (no delivery exists yet)."""
    return url(public_url, token("preview", "dlv_" + "x" * 20, 0))


class DocumentLinks:
    """The links of one installation: its public address, key and days."""

    def __init__(self, secret, public_url, days=DEFAULT_DAYS):
        if int(days) < 1:
            raise ValueError("messaging.document_link_days must be at least 1")
        self.secret, self.public_url, self.days = secret, public_url, int(days)

    def for_delivery(self, delivery_id, accepted_at):
        return url(self.public_url, token(self.secret, delivery_id,
                                          last_day(accepted_at, self.days)))

    def stand_in(self):
        return stand_in(self.public_url)


def _signature(secret, body):
    digest = hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:SIGNATURE_BYTES]).decode()
