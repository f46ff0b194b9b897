"""Signed webhooks to the receiver, the way Twilio sends them: form-encoded POSTs, or GETs
with the parameters in the query string when the receiver asked for GET."""

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import aiohttp
from twilio.request_validator import RequestValidator
from yarl import URL

RETRY_DELAYS_SECONDS = (0.1, 0.3, 0.9)  # bounded: a receiver that is down must not pile up work


@dataclass(frozen=True)
class WebhookAnswer:
    status: int
    body: str


async def send_signed(
    session: aiohttp.ClientSession,
    url: str,
    params: dict[str, str],
    auth_token: str,
    method: str = "POST",
) -> WebhookAnswer:
    if method == "GET":
        # a GET is signed over the whole URL, its query string carrying the parameters
        url = f"{url}{'&' if '?' in url else '?'}{urlencode(params)}"
        signature = RequestValidator(auth_token).compute_signature(url, {})
        # sent as signed: left to itself yarl would requote it (%2C back to a comma)
        request = session.get(URL(url, encoded=True), headers=_headers(signature))
    else:
        signature = RequestValidator(auth_token).compute_signature(url, params)
        request = session.post(url, data=params, headers=_headers(signature))
    async with request as response:
        return WebhookAnswer(response.status, await response.text())


def _headers(signature: str) -> dict[str, str]:
    return {"X-Twilio-Signature": signature, "User-Agent": "TwilioProxy/1.1"}


async def deliver_status_callback(
    session: aiohttp.ClientSession,
    url: str,
    params: dict[str, str],
    auth_token: str,
    attempts_log: list[dict[str, Any]],
    slots: asyncio.Semaphore,
    about: dict[str, Any],
    method: str = "POST",
) -> bool:
    """Post until a 2xx/3xx/4xx answer or retries run out; every attempt lands in attempts_log,
    headed by `about` (what the callback tells: {"status": "sent"}, or a call's event too).
    Each attempt holds one of `slots` (how many callbacks are in flight at once); the waits
    between attempts hold none."""
    for attempt, retry_delay in enumerate((*RETRY_DELAYS_SECONDS, None), start=1):
        async with slots:
            record: dict[str, Any] = {
                **about,
                "attempt": attempt,
                "url": url,
                "at": datetime.now(UTC).isoformat(),
                "http_status": None,
                "error": None,
            }
            attempts_log.append(record)
            try:
                answer = await send_signed(session, url, params, auth_token, method)
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                record["error"] = f"{type(exc).__name__}: {exc}"
            else:
                record["http_status"] = answer.status
                # a 4xx means the receiver looked at it and said no: sending again changes nothing
                if answer.status < 500:
                    return answer.status < 300
        if retry_delay is None:
            return False
        await asyncio.sleep(retry_delay)
    return False
