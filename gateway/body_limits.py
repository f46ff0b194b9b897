"""How much of a request body the gateway reads, and how deeply nested its JSON may be —
pure rules, no I/O.

1. Every route declares the kind of body it takes: `json` (the default), `form` (provider
   webhooks and the public pages' buttons: small, and unauthenticated until their signature
   or token is checked) or `upload` (CSV files: the route knows its own, larger, limit).
2. A body over its kind's limit is refused with 413 naming the limit: by its Content-Length
   before a byte is read, and, sent chunked, as soon as the limit is passed.
3. JSON nested deeper than MAX_JSON_DEPTH is refused before it is parsed: the parser and the
   schemas recurse, and the depth of a real request is a handful of levels.
"""

import re
from itertools import accumulate

KINDS = ("json", "form", "upload")
DEFAULT_LIMITS = {"json": 1024 * 1024, "form": 64 * 1024}
CONFIG_KEYS = {"json": "max_json_bytes", "form": "max_form_bytes"}
MAX_JSON_DEPTH = 32

# strings may hold any bracket, so they are taken out before brackets are counted; an
# unterminated one runs to the end (the parser refuses it later), which keeps the scan linear
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


def limit_for(kind, gateway_config=None):
    """The largest body, in bytes, a route of this kind reads; None for uploads, whose
    route sets its own limit before reading."""
    if kind not in KINDS:
        raise ValueError(f"unknown body kind {kind!r}; one of {', '.join(KINDS)}")
    if kind == "upload":
        return None
    configured = (gateway_config or {}).get(CONFIG_KEYS[kind])
    return int(configured) if configured else DEFAULT_LIMITS[kind]


def too_large(limit, kind="json"):
    """The words of a 413."""
    return (f"the body is larger than the limit of {limit} bytes for {kind} requests; "
            "send less")


def nesting_exceeds(text, limit=MAX_JSON_DEPTH):
    """True when the JSON text opens more than `limit` arrays or objects inside each other.
    Counts brackets outside strings without recursing, in time linear in the text's length
    whatever it holds (an unterminated string, a million escaped quotes)."""
    if text.count("[") + text.count("{") <= limit:
        return False   # nearly every request: too few brackets to nest that deep
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0) > limit
