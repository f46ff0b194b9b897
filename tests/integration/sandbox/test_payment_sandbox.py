"""The credits service's card adapter against the payment sandbox subprocess, over real HTTP."""

from decimal import Decimal

import pytest
import requests

from sandbox.launch import start_payment_sandbox
from services.credits.orders import Party, PurchaseTerms, new_order, total
from services.credits.payment_sandbox import SandboxPaymentProvider
from services.credits.payments import (
    FAILED,
    SUCCEEDED,
    UNKNOWN,
    PaymentError,
    PaymentRequestRejected,
)

SELLER = Party("Townhall Communications Inc.", "100 King Street West", tax_number="123 RT0001")
BUYER = Party("Maple Grove Property Management", "1 Maple Grove Ave", "ap@maplegrove.test")
TERMS = PurchaseTerms(SELLER, unit_price=5, currency="CAD", tax_rate_percent=Decimal("13"))


@pytest.fixture(scope="module")
def payment_sandbox():
    with start_payment_sandbox() as sandbox:
        yield sandbox


@pytest.fixture(autouse=True)
def fresh_sandbox(payment_sandbox):
    payment_sandbox.reset()


@pytest.fixture
def provider(payment_sandbox):
    return SandboxPaymentProvider(payment_sandbox.url, payment_sandbox.secret_key,
                                  timeout_seconds=5)


def order(card="pm_card_visa", number="TH-2026-000123", quantity=500):
    return new_order(number, "org-1", BUYER, "community", "community-1",
                     "Maple Grove Apartments", quantity, TERMS, payment_method=card)


def api_posts(sandbox):
    return [r for r in sandbox.read("requests") if r["method"] == "POST"]


def test_a_good_card_is_charged_the_order_total_once(provider, payment_sandbox):
    bought = order(quantity=500)

    result = provider.charge(bought)

    assert (result.status, result.provider, result.failure_code) == (SUCCEEDED, "sandbox", None)
    assert result.paid and result.reference.startswith("pi_")
    [intent] = payment_sandbox.read("payment_intents")
    assert (intent["id"], intent["status"]) == (result.reference, "succeeded")
    assert (intent["amount"], intent["currency"]) == (total(bought), "cad") == (2825, "cad")
    assert intent["idempotency_key"] == "TH-2026-000123/attempt-1"
    assert intent["metadata"] == {"order_id": "TH-2026-000123", "attempt": "1",
                                  "organization_id": "org-1", "target": "community:community-1"}
    assert intent["description"] == "500 communication credits for Maple Grove Apartments " \
                                    "(TH-2026-000123)"
    [post] = api_posts(payment_sandbox)
    assert (post["path"], post["http_status"], post["params"]["amount"]) == \
        ("/v1/payment_intents", 200, "2825")


@pytest.mark.parametrize(("card", "code"), [
    ("pm_card_chargeDeclined", "generic_decline"),
    ("pm_card_insufficientFunds", "insufficient_funds"),
    ("pm_card_chargeDeclinedInsufficientFunds", "insufficient_funds"),
])
def test_a_declined_card_fails_naming_the_reason(provider, payment_sandbox, card, code):
    result = provider.charge(order(card))

    assert (result.status, result.failure_code) == (FAILED, code)
    assert result.failure_message == f"the card was declined ({code})"
    assert not result.paid
    [intent] = payment_sandbox.read("payment_intents")
    assert intent["status"] == "requires_payment_method"
    assert intent["amount_received"] == 0
    assert intent["last_payment_error"]["decline_code"] == code


def test_a_retried_charge_replays_the_first_answer_and_charges_once(provider, payment_sandbox):
    first = provider.charge(order())
    again = provider.charge(order())

    assert again == first
    assert len(payment_sandbox.read("payment_intents")) == 1
    assert [post["replayed"] for post in api_posts(payment_sandbox)] == [False, True]


def test_a_new_attempt_after_a_decline_is_a_new_charge(provider, payment_sandbox):
    declined = provider.charge(order("pm_card_chargeDeclined"), attempt=1)
    paid = provider.charge(order("pm_card_visa"), attempt=2)

    assert (declined.status, paid.status) == (FAILED, SUCCEEDED)
    keys = [intent["idempotency_key"] for intent in payment_sandbox.read("payment_intents")]
    assert keys == ["TH-2026-000123/attempt-1", "TH-2026-000123/attempt-2"]


def test_one_key_with_another_body_is_refused(payment_sandbox):
    url = f"{payment_sandbox.url}/v1/payment_intents"
    auth = (payment_sandbox.secret_key, "")  # HTTP Basic: the key as the user name
    headers = {"Idempotency-Key": "key-1"}
    form = {"amount": "565", "currency": "cad", "payment_method": "pm_card_visa",
            "metadata[order_id]": "TH-2026-000001"}
    first = requests.post(url, data=form, headers=headers, auth=auth, timeout=5)
    as_json = requests.post(url, json={**{k: v for k, v in form.items() if "[" not in k},
                                       "amount": 565, "metadata": {"order_id": "TH-2026-000001"}},
                            headers=headers, auth=auth, timeout=5)
    other = requests.post(url, data={**form, "amount": "566"}, headers=headers, auth=auth,
                          timeout=5)

    assert first.status_code == as_json.status_code == 200
    assert as_json.json()["id"] == first.json()["id"]  # the same request, spelled as JSON
    assert as_json.headers["Idempotent-Replayed"] == "true"
    assert other.status_code == 400
    error = other.json()["error"]
    assert (error["type"], error["code"]) == ("idempotency_error", "idempotency_key_reused")
    assert "key-1" in error["message"]
    assert len(payment_sandbox.read("payment_intents")) == 1


def test_a_timed_out_charge_is_reconciled_by_fetching_not_charging_again(payment_sandbox):
    impatient = SandboxPaymentProvider(payment_sandbox.url, payment_sandbox.secret_key,
                                       timeout_seconds=0.3)
    payment_sandbox.configure(create_delay_ms=1500)  # charged at once, answered late

    result = impatient.charge(order())

    assert result.status == SUCCEEDED
    [intent] = payment_sandbox.read("payment_intents")
    assert result.reference == intent["id"]
    calls = [(r["method"], r["path"]) for r in payment_sandbox.read("requests")]
    assert calls == [("POST", "/v1/payment_intents"), ("GET", "/v1/payment_intents/search")]


def test_a_server_error_after_the_charge_is_reconciled_too(provider, payment_sandbox):
    payment_sandbox.configure(server_error_rate=1)

    result = provider.charge(order("pm_card_insufficientFunds"))

    assert (result.status, result.failure_code) == (FAILED, "insufficient_funds")
    assert [p["http_status"] for p in api_posts(payment_sandbox)] == [500]
    assert len(payment_sandbox.read("payment_intents")) == 1


def test_an_unreachable_provider_is_an_unknown_outcome_until_reconciled(provider,
                                                                         payment_sandbox):
    payment_sandbox.configure(unavailable=True)

    unknown = provider.charge(order())

    assert (unknown.status, unknown.failure_code, unknown.reference) == \
        (UNKNOWN, "outcome_unknown", None)
    assert "nothing is applied until the payment is reconciled" in unknown.failure_message
    assert payment_sandbox.read("payment_intents") == []

    payment_sandbox.configure(unavailable=False)
    assert provider.reconcile(order()).status == UNKNOWN  # asked: nothing was charged
    # the same attempt again is safe: its key can only ever charge once
    assert provider.charge(order()).status == SUCCEEDED
    assert provider.charge(order()).status == SUCCEEDED
    assert len(payment_sandbox.read("payment_intents")) == 1


def test_a_connection_refused_is_unknown_not_an_exception():
    nobody = SandboxPaymentProvider("http://127.0.0.1:9", "sandbox-secret", timeout_seconds=1)
    result = nobody.charge(order())
    assert (result.status, result.failure_code) == (UNKNOWN, "outcome_unknown")
    assert "ConnectionError" in result.failure_message


def test_reconcile_fetches_an_intent_by_its_id(provider, payment_sandbox):
    paid = provider.charge(order())

    assert provider.reconcile(order(), reference=paid.reference) == paid
    missing = provider.reconcile(order(), reference="pi_unknown")
    assert (missing.status, missing.failure_code) == (UNKNOWN, "outcome_unknown")
    assert "no payment pi_unknown" in missing.failure_message
    fetched = requests.get(f"{payment_sandbox.url}/v1/payment_intents/pi_unknown",
                           headers={"Authorization": f"Bearer {payment_sandbox.secret_key}"},
                           timeout=5)
    assert fetched.status_code == 404
    assert fetched.json()["error"]["code"] == "resource_missing"


def test_a_payment_of_another_amount_is_never_taken_for_the_order(provider, payment_sandbox):
    requests.post(f"{payment_sandbox.url}/v1/payment_intents", timeout=5,
                  headers={"Authorization": f"Bearer {payment_sandbox.secret_key}"},
                  data={"amount": "1", "currency": "cad", "payment_method": "pm_card_visa",
                        "metadata[order_id]": "TH-2026-000123", "metadata[attempt]": "1"})
    with pytest.raises(PaymentError, match="is for 1 CAD, order TH-2026-000123 totals 2825"):
        provider.reconcile(order())


def test_a_wrong_secret_key_is_refused_loudly(payment_sandbox):
    wrong = SandboxPaymentProvider(payment_sandbox.url, "not-the-key")
    with pytest.raises(PaymentRequestRejected) as raised:
        wrong.charge(order())
    assert (raised.value.code, raised.value.http_status) == ("api_key_invalid", 401)
    assert payment_sandbox.read("payment_intents") == []


@pytest.mark.parametrize(("form", "param", "code"), [
    ({"currency": "cad", "payment_method": "pm_card_visa"}, "amount", "parameter_missing"),
    ({"amount": "5.65", "currency": "cad", "payment_method": "pm_card_visa"}, "amount",
     "parameter_invalid_integer"),
    ({"amount": "565", "currency": "cad", "payment_method": "pm_card_nope"}, "payment_method",
     "resource_missing"),
    ({"amount": "565", "currency": "cad", "payment_method": "pm_card_visa", "colour": "red"},
     "colour", "parameter_unknown"),
])
def test_malformed_creates_are_4xx_json_errors_naming_the_parameter(payment_sandbox, form,
                                                                     param, code):
    answer = requests.post(f"{payment_sandbox.url}/v1/payment_intents", data=form, timeout=5,
                           auth=(payment_sandbox.secret_key, ""))
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert (error["type"], error["code"], error["param"]) == ("invalid_request_error", code, param)
    assert error["message"]


def test_the_control_api_refuses_unknown_settings(payment_sandbox):
    answer = requests.post(f"{payment_sandbox.control_url}/config", json={"declines": 1},
                           timeout=5)
    assert answer.status_code == 400
    assert "unknown setting(s): declines" in answer.json()["error"]
    assert payment_sandbox.configure(decline_rate=1, decline_code="do_not_honor")["decline_rate"] \
        == 1
