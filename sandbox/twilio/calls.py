"""The call resource and its life: what the create asked for, the JSON Twilio answers with,
the parameters of its status callbacks, and the steps it goes through once accepted.

A call goes queued -> initiated -> ringing -> in-progress -> completed, or ends `busy` or
`no-answer` after ringing, or `failed` before it rings. Like Twilio, the resource still reads
`queued` while the call is initiated (only the callback says `initiated`), and `start_time` is
set when it is dialled. Each step comes `call_delay_ms` of real time after the one before; the
answered part lasts a simulated number of seconds that are reported, never waited for.
"""

import math
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sandbox.twilio.messages import API_VERSION, new_sid, rfc2822
from sandbox.twilio.settings import Behaviour

CALL_EVENTS = ("initiated", "ringing", "answered", "completed")
MACHINE_DETECTION = ("Enable", "DetectMessageEnd")
DEFAULT_TIMEOUT_SECONDS = 60
DEFAULT_TIME_LIMIT_SECONDS = 14400  # Twilio's default: four hours


@dataclass(frozen=True)
class CallRequest:
    """A valid create, as read from its form; `parameters` keeps every field as received."""

    to: str
    from_: str
    twiml: str | None
    url: str | None
    method: str
    status_callback: str | None
    # Twilio posts only the final `completed` event when StatusCallbackEvent is left out
    status_callback_events: tuple[str, ...]
    status_callback_method: str
    timeout: int
    time_limit: int
    machine_detection: str | None
    parameters: dict[str, Any]


@dataclass(frozen=True)
class CallLife:
    """How the call ends: `completed` (answered by `answerer`, human or machine, for
    `seconds`), `busy`, `no-answer` or `failed` (seconds 0, nobody answered)."""

    outcome: str
    answerer: str | None = None
    seconds: int = 0


def decide_life(behaviour: Behaviour, rng: random.Random, time_limit: int) -> CallLife:
    """One draw picks the unanswered outcome by its share of all calls (and none is drawn
    while those shares are all 0); an answered call then draws machine or human and its
    simulated seconds, capped by the call's TimeLimit."""
    unanswered = (
        ("failed", behaviour.call_failed_rate),
        ("busy", behaviour.call_busy_rate),
        ("no-answer", behaviour.call_no_answer_rate),
    )
    if any(share > 0 for _, share in unanswered):
        draw = rng.random()
        for outcome, share in unanswered:
            if draw < share:
                return CallLife(outcome)
            draw -= share
    machine = behaviour.call_machine_rate > 0 and rng.random() < behaviour.call_machine_rate
    low, high = behaviour.call_min_seconds, behaviour.call_max_seconds
    seconds = rng.randint(low, high) if low < high else low
    return CallLife("completed", "machine" if machine else "human", min(seconds, time_limit))


def answered_by(machine_detection: str | None, answerer: str | None) -> str | None:
    """Twilio's AnsweredBy: only when machine detection was asked for."""
    if machine_detection is None or answerer is None:
        return None
    if answerer == "human":
        return "human"
    return "machine_end_beep" if machine_detection == "DetectMessageEnd" else "machine_start"


def _formatted(number: str) -> str:
    digits = number[2:]
    if number.startswith("+1") and len(digits) == 10:
        return f"({digits[:3]}) {digits[3:6]}-{digits[6:]}"
    return number


@dataclass
class SandboxCall:
    account_sid: str
    request: CallRequest
    life: CallLife
    sid: str = field(default_factory=lambda: new_sid("CA"))
    status: str = "queued"
    date_created: datetime = field(default_factory=lambda: datetime.now(UTC))
    date_updated: datetime | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    duration: int | None = None
    answered_by: str | None = None
    answered: bool = False
    twiml: str | None = None  # the inline Twiml, or what its Url answered when it was answered
    url_answer: dict[str, Any] | None = None
    next_sequence: int = 0
    callbacks: list[dict[str, Any]] = field(default_factory=list)
    keypresses: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.date_updated = self.date_created
        self.twiml = self.request.twiml

    @property
    def to(self) -> str:
        return self.request.to

    @property
    def from_(self) -> str:
        return self.request.from_

    def move_to(self, status: str) -> None:
        now = datetime.now(UTC)
        self.status = status
        self.date_updated = now
        if status == "in-progress":
            self.answered = True
            self.answered_by = answered_by(self.request.machine_detection, self.life.answerer)
        elif status in ("completed", "busy", "no-answer", "failed"):
            self.duration = self.life.seconds if self.answered else 0
            # the simulated seconds pass at once: the end is where they would have taken it
            self.end_time = now + timedelta(seconds=self.duration)

    def dial(self) -> None:
        """Initiated: dialled, so started, though the resource still says queued."""
        self.start_time = self.date_updated = datetime.now(UTC)

    @property
    def uri(self) -> str:
        return f"/{API_VERSION}/Accounts/{self.account_sid}/Calls/{self.sid}.json"

    def resource(self) -> dict[str, Any]:
        base = self.uri[: -len(".json")]
        return {
            "account_sid": self.account_sid,
            "annotation": None,
            "answered_by": self.answered_by,
            "api_version": API_VERSION,
            "caller_name": None,
            "date_created": rfc2822(self.date_created),
            "date_updated": rfc2822(self.date_updated),
            "direction": "outbound-api",
            "duration": None if self.duration is None else str(self.duration),
            "end_time": rfc2822(self.end_time),
            "forwarded_from": None,
            "from": self.from_,
            "from_formatted": _formatted(self.from_),
            "group_sid": None,
            "parent_call_sid": None,
            "phone_number_sid": None,
            "price": None,
            "price_unit": "USD",
            "queue_time": "0",
            "sid": self.sid,
            "start_time": rfc2822(self.start_time),
            "status": self.status,
            "subresource_uris": {
                name: f"{base}/{name.title().replace('_', '')}.json"
                for name in ("notifications", "recordings", "events", "streams")
            },
            "to": self.to,
            "to_formatted": _formatted(self.to),
            "trunk_sid": None,
            "uri": self.uri,
        }

    def inspection(self) -> dict[str, Any]:
        """What tests read: the resource plus what it was asked and what the sandbox did."""
        return {
            **self.resource(),
            "twiml": self.twiml,
            "url": self.request.url,
            "url_answer": self.url_answer,
            "parameters": self.request.parameters,
            "outcome": self.life.outcome,
            "answerer": self.life.answerer,
            "callbacks": self.callbacks,
            "keypresses": self.keypresses,
        }

    def voice_params(self, call_status: str) -> dict[str, str]:
        """What every voice webhook of this call carries (Twilio's standard request)."""
        params = {
            "CallSid": self.sid,
            "AccountSid": self.account_sid,
            "From": self.from_,
            "Caller": self.from_,
            "To": self.to,
            "Called": self.to,
            "CallStatus": call_status,
            "Direction": "outbound-api",
            "ApiVersion": API_VERSION,
        }
        if self.answered_by:
            params["AnsweredBy"] = self.answered_by
        return params

    def callback_params(self, event: str, call_status: str) -> dict[str, str]:
        params = {
            **self.voice_params(call_status),
            "CallbackSource": "call-progress-events",
            "SequenceNumber": str(self.next_sequence),
            "Timestamp": rfc2822(self.date_updated) or "",
        }
        self.next_sequence += 1
        if event == "completed":
            params["CallDuration"] = str(self.duration or 0)
            params["Duration"] = str(math.ceil((self.duration or 0) / 60))  # billed minutes
        return params


Notify = Callable[[SandboxCall, str, str], Awaitable[None]]


async def live(
    call: SandboxCall,
    pause: Callable[[], Awaitable[None]],
    notify: Notify,
    on_answer: Callable[[SandboxCall], Awaitable[None]],
) -> None:
    """The steps of the call, `pause` between them; `notify(call, event, CallStatus)` after
    each one (it posts only the events asked for); `on_answer` fetches a Url's TwiML."""
    await pause()
    call.dial()
    await notify(call, "initiated", "initiated")
    if call.life.outcome == "failed":
        await pause()
        call.move_to("failed")
        await notify(call, "completed", "failed")
        return
    await pause()
    call.move_to("ringing")
    await notify(call, "ringing", "ringing")
    await pause()
    if call.life.outcome != "completed":
        call.move_to(call.life.outcome)
        await notify(call, "completed", call.life.outcome)
        return
    call.move_to("in-progress")
    await on_answer(call)
    await notify(call, "answered", "in-progress")
    await pause()
    call.move_to("completed")
    await notify(call, "completed", "completed")
