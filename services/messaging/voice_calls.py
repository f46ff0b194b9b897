"""The call a resident receives — pure rules, no I/O (TwiML built with the twilio library).

1. The body is read with `<Say>` in the resident's language (directory's two-letter code,
   LANGUAGES gives Twilio's tag; one not listed is read as en-US) and the configured voice,
   and said twice (`loop="2"`): a call is heard once, so it repeats itself once.
2. A call of an opt-out-enabled category ends with a `<Gather>` of one key, posted to the
   gateway, that offers to stop these calls (contracts.voice_opt_out, in the same language
   where we have it, else in English).
3. Twilio takes TwiML of at most MAX_TWIML_CHARS characters: a body whose call would be
   longer is refused before anything is held (`check_length`), naming the field.
"""

from twilio.twiml.voice_response import VoiceResponse

from contracts import voice_opt_out
from contracts.errors import InvalidRequest

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


def twiml(body, language, voice, gather_action=None):
    """The TwiML of one call; with `gather_action`, it ends offering the keypress opt-out."""
    tag = language_tag(language)
    response = VoiceResponse()
    response.say(body, voice=voice, language=tag, loop=REPEATS)
    if gather_action:
        gather = response.gather(num_digits=1, action=gather_action, method="POST",
                                 input="dtmf speech", timeout=GATHER_TIMEOUT_SECONDS)
        # a prompt we have only in English is read in English
        own = (language or "").lower() in voice_opt_out.PROMPTS
        gather.say(voice_opt_out.prompt(language), voice=voice,
                   language=tag if own else DEFAULT_LANGUAGE)
    return str(response)


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
