"""The payment interface without I/O: results, idempotency keys, invoices, the factory."""

import json
from decimal import Decimal

import pytest
import requests

from servicekit.config import load
from services.credits.orders import Party, PurchaseTerms, new_order
from services.credits.payment_invoice import InvoicePaymentProvider
from services.credits.payment_sandbox import SandboxPaymentProvider
from services.credits.payments import (
    FAILED,
    PENDING,
    SUCCEEDED,
    InvalidPayment,
    PaymentConfigurationError,
    PaymentResult,
    idempotency_key,
    payments_base_url,
    provider_from_config,
)

SELLER = Party("Townhall Communications Inc.", "100 King Street West", tax_number="123 RT0001")
BUYER = Party("Maple Grove Property Management", "1 Maple Grove Ave", "ap@maplegrove.test")
TERMS = PurchaseTerms(SELLER, unit_price=5, currency="CAD", tax_rate_percent=Decimal("13"))
ORDER = new_order("TH-2026-000123", "org-1", BUYER, "pool", None, "System credits", 500, TERMS)


def test_results_know_their_statuses():
    assert PaymentResult(SUCCEEDED, "sandbox", "pi_1").paid
    assert not PaymentResult(PENDING, "invoice", "TH-2026-000123").paid
    with pytest.raises(ValueError, match="status must be one of"):
        PaymentResult("paid", "sandbox")


def test_one_idempotency_key_per_attempt():
    assert idempotency_key(ORDER) == "TH-2026-000123/attempt-1"
    assert idempotency_key(ORDER, 2) == "TH-2026-000123/attempt-2"
    for attempt in (0, -1, 1.0, True):
        with pytest.raises(InvalidPayment) as raised:
            idempotency_key(ORDER, attempt)
        assert raised.value.field == "attempt"


def test_an_invoice_is_pending_under_the_order_number_until_a_payment_is_recorded():
    invoices = InvoicePaymentProvider()
    assert invoices.charge(ORDER) == PaymentResult(PENDING, "invoice", "TH-2026-000123")
    assert invoices.reconcile(ORDER).status == PENDING

    paid = invoices.record_payment(ORDER, " EFT-0042 ", amount=2825)

    assert paid == PaymentResult(SUCCEEDED, "invoice", "EFT-0042")
    assert paid.paid
    assert invoices.record_payment(ORDER, "cheque 118").reference == "cheque 118"


@pytest.mark.parametrize(("reference", "amount", "field", "rule"), [
    ("", None, "reference", "must name the payment"),
    ("   ", None, "reference", "must name the payment"),
    ("x" * 201, None, "reference", "at most 200"),
    ("EFT-1", 2824, "amount", "must be the invoice total, CAD 28.25"),
    ("EFT-1", 5000, "amount", "partial payments are not recorded"),
])
def test_recording_a_payment_names_what_is_wrong(reference, amount, field, rule):
    with pytest.raises(InvalidPayment) as raised:
        InvoicePaymentProvider().record_payment(ORDER, reference, amount)
    assert raised.value.field == field
    assert rule in str(raised.value)


def test_the_factory_builds_the_configured_provider():
    config = load(environ={"TOWNHALL_PAYMENTS__SECRET_KEY": "the-installations-key"})
    sandbox = provider_from_config(config)
    assert isinstance(sandbox, SandboxPaymentProvider)
    assert (sandbox.name, sandbox.base_url) == ("sandbox", "http://127.0.0.1:8030")
    assert sandbox.session.headers["Authorization"] == "Bearer the-installations-key"

    invoices = provider_from_config(load(environ={"TOWNHALL_PAYMENTS__PROVIDER": "invoice"}))
    assert isinstance(invoices, InvoicePaymentProvider)
    assert invoices.name == "invoice"


def test_the_sandbox_address_follows_its_port_unless_set():
    assert payments_base_url(load(environ={"TOWNHALL_SANDBOX__PAYMENTS_PORT": "9030"})) == \
        "http://127.0.0.1:9030"
    elsewhere = load(environ={"TOWNHALL_PAYMENTS__BASE_URL": "http://payments-sandbox:8030/"})
    assert payments_base_url(elsewhere) == "http://payments-sandbox:8030"


@pytest.mark.parametrize(("environ", "message"), [
    ({"TOWNHALL_PAYMENTS__PROVIDER": "stripe"}, "payments.provider: must be one of sandbox"),
    ({"TOWNHALL_PAYMENTS__SECRET_KEY": ""}, "payments.secret_key: must be set"),
])
def test_a_wrong_configuration_names_the_key(environ, message):
    with pytest.raises(PaymentConfigurationError, match=message):
        provider_from_config(load(environ=environ))


def test_a_card_charge_needs_a_payment_method():
    provider = SandboxPaymentProvider("http://127.0.0.1:9", "sandbox-secret")
    with pytest.raises(InvalidPayment) as raised:
        provider.charge(ORDER)  # no request is sent: the order has no card
    assert raised.value.field == "payment_method"


class AnsweringSession(requests.Session):
    """Answers every POST with one canned response instead of sending it."""

    def __init__(self, status, body):
        super().__init__()
        self.answer = requests.Response()
        self.answer.status_code = status
        self.answer._content = json.dumps(body).encode()
        self.sent = []

    def post(self, url, **kwargs):
        self.sent.append((url, kwargs))
        return self.answer


@pytest.mark.parametrize(("error", "reference"), [
    # Stripe answers a declined confirmation 402, with the intent inside the error
    ({"type": "card_error", "code": "card_declined", "decline_code": "insufficient_funds",
      "payment_intent": {"id": "pi_9", "amount": 2825, "currency": "cad",
                         "status": "requires_payment_method",
                         "last_payment_error": {"code": "card_declined",
                                                "decline_code": "insufficient_funds"}}},
     "pi_9"),
    ({"type": "card_error", "code": "card_declined", "decline_code": "insufficient_funds"}, None),
])
def test_a_stripe_style_402_decline_is_a_failed_payment(error, reference):
    session = AnsweringSession(402, {"error": error})
    provider = SandboxPaymentProvider("http://provider.test", "sk", session=session)

    result = provider.charge(new_order("TH-2026-000123", "org-1", BUYER, "pool", None,
                                       "System credits", 500, TERMS, "pm_card_visa"))

    assert (result.status, result.reference, result.failure_code) == \
        (FAILED, reference, "insufficient_funds")
    assert result.failure_message == "the card was declined (insufficient_funds)"
    [(url, sent)] = session.sent
    assert url == "http://provider.test/v1/payment_intents"
    assert sent["headers"] == {"Idempotency-Key": "TH-2026-000123/attempt-1"}
    assert sent["data"]["amount"] == "2825" and sent["data"]["metadata[target]"] == "pool"
