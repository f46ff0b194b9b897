"""Consent requests: an email with a signed confirm link to every resident of chosen communities."""


class ConsentRequests:
    """Mixed into ConsentService."""
