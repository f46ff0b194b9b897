"""Everything the Twilio sandbox remembers, and the life of a message after it is accepted."""

import asyncio
from dataclasses import dataclass

import aiohttp

from sandbox.kit import Steerable
from sandbox.twilio.callbacks import deliver_status_callback
from sandbox.twilio.errors import error_message
from sandbox.twilio.messages import SandboxMessage
from sandbox.twilio.settings import PARSERS, SandboxSettings


@dataclass(frozen=True)
class Rejection:
    """Why a create was refused, as the Twilio error code and HTTP status to answer with."""

    code: int
    status: int = 400
    message: str | None = None


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
        self.start_behaviour(self.settings.behaviour)

    def accept(
        self,
        to: str,
        from_: str | None,
        body: str,
        status_callback: str | None,
        messaging_service_sid: str | None,
    ) -> SandboxMessage | Rejection:
        behaviour = self._behaviour
        if to in behaviour.opted_out:
            # what Twilio answers for a handset that replied STOP to this sender
            return Rejection(21610, 400)
        if to in behaviour.reject_to or self._chance(behaviour.create_error_rate):
            code = behaviour.create_error_code
            text = f"The 'To' number {to} is not a valid phone number." if code == 21211 else None
            return Rejection(code, 400, text)
        final_status, final_error = "delivered", None
        if to in behaviour.fail_to:
            final_status, final_error = "failed", behaviour.failure_error_code
        elif self._chance(behaviour.failure_rate):
            final_status, final_error = "undelivered", behaviour.failure_error_code
        message = SandboxMessage(
            account_sid=self.settings.account_sid,
            to=to,
            from_=from_,
            body=body,
            status_callback=status_callback,
            messaging_service_sid=messaging_service_sid,
            final_status=final_status,
            final_error_code=final_error,
        )
        self.messages[message.sid] = message
        self.sids_by_to.setdefault(to, []).append(message.sid)
        task = asyncio.get_running_loop().create_task(self._live(message))
        self._lifecycles.add(task)
        task.add_done_callback(self._lifecycles.discard)
        return message

    async def _live(self, message: SandboxMessage) -> None:
        """queued -> sent -> delivered/undelivered/failed, a callback after each step."""
        await asyncio.sleep(self._behaviour.callback_delay_ms / 1000)
        message.move_to("sent")
        await self._notify(message)
        await asyncio.sleep(self._behaviour.callback_delay_ms / 1000)
        code = message.final_error_code
        message.move_to(message.final_status, code, error_message(code) if code else None)
        await self._notify(message)

    async def _notify(self, message: SandboxMessage) -> None:
        if not message.status_callback or self.session is None:
            return
        await deliver_status_callback(
            self.session,
            message.status_callback,
            message.callback_params(),
            self.settings.auth_token,
            message.callbacks,
        )

    async def close(self) -> None:
        tasks = list(self._lifecycles)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
