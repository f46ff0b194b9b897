"""What the sandbox is told at start (credentials, behaviour); how behaviour changes later."""

from dataclasses import asdict, dataclass, field
from typing import Any

from sandbox import kit
from sandbox.kit import delay, rate, seed

LIST_SETTINGS = ("fail_to", "reject_to", "opted_out", "drop_callbacks_to")


@dataclass(frozen=True)
class Behaviour:
    """How the fake provider treats messages and calls; tests change it per run through
    /_sandbox/config.

    A create is decided in this order (every chance drawn from the one `seed`ed random, and
    only for a rate above 0, so a seeded run draws the same sequence whatever else is set):
    `first_attempts_fail` N: the first N creates to each To (counted since it was set) answer
        500 and create nothing — a retry test that needs no luck;
    `throttle_rate`: 429 with Twilio error 20429, nothing created;
    `server_error_rate`: 500 (error 20500), nothing created;
    `opted_out` (21610), `reject_to` and `create_error_rate` (`create_error_code`): refused;
    then the message is made, and its life decided:
    `fail_to` ends `failed` (`failure_error_code`); `queue_full_rate` ends `failed` with 30001
        (Queue overflow) without passing `sent`; `failure_rate` ends `undelivered`;
    `stuck_rate`: stays `sent` for ever, no final status at all (the give-up rule);
    `drop_final_callback_rate`, `drop_callbacks_to`: reaches its final status (fetch and list
        show it) but the final status callback is never posted (the sweeper's case);
    `server_error_after_create_rate`: the message is made and lives on, but the answer is a
        500 — the answer lost: look it up (list by To and DateSent>, or fetch) before sending
        again.
    `unavailable`: every API call answers 503 (error 20503) and does nothing.
    Status callbacks are posted at most `callback_concurrency` at a time, retried as before;
    `hold_callbacks` keeps every message waiting at its next callback until it is set false
    again, which lets them all go at once (a bench measures callbacks apart from creates).

    A call create passes `unavailable`, `create_delay_ms`, `throttle_rate` and
    `server_error_rate` as a message create does; then the call is made and its life decided
    by one draw: `call_failed_rate` ends `failed` without ringing, `call_busy_rate` `busy` and
    `call_no_answer_rate` `no-answer` after ringing (these three are shares of all calls,
    together at most 1), the rest are answered; of those, `call_machine_rate` are answered by
    a machine (AnsweredBy `machine_start`, or `machine_end_beep` with DetectMessageEnd, when
    MachineDetection was asked; else nobody can tell: answered_by stays null), the others by
    a person (`human`). An answered call lasts a simulated `call_min_seconds` to
    `call_max_seconds` (whole seconds, capped by the call's TimeLimit), reported as its
    duration and CallDuration but never waited for: each step of its life (initiated,
    ringing, in-progress, the end) comes `call_delay_ms` of real time after the one before.
    """

    create_delay_ms: float = 0
    callback_delay_ms: float = 50
    create_error_rate: float = 0
    create_error_code: int = 21211
    failure_rate: float = 0
    failure_error_code: int = 30003
    fail_to: tuple[str, ...] = ()
    reject_to: tuple[str, ...] = ()
    # handsets that texted STOP to the carrier: a create to one is refused with 21610
    opted_out: tuple[str, ...] = ()
    server_error_rate: float = 0
    server_error_after_create_rate: float = 0
    throttle_rate: float = 0
    queue_full_rate: float = 0
    unavailable: bool = False
    first_attempts_fail: int = 0
    drop_final_callback_rate: float = 0
    drop_callbacks_to: tuple[str, ...] = ()
    stuck_rate: float = 0
    callback_concurrency: int = 50
    hold_callbacks: bool = False
    call_delay_ms: float = 50
    call_failed_rate: float = 0
    call_busy_rate: float = 0
    call_no_answer_rate: float = 0
    call_machine_rate: float = 0
    call_min_seconds: int = 20
    call_max_seconds: int = 90
    seed: int | None = None

    def __post_init__(self) -> None:
        # checked on every change too: dataclasses.replace builds a new Behaviour
        unanswered = self.call_failed_rate + self.call_busy_rate + self.call_no_answer_rate
        if unanswered > 1 + 1e-9:
            raise ValueError("call_failed_rate + call_busy_rate + call_no_answer_rate must be "
                             f"at most 1 (shares of all calls), not {unanswered:g}")
        if self.call_min_seconds > self.call_max_seconds:
            raise ValueError(f"call_min_seconds ({self.call_min_seconds}) must be at most "
                             f"call_max_seconds ({self.call_max_seconds})")

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        for name in LIST_SETTINGS:
            data[name] = list(data[name])
        return data


TEST_ACCOUNT_SID = "AC00000000000000000000000000000000"


@dataclass(frozen=True)
class SandboxSettings:
    """auth_token has no default: whoever starts the sandbox gives it the token the services
    use, so a webhook signed with a token anyone could know is never accepted."""

    account_sid: str
    auth_token: str
    behaviour: Behaviour = field(default_factory=Behaviour)


def _error_code(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{name} must be a positive integer Twilio error code")
    return value


def _numbers(name: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list | tuple) or not all(isinstance(n, str) for n in value):
        raise ValueError(f"{name} must be a list of phone numbers")
    return tuple(value)


def _flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be true or false")
    return value


def _count(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be an integer >= 0")
    return value


def _concurrency(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 10_000:
        raise ValueError(f"{name} must be an integer from 1 to 10000")
    return value


PARSERS = {
    "create_delay_ms": delay,
    "callback_delay_ms": delay,
    "create_error_rate": rate,
    "create_error_code": _error_code,
    "failure_rate": rate,
    "failure_error_code": _error_code,
    "fail_to": _numbers,
    "reject_to": _numbers,
    "opted_out": _numbers,
    "server_error_rate": rate,
    "server_error_after_create_rate": rate,
    "throttle_rate": rate,
    "queue_full_rate": rate,
    "unavailable": _flag,
    "first_attempts_fail": _count,
    "drop_final_callback_rate": rate,
    "drop_callbacks_to": _numbers,
    "stuck_rate": rate,
    "callback_concurrency": _concurrency,
    "hold_callbacks": _flag,
    "call_delay_ms": delay,
    "call_failed_rate": rate,
    "call_busy_rate": rate,
    "call_no_answer_rate": rate,
    "call_machine_rate": rate,
    "call_min_seconds": _count,
    "call_max_seconds": _count,
    "seed": seed,
}


def changed_behaviour(current: Behaviour, changes: dict[str, Any]) -> Behaviour:
    """Apply a partial update; all of it or none of it (raises ValueError naming the field)."""
    return kit.changed_behaviour(current, changes, PARSERS)
