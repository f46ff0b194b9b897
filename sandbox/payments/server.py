"""The aiohttp app: PaymentIntents on /v1 (secret-key auth), sandbox controls on /_sandbox."""

import asyncio
import base64
import binascii
import hmac
import json
from typing import Any

from aiohttp import web

from sandbox.payments import control
from sandbox.payments.intents import ApiError, create_params, invalid
from sandbox.payments.settings import SandboxSettings
from sandbox.payments.state import PaymentsSandbox

SANDBOX = web.AppKey("sandbox", PaymentsSandbox)
RAW_PARAMS = web.RequestKey("raw_params", dict)
API_PREFIX = "/v1/"
MAX_IDEMPOTENCY_KEY_CHARS = 255


def api_error(status: int, error_type: str, code: str | None, message: str) -> web.Response:
    return web.json_response({"error": {"type": error_type, "code": code, "message": message}},
                             status=status)


def presented_key(authorization: str) -> str | None:
    """The secret key of `Bearer sk` or `Basic base64(sk:)` (the key as user, no password)."""
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "bearer":
        return value.strip() or None
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        return decoded.partition(":")[0] or None
    return None


@web.middleware
async def api_guard(request: web.Request, handler) -> web.StreamResponse:
    """Auth and availability of /v1, errors as JSON, and every API request recorded."""
    if not request.path.startswith(API_PREFIX):
        return await handler(request)
    sandbox = request.app[SANDBOX]
    # recorded on arrival: a request whose answer is still delayed has been received
    received = sandbox.record({
        "method": request.method,
        "path": request.path,
        "query": dict(request.query),
        "idempotency_key": request.headers.get("Idempotency-Key"),
        "params": None,
        "http_status": None,
        "replayed": False,
    })
    key = presented_key(request.headers.get("Authorization", ""))
    if key is None:
        response = api_error(401, "invalid_request_error", "api_key_missing",
                             "You did not provide an API key: use Authorization: Bearer <key> "
                             "or HTTP Basic with the key as the user name.")
    elif not hmac.compare_digest(key.encode(), sandbox.settings.secret_key.encode()):
        response = api_error(401, "invalid_request_error", "api_key_invalid",
                             f"Invalid API Key provided: {key[:4]}****")
    elif sandbox.behaviour.unavailable:
        response = api_error(503, "api_error", "service_unavailable",
                             "The payment sandbox is configured as unavailable.")
    else:
        try:
            response = await handler(request)
        except ApiError as exc:
            response = web.json_response(exc.body, status=exc.status)
        except web.HTTPException as exc:
            code = "resource_missing" if exc.status == 404 else "method_not_allowed"
            response = api_error(exc.status, "invalid_request_error", code,
                                 f"Unrecognized request URL ({request.method}: {request.path})")
    received.update(
        params=request.get(RAW_PARAMS),
        http_status=response.status,
        replayed=response.headers.get("Idempotent-Replayed") == "true",
    )
    return response


async def _request_params(request: web.Request) -> dict[str, Any]:
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except json.JSONDecodeError:
            raise invalid("parameter_invalid", "the body is not valid JSON") from None
        if not isinstance(body, dict):
            raise invalid("parameter_invalid", "the JSON body must be an object")
        return body
    form = await request.post()
    params: dict[str, Any] = {}
    for name in form:
        values = form.getall(name)
        if len(values) > 1:
            raise invalid("parameter_invalid", f"{name} is given {len(values)} times", name)
        params[name] = str(values[0])
    return params


async def create_intent(request: web.Request) -> web.Response:
    sandbox = request.app[SANDBOX]
    raw = await _request_params(request)
    request[RAW_PARAMS] = raw
    key = request.headers.get("Idempotency-Key") or None
    if key is not None and len(key) > MAX_IDEMPOTENCY_KEY_CHARS:
        raise invalid("idempotency_key_too_long",
                      f"Idempotency-Key is longer than {MAX_IDEMPOTENCY_KEY_CHARS} characters")
    answer, replayed = sandbox.create(create_params(raw), key)
    if sandbox.behaviour.create_delay_ms:
        await asyncio.sleep(sandbox.behaviour.create_delay_ms / 1000)
    headers = {"Idempotency-Key": key} if key else {}
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return web.json_response(answer.body, status=answer.status, headers=headers)


async def fetch_intent(request: web.Request) -> web.Response:
    intent_id = request.match_info["id"]
    intent = request.app[SANDBOX].intents.get(intent_id)
    if intent is None:
        raise invalid("resource_missing", f"No such payment_intent: '{intent_id}'", "intent",
                      status=404)
    return web.json_response(intent.resource())


async def search_intents(request: web.Request) -> web.Response:
    found = request.app[SANDBOX].search(request.query.get("query", ""))
    return web.json_response({
        "object": "search_result",
        "url": "/v1/payment_intents/search",
        "data": [intent.resource() for intent in found],
        "has_more": False,
        "next_page": None,
    })


def build_app(settings: SandboxSettings) -> web.Application:
    app = web.Application(middlewares=[api_guard])
    app[SANDBOX] = PaymentsSandbox(settings)
    app.router.add_post("/v1/payment_intents", create_intent)
    # before {id}: routes match in the order they are added
    app.router.add_get("/v1/payment_intents/search", search_intents)
    app.router.add_get("/v1/payment_intents/{id}", fetch_intent)
    control.add_routes(app, SANDBOX)
    return app
