"""The keypress opt-out of calls, shared by messaging (which offers it in a call) and the
gateway (which answers the key pressed): US rules require one in prerecorded calls
(47 CFR 64.1200(b)(3)). Pressing OPT_OUT_DIGIT withdraws consent to calls of the call's
category; the words the resident heard are kept as evidence."""

from twilio.twiml.voice_response import VoiceResponse

OPT_OUT_DIGIT = "9"
PROMPTS = {
    "en": f"To stop these calls, press {OPT_OUT_DIGIT}.",
    "es": f"Para no recibir más estas llamadas, oprima {OPT_OUT_DIGIT}.",
    "fr": f"Pour ne plus recevoir ces appels, appuyez sur {OPT_OUT_DIGIT}.",
}
CONFIRMATION = "You will not receive these calls again. Goodbye."


def prompt(language):
    """The offer in the resident's language where we have it, else in English."""
    return PROMPTS.get((language or "").lower()) or PROMPTS["en"]


def pressed(digits):
    return bool(digits) and OPT_OUT_DIGIT in digits


def answer(digits):
    """The TwiML answering a keypress: a confirmation when it was the opt-out key, then the
    call ends."""
    response = VoiceResponse()
    if pressed(digits):
        response.say(CONFIRMATION, language="en-US")
    response.hangup()
    return str(response)
