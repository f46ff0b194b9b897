"""The PaymentIntent resource, the test cards, and the checks a create request goes through."""

import re
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

MAX_AMOUNT = 99_999_999  # eight digits of minor units, as Stripe accepts
CREATE_PARAMS = ("amount", "currency", "confirm", "description", "metadata", "payment_method",
                 "receipt_email")
METADATA_KEY = re.compile(r"^metadata\[([^\]]{1,40})\]$")


@dataclass(frozen=True)
class SandboxCard:
    brand: str
    last4: str
    decline_code: str | None = None  # None: the charge succeeds
    code: str = "card_declined"


# Stripe's test payment methods; pm_card_insufficientFunds is this sandbox's shorter alias
TEST_CARDS = {
    "pm_card_visa": SandboxCard("visa", "4242"),
    "pm_card_mastercard": SandboxCard("mastercard", "4444"),
    "pm_card_amex": SandboxCard("amex", "8431"),
    "pm_card_chargeDeclined": SandboxCard("visa", "0002", "generic_decline"),
    "pm_card_insufficientFunds": SandboxCard("visa", "9995", "insufficient_funds"),
    "pm_card_chargeDeclinedInsufficientFunds": SandboxCard("visa", "9995", "insufficient_funds"),
    "pm_card_chargeDeclinedLostCard": SandboxCard("visa", "9987", "lost_card"),
    "pm_card_chargeDeclinedExpiredCard": SandboxCard("visa", "0069", "expired_card",
                                                  "expired_card"),
}

DECLINE_MESSAGES = {
    "generic_decline": "Your card was declined.",
    "insufficient_funds": "Your card has insufficient funds.",
    "lost_card": "Your card was declined.",
    "stolen_card": "Your card was declined.",
    "do_not_honor": "Your card was declined.",
    "expired_card": "Your card has expired.",
    "incorrect_cvc": "Your card's security code is incorrect.",
    "processing_error": "An error occurred while processing your card. Try again in a little bit.",
}


class ApiError(Exception):
    """A refusal as the API answers it: {error: {type, code, message, param}} with a status."""

    def __init__(self, status: int, error_type: str, code: str | None, message: str,
                 param: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"error": {"type": error_type, "code": code, "message": message}}
        if param:
            self.body["error"]["param"] = param


def invalid(code: str, message: str, param: str | None = None, status: int = 400) -> ApiError:
    return ApiError(status, "invalid_request_error", code, message, param)


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


@dataclass
class PaymentIntent:
    amount: int
    currency: str
    payment_method: str
    description: str | None
    metadata: dict[str, str]
    receipt_email: str | None
    idempotency_key: str | None
    id: str = field(default_factory=lambda: new_id("pi"))
    created: int = field(default_factory=lambda: int(time.time()))
    status: str = "requires_confirmation"
    latest_charge: str | None = None
    last_payment_error: dict[str, Any] | None = None

    def charge(self, decline_code: str | None, code: str = "card_declined") -> None:
        """Confirm at once: succeeded, or back to requires_payment_method with the error."""
        self.latest_charge = new_id("ch")
        if decline_code is None:
            self.status = "succeeded"
            return
        self.status = "requires_payment_method"
        self.last_payment_error = {
            "type": "card_error",
            "code": code,
            "decline_code": decline_code,
            "message": DECLINE_MESSAGES.get(decline_code, "Your card was declined."),
            "charge": self.latest_charge,
            "payment_method": {"id": self.payment_method, "object": "payment_method"},
        }

    def resource(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "payment_intent",
            "amount": self.amount,
            "amount_received": self.amount if self.status == "succeeded" else 0,
            "currency": self.currency,
            "status": self.status,
            "description": self.description,
            "metadata": dict(self.metadata),
            "payment_method": self.payment_method,
            "receipt_email": self.receipt_email,
            "latest_charge": self.latest_charge,
            "last_payment_error": self.last_payment_error,
            "confirmation_method": "automatic",
            "created": self.created,
            "livemode": False,
        }

    def inspection(self) -> dict[str, Any]:
        """What tests read: the resource plus the key it was created under."""
        return {**self.resource(), "idempotency_key": self.idempotency_key}


def create_params(raw: dict[str, Any]) -> dict[str, Any]:
    """Checked, normalized parameters of a create, from a form (metadata[k]=v) or JSON body.

    The same request sent as a form or as JSON normalizes the same, so an idempotent replay
    compares what was asked, not how it was spelled. Raises ApiError naming the parameter.
    """
    params: dict[str, Any] = {}
    metadata: dict[str, str] = {}
    for name, value in raw.items():
        match = METADATA_KEY.match(name)
        if match:
            metadata[match.group(1)] = _metadata_value(name, value)
        elif name == "metadata":
            if not isinstance(value, dict):
                raise invalid("parameter_invalid_object", "metadata must be an object", name)
            for key, item in value.items():
                metadata[str(key)] = _metadata_value(f"metadata[{key}]", item)
        elif name in CREATE_PARAMS:
            params[name] = value
        else:
            raise invalid("parameter_unknown", f"Received unknown parameter: {name}", name)
    for name in ("amount", "currency", "payment_method"):
        if params.get(name) in (None, ""):
            raise invalid("parameter_missing", f"Missing required param: {name}.", name)
    payment_method = str(params["payment_method"])
    if payment_method not in TEST_CARDS:
        raise invalid("resource_missing", f"No such PaymentMethod: '{payment_method}'; test "
                      f"cards: {', '.join(TEST_CARDS)}", "payment_method")
    if _boolean(params.get("confirm", True)) is not True:
        raise invalid("parameter_invalid_boolean", "confirm must be true: the sandbox charges "
                      "on create and has no separate confirmation step", "confirm")
    return {
        "amount": _amount(params["amount"]),
        "currency": _currency(params["currency"]),
        "payment_method": payment_method,
        "description": _optional_text(params.get("description"), "description"),
        "receipt_email": _optional_text(params.get("receipt_email"), "receipt_email"),
        "metadata": metadata,
    }


def _amount(value: Any) -> int:
    text = str(value)
    if isinstance(value, bool) or isinstance(value, float) or not re.fullmatch(r"\d+", text):
        raise invalid("parameter_invalid_integer", f"Invalid integer: {value}", "amount")
    amount = int(text)
    if amount < 1:
        raise invalid("amount_too_small", "Amount must be at least 1 minor unit", "amount")
    if amount > MAX_AMOUNT:
        raise invalid("amount_too_large", f"Amount must be no more than {MAX_AMOUNT}", "amount")
    return amount


def _currency(value: Any) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z]{3}", value):
        raise invalid("parameter_invalid_string", f"Invalid currency: {value}", "currency")
    return value.lower()


def _boolean(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    return {"true": True, "false": False}.get(str(value).lower())


def _optional_text(value: Any, name: str) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise invalid("parameter_invalid_string", f"{name} must be a string", name)
    return value


def _metadata_value(name: str, value: Any) -> str:
    if not isinstance(value, str | int) or isinstance(value, bool) or len(str(value)) > 500:
        raise invalid("parameter_invalid_string", f"{name} must be a string of at most 500 "
                      "characters", name)
    return str(value)
