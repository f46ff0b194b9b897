"""Paying by invoice: the order is invoiced now and paid later (bank transfer, cheque).

Charging answers `pending` with the order number as the invoice's reference; no credits are
applied. When the money arrives, `record_payment` answers the `succeeded` result that applies
them. Nothing here talks to the outside world: who may record a payment, and that an order is
paid once, are the credits service's rules.
"""

from services.credits.orders import Order, format_money, total
from services.credits.payments import (
    PENDING,
    SUCCEEDED,
    InvalidPayment,
    PaymentProvider,
    PaymentResult,
    idempotency_key,
)

MAX_REFERENCE_CHARS = 200


class InvoicePaymentProvider(PaymentProvider):
    name = "invoice"

    def charge(self, order: Order, attempt: int = 1) -> PaymentResult:
        idempotency_key(order, attempt)  # the same check of `attempt` as every provider
        return self._due(order)

    def reconcile(
        self, order: Order, attempt: int = 1, reference: str | None = None
    ) -> PaymentResult:
        """An invoice stays due until a payment is recorded; there is no one else to ask."""
        return self._due(order)

    def record_payment(
        self, order: Order, reference: str, amount: int | None = None
    ) -> PaymentResult:
        """The invoice paid: `reference` is the bank's or the cheque's, kept as the payment's
        reference. `amount`, when given, must be the invoice total (no partial payments)."""
        if not isinstance(reference, str) or not reference.strip():
            raise InvalidPayment("reference", "must name the payment, e.g. the bank transfer's "
                                 "reference or the cheque number")
        if len(reference) > MAX_REFERENCE_CHARS:
            raise InvalidPayment("reference", f"must be at most {MAX_REFERENCE_CHARS} characters")
        due = total(order)
        if amount is not None and (isinstance(amount, bool) or amount != due):
            raise InvalidPayment("amount", f"must be the invoice total, "
                                 f"{format_money(due, order.currency)} in minor units ({due}): "
                                 "partial payments are not recorded")
        return PaymentResult(SUCCEEDED, self.name, reference.strip())

    def _due(self, order: Order) -> PaymentResult:
        return PaymentResult(PENDING, self.name, order.number)
