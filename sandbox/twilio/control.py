"""The /_sandbox routes: what tests use to steer the fake provider and read what it saw."""

import json
from itertools import islice

import aiohttp
from aiohttp import web

from sandbox.kit import add_config_routes
from sandbox.twilio import gather
from sandbox.twilio.callbacks import send_signed
from sandbox.twilio.messages import API_VERSION, count_segments, new_sid
from sandbox.twilio.state import TwilioSandbox


def _number(value: str) -> str:
    """A number from a query string: a '+' left unescaped arrives as a space."""
    value = value.strip()
    return "+" + value if value[:1].isdigit() else value


def add_routes(app: web.Application, sandbox_key: web.AppKey[TwilioSandbox]) -> None:
    def sandbox_of(request: web.Request) -> TwilioSandbox:
        return request.app[sandbox_key]

    async def health(request: web.Request) -> web.Response:
        sandbox = sandbox_of(request)
        return web.json_response(
            {"status": "ok", "messages": len(sandbox.messages), "calls": len(sandbox.calls)})

    async def all_messages(request: web.Request) -> web.Response:
        """Every message in the order made, or a page of them: ?to= keeps one number's,
        ?after=<sid> starts after that message, ?limit= caps the page."""
        sandbox = sandbox_of(request)
        query = request.query
        try:
            limit = int(query["limit"]) if "limit" in query else None
            if limit is not None and limit < 1:
                raise ValueError
        except ValueError:
            return web.json_response({"error": "limit must be an integer >= 1"}, status=400)
        to = _number(query["to"]) if "to" in query else None
        sids = sandbox.sids_by_to.get(to, []) if to else sandbox.sids
        start = 0
        if "after" in query:
            after = sandbox.messages.get(query["after"])
            if after is None or (to or after.to) != after.to:
                return web.json_response(
                    {"error": "after must be the sid of a message (to that number)"},
                    status=400)
            # sids of one number are a subsequence of all sids, ordered the same way
            start = sids.index(after.sid) + 1 if to else sandbox.position[after.sid] + 1
        page = islice(sids, start, None if limit is None else start + limit)
        return web.json_response([sandbox.messages[sid].inspection() for sid in page])

    async def stats(request: web.Request) -> web.Response:
        return web.json_response(sandbox_of(request).tally.as_json())

    async def timeline(request: web.Request) -> web.Response:
        sender = _number(request.query.get("from_") or request.query.get("from") or "")
        if not sender:
            return web.json_response(
                {"error": "from_ is required: the sender's number (or MessagingServiceSid)"},
                status=400)
        return web.json_response(sandbox_of(request).tally.timeline(sender))

    async def one_message(request: web.Request) -> web.Response:
        message = sandbox_of(request).messages.get(request.match_info["sid"])
        if message is None:
            return web.json_response({"error": "no such message"}, status=404)
        return web.json_response(message.inspection())

    async def all_calls(request: web.Request) -> web.Response:
        """Every call in the order made (?to= one number's), with the TwiML, parameters and
        callbacks it had."""
        sandbox = sandbox_of(request)
        if "to" in request.query:
            sids = sandbox.call_sids_by_to.get(_number(request.query["to"]), [])
        else:
            sids = list(sandbox.calls)
        return web.json_response([sandbox.calls[sid].inspection() for sid in sids])

    async def one_call(request: web.Request) -> web.Response:
        call = sandbox_of(request).calls.get(request.match_info["sid"])
        if call is None:
            return web.json_response({"error": "no such call"}, status=404)
        return web.json_response(call.inspection())

    async def inbound(request: web.Request) -> web.Response:
        """Play a handset texting our number: a signed inbound-SMS webhook to the given url."""
        sandbox = sandbox_of(request)
        try:
            sms = await request.json()
            missing = [k for k in ("from", "to", "body", "url") if not isinstance(sms.get(k), str)]
            if not isinstance(sms.get("message_sid", ""), str):
                missing.append("message_sid as a string")
        except (json.JSONDecodeError, AttributeError):
            missing = ["a JSON object"]
        if missing:
            return web.json_response({"error": f"missing: {', '.join(missing)}"}, status=400)
        # the same message_sid again plays Twilio retrying a webhook it got no answer to
        sid = sms.get("message_sid") or new_sid("SM")
        params = {
            "MessageSid": sid,
            "SmsMessageSid": sid,
            "SmsSid": sid,
            "AccountSid": sandbox.settings.account_sid,
            "From": sms["from"],
            "To": sms["to"],
            "Body": sms["body"],
            "NumMedia": "0",
            "NumSegments": str(count_segments(sms["body"])),
            "SmsStatus": "received",
            "ApiVersion": API_VERSION,
        }
        try:
            answer = await send_signed(
                sandbox.session, sms["url"], params, sandbox.settings.auth_token
            )
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            return web.json_response({"message_sid": sid, "error": str(exc)}, status=502)
        return web.json_response({"message_sid": sid, "status": answer.status, "body": answer.body})

    add_config_routes(app, sandbox_of)
    app.router.add_get("/_sandbox/health", health)
    app.router.add_get("/_sandbox/messages", all_messages)
    app.router.add_get("/_sandbox/messages/{sid}", one_message)
    app.router.add_get("/_sandbox/calls", all_calls)
    app.router.add_get("/_sandbox/calls/{sid}", one_call)
    gather.add_routes(app, sandbox_of)
    app.router.add_get("/_sandbox/stats", stats)
    app.router.add_get("/_sandbox/timeline", timeline)
    app.router.add_post("/_sandbox/inbound", inbound)
