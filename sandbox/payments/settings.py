"""What the payment sandbox is told at start (its secret key, behaviour); how behaviour changes."""

from dataclasses import asdict, dataclass, field
from typing import Any

from sandbox import kit
from sandbox.kit import delay, rate, seed

DECLINE_CODES = ("generic_decline", "insufficient_funds", "lost_card", "stolen_card",
                 "do_not_honor", "expired_card", "incorrect_cvc", "processing_error")


@dataclass(frozen=True)
class Behaviour:
    """How the fake provider treats charges; tests change it per run through /_sandbox/config.

    create_delay_ms: the charge happens at once, the answer waits this long (a client that
        times out leaves a charged intent behind: the unknown outcome).
    decline_rate, decline_code: share of charges of a succeeding card that are declined anyway.
    server_error_rate: share of creates that charge and then answer 500 (money moved, no answer).
    unavailable: every API call answers 503 and does nothing (the provider is down).
    """

    create_delay_ms: float = 0
    decline_rate: float = 0
    decline_code: str = "generic_decline"
    server_error_rate: float = 0
    unavailable: bool = False
    seed: int | None = None

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class SandboxSettings:
    """secret_key has no default: whoever starts the sandbox gives it the services' key."""

    secret_key: str
    behaviour: Behaviour = field(default_factory=Behaviour)


def _decline_code(name: str, value: Any) -> str:
    if value not in DECLINE_CODES:
        raise ValueError(f"{name} must be one of {', '.join(DECLINE_CODES)}")
    return value


def _flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be true or false")
    return value


PARSERS = {
    "create_delay_ms": delay,
    "decline_rate": rate,
    "decline_code": _decline_code,
    "server_error_rate": rate,
    "unavailable": _flag,
    "seed": seed,
}


def changed_behaviour(current: Behaviour, changes: dict[str, Any]) -> Behaviour:
    """Apply a partial update; all of it or none of it (raises ValueError naming the field)."""
    return kit.changed_behaviour(current, changes, PARSERS)
