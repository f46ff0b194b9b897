"""An SMTP sink (aiosmtpd) and its HTTP read API, both served from one asyncio loop."""

import asyncio
import email
import email.policy
import json
import uuid
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

from aiohttp import web
from aiosmtpd.smtp import SMTP, Envelope, Session

REJECTED_RECIPIENT = "550 5.1.1 mailbox unavailable"


def _text_body(message: EmailMessage) -> str | None:
    part = message.get_body(preferencelist=("plain",))
    if part is None:
        return None
    # SMTP carries CRLF line ends; tests and people compare against text as it was written
    return part.get_content().replace("\r\n", "\n")


def parse_received(envelope: Envelope) -> dict[str, Any]:
    raw = envelope.original_content or b""
    message = email.message_from_bytes(raw, policy=email.policy.default)
    return {
        "id": str(uuid.uuid4()),
        "received_at": datetime.now(UTC).isoformat(),
        "mail_from": envelope.mail_from,
        "rcpt_tos": list(envelope.rcpt_tos),
        "subject": message.get("Subject"),
        "from": message.get("From"),
        "to": message.get("To"),
        "headers": {name: str(value) for name, value in message.items()},
        "text": _text_body(message),
        "raw": raw.decode("utf-8", errors="replace"),
    }


class MailSink:
    """aiosmtpd handler: keeps every message, refuses the recipients tests asked it to."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.reject_recipients: set[str] = set()

    async def handle_RCPT(  # noqa: N802 - the hook name aiosmtpd looks up
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options
    ) -> str:
        if address.lower() in self.reject_recipients:
            return REJECTED_RECIPIENT
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 - the hook name aiosmtpd looks up
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        self.messages.append(parse_received(envelope))
        return "250 Message accepted for delivery"


def build_api(sink: MailSink) -> web.Application:
    async def health(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "messages": len(sink.messages)})

    async def messages(request: web.Request) -> web.Response:
        return web.json_response(sink.messages)

    async def reset(request: web.Request) -> web.Response:
        sink.messages.clear()
        sink.reject_recipients.clear()
        return web.json_response({"reject_recipients": []})

    async def configure(request: web.Request) -> web.Response:
        try:
            changes = await request.json()
        except json.JSONDecodeError as exc:
            return web.json_response({"error": f"body is not JSON: {exc}"}, status=400)
        recipients = changes.get("reject_recipients") if isinstance(changes, dict) else None
        if not isinstance(recipients, list) or not all(isinstance(r, str) for r in recipients):
            error = "reject_recipients must be a list of e-mail addresses"
            return web.json_response({"error": error}, status=400)
        sink.reject_recipients = {r.lower() for r in recipients}
        return web.json_response({"reject_recipients": sorted(sink.reject_recipients)})

    app = web.Application()
    app.router.add_get("/health", health)
    app.router.add_get("/messages", messages)
    app.router.add_post("/reset", reset)
    app.router.add_post("/config", configure)
    return app


async def serve(host: str, port: int, api_port: int, stop: asyncio.Event) -> None:
    """Serve SMTP and the API until stop is set; prints one ready line with the bound ports."""
    loop = asyncio.get_running_loop()
    sink = MailSink()
    # a fixed hostname: without it aiosmtpd calls getfqdn() per connection, which can stall
    smtp_server = await loop.create_server(
        lambda: SMTP(sink, hostname="smtp.sandbox", enable_SMTPUTF8=True, loop=loop), host, port
    )
    runner = web.AppRunner(build_api(sink), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, api_port).start()
    smtp_port = smtp_server.sockets[0].getsockname()[1]
    bound_api_port = runner.addresses[0][1]
    print(
        f"smtp sandbox listening on {host}:{smtp_port} (api http://{host}:{bound_api_port})",
        flush=True,
    )
    try:
        await stop.wait()
    finally:
        smtp_server.close()
        await runner.cleanup()
        await smtp_server.wait_closed()
