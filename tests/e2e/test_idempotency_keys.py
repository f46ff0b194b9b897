"""Idempotency-Keys through HTTP cannot stand in for the ledger's own keys (issue 10, item 1):
a transfer sent under `reserve:<communication id>` leaves that text to be paid, and one sent
under `order:<order id>` leaves that order's payment to apply its credits. Whichever arrives
first — the transfer or messaging's hold — both are answered and both count."""

import uuid

import pytest

pytestmark = pytest.mark.e2e

RUN = uuid.uuid4().hex[:6]
BUYER = {"name": "Maple Grove Property Management", "address": "1 Maple Grove Ave\nToronto ON",
         "email": "ap@maplegrove.example"}


@pytest.fixture(scope="module")
def scene(system):
    master = system.staff("master@maplegrove.example")
    own = system.own_community(f"Keyed Court-{RUN}", ("Xavier",), "561", RUN)
    wallet = f"community:{own['community']['id']}"
    granted = master.post(f"{system.url}/v1/credits/wallets/{wallet}/grants", timeout=30,
                          json={"amount": 10, "reason": "for the test"},
                          headers={"Idempotency-Key": f"keyed-court-{RUN}"})
    assert granted.status_code == 201, granted.text
    return {"master": master, "wallet": wallet, "resident": own["residents"]["Xavier"],
            "maple": f"community:{system.community_id}"}


def available(system, master, wallet):
    answer = master.get(f"{system.url}/v1/credits/wallets/{wallet}", timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()["available"]


def transfer(system, master, source, target, key):
    return master.post(f"{system.url}/v1/credits/transfers", timeout=30,
                       headers={"Idempotency-Key": key},
                       json={"source": source, "target": target, "amount": 1,
                             "reason": "between my own wallets"})


def test_a_transfer_keyed_like_a_text_leaves_the_text_paid(system, scene):
    master, wallet = scene["master"], scene["wallet"]
    sent = master.post(f"{system.url}/v1/communications", timeout=30, json={
        "kind": "message", "channels": ["sms"],
        "recipients": {"residents": [scene["resident"]["id"]]},
        "category_id": system.demo["category_id"], "body": f"Water off at noon {RUN}"})
    assert sent.status_code == 202, sent.text
    communication_id = sent.json()["id"]

    moved = transfer(system, master, wallet, scene["maple"], f"reserve:{communication_id}")

    assert moved.status_code == 201, moved.text
    view = system.wait_until_done(communication_id)
    (delivery,) = view["deliveries"]
    assert delivery["status"] == "delivered" and delivery["credits"] >= 1
    assert view["credits"]["charged"] == delivery["credits"]
    assert available(system, master, wallet) == 10 - 1 - delivery["credits"]


def test_a_transfer_keyed_like_an_order_leaves_its_payment_to_apply_the_credits(system,
                                                                               scene):
    master, wallet = scene["master"], scene["wallet"]
    ordered = master.post(f"{system.url}/v1/credits/orders", timeout=30, json={
        "wallet": wallet, "quantity": 100, "buyer": BUYER, "payment_method": "invoice"})
    assert ordered.status_code == 201, ordered.text
    order = ordered.json()
    assert order["status"] == "awaiting_payment"
    before = available(system, master, wallet)

    moved = transfer(system, master, scene["maple"], wallet, f"order:{order['id']}")
    assert moved.status_code == 201, moved.text
    paid = master.post(f"{system.url}/v1/credits/orders/{order['id']}/payments", timeout=30,
                       json={"reference": f"EFT-{RUN}"})

    assert paid.status_code == 200, paid.text
    assert paid.json()["status"] == "paid"
    assert available(system, master, wallet) == before + 1 + 100
