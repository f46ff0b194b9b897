"""Text that can end up in a message header — an email's Subject (a communication's subject,
or its category's name by default; a consent request's, made of the organization's and the
category's names) — is one line of text.

A line break in a header value would start a header of the sender's choosing (header
injection), and mail libraries refuse one outright, which once left an email `sending`
forever. So such fields refuse every control character (Unicode Cc: CR, LF, TAB, NUL, BEL,
NEL...) and the line and paragraph separators U+2028 and U+2029, naming the character.
"""

import re

from marshmallow import ValidationError, validate

CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def control_character(value):
    """The first control character of `value` and its position, or None."""
    found = CONTROL.search(value)
    return (found.group(), found.start()) if found else None


class SingleLine(validate.Validator):
    """A marshmallow validator: one line, no control characters."""

    error = ("must be one line without control characters (line breaks, tabs...): "
             "found U+{code:04X} at position {position}")

    def __call__(self, value):
        found = control_character(value) if isinstance(value, str) else None
        if found:
            character, position = found
            raise ValidationError(self.error.format(code=ord(character), position=position))
        return value
