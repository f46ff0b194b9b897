"""Card payments through the payment sandbox's Stripe-like PaymentIntents API.

Each charge is one `POST /v1/payment_intents` confirmed at once, under an Idempotency-Key of
the order number and attempt, so a request sent twice charges once. When the answer is lost
(a timeout, a dropped connection, a 5xx) the outcome is unknown: the intent is then looked up
by the order's metadata (`GET /v1/payment_intents/search`) or by its id, never created again
blindly. Stripe's own search can lag a write by a minute; the sandbox's does not.
"""

from typing import Any

import requests

from services.credits.orders import Order, total
from services.credits.payments import (
    FAILED,
    PENDING,
    SUCCEEDED,
    UNKNOWN,
    InvalidPayment,
    PaymentError,
    PaymentProvider,
    PaymentRequestRejected,
    PaymentResult,
    idempotency_key,
)

CONNECT_TIMEOUT_SECONDS = 3.05
STILL_OPEN = ("processing", "requires_action", "requires_confirmation", "requires_capture")


class PaymentProviderUnavailable(PaymentError):
    """The provider answered, but not with something a payment can be read from."""


class SandboxPaymentProvider(PaymentProvider):
    name = "sandbox"

    def __init__(
        self,
        base_url: str,
        secret_key: str,
        timeout_seconds: float = 10,
        session: requests.Session | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = (min(CONNECT_TIMEOUT_SECONDS, timeout_seconds), timeout_seconds)
        self.session = session or requests.Session()
        self.session.headers["Authorization"] = f"Bearer {secret_key}"

    def charge(self, order: Order, attempt: int = 1) -> PaymentResult:
        key = idempotency_key(order, attempt)
        if not order.payment_method:
            raise InvalidPayment("payment_method", "is required to pay by card (e.g. a card "
                                 "token such as pm_card_visa)")
        try:
            response = self.session.post(
                f"{self.base_url}/v1/payment_intents",
                data=self._create_form(order, attempt),
                headers={"Idempotency-Key": key},
                timeout=self.timeout,
            )
        except requests.RequestException as exc:
            return self._reconciled(order, attempt, f"no answer to the charge ({_kind(exc)})")
        if response.status_code >= 500 or response.status_code == 409:
            return self._reconciled(order, attempt, f"the charge answered {response.status_code}")
        if response.status_code == 402:
            return self._declined(response, order)
        if response.status_code >= 400:
            raise _rejection(response)
        try:
            intent = _json(response)
        except PaymentProviderUnavailable as exc:
            return self._reconciled(order, attempt, str(exc))
        return self._result_of(intent, order)

    def reconcile(
        self, order: Order, attempt: int = 1, reference: str | None = None
    ) -> PaymentResult:
        """The intent of this attempt, by id when known, else by the order's metadata."""
        try:
            if reference:
                response = self.session.get(
                    f"{self.base_url}/v1/payment_intents/{reference}", timeout=self.timeout)
                if response.status_code == 404:
                    return _unknown(f"the provider has no payment {reference}")
                intent = _ok(response)
            else:
                intent = self._find(order, attempt)
        except requests.RequestException as exc:
            return _unknown(f"the provider could not be asked ({_kind(exc)})")
        except PaymentProviderUnavailable as exc:
            return _unknown(str(exc))
        if intent is None:
            return _unknown(f"the provider has no payment for {order.number} attempt {attempt}")
        return self._result_of(intent, order)

    def _reconciled(self, order: Order, attempt: int, why: str) -> PaymentResult:
        result = self.reconcile(order, attempt)
        if result.status != UNKNOWN:
            return result
        return _unknown(f"{why}; {result.failure_message}")

    def _find(self, order: Order, attempt: int) -> dict[str, Any] | None:
        query = f"metadata['order_id']:'{order.number}' AND metadata['attempt']:'{attempt}'"
        response = self.session.get(
            f"{self.base_url}/v1/payment_intents/search",
            params={"query": query},
            timeout=self.timeout,
        )
        found = _ok(response).get("data") or []
        return found[0] if found else None

    def _create_form(self, order: Order, attempt: int) -> dict[str, str]:
        return {
            "amount": str(total(order)),
            "currency": order.currency.lower(),
            "payment_method": order.payment_method or "",
            "confirm": "true",
            "description": f"{order.quantity} communication credits for {order.target_label} "
                           f"({order.number})",
            "receipt_email": order.buyer.email or "",
            "metadata[order_id]": order.number,
            "metadata[attempt]": str(attempt),
            "metadata[organization_id]": order.organization_id,
            "metadata[target]": ":".join(filter(None, (order.target_kind, order.target_id))),
        }

    def _declined(self, response: requests.Response, order: Order) -> PaymentResult:
        """Stripe itself answers a declined confirmation 402 with the intent in the error."""
        try:
            error = _json(response).get("error") or {}
        except PaymentProviderUnavailable:
            error = {}
        if isinstance(error.get("payment_intent"), dict):
            return self._result_of(error["payment_intent"], order)
        code = error.get("decline_code") or error.get("code") or "card_declined"
        return PaymentResult(FAILED, self.name, None, code, f"the card was declined ({code})")

    def _result_of(self, intent: dict[str, Any], order: Order) -> PaymentResult:
        reference = intent.get("id")
        amount, currency = intent.get("amount"), str(intent.get("currency", "")).upper()
        if amount != total(order) or currency != order.currency:
            # never apply credits for a payment of another amount: a person has to look
            raise PaymentError(f"payment {reference} is for {amount} {currency}, order "
                               f"{order.number} totals {total(order)} {order.currency}")
        status = intent.get("status")
        if status == "succeeded":
            return PaymentResult(SUCCEEDED, self.name, reference)
        if status in STILL_OPEN:
            return PaymentResult(PENDING, self.name, reference, status,
                                 f"the payment is not complete yet ({status})")
        error = intent.get("last_payment_error") or {}
        code = error.get("decline_code") or error.get("code") or status or "unknown"
        if error.get("code") in ("card_declined", "expired_card"):
            message = f"the card was declined ({code})"
        else:
            message = f"the payment failed ({code}): {error.get('message') or status}"
        return PaymentResult(FAILED, self.name, reference, code, message)


def _unknown(why: str) -> PaymentResult:
    message = f"{why}; nothing is applied until the payment is reconciled"
    return PaymentResult(UNKNOWN, SandboxPaymentProvider.name, None, "outcome_unknown", message)


def _ok(response: requests.Response) -> dict[str, Any]:
    if response.status_code >= 500:
        raise PaymentProviderUnavailable(f"the provider answered {response.status_code}")
    if response.status_code >= 400:
        raise _rejection(response)
    return _json(response)


def _json(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        raise PaymentProviderUnavailable(
            f"the provider answered {response.status_code} without JSON") from None
    if not isinstance(body, dict):
        raise PaymentProviderUnavailable("the provider answered JSON that is not an object")
    return body


def _rejection(response: requests.Response) -> PaymentRequestRejected:
    try:
        error = response.json().get("error") or {}
    except (ValueError, AttributeError):
        error = {}
    code = error.get("code") or error.get("type") or f"http_{response.status_code}"
    message = error.get("message") or response.reason or "no message"
    return PaymentRequestRejected(code, message, response.status_code)


def _kind(exc: Exception) -> str:
    return type(exc).__name__
