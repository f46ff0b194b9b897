"""Twilio's Calls API on /2010-04-01: create a call (checked the way Twilio checks it), fetch
one by sid, list them newest first (To, From, Status, StartTime filters, pages)."""

import asyncio
from collections.abc import Iterable
from urllib.parse import urlsplit

from aiohttp import web
from multidict import MultiDictProxy

from sandbox.twilio.calls import (
    CALL_EVENTS,
    DEFAULT_TIME_LIMIT_SECONDS,
    DEFAULT_TIMEOUT_SECONDS,
    MACHINE_DETECTION,
    CallRequest,
    SandboxCall,
)
from sandbox.twilio.errors import twilio_error
from sandbox.twilio.messages import E164
from sandbox.twilio.paging import date_bounds, list_page
from sandbox.twilio.state import Rejection, TwilioSandbox

MAX_TWIML_CHARS = 4000
METHODS = ("GET", "POST")


def _absolute_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _whole_seconds(value: str | None, default: int) -> int | None:
    """A positive whole number of seconds, the default when absent, None when invalid."""
    if value is None or value == "":
        return default
    return int(value) if value.isdigit() and int(value) > 0 else None


def read_call_request(form: MultiDictProxy) -> CallRequest | web.Response:
    """The create's form as a CallRequest, or the error Twilio answers for it."""
    to, from_ = form.get("To"), form.get("From")
    twiml, url = form.get("Twiml") or None, form.get("Url") or None
    status_callback = form.get("StatusCallback") or None
    events = tuple(e for value in form.getall("StatusCallbackEvent", []) for e in value.split())
    methods = {name: (form.get(name) or "POST").upper()
               for name in ("Method", "StatusCallbackMethod")}
    timeout = _whole_seconds(form.get("Timeout"), DEFAULT_TIMEOUT_SECONDS)
    time_limit = _whole_seconds(form.get("TimeLimit"), DEFAULT_TIME_LIMIT_SECONDS)
    machine_detection = form.get("MachineDetection") or None
    if not to:
        return twilio_error(21201, 400)
    if not from_:
        return twilio_error(21213, 400)
    if twiml is None and url is None:
        return twilio_error(21205, 400, "Url parameter is required. For more information, "
                                        "see http://www.twilio.com/docs/api/twiml")
    if not E164.match(to):
        return twilio_error(21211, 400, f"The 'To' number {to} is not a valid phone number.")
    if not E164.match(from_):
        return twilio_error(21212, 400, f"The 'From' number {from_} is not a valid phone number.")
    if twiml is None and not _absolute_url(url or ""):
        return twilio_error(21205, 400, f"Url is not a valid URL: {url}")
    if twiml is not None and len(twiml) > MAX_TWIML_CHARS:
        return twilio_error(32018, 400)
    if status_callback and not _absolute_url(status_callback):
        return twilio_error(21609, 400, f"StatusCallback is not a valid URL: {status_callback}")
    if any(event not in CALL_EVENTS for event in events):
        return twilio_error(21626, 400, f"StatusCallbackEvent must be among "
                                        f"{', '.join(CALL_EVENTS)}: {' '.join(events)}")
    for name, method in methods.items():
        if method not in METHODS:
            return twilio_error(21209, 400, f"{name} must be GET or POST, not {method}")
    if timeout is None:
        return twilio_error(21208, 400)
    if time_limit is None:
        return twilio_error(21200, 400, "TimeLimit must be a positive whole number of seconds")
    if machine_detection is not None and machine_detection not in MACHINE_DETECTION:
        return twilio_error(21200, 400, "MachineDetection must be Enable or DetectMessageEnd")
    return CallRequest(
        to=to,
        from_=from_,
        twiml=twiml,
        url=None if twiml is not None else url,  # Twilio ignores Url when Twiml is given
        method=methods["Method"],
        status_callback=status_callback,
        status_callback_events=events or ("completed",),
        status_callback_method=methods["StatusCallbackMethod"],
        timeout=timeout,
        time_limit=time_limit,
        machine_detection=machine_detection,
        parameters={name: form.getall(name) if name == "StatusCallbackEvent" else form[name]
                    for name in dict.fromkeys(form)},
    )


def _matching(sandbox: TwilioSandbox, query) -> Iterable[SandboxCall]:
    to, from_, status = query.get("To"), query.get("From"), query.get("Status")
    after, before = date_bounds(query, "StartTime")
    sids = sandbox.call_sids_by_to.get(to, []) if to else list(sandbox.calls)
    for sid in reversed(sids):  # Twilio lists newest first
        call = sandbox.calls[sid]
        # a queued call has no start_time yet; its creation time stands in so it can be found
        started = call.start_time or call.date_created
        if (from_ and call.from_ != from_) or (status and call.status != status):
            continue
        if (after and started < after) or (before and started > before):
            continue
        yield call


def add_routes(app: web.Application, sandbox_key: web.AppKey[TwilioSandbox], accounts: str):
    async def create_call(request: web.Request) -> web.Response:
        sandbox = request.app[sandbox_key]
        if sandbox.behaviour.create_delay_ms:
            await asyncio.sleep(sandbox.behaviour.create_delay_ms / 1000)
        call_request = read_call_request(await request.post())
        if isinstance(call_request, web.Response):
            return call_request
        outcome = sandbox.accept_call(call_request)
        if isinstance(outcome, Rejection):
            return twilio_error(outcome.code, outcome.status, outcome.message)
        return web.json_response(outcome.resource(), status=201)

    async def fetch_call(request: web.Request) -> web.Response:
        call = request.app[sandbox_key].calls.get(request.match_info["sid"])
        if call is None:
            return twilio_error(20404, 404, f"The requested resource {request.path} was not found")
        return web.json_response(call.resource())

    async def list_calls(request: web.Request) -> web.Response:
        sandbox = request.app[sandbox_key]
        return list_page(request, "calls", lambda: _matching(sandbox, request.query),
                         SandboxCall.resource)

    app.router.add_post(f"{accounts}/Calls.json", create_call)
    app.router.add_get(f"{accounts}/Calls.json", list_calls)
    app.router.add_get(f"{accounts}/Calls/{{sid}}.json", fetch_call)
