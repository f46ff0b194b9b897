"""The credit price of a delivery (Pilera's rule), kept apart from provider facts
(Twilio's num_segments and price) so both can be reconciled.

1 credit = one 320-character text, or one 140-character text when the body has any
character outside the GSM-7 alphabet and its extension table; one started minute of a
call (unanswered calls are free); email is free. Always rounded up.
"""

import math
from dataclasses import dataclass

from contracts.footer import text_to_send
from contracts.segments import is_gsm7


@dataclass(frozen=True)
class RateCard:
    text_chars: int = 320
    unicode_text_chars: int = 140
    voice_seconds: int = 60


DEFAULT_RATES = RateCard()


def text_credits(body, rates=DEFAULT_RATES):
    if not body:
        return 0
    per_credit = rates.text_chars if is_gsm7(body) else rates.unicode_text_chars
    return math.ceil(len(body) / per_credit)


def voice_credits(seconds, rates=DEFAULT_RATES):
    """Settled on the real duration; an unanswered call (0 s) costs nothing."""
    return math.ceil(max(seconds, 0) / rates.voice_seconds)


# how long a call lasts at most, for its hold: what it says, read at ~150 words a minute
# (12.5 characters a second) with a pause after each thing said, and the seconds it waits
# in silence (for a key, for an answering machine's greeting)
SPOKEN_CHARS_PER_SECOND = 12.5
PAUSE_SECONDS = 1


def call_seconds_estimate(said, waiting_seconds=0, time_limit_seconds=None):
    """The longest a call should last: each text of `said` (in order, one entry each time it
    is said) spoken with a pause after it, plus `waiting_seconds`, capped by the TimeLimit
    sent to Twilio. messaging.voice_calls says what a call says."""
    seconds = sum(math.ceil(len(text or "") / SPOKEN_CHARS_PER_SECOND) + PAUSE_SECONDS
                  for text in said) + max(waiting_seconds, 0)
    if time_limit_seconds is not None:
        seconds = min(seconds, time_limit_seconds)
    return max(seconds, 1)


def delivery_credits(channel, body, rates=DEFAULT_RATES):
    """The credits to hold for one delivery before it is sent."""
    if channel == "sms":
        return text_credits(body, rates)
    if channel == "email":
        return 0
    raise ValueError(f"no price for channel {channel!r} before sending")


def quote(body, channels, recipients, rates=DEFAULT_RATES, call_seconds=None,
          unsubscribe_link=None):
    """Credits a send would cost before it is sent, per channel and in all: what messaging
    holds for the same body (a call is quoted for `call_seconds`, by default one rate unit,
    and settled later on its real duration). With `unsubscribe_link` (a real one or its
    placeholder) each text and email is priced with its footer, as messaging sends it."""
    per_channel = {}
    for channel in channels:
        if channel == "voice":
            each = voice_credits(rates.voice_seconds if call_seconds is None else call_seconds,
                                 rates)
        else:
            each = delivery_credits(channel, text_to_send(channel, body, unsubscribe_link),
                                    rates)
        per_channel[channel] = {"per_recipient": each, "total": each * recipients}
    return {"channels": per_channel, "recipients": recipients,
            "total": sum(c["total"] for c in per_channel.values()),
            "characters": len(body or ""), "gsm7": is_gsm7(body or ""),
            "unsubscribe_footer": bool(unsubscribe_link),
            "rates": {"text_chars": rates.text_chars,
                      "unicode_text_chars": rates.unicode_text_chars,
                      "voice_seconds": rates.voice_seconds}}
