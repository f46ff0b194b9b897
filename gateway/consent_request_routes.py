"""Consent requests over HTTP and the public confirm page."""


class ConsentRequestRoutes:
    """Mixed into GatewayService."""
