"""SMS keywords (CTIA and Twilio's defaults, DESIGN.md): what an inbound text asks for —
pure, no I/O. The whole message must be the keyword, whatever its case and the spaces or
punctuation around it; "Stop by the office at 5" is a reply, not an opt-out."""

import re

STOP = ("STOP", "STOPALL", "UNSUBSCRIBE", "END", "QUIT", "CANCEL", "REVOKE", "OPTOUT")
START = ("START", "YES", "UNSTOP")
HELP = ("HELP", "INFO")
_TRIM = re.compile(r"^[\s\W_]+|[\s\W_]+$", re.UNICODE)


def classify(body):
    """`stop`, `start`, `help`, or `reply` (anything else goes on to messaging)."""
    word = _TRIM.sub("", body or "").upper()
    if word in STOP:
        return "stop"
    if word in START:
        return "start"
    if word in HELP:
        return "help"
    return "reply"
