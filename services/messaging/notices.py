"""Notices: what Townhall sends on its own account (keyword replies, consent-request emails)."""


class Notices:
    """Mixed into MessagingService."""
