"""SMS keywords: STOP / START / HELP from a handset, and carrier opt-outs (21610)."""


class Texting:
    """Mixed into ConsentService."""
