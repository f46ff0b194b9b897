"""API keys: `th_<prefix>_<secret>`. Only a SHA-256 of the whole key is stored; the
secret has 192 random bits, so a fast hash is enough and lookups stay cheap."""

import hashlib
import hmac
import re
import secrets

KEY_PATTERN = re.compile(r"^th_([A-Za-z0-9]{12})_([A-Za-z0-9_-]{32})$")


def generate():
    """Answer (key shown once, prefix, hash to store)."""
    prefix = secrets.token_hex(6)
    key = f"th_{prefix}_{secrets.token_urlsafe(24)}"
    return key, prefix, digest(key)


def digest(key):
    return hashlib.sha256(key.encode()).hexdigest()


def prefix_of(key):
    match = KEY_PATTERN.match(key or "")
    return match.group(1) if match else None


def matches(key, stored_hash):
    return hmac.compare_digest(digest(key), stored_hash)
