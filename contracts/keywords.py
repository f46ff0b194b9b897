"""SMS keywords (CTIA and Twilio's defaults, DESIGN.md): what an inbound text asks for —
pure, no I/O. In contracts because consent (which records keywords) and messaging (which
keeps replies) both classify texts, and services never import each other's code. The
whole message must be the keyword, whatever its case and the spaces or punctuation around
it; "Stop by the office at 5" is a reply, not an opt-out."""

import re

STOP = ("STOP", "STOPALL", "UNSUBSCRIBE", "END", "QUIT", "CANCEL", "REVOKE", "OPTOUT")
START = ("START", "YES", "UNSTOP")
HELP = ("HELP", "INFO")
_TRIM = re.compile(r"^[\s\W_]+|[\s\W_]+$", re.UNICODE)


def keyword_of(body):
    """The message as a keyword: trimmed of spaces and punctuation, upper case."""
    return _TRIM.sub("", body or "").upper()


def classify(body):
    """`stop`, `start`, `help`, or `reply` (anything else goes on to messaging)."""
    word = keyword_of(body)
    if word in STOP:
        return "stop"
    if word in START:
        return "start"
    if word in HELP:
        return "help"
    return "reply"
