"""The call a resident receives — pure rules, no I/O (TwiML built with the twilio library).

1. The body is read with `<Say>` in the resident's language (directory's two-letter code,
   LANGUAGES gives Twilio's tag; one not listed is read as en-US) and the configured voice,
   and said twice (`loop="2"`): a call is heard once, so it repeats itself once.
2. A call of an opt-out-enabled category ends with a `<Gather>` of one key, posted to the
   gateway, that offers to stop these calls (contracts.voice_opt_out, in the same language
   where we have it, else in English), waits GATHER_TIMEOUT_SECONDS for it, and when the key
   is pressed the gateway's answer says the confirmation before the call ends.
3. Twilio takes TwiML of at most MAX_TWIML_CHARS characters: a body whose call would be
   longer is refused before anything is held (`check_length`), naming the field.
4. A call is held for the longest it can last (`longest_seconds`), estimated from the same
   script its TwiML is built from (`script`): the body as often as it is read, the offer
   in the language it is said in, the confirmation, the wait for the key, and — when
   machine detection is configured — the time Twilio may listen for an answering machine
   before the call speaks; capped by TimeLimit.
"""

from dataclasses import dataclass

from twilio.twiml.voice_response import VoiceResponse

from contracts import voice_opt_out
from contracts.errors import InvalidRequest
from contracts.pricing import call_seconds_estimate
from services.messaging.call_settings import MACHINE_DETECTION_TIMEOUT_SECONDS

MAX_TWIML_CHARS = 4000
REPEATS = 2
GATHER_TIMEOUT_SECONDS = 5
LANGUAGES = {
    "en": "en-US", "es": "es-MX", "fr": "fr-CA", "de": "de-DE", "it": "it-IT",
    "pt": "pt-BR", "nl": "nl-NL", "pl": "pl-PL", "ru": "ru-RU", "ja": "ja-JP",
    "ko": "ko-KR", "zh": "zh-CN", "da": "da-DK", "fi": "fi-FI", "nb": "nb-NO",
    "sv": "sv-SE", "ca": "ca-ES",
}
DEFAULT_LANGUAGE = "en-US"
# the longest action URL a check has to allow for, when the real one is not known
_LONGEST_ACTION = "https://" + "x" * 200 + "/webhooks/twilio/gather"


def language_tag(language):
    return LANGUAGES.get((language or "").lower(), DEFAULT_LANGUAGE)


@dataclass(frozen=True)
class Script:
    """What one call says, in order: its TwiML and its longest length both come from it."""

    body: str
    body_language: str             # Twilio's tag
    offer: str | None = None       # the opt-out offer, when the category has one
    offer_language: str | None = None


def script(body, language, opt_out=False):
    """The script of a call of `body` to a resident speaking `language`; with `opt_out`, it
    ends offering the keypress opt-out."""
    tag = language_tag(language)
    if not opt_out:
        return Script(body, tag)
    # a prompt we have only in English is read in English
    own = (language or "").lower() in voice_opt_out.PROMPTS
    return Script(body, tag, voice_opt_out.prompt(language), tag if own else DEFAULT_LANGUAGE)


def twiml(body, language, voice, gather_action=None):
    """The TwiML of one call; with `gather_action`, it ends offering the keypress opt-out."""
    said = script(body, language, opt_out=bool(gather_action))
    response = VoiceResponse()
    response.say(said.body, voice=voice, language=said.body_language, loop=REPEATS)
    if said.offer:
        gather = response.gather(num_digits=1, action=gather_action, method="POST",
                                 input="dtmf speech", timeout=GATHER_TIMEOUT_SECONDS)
        gather.say(said.offer, voice=voice, language=said.offer_language)
    return str(response)


def longest_seconds(body, language, opt_out, settings):
    """The longest a call of `body` can last, for its hold (settings: CallSettings): every
    word it says — the body REPEATS times; with the opt-out, the offer as the resident hears
    it, the wait for the key and the confirmation said when 9 is pressed at the last moment
    (contracts.voice_opt_out.answer) — and, with machine detection, the seconds Twilio may
    listen for a machine before the call speaks; capped by its TimeLimit."""
    said = script(body, language, opt_out)
    texts, waiting = [said.body] * REPEATS, 0
    if said.offer:
        texts += [said.offer, voice_opt_out.CONFIRMATION]
        waiting += GATHER_TIMEOUT_SECONDS
    if settings.machine_detection:
        waiting += MACHINE_DETECTION_TIMEOUT_SECONDS
    return call_seconds_estimate(texts, waiting, settings.time_limit_seconds)


def check_length(body, voice, gather_action=None):
    """InvalidRequest naming `body` when its call's TwiML is past Twilio's limit (checked
    with the opt-out's Gather and the longest prompt, the largest a call of it can be)."""
    longest = max(voice_opt_out.PROMPTS, key=lambda k: len(voice_opt_out.PROMPTS[k]))
    size = len(twiml(body, longest, voice, gather_action or _LONGEST_ACTION))
    if size > MAX_TWIML_CHARS:
        over = size - MAX_TWIML_CHARS
        raise InvalidRequest(
            f"too long for a call: its TwiML would be {size:,} characters and Twilio takes "
            f"at most {MAX_TWIML_CHARS:,}; shorten the body by at least {over:,} characters "
            "(characters such as & and < count several times)", "body")
