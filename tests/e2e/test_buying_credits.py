"""Buying credits through HTTP, paid through the payment sandbox of the running stack: the
master user of Maple Grove (an organization on community credits) orders credits for a
community wallet — by card, declined, replayed — and downloads the receipt."""

import io
import re
import uuid

import pytest
import requests
from pypdf import PdfReader

from services.credits.orders import format_money

pytestmark = pytest.mark.e2e

BUYER = {"name": "Maple Grove Property Management", "address": "1 Maple Grove Ave\nToronto ON",
         "email": "ap@maplegrove.example", "tax_number": "BN 987654321"}


@pytest.fixture(scope="module")
def master(system):
    password = next(a["password"] for a in system.demo["accounts"]
                    if a["email"] == "master@maplegrove.example")
    answer = requests.post(f"{system.url}/v1/auth/login", timeout=30, json={
        "email": "master@maplegrove.example", "password": password})
    assert answer.status_code == 200, answer.text
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"
    return session


def order(system, master, quantity, payment_method, key=None):
    headers = {"Idempotency-Key": key} if key else {}
    return master.post(f"{system.url}/v1/credits/orders", headers=headers, timeout=30, json={
        "wallet": f"community:{system.community_id}", "quantity": quantity,
        "buyer": BUYER, "payment_method": payment_method})


def payment_intents(system, number):
    sandbox = f"http://127.0.0.1:{system.env['TOWNHALL_SANDBOX__PAYMENTS_PORT']}"
    intents = requests.get(f"{sandbox}/_sandbox/payment_intents", timeout=10).json()
    return [i for i in intents if i["metadata"].get("order_id") == number]


def pdf_text(content):
    reader = PdfReader(io.BytesIO(content))
    return re.sub(r"[ \t]+", " ", "\n".join(p.extract_text() for p in reader.pages))


def test_a_card_purchase_applies_the_credits_at_once_with_a_receipt(system, master):
    before = system.wallet_at_rest()["balance"]

    answer = order(system, master, 250, "pm_card_visa")

    assert answer.status_code == 201, answer.text
    bought = answer.json()
    assert answer.headers["Location"] == f"/v1/credits/orders/{bought['id']}"
    assert (bought["status"], bought["quantity"], bought["provider"]) == ("paid", 250, "sandbox")
    assert (bought["subtotal"], bought["tax"], bought["total"]) == (1250, 163, 1413)
    assert system.wallet_at_rest()["balance"] == before + 250
    assert master.get(system.url + answer.headers["Location"], timeout=30).json() == bought
    listed = master.get(f"{system.url}/v1/credits/orders", timeout=30).json()["items"]
    assert bought["id"] in [o["id"] for o in listed]
    (intent,) = payment_intents(system, bought["number"])
    assert (intent["status"], intent["amount"], intent["id"]) == (
        "succeeded", 1413, bought["provider_reference"])

    receipt = master.get(system.url + bought["links"]["invoice"], timeout=30)

    assert receipt.status_code == 200
    assert receipt.headers["Content-Type"] == "application/pdf"
    assert receipt.headers["Content-Disposition"] == (
        f'attachment; filename="{bought["number"]}.pdf"')
    text = pdf_text(receipt.content)
    for expected in (f"Order number: {bought['number']}", "Maple Grove Apartments",
                     "Maple Grove Property Management", "Townhall Communications Inc.",
                     f"Total (CAD) {format_money(1413, 'CAD')}", "PAID"):
        assert expected in text, expected


def test_a_declined_card_answers_402_and_applies_nothing(system, master):
    before = system.wallet_at_rest()["balance"]

    answer = order(system, master, 100, "pm_card_chargeDeclined")

    assert answer.status_code == 402, answer.text
    assert answer.headers["Content-Type"] == "application/problem+json"
    problem = answer.json()
    assert "declined" in problem["detail"] and problem["field"] == "payment_method"
    assert problem["order"]["status"] == "failed"
    failed = master.get(system.url + answer.headers["Location"], timeout=30).json()
    assert failed["status"] == "failed" and failed["paid_at"] is None
    assert system.wallet_at_rest()["balance"] == before
    no_invoice = master.get(system.url + failed["links"]["invoice"], timeout=30)
    assert no_invoice.status_code == 409


def test_a_replayed_order_answers_the_same_order_and_charges_once(system, master):
    before = system.wallet_at_rest()["balance"]
    key = f"buy-{uuid.uuid4().hex}"

    first = order(system, master, 40, "pm_card_visa", key=key)
    again = order(system, master, 40, "pm_card_visa", key=key)

    assert (first.status_code, again.status_code) == (201, 201), again.text
    assert again.json() == first.json()
    assert len(payment_intents(system, first.json()["number"])) == 1
    assert system.wallet_at_rest()["balance"] == before + 40
    other_body = order(system, master, 41, "pm_card_visa", key=key)
    assert other_body.status_code == 422
