"""What the sandbox is told at start (credentials, behaviour); how behaviour changes later."""

from dataclasses import asdict, dataclass, field
from typing import Any

from sandbox import kit
from sandbox.kit import delay, rate, seed


@dataclass(frozen=True)
class Behaviour:
    """How the fake provider treats messages; tests change it per run through /_sandbox/config."""

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
    seed: int | None = None

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["fail_to"] = list(self.fail_to)
        data["reject_to"] = list(self.reject_to)
        data["opted_out"] = list(self.opted_out)
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
    "seed": seed,
}


def changed_behaviour(current: Behaviour, changes: dict[str, Any]) -> Behaviour:
    """Apply a partial update; all of it or none of it (raises ValueError naming the field)."""
    return kit.changed_behaviour(current, changes, PARSERS)
