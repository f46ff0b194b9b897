"""Unsubscribe links — pure rules, no I/O: how long a link lives, when one already issued is
handed out again, which categories a use withdraws, the address a public page shows and the
evidence kept.

CASL wants an unsubscribe mechanism to work for at least 60 days after the message was sent.
A link is reused for a later message only while it has that long left, so every message
carries a link good for 60 days at least; otherwise a new one is issued for the configured
lifetime (`consent.unsubscribe_link_days`, 90 by default, never below 60).
"""

from dataclasses import dataclass
from datetime import timedelta

from contracts.footer import unsubscribe_link
from services.consent import tokens

MIN_DAYS = 60
DEFAULT_DAYS = 90
PURPOSE = "unsubscribe"
ID_PREFIX = "unsub"
SCOPES = ("category", "all_commercial")
WORDING_LIMIT = 1000
IP_LIMIT = 64
USER_AGENT_LIMIT = 300


@dataclass(frozen=True)
class LinkSettings:
    secret: str
    days: int
    public_url: str

    def url(self, link_id):
        return unsubscribe_link(self.public_url, tokens.sign(self.secret, link_id))


def link_settings(config):
    """From configuration, checked once at start-up: a lifetime under 60 days is refused."""
    consent = config.get("consent") or {}
    days = consent.get("unsubscribe_link_days", DEFAULT_DAYS)
    if isinstance(days, bool) or not isinstance(days, int) or days < MIN_DAYS:
        raise RuntimeError(f"consent.unsubscribe_link_days must be a whole number of days, "
                           f"at least {MIN_DAYS} (CASL); it is {days!r}")
    public_url = ((config.get("gateway") or {}).get("public_url")
                  or "http://127.0.0.1:8000").rstrip("/")
    return LinkSettings(tokens.link_secret(config), days, public_url)


def expires_at(now, days):
    return now + timedelta(days=days)


def reusable(link_expires_at, now):
    """A link issued before goes in a new message only while it works 60 more days."""
    return link_expires_at - now >= timedelta(days=MIN_DAYS)


def expired(link_expires_at, now):
    return now >= link_expires_at


def pick_reusable(links, address, now):
    """The link (with .id, .address, .expires_at) to put in a message to `address`, or None:
    the longest-lived one sent to that same address with 60 days left."""
    fitting = [link for link in links
               if link.address == address and reusable(link.expires_at, now)]
    return max(fitting, key=lambda link: link.expires_at, default=None)


def to_withdraw(category_id, scope, commercial_ids, latest_acts):
    """The categories a use of the link withdraws, in a stable order: its own, or also every
    other commercial category; minus those whose latest act is a withdrawal already, so
    using a link twice records nothing twice. `latest_acts`: {category_id: action}."""
    if scope not in SCOPES:
        raise ValueError(scope)
    wanted = [category_id]
    if scope == "all_commercial":
        wanted += sorted(c for c in set(commercial_ids) if c != category_id)
    return [c for c in wanted if latest_acts.get(c) != "withdraw"]


def mask_address(address):
    """Enough of an address for its owner to recognize it, not enough to harvest it:
    a•••@example.com, •••0001."""
    if not address:
        return ""
    if "@" in address:
        local, _, domain = address.rpartition("@")
        return f"{local[:1]}•••@{domain}"
    digits = "".join(ch for ch in address if ch.isdigit())
    return f"•••{digits[-4:]}" if len(digits) > 4 else "•••"


def evidence(given, link):
    """What the gateway saw (the exact words shown, the client's address and browser) and
    what the link knows (where it was sent, which link). The wording is required."""
    given = given or {}
    wording = given.get("wording")
    if not isinstance(wording, str) or not wording.strip() or len(wording) > WORDING_LIMIT:
        raise ValueError(f"the words shown are required: 1 to {WORDING_LIMIT} characters")
    return {"wording": wording, "address": link.address, "link_id": link.id,
            "ip": _text(given.get("ip"), IP_LIMIT),
            "user_agent": _text(given.get("user_agent"), USER_AGENT_LIMIT),
            "one_click": bool(given.get("one_click"))}


def _text(value, limit):
    return str(value)[:limit] if value else None
