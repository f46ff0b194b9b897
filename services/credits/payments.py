"""Paying for a credit order: one small interface, one adapter per provider.

- `payment_sandbox.py`: cards through the local payment sandbox's Stripe-like API; credits are
  applied at once when the charge succeeds.
- `payment_invoice.py`: a tax invoice the buyer pays later; credits are applied when a payment
  is recorded against it.

A charge answers a `PaymentResult`, never an exception, for everything the buyer or the network
can cause. Its status is one of:

- `succeeded`: paid; apply the credits (once: the order number guards that, not the provider).
- `failed`: not paid, nothing charged (a declined card); the buyer may try again (a new attempt).
- `pending`: not paid yet (an invoice); credits wait for `record_payment`.
- `unknown`: the provider did not answer and could not be asked afterwards. Nothing is applied;
  call `reconcile` (or `charge` again with the same attempt: its idempotency key makes the
  provider answer the first outcome instead of charging twice) until the outcome is known.

`PaymentRequestRejected` is raised only when the provider refuses the request itself (bad
credentials, a malformed or conflicting request): a fault of Townhall's, not the buyer's.
"""

from dataclasses import dataclass
from typing import Any

from services.credits.orders import Order

SUCCEEDED = "succeeded"
FAILED = "failed"
PENDING = "pending"
UNKNOWN = "unknown"
STATUSES = (SUCCEEDED, FAILED, PENDING, UNKNOWN)
PROVIDERS = ("sandbox", "invoice")
DEFAULT_SANDBOX_PORT = 8030
DEFAULT_TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class PaymentResult:
    status: str
    provider: str  # "sandbox", "invoice"
    reference: str | None = None  # pi_… for a card, the order number for an invoice
    failure_code: str | None = None  # insufficient_funds, generic_decline, outcome_unknown, …
    failure_message: str | None = None  # for people: "the card was declined (insufficient_funds)"

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}, not {self.status!r}")

    @property
    def paid(self) -> bool:
        """Credits may be applied now."""
        return self.status == SUCCEEDED


class PaymentError(Exception):
    pass


class PaymentRequestRejected(PaymentError):
    """The provider refused the request itself (4xx other than a card decline)."""

    def __init__(self, code: str, message: str, http_status: int | None = None) -> None:
        super().__init__(f"the payment provider refused the request ({code}): {message}")
        self.code = code
        self.http_status = http_status


class InvalidPayment(ValueError):
    """A payment that cannot be recorded or attempted as asked; `field` names what to correct."""

    def __init__(self, field: str, rule: str) -> None:
        super().__init__(f"{field}: {rule}")
        self.field = field
        self.rule = rule


class PaymentConfigurationError(ValueError):
    pass


class PaymentProvider:
    """How an order is paid. Adapters set `name` and implement `charge` and `reconcile`."""

    name: str = ""

    def charge(self, order: Order, attempt: int = 1) -> PaymentResult:
        """Ask for the order's total. `attempt` counts the buyer's tries at one order (a new
        card after a decline is attempt 2); calling again with the same attempt is safe."""
        raise NotImplementedError

    def reconcile(
        self, order: Order, attempt: int = 1, reference: str | None = None
    ) -> PaymentResult:
        """The outcome of an earlier charge, asked of the provider without charging."""
        raise NotImplementedError


def idempotency_key(order: Order, attempt: int = 1) -> str:
    """One key per attempt at an order: a retried request of one attempt never charges twice."""
    if isinstance(attempt, bool) or not isinstance(attempt, int) or attempt < 1:
        raise InvalidPayment("attempt", "must be a whole number >= 1")
    return f"{order.number}/attempt-{attempt}"


def payments_base_url(config: dict[str, Any]) -> str:
    """payments.base_url, else the local payment sandbox on sandbox.payments_port."""
    base_url = (config.get("payments") or {}).get("base_url")
    if base_url:
        return str(base_url).rstrip("/")
    port = (config.get("sandbox") or {}).get("payments_port", DEFAULT_SANDBOX_PORT)
    return f"http://127.0.0.1:{port}"


def provider_from_config(config: dict[str, Any]) -> PaymentProvider:
    """The adapter config["payments"]["provider"] names. Build it in a dependency provider's
    setup(), not at import: the sandbox adapter opens an HTTP session."""
    from services.credits.payment_invoice import InvoicePaymentProvider
    from services.credits.payment_sandbox import SandboxPaymentProvider

    payments = config.get("payments") or {}
    kind = payments.get("provider") or "sandbox"
    if kind == "invoice":
        return InvoicePaymentProvider()
    if kind != "sandbox":
        raise PaymentConfigurationError(
            f"payments.provider: must be one of {', '.join(PROVIDERS)}, not {kind!r}"
        )
    secret_key = payments.get("secret_key")
    if not secret_key:
        raise PaymentConfigurationError(
            "payments.secret_key: must be set (TOWNHALL_PAYMENTS__SECRET_KEY)"
        )
    timeout = payments.get("timeout_seconds") or DEFAULT_TIMEOUT_SECONDS
    return SandboxPaymentProvider(payments_base_url(config), str(secret_key), float(timeout))
