"""Inbound texts: keywords answered once, other texts kept as resident replies."""


class Inbound:
    """Mixed into MessagingService."""
