"""Contact points as they are stored: phones in E.164, emails as email-validator normalizes them.

Every rejection is a `ContactError` naming the field and the rule, so an import report or an
API error can show it to the person who typed the value.
"""

import phonenumbers
from email_validator import EmailNotValidError, validate_email


class ContactError(ValueError):
    def __init__(self, field, message):
        super().__init__(message)
        self.field = field
        self.message = message


def check_region(region):
    """A wrong default region is the caller's mistake, not the resident's: fail before any row."""
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"{region!r} is not a region phonenumbers knows (e.g. US, CA, GB)")


def normalize_phone(raw, default_region="US"):
    """Answer `raw` in E.164 (`+15551230001`); without a `+` it is read as `default_region`'s."""
    check_region(default_region)
    text = (raw or "").strip()
    if not text:
        raise ContactError("phone", "phone is empty")
    where = "" if text.startswith("+") else f" for region {default_region}"
    try:
        number = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise ContactError("phone", f"{text!r} is not a valid phone number{where}")
    if number.extension:
        # E.164 has no room for an extension, and texts cannot reach one: dropping it would
        # store a number that rings the switchboard instead of the resident.
        raise ContactError("phone", f"{text!r} has an extension; a direct number is needed")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_email(raw):
    """Answer the normalized address (domain lower-cased, Unicode normalized); no DNS look-up."""
    text = (raw or "").strip()
    if not text:
        raise ContactError("email", "email is empty")
    try:
        return validate_email(text, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ContactError("email", f"{text!r} is not a valid email address: {exc}") from None
