"""Buying credits through credits' entrypoints: an in-memory ledger, a fake directory, and at
the edge a fake card provider that behaves like one (one intent per idempotency key) or the
real invoice provider."""

import base64
import io
import re

import pytest
from nameko.testing.services import worker_factory
from pypdf import PdfReader
from sqlalchemy import select

from contracts.errors import (
    Conflict,
    Forbidden,
    IdempotencyKeyReused,
    InvalidRequest,
    NotFound,
)
from servicekit.testing import memory_database, outbox_events
from services.credits.models import Base, LedgerTransaction
from services.credits.payment_invoice import InvoicePaymentProvider
from services.credits.payments import (
    FAILED,
    SUCCEEDED,
    UNKNOWN,
    PaymentProvider,
    PaymentResult,
    idempotency_key,
)
from services.credits.purchasing import Providers
from services.credits.service import CreditsService

ORG = "org_1"
MASTER = {"actor_type": "staff", "actor_id": "usr_master", "organization_id": ORG,
          "permissions": ["manage_credits"]}
REGULAR = {"actor_type": "staff", "actor_id": "usr_reg", "organization_id": ORG,
           "scopes": {"send_sms": "*"}}
COMMUNITY_MANAGER = {"actor_type": "staff", "actor_id": "usr_cm", "organization_id": ORG,
                     "scopes": {"manage_credits": ["com_1"]}}
OUTSIDER = {"actor_type": "staff", "actor_id": "usr_out", "organization_id": ORG,
            "scopes": {"send_communications": "*"}}
BUYER = {"name": "Maple Grove Property Management", "address": "1 Maple Grove Ave\nToronto",
         "email": "ap@maplegrove.test", "tax_number": "BN 987654321"}
CONFIG = {
    "credits": {"order_reconcile_after_seconds": 0},
    "payments": {"currency": "CAD", "unit_price": 5, "tax_rate_percent": 13, "seller": {
        "name": "Townhall Communications Inc.", "address": "100 King Street West\nToronto",
        "tax_number": "123456789 RT0001"}},
}


def facts(user_id, offices, mates=(), holds_send_sms=True):
    return {"id": user_id, "office_ids": list(offices), "team_ids": ["tm_1"] if mates else [],
            "team_member_ids": list(mates), "holds_send_sms": holds_send_sms, "active": True}


class FakeDirectory:
    STAFF = {"usr_reg": ("Riley Regular", facts("usr_reg", ["off_1"], ["usr_mate"])),
             "usr_mate": ("Dana Reyes", facts("usr_mate", ["off_1"], ["usr_reg"])),
             "usr_stranger": ("Sam Stranger", facts("usr_stranger", ["off_2"])),
             "usr_cm": ("Casey Manager", facts("usr_cm", ["off_1"])),
             "usr_out": ("Oz Outsider", facts("usr_out", ["off_1"]))}
    COMMUNITIES = {"com_1": "Maple Grove Apartments", "com_2": "Birch Court Condos"}

    def staff_facts(self, identity, ids):
        return [self._staff(i)[1] for i in ids]

    def get_staff(self, identity, staff_user_id):
        return {"id": staff_user_id, "name": self._staff(staff_user_id)[0]}

    def get_community(self, identity, community_id):
        if community_id not in self.COMMUNITIES:
            raise NotFound(f"community {community_id} does not exist", "community_id")
        return {"id": community_id, "name": self.COMMUNITIES[community_id]}

    def _staff(self, staff_user_id):
        if staff_user_id not in self.STAFF:
            raise NotFound(f"staff user {staff_user_id} does not exist", "staff_user_ids")
        return self.STAFF[staff_user_id]


class FakeCards(PaymentProvider):
    """One payment per idempotency key, like the sandbox: asking again answers the first.
    pm_lost_answer charges but the answer never arrives (the outcome is unknown)."""

    name = "sandbox"
    DECLINED = {"pm_card_chargeDeclined": "generic_decline"}

    def __init__(self):
        self.charges = []      # every charge call's idempotency key
        self.payments = {}     # key -> the payment made

    def charge(self, order, attempt=1):
        key = idempotency_key(order, attempt)
        self.charges.append(key)
        if key not in self.payments:
            code = self.DECLINED.get(order.payment_method)
            self.payments[key] = (
                PaymentResult(FAILED, self.name, f"pi_{len(self.payments) + 1}", code,
                              f"the card was declined ({code})") if code else
                PaymentResult(SUCCEEDED, self.name, f"pi_{len(self.payments) + 1}"))
        if order.payment_method == "pm_lost_answer" and len(self.charges) == 1:
            return PaymentResult(UNKNOWN, self.name, None, "outcome_unknown", "no answer")
        return self.payments[key]

    def reconcile(self, order, attempt=1, reference=None):
        return self.payments.get(idempotency_key(order, attempt)) or PaymentResult(
            UNKNOWN, self.name, None, "outcome_unknown", "no such payment")


@pytest.fixture
def cards():
    return FakeCards()


@pytest.fixture
def credits(cards):
    service = worker_factory(CreditsService, db=memory_database(Base), config=CONFIG,
                             directory=FakeDirectory(),
                             payments=Providers(cards, InvoicePaymentProvider()))
    for community_id in FakeDirectory.COMMUNITIES:   # as community_created opens them
        service.open_wallet(MASTER, ORG, community_id)
    return service


def use_model(credits, model):
    credits.change_settings(MASTER, {"model": model})


def buy(credits, identity, wallet, quantity=500, method="pm_card_visa", key=None):
    return credits.purchase(identity, wallet, quantity, BUYER, payment_method=method,
                            idempotency_key=key)


def balance(credits, wallet):
    return credits.wallet(MASTER, wallet)["balance"]


def purchased(credits):
    return [e["data"] for e in outbox_events(credits.db, "credits_purchased")]


@pytest.mark.parametrize(("model", "wallet", "label"), [
    ("community", "community:com_1", "Maple Grove Apartments"),
    ("user", "pool", "System credits"),
    ("user", "user:usr_mate", "Dana Reyes"),
    ("pool", "pool", "Organization pool"),
])
def test_a_master_buys_for_the_wallets_of_the_organizations_model(credits, model, wallet,
                                                                  label):
    use_model(credits, model)

    order = buy(credits, MASTER, wallet)

    assert order["status"] == "paid" and order["paid_at"]
    assert re.fullmatch(r"TH-\d{4}-000001", order["number"])
    assert (order["wallet"], order["target_label"], order["quantity"]) == (wallet, label, 500)
    assert (order["subtotal"], order["tax"], order["total"], order["tax_rate"]) == (
        2500, 325, 2825, "13")
    assert balance(credits, wallet) == 500
    assert purchased(credits) == [{"order_id": order["id"], "number": order["number"],
                                   "wallet": wallet, "quantity": 500, "total": 2825,
                                   "currency": "CAD", "balance": 500}]
    with credits.db.read() as session:
        txn = session.get(LedgerTransaction, order["transaction_id"])
    assert (txn.kind, txn.order_id, txn.actor) == ("purchase", order["id"], "usr_master")


def test_a_wallet_the_model_does_not_use_is_refused_naming_the_rule(credits):
    with pytest.raises(Forbidden, match="this organization uses community credits") as refused:
        buy(credits, MASTER, "pool")
    assert refused.value.field == "target"


def test_a_regular_user_buys_for_a_team_member_but_not_for_a_stranger(credits, cards):
    use_model(credits, "user")

    assert buy(credits, REGULAR, "user:usr_mate")["status"] == "paid"
    with pytest.raises(Forbidden, match="members of your team") as refused:
        buy(credits, REGULAR, "user:usr_stranger")
    assert refused.value.field == "target"
    with pytest.raises(Forbidden, match="only master users buy system credits"):
        buy(credits, REGULAR, "pool")
    assert balance(credits, "user:usr_mate") == 500 and len(cards.charges) == 1


def test_community_wallets_are_bought_by_holders_of_manage_credits_there(credits):
    assert buy(credits, COMMUNITY_MANAGER, "community:com_1")["status"] == "paid"
    with pytest.raises(Forbidden, match="needs manage_credits there"):
        buy(credits, COMMUNITY_MANAGER, "community:com_2")
    with pytest.raises(NotFound):   # another organization's community
        buy(credits, MASTER, "community:com_elsewhere")


def test_a_declined_card_leaves_a_failed_order_and_no_credits(credits):
    order = buy(credits, MASTER, "community:com_1", method="pm_card_chargeDeclined")

    assert order["status"] == "failed" and order["paid_at"] is None
    assert order["failure_code"] == "generic_decline"
    assert "declined" in order["failure_message"]
    assert credits.get_order(MASTER, order["id"]) == order
    assert balance(credits, "community:com_1") == 0 and purchased(credits) == []
    with pytest.raises(Conflict):
        credits.invoice_pdf(MASTER, order["id"])


def test_a_replayed_idempotency_key_answers_the_first_order_and_charges_once(credits, cards):
    first = buy(credits, MASTER, "community:com_1", key="buy-1")
    again = buy(credits, MASTER, "community:com_1", key="buy-1")

    assert again == first
    assert len(cards.charges) == 1
    assert balance(credits, "community:com_1") == 500 and len(purchased(credits)) == 1
    with pytest.raises(IdempotencyKeyReused):
        buy(credits, MASTER, "community:com_1", quantity=600, key="buy-1")
    assert credits.list_orders(MASTER)["items"] == [first]


def test_a_replayed_decline_answers_the_same_failed_order(credits, cards):
    first = buy(credits, MASTER, "community:com_1", method="pm_card_chargeDeclined", key="k")
    assert buy(credits, MASTER, "community:com_1", method="pm_card_chargeDeclined",
               key="k") == first
    assert len(cards.charges) == 1


def test_an_invoice_awaits_its_payment_and_recording_it_applies_the_credits_once(credits):
    order = buy(credits, COMMUNITY_MANAGER, "community:com_1", method=None)
    assert (order["status"], order["provider"], order["provider_reference"]) == (
        "awaiting_payment", "invoice", order["number"])
    assert balance(credits, "community:com_1") == 0

    with pytest.raises(Forbidden, match="only master users"):
        credits.record_payment(COMMUNITY_MANAGER, order["id"], "EFT-0042")
    with pytest.raises(InvalidRequest) as bad:
        credits.record_payment(MASTER, order["id"], "EFT-0042", amount=100)
    assert bad.value.field == "amount"

    paid = credits.record_payment(MASTER, order["id"], "EFT-0042")
    again = credits.record_payment(MASTER, order["id"], "EFT-0043")

    assert paid["status"] == "paid" and paid["provider_reference"] == "EFT-0042"
    assert again == paid
    assert balance(credits, "community:com_1") == 500 and len(purchased(credits)) == 1


def test_a_transfer_keyed_like_an_order_leaves_its_payment_to_apply_the_credits(credits):
    """The uncredited purchase: a client key spelling the ledger key of an awaited order."""
    order = buy(credits, MASTER, "community:com_1", method=None)
    credits.add_credits(MASTER, "community:com_2", 1, "support", "grant-1")
    credits.transfer(MASTER, "community:com_2", "community:com_1", 1, "move",
                     f"order:{order['id']}")

    paid = credits.record_payment(MASTER, order["id"], "EFT-0042")

    assert paid["status"] == "paid"
    assert balance(credits, "community:com_1") == 501 and len(purchased(credits)) == 1


def test_a_card_order_takes_no_recorded_payment(credits):
    order = buy(credits, MASTER, "community:com_1", method="pm_card_chargeDeclined")
    with pytest.raises(Conflict, match="only for an invoice awaiting payment"):
        credits.record_payment(MASTER, order["id"], "EFT-1")


def test_an_unknown_outcome_is_reconciled_and_applied_once(credits, cards):
    order = buy(credits, MASTER, "community:com_1", method="pm_lost_answer")
    assert order["status"] == "payment_unknown" and order["failure_code"] == "outcome_unknown"
    assert balance(credits, "community:com_1") == 0

    credits.reconcile_orders()
    credits.reconcile_orders()

    assert credits.get_order(MASTER, order["id"])["status"] == "paid"
    assert balance(credits, "community:com_1") == 500 and len(purchased(credits)) == 1
    assert len(cards.charges) == 1   # reconciling asks; it never charges


def test_a_replay_of_an_unknown_outcome_asks_again_under_the_same_attempt(credits, cards):
    first = buy(credits, MASTER, "community:com_1", method="pm_lost_answer", key="k")
    again = buy(credits, MASTER, "community:com_1", method="pm_lost_answer", key="k")

    assert first["status"] == "payment_unknown" and again["status"] == "paid"
    assert again["id"] == first["id"]
    assert cards.charges == [f"{first['number']}/attempt-1"] * 2 and len(cards.payments) == 1
    assert buy(credits, MASTER, "community:com_1", method="pm_lost_answer", key="k") == again
    assert balance(credits, "community:com_1") == 500


def test_the_invoice_pdf_shows_number_parties_quantity_price_tax_and_total(credits):
    order = buy(credits, MASTER, "community:com_1")

    answer = credits.invoice_pdf(MASTER, order["id"])

    assert answer["filename"] == f"{order['number']}.pdf"
    reader = PdfReader(io.BytesIO(base64.b64decode(answer["content_base64"])))
    text = re.sub(r"[ \t]+", " ", "\n".join(p.extract_text() for p in reader.pages))
    for expected in (f"Order number: {order['number']}", "Townhall Communications Inc.",
                     "Tax number: 123456789 RT0001", "Maple Grove Property Management",
                     "ap@maplegrove.test", "Maple Grove Apartments",
                     "Communication credits 500 CAD 0.05 CAD 25.00", "Tax (13%) CAD 3.25",
                     "Total (CAD) CAD 28.25", "PAID"):
        assert expected in text, expected


def test_an_order_is_seen_by_its_buyer_master_users_and_the_communitys_credit_managers(
        credits):
    order = buy(credits, COMMUNITY_MANAGER, "community:com_1")
    own = buy(credits, OUTSIDER | {"scopes": {"manage_credits": ["com_2"]}}, "community:com_2")

    for reader in (COMMUNITY_MANAGER, MASTER):
        assert credits.get_order(reader, order["id"])["id"] == order["id"]
    with pytest.raises(Forbidden):
        credits.get_order(OUTSIDER, order["id"])
    with pytest.raises(NotFound):
        credits.get_order(MASTER | {"organization_id": "org_2"}, order["id"])
    with pytest.raises(NotFound):
        credits.get_order(MASTER, "ord_nothing")
    assert [o["id"] for o in credits.list_orders(MASTER)["items"]] == [order["id"], own["id"]]
    assert [o["id"] for o in credits.list_orders(COMMUNITY_MANAGER)["items"]] == [order["id"]]
    # whoever placed an order sees it, whatever they may do now
    assert [o["id"] for o in credits.list_orders(OUTSIDER)["items"]] == [own["id"]]
    assert credits.get_order(OUTSIDER, own["id"])["id"] == own["id"]
    page = credits.list_orders(MASTER, limit=1)
    assert [o["id"] for o in credits.list_orders(MASTER, cursor=page["next_cursor"])[
        "items"]] == [own["id"]]


@pytest.mark.parametrize(("change", "field"), [
    (dict(quantity=0), "quantity"),
    (dict(quantity=True), "quantity"),
    (dict(buyer=dict(BUYER, email="not an email")), "buyer.email"),
    (dict(buyer=dict(BUYER, name=" ")), "buyer.name"),
    (dict(buyer=dict(BUYER, vat="1")), "buyer.vat"),
    (dict(wallet="wallet:1"), "wallet"),
])
def test_an_order_that_breaks_a_rule_is_refused_naming_the_field(credits, cards, change,
                                                                 field):
    asked = dict(wallet="community:com_1", quantity=10, buyer=BUYER) | change
    with pytest.raises(InvalidRequest) as refused:
        credits.purchase(MASTER, asked["wallet"], asked["quantity"], asked["buyer"],
                         payment_method="pm_card_visa")
    assert refused.value.field == field
    assert cards.charges == []
    with credits.db.read() as session:
        assert session.scalars(select(LedgerTransaction.id).where(
            LedgerTransaction.kind == "purchase")).all() == []


def test_order_numbers_follow_each_other(credits):
    numbers = [buy(credits, MASTER, "community:com_1", quantity=1)["number"]
               for _ in range(3)]
    assert [int(n.rsplit("-", 1)[1]) for n in numbers] == [1, 2, 3]
