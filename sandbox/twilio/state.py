"""Everything the Twilio sandbox remembers, and the life of a message after it is accepted
(a call's life is in calls.py; this runs it and posts its callbacks)."""

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

import aiohttp

from sandbox.kit import Steerable
from sandbox.twilio import calls
from sandbox.twilio.callbacks import deliver_status_callback, send_signed
from sandbox.twilio.calls import CallRequest, SandboxCall
from sandbox.twilio.errors import error_message
from sandbox.twilio.messages import SandboxMessage
from sandbox.twilio.settings import PARSERS, Behaviour, SandboxSettings
from sandbox.twilio.tally import Tally

QUEUE_OVERFLOW = 30001


@dataclass(frozen=True)
class Rejection:
    """Why a create was answered with an error, as the Twilio error code and HTTP status.
    `created`: the message was made all the same and lives on — only its answer is lost."""

    code: int
    status: int = 400
    message: str | None = None
    created: SandboxMessage | None = None


class TwilioSandbox(Steerable):
    PARSERS = PARSERS

    def __init__(self, settings: SandboxSettings) -> None:
        self.settings = settings
        self.session: aiohttp.ClientSession | None = None  # opened with the app, one for all posts
        self._lifecycles: set[asyncio.Task] = set()
        self.reset()

    def reset(self) -> None:
        for task in self._lifecycles:
            task.cancel()
        self._lifecycles.clear()
        self.messages: dict[str, SandboxMessage] = {}
        self.sids_by_to: dict[str, list[str]] = {}
        self.sids: list[str] = []  # in the order made; `position` finds one in it
        self.position: dict[str, int] = {}
        self.calls: dict[str, SandboxCall] = {}  # in the order made
        self.call_sids_by_to: dict[str, list[str]] = {}
        self.tally = Tally()
        self.start_behaviour(self.settings.behaviour)

    def start_behaviour(self, behaviour: Behaviour) -> None:
        super().start_behaviour(behaviour)
        self._attempts_by_to: dict[str, int] = {}
        self._callback_slots = asyncio.Semaphore(behaviour.callback_concurrency)
        self._callbacks_released = asyncio.Event()
        self._hold_callbacks(behaviour.hold_callbacks)

    def _hold_callbacks(self, hold: bool) -> None:
        if hold:
            self._callbacks_released.clear()
        else:
            self._callbacks_released.set()

    def configure(self, changes: dict[str, Any]) -> Behaviour:
        behaviour = super().configure(changes)
        if "first_attempts_fail" in changes:
            self._attempts_by_to = {}  # N counts from now
        if "callback_concurrency" in changes:
            # posts in flight finish on the old bound; the next ones take the new one
            self._callback_slots = asyncio.Semaphore(behaviour.callback_concurrency)
        if "hold_callbacks" in changes:
            self._hold_callbacks(behaviour.hold_callbacks)
        return behaviour

    def accept(
        self,
        to: str,
        from_: str | None,
        body: str,
        status_callback: str | None,
        messaging_service_sid: str | None,
    ) -> SandboxMessage | Rejection:
        """A valid create: refused, made, or made with its answer lost (the order is in
        Behaviour's docstring)."""
        behaviour = self._behaviour
        if behaviour.first_attempts_fail:
            attempts = self._attempts_by_to[to] = self._attempts_by_to.get(to, 0) + 1
            if attempts <= behaviour.first_attempts_fail:
                return Rejection(20500, 500)
        if self._chance(behaviour.throttle_rate):
            return Rejection(20429, 429)
        if self._chance(behaviour.server_error_rate):
            return Rejection(20500, 500)
        if to in behaviour.opted_out:
            # what Twilio answers for a handset that replied STOP to this sender
            return Rejection(21610, 400)
        if to in behaviour.reject_to or self._chance(behaviour.create_error_rate):
            code = behaviour.create_error_code
            text = f"The 'To' number {to} is not a valid phone number." if code == 21211 else None
            return Rejection(code, 400, text)
        message = SandboxMessage(
            account_sid=self.settings.account_sid,
            to=to,
            from_=from_,
            body=body,
            status_callback=status_callback,
            messaging_service_sid=messaging_service_sid,
            **self._life_of(to),
        )
        self._keep(message)
        if self._chance(behaviour.server_error_after_create_rate):
            return Rejection(20500, 500, created=message)
        return message

    def _life_of(self, to: str) -> dict[str, Any]:
        behaviour = self._behaviour
        life: dict[str, Any] = {"final_status": "delivered", "final_error_code": None}
        if to in behaviour.fail_to:
            life.update(final_status="failed", final_error_code=behaviour.failure_error_code)
        elif self._chance(behaviour.queue_full_rate):
            life.update(final_status="failed", final_error_code=QUEUE_OVERFLOW,
                        passes_sent=False)
        elif self._chance(behaviour.failure_rate):
            life.update(final_status="undelivered",
                        final_error_code=behaviour.failure_error_code)
        if life.get("passes_sent", True) and self._chance(behaviour.stuck_rate):
            life.update(final_status="sent", final_error_code=None)
        elif to in behaviour.drop_callbacks_to or self._chance(
            behaviour.drop_final_callback_rate
        ):
            life["final_callback"] = False
        return life

    def _keep(self, message: SandboxMessage) -> None:
        self.messages[message.sid] = message
        self.sids_by_to.setdefault(message.to, []).append(message.sid)
        self.position[message.sid] = len(self.sids)
        self.sids.append(message.sid)
        self.tally.record(message)
        self._start(self._live(message))

    def _start(self, lifecycle: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(lifecycle)
        self._lifecycles.add(task)
        task.add_done_callback(self._lifecycles.discard)

    async def _live(self, message: SandboxMessage) -> None:
        """queued -> sent -> delivered/undelivered/failed, a callback after each step; a queue
        overflow goes from queued to failed; a stuck message stops at sent."""
        if message.passes_sent:
            await asyncio.sleep(self._behaviour.callback_delay_ms / 1000)
            message.move_to("sent")
            await self._notify(message)
            if message.final_status == "sent":
                return
        await asyncio.sleep(self._behaviour.callback_delay_ms / 1000)
        code = message.final_error_code
        message.move_to(message.final_status, code, error_message(code) if code else None)
        if message.final_callback:
            await self._notify(message)

    async def _notify(self, message: SandboxMessage) -> None:
        if not message.status_callback or self.session is None:
            return
        await self._callbacks_released.wait()
        await deliver_status_callback(
            self.session,
            message.status_callback,
            message.callback_params(),
            self.settings.auth_token,
            message.callbacks,
            self._callback_slots,
            {"status": message.status},
        )

    def accept_call(self, request: CallRequest) -> SandboxCall | Rejection:
        """A valid call create: refused like a message (throttled, server error) or made, its
        life decided at once (the order is in Behaviour's docstring)."""
        behaviour = self._behaviour
        if self._chance(behaviour.throttle_rate):
            return Rejection(20429, 429)
        if self._chance(behaviour.server_error_rate):
            return Rejection(20500, 500)
        life = calls.decide_life(behaviour, self._random, request.time_limit)
        call = SandboxCall(self.settings.account_sid, request, life)
        self.calls[call.sid] = call
        self.call_sids_by_to.setdefault(call.to, []).append(call.sid)
        self.tally.record_call(call)
        self._start(calls.live(call, self._call_pause, self._notify_call, self._fetch_twiml))
        return call

    async def _call_pause(self) -> None:
        await asyncio.sleep(self._behaviour.call_delay_ms / 1000)

    async def _notify_call(self, call: SandboxCall, event: str, call_status: str) -> None:
        request = call.request
        if not request.status_callback or event not in request.status_callback_events:
            return
        if self.session is None:
            return
        await self._callbacks_released.wait()
        params = call.callback_params(event, call_status)
        await deliver_status_callback(
            self.session,
            request.status_callback,
            params,
            self.settings.auth_token,
            call.callbacks,
            self._callback_slots,
            {"event": event, "status": call_status, "sequence": int(params["SequenceNumber"])},
            request.status_callback_method,
        )

    async def _fetch_twiml(self, call: SandboxCall) -> None:
        """Answered: a call made with a Url asks it for its TwiML, as Twilio does."""
        url = call.request.url
        if call.request.twiml is not None or not url or self.session is None:
            return
        try:
            answer = await send_signed(self.session, url, call.voice_params("in-progress"),
                                       self.settings.auth_token, call.request.method)
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            call.url_answer = {"http_status": None, "error": f"{type(exc).__name__}: {exc}"}
            return
        call.url_answer = {"http_status": answer.status, "error": None}
        if answer.status < 300:
            call.twiml = answer.body

    async def close(self) -> None:
        tasks = list(self._lifecycles)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
