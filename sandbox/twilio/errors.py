"""Twilio's error body and the messages it gives for the codes the sandbox answers with."""

from aiohttp import web

TWILIO_ERROR_MESSAGES = {
    20003: "Authenticate",
    20404: "The requested resource was not found",
    20429: "Too Many Requests",
    20500: "An internal server error has occurred",
    20503: "Service Unavailable",
    21200: "Calls Resource",
    21201: "No 'To' number is specified",
    21205: "Url parameter is required.",
    21208: "Invalid Timeout",
    21209: "Invalid Method",
    21211: "The 'To' number is not a valid phone number.",
    21212: "The 'From' number is not a valid phone number.",
    21213: "Caller phone number is required",
    21602: "Message body is required.",
    21603: "A 'From' phone number is required.",
    21604: "A 'To' phone number is required.",
    21609: "Invalid StatusCallback URL",
    21610: "Attempt to send to unsubscribed recipient",
    21614: "'To' number is not a valid mobile number",
    21617: "The concatenated message body exceeds the 1600 character limit.",
    21626: "Invalid 'StatusCallbackEvent'",
    30001: "Queue overflow",
    30003: "Unreachable destination handset",
    30004: "Message blocked",
    30005: "Unknown destination handset",
    30006: "Landline or unreachable carrier",
    30007: "Message filtered",
    30008: "Unknown error",
    32018: "Twiml size exceeded maximum allowed value of 4000 characters",
}


def error_message(code: int) -> str:
    return TWILIO_ERROR_MESSAGES.get(code, f"Sandbox error {code}")


def twilio_error(code: int, status: int, message: str | None = None) -> web.Response:
    """The JSON the twilio client turns into TwilioRestException(code, status, message)."""
    body = {
        "code": code,
        "message": message or error_message(code),
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    headers = {"WWW-Authenticate": 'Basic realm="Twilio API"'} if status == 401 else None
    return web.json_response(body, status=status, headers=headers)
