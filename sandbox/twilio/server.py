"""The aiohttp app: Twilio's Messages and Calls APIs on /2010-04-01 (Calls in call_api.py),
sandbox controls on /_sandbox."""

import asyncio
import base64
from collections.abc import AsyncIterator, Iterable

import aiohttp
from aiohttp import web

from sandbox.twilio import call_api, control
from sandbox.twilio.errors import twilio_error
from sandbox.twilio.messages import API_VERSION, E164, SandboxMessage
from sandbox.twilio.paging import date_bounds, list_page
from sandbox.twilio.settings import SandboxSettings
from sandbox.twilio.state import Rejection, TwilioSandbox

SANDBOX = web.AppKey("sandbox", TwilioSandbox)
EXPECTED_AUTH = web.AppKey("expected_auth", str)
MAX_BODY_CHARS = 1600


def _expected_authorization(settings: SandboxSettings) -> str:
    credentials = f"{settings.account_sid}:{settings.auth_token}".encode()
    return "Basic " + base64.b64encode(credentials).decode()


@web.middleware
async def require_account_credentials(request: web.Request, handler):
    if request.path.startswith(f"/{API_VERSION}/"):
        sandbox = request.app[SANDBOX]
        # a plain string comparison keeps the hot path cheap; the header is deterministic
        authorized = request.headers.get("Authorization") == request.app[EXPECTED_AUTH]
        if not authorized or request.match_info.get("account_sid") != sandbox.settings.account_sid:
            return twilio_error(20003, 401, "Authenticate")
        if request.method == "POST" and request.path.endswith("/Messages.json"):
            sandbox.tally.count_create_request()
        elif request.method == "POST" and request.path.endswith("/Calls.json"):
            sandbox.tally.count_call_create_request()
        if sandbox.behaviour.unavailable:
            return twilio_error(20503, 503)
    return await handler(request)


async def create_message(request: web.Request) -> web.Response:
    sandbox = request.app[SANDBOX]
    if sandbox.behaviour.create_delay_ms:
        await asyncio.sleep(sandbox.behaviour.create_delay_ms / 1000)
    form = await request.post()
    to = form.get("To")
    body = form.get("Body")
    from_ = form.get("From") or None
    service = form.get("MessagingServiceSid") or None
    if not to:
        return twilio_error(21604, 400)
    if not body and not form.get("MediaUrl"):
        return twilio_error(21602, 400)
    if not from_ and not service:
        return twilio_error(21603, 400)
    if not E164.match(to):
        return twilio_error(21211, 400, f"The 'To' number {to} is not a valid phone number.")
    if len(body or "") > MAX_BODY_CHARS:
        return twilio_error(21617, 400)
    outcome = sandbox.accept(to, from_, body or "", form.get("StatusCallback") or None, service)
    if isinstance(outcome, Rejection):
        # also when outcome.created: the message lives on, its answer is what is lost
        return twilio_error(outcome.code, outcome.status, outcome.message)
    return web.json_response(outcome.resource(), status=201)


async def fetch_message(request: web.Request) -> web.Response:
    message = request.app[SANDBOX].messages.get(request.match_info["sid"])
    if message is None:
        return twilio_error(20404, 404, f"The requested resource {request.path} was not found")
    return web.json_response(message.resource())


def _matching(sandbox: TwilioSandbox, query) -> Iterable[SandboxMessage]:
    to, from_ = query.get("To"), query.get("From")
    after, before = date_bounds(query, "DateSent")
    sids = sandbox.sids_by_to.get(to, []) if to else list(sandbox.messages)
    for sid in reversed(sids):  # Twilio lists newest first
        message = sandbox.messages[sid]
        # a queued message has no date_sent yet; its creation time stands in so it can be found
        sent = message.date_sent or message.date_created
        if from_ and message.from_ != from_:
            continue
        if (after and sent < after) or (before and sent > before):
            continue
        yield message


async def list_messages(request: web.Request) -> web.Response:
    sandbox = request.app[SANDBOX]
    return list_page(request, "messages", lambda: _matching(sandbox, request.query),
                     SandboxMessage.resource)


def build_app(settings: SandboxSettings) -> web.Application:
    app = web.Application(middlewares=[require_account_credentials])
    app[SANDBOX] = TwilioSandbox(settings)
    app[EXPECTED_AUTH] = _expected_authorization(settings)
    accounts = f"/{API_VERSION}/Accounts/{{account_sid}}"
    app.router.add_post(f"{accounts}/Messages.json", create_message)
    app.router.add_get(f"{accounts}/Messages.json", list_messages)
    app.router.add_get(f"{accounts}/Messages/{{sid}}.json", fetch_message)
    call_api.add_routes(app, SANDBOX, accounts)
    control.add_routes(app, SANDBOX)
    app.cleanup_ctx.append(_callback_session)
    return app


async def _callback_session(app: web.Application) -> AsyncIterator[None]:
    sandbox = app[SANDBOX]
    # no cap on connections: callback_concurrency bounds the posts in flight, and can change
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        sandbox.session = session
        yield
        await sandbox.close()
        sandbox.session = None
