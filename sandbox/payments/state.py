"""Everything the payment sandbox remembers: intents, idempotency keys, the requests received."""

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sandbox.kit import Steerable
from sandbox.payments.intents import TEST_CARDS, ApiError, PaymentIntent, invalid
from sandbox.payments.settings import PARSERS, SandboxSettings

SEARCH_CLAUSE = re.compile(r"^(?:metadata\['([^']+)'\]|(status|currency)):'([^']*)'$")


@dataclass(frozen=True)
class Answer:
    """An HTTP answer to give, and to give again to a replay of its idempotency key."""

    status: int
    body: dict[str, Any]


@dataclass
class KeyUse:
    params: dict[str, Any]
    answer: Answer


class PaymentsSandbox(Steerable):
    PARSERS = PARSERS

    def __init__(self, settings: SandboxSettings) -> None:
        self.settings = settings
        self.reset()

    def reset(self) -> None:
        self.intents: dict[str, PaymentIntent] = {}
        self.keys: dict[str, KeyUse] = {}
        self.received: list[dict[str, Any]] = []
        self.start_behaviour(self.settings.behaviour)

    def record(self, entry: dict[str, Any]) -> dict[str, Any]:
        """Keep a request in arrival order; the caller fills in its answer when there is one."""
        kept = {"at": datetime.now(UTC).isoformat(), **entry}
        self.received.append(kept)
        return kept

    def create(self, params: dict[str, Any], idempotency_key: str | None) -> tuple[Answer, bool]:
        """(the answer, whether it replays an earlier one). Synchronous from the key check to
        storing the answer, so two requests with one key can never both charge."""
        if idempotency_key is not None:
            used = self.keys.get(idempotency_key)
            if used is not None:
                if used.params != params:
                    raise ApiError(
                        400, "idempotency_error", "idempotency_key_reused",
                        "Keys for idempotent requests can only be used with the same parameters "
                        f"they were first used with. Try using a key other than "
                        f"'{idempotency_key}' if you meant to execute a different request.")
                return used.answer, True
        intent = PaymentIntent(idempotency_key=idempotency_key, **params)
        card = TEST_CARDS[intent.payment_method]
        decline_code, code = card.decline_code, card.code
        if decline_code is None and self._chance(self._behaviour.decline_rate):
            decline_code, code = self._behaviour.decline_code, "card_declined"
        intent.charge(decline_code, code)
        self.intents[intent.id] = intent
        answer = Answer(200, intent.resource())
        if self._chance(self._behaviour.server_error_rate):
            # the charge is made and the client is told nothing about it: the unknown outcome
            answer = Answer(500, {"error": {
                "type": "api_error", "code": "api_error",
                "message": "An unknown error occurred while processing the request."}})
        if idempotency_key is not None:
            self.keys[idempotency_key] = KeyUse(params, answer)
        return answer, False

    def search(self, query: str) -> list[PaymentIntent]:
        """Stripe's search syntax, the part needed to find an order's intents:
        metadata['key']:'value', status:'…', currency:'…', clauses joined by AND; newest first."""
        clauses = [c.strip() for c in re.split(r"\s+AND\s+", query.strip()) if c.strip()]
        if not clauses:
            raise invalid("parameter_missing", "Missing required param: query.", "query")
        wanted = []
        for clause in clauses:
            match = SEARCH_CLAUSE.match(clause)
            if not match:
                raise invalid("parameter_invalid_string", f"the sandbox's search understands "
                              f"metadata['key']:'value', status:'…' and currency:'…' joined by "
                              f"AND, not {clause!r}", "query")
            wanted.append(match.groups())
        found = [intent for intent in reversed(self.intents.values())
                 if all(_matches(intent, key, field, value) for key, field, value in wanted)]
        return found


def _matches(intent: PaymentIntent, metadata_key: str | None, field: str | None,
             value: str) -> bool:
    if metadata_key is not None:
        return intent.metadata.get(metadata_key) == value
    return str(getattr(intent, field)) == value
