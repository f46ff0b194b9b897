"""POST /_sandbox/calls/{sid}/keypress: a person on an answered call presses keys (or speaks)
at the call's <Gather>, and the sandbox sends its action what Twilio sends, signed.

The body is {"digits": "9", "speech": "optional words", "confidence": 0.9}; the answer is the
receiver's status and body (the TwiML it would have Twilio play next). The <Gather>'s
`numDigits` keeps that many digits, and its `finishOnKey` (default `#`) ends the input early:
Digits stops before it and FinishedOnKey names it.
"""

import json
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp
from aiohttp import web

from sandbox.twilio.callbacks import send_signed
from sandbox.twilio.calls import SandboxCall

KEYS = re.compile(r"^[0-9*#]*$")


class KeypressRefused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _pressed(body: Any) -> tuple[str, str | None, float]:
    if not isinstance(body, dict):
        raise KeypressRefused(400, "the body must be a JSON object: digits and/or speech")
    digits, speech = body.get("digits", ""), body.get("speech")
    confidence = body.get("confidence", 0.9)
    if not isinstance(digits, str) or not KEYS.match(digits):
        raise KeypressRefused(400, "digits must be a string of keys 0-9, * and #")
    if speech is not None and not isinstance(speech, str):
        raise KeypressRefused(400, "speech must be a string")
    if not digits and not speech:
        raise KeypressRefused(400, "give digits, speech or both")
    if isinstance(confidence, bool) or not isinstance(confidence, int | float) \
            or not 0 <= confidence <= 1:
        raise KeypressRefused(400, "confidence must be a number between 0 and 1")
    return digits, speech, float(confidence)


def _gather_of(call: SandboxCall) -> ET.Element:
    if not call.answered:
        raise KeypressRefused(409, f"call {call.sid} was not answered (it is {call.status}): "
                                   "nobody is there to press keys")
    if call.life.answerer == "machine":
        raise KeypressRefused(409, f"call {call.sid} was answered by a machine: "
                                   "nobody is there to press keys")
    if call.twiml is None:
        raise KeypressRefused(409, f"call {call.sid} has no TwiML: its Url answered "
                                   f"{call.url_answer}")
    try:
        # TwiML from the test's own service, parsed by expat, which fetches no external entity
        root = ET.fromstring(call.twiml)  # noqa: S314
    except ET.ParseError as exc:
        raise KeypressRefused(409, f"the TwiML of call {call.sid} is not XML: {exc}") from None
    gather = next(root.iter("Gather"), None)
    if gather is None:
        raise KeypressRefused(409, f"the TwiML of call {call.sid} has no <Gather>")
    return gather


def _action_of(call: SandboxCall, gather: ET.Element) -> str:
    """Twilio posts to the action, relative to the TwiML's URL; without one, to that URL."""
    action = gather.get("action") or ""
    url = urljoin(call.request.url, action) if call.request.url else action
    if not urlsplit(url).scheme.startswith("http"):
        raise KeypressRefused(409, f"the <Gather> of call {call.sid} has no absolute action "
                                   f"URL ({action!r}) and its TwiML was given inline")
    return url


def gather_params(call: SandboxCall, gather: ET.Element, digits: str, speech: str | None,
                  confidence: float) -> dict[str, str]:
    finish_on_key = gather.get("finishOnKey", "#")
    num_digits = gather.get("numDigits", "")
    limit = int(num_digits) if num_digits.isdigit() else None
    kept, finished_on = "", ""
    for key in digits:  # as a handset sends them: the Gather ends at whichever comes first
        if finish_on_key and key == finish_on_key:
            finished_on = key
            break
        kept += key
        if limit is not None and len(kept) >= limit:
            break
    params = {**call.voice_params("in-progress"), "msg": "Gather End"}
    if digits:
        params.update(Digits=kept, FinishedOnKey=finished_on)
    if speech:
        params.update(SpeechResult=speech, Confidence=str(confidence))
    return params


def add_routes(app: web.Application, sandbox_of) -> None:
    async def keypress(request: web.Request) -> web.Response:
        sandbox = sandbox_of(request)
        call = sandbox.calls.get(request.match_info["sid"])
        try:
            if call is None:
                raise KeypressRefused(404, "no such call")
            try:
                pressed = _pressed(await request.json())
            except json.JSONDecodeError:
                raise KeypressRefused(400, "the body must be a JSON object") from None
            gather = _gather_of(call)
            url = _action_of(call, gather)
        except KeypressRefused as refused:
            return web.json_response({"error": str(refused)}, status=refused.status)
        params = gather_params(call, gather, *pressed)
        record: dict[str, Any] = {"params": params, "url": url, "at": datetime.now(UTC).isoformat(),
                                  "http_status": None, "error": None}
        call.keypresses.append(record)
        try:
            answer = await send_signed(sandbox.session, url, params, sandbox.settings.auth_token,
                                       (gather.get("method") or "POST").upper())
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            record["error"] = f"{type(exc).__name__}: {exc}"
            return web.json_response({"call_sid": call.sid, "url": url, **record}, status=502)
        record["http_status"] = answer.status
        return web.json_response({"call_sid": call.sid, "url": url, "params": params,
                                  "status": answer.status, "body": answer.body})

    app.router.add_post("/_sandbox/calls/{sid}/keypress", keypress)
