"""Unsubscribe links: in every message of an opt-out-enabled category, used without login."""


class Unsubscribe:
    """Mixed into ConsentService."""
