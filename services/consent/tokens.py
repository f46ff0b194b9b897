"""Signed link tokens — pure, no I/O. A token is a link's random id and an HMAC-SHA256 of it
under `consent.link_secret`, so a changed character is caught before the database is asked;
what the link may do, for whom and until when, is kept with the link in consent's database."""

import base64
import hashlib
import hmac
import secrets

from servicekit.signing_keys import signing_key

SIGNATURE_BYTES = 16


NOT_VALID = "this link is not valid: it was changed, cut short or is not one we sent"


class BadToken(ValueError):
    """The token is not one we signed (malformed or tampered with)."""


def link_secret(config):
    """The signing key from configuration; in development, the installation's own."""
    return signing_key(config, "consent", "link_secret")


def new_link_id(purpose_prefix):
    """`unsub_…` / `conf_…`: 128 random bits, URL-safe."""
    return f"{purpose_prefix}_{secrets.token_urlsafe(16)}"


def sign(secret, link_id):
    return f"{link_id}.{_signature(secret, link_id)}"


def verify(secret, token):
    """The link id inside a token we signed; BadToken otherwise."""
    if not isinstance(token, str) or token.count(".") != 1 or len(token) > 200:
        raise BadToken("the link is not complete")
    link_id, signature = token.split(".")
    # compared as bytes: compare_digest refuses str with characters outside ASCII
    if not hmac.compare_digest(signature.encode(), _signature(secret, link_id).encode()):
        raise BadToken("the link has been changed")
    return link_id


def _signature(secret, link_id):
    digest = hmac.new(secret.encode(), link_id.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:SIGNATURE_BYTES]).rstrip(b"=").decode()
