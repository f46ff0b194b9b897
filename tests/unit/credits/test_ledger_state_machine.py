"""A hypothesis state machine drives the credits service (worker_factory, in-memory
database) through random additions, holds, settlements (also for other amounts), releases,
expiries, transfers, invoiced orders and their payments, permission removals and replayed
idempotency keys, under each credit model — and checks after every step that the ledger
agrees with a plain model of it.

The keys are adversarial: two master users share one pool of keys, and a client key may be
the one messaging will reserve the next send under (`reserve:<communication id>`) or the
ledger key of an order awaiting its payment (`order:<order id>`). Whatever they send, no
credit is created, lost or left unpaid: a key is its caller's own, bound to its first
request (a replay changes nothing, another request is refused), and reaches no ledger key."""

from collections import Counter

import hypothesis.strategies as st
from hypothesis import HealthCheck, settings
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    rule,
)
from nameko.testing.services import worker_factory
from sqlalchemy import func, select

from contracts.errors import Forbidden, IdempotencyKeyReused, InsufficientCredits
from contracts.events import envelope
from servicekit.testing import memory_database
from services.credits.models import Account, Base, Entry, Hold, HoldResolution
from services.credits.payment_invoice import InvoicePaymentProvider
from services.credits.purchasing import Providers
from services.credits.service import CreditsService

ORG = "org_sm"
COMMUNITIES = ("c1", "c2")
USERS = ("ann", "bob")
ALL = {"send_communications": "*", "send_sms": "*"}
MASTER = {"actor_type": "staff", "actor_id": "mia", "organization_id": ORG,
          "scopes": dict(ALL, manage_credits="*")}
MASTERS = {"mia": MASTER, "max": dict(MASTER, actor_id="max")}
# client keys: plain ones, and stand-ins for the ledger's own keys (resolved when drawn)
KEYS = ("k1", "k2", None, "next reserve", "last reserve", "open order")
PAYMENTS = {"payments": {"currency": "CAD", "unit_price": 5, "tax_rate_percent": 13,
                         "seller": {"name": "Townhall Communications Inc.",
                                    "address": "100 King Street West\nToronto",
                                    "tax_number": "123456789 RT0001"}}}
BUYER = {"name": "Maple Grove Property Management", "address": "1 Maple Grove Ave",
         "email": "ap@maplegrove.test"}


def staff(user_id):
    return {"actor_type": "staff", "actor_id": user_id, "organization_id": ORG,
            "scopes": dict(ALL)}


class FakeDirectory:
    """directory's staff_facts, answered from the machine's own picture of its users."""

    def __init__(self):
        self.send_sms = {u: True for u in USERS}

    def staff_facts(self, identity, ids):
        return [{"id": i, "office_ids": ["off_1"], "team_ids": ["team_1"],
                 "team_member_ids": sorted(set(USERS) - {i}),
                 "holds_send_sms": self.send_sms.get(i, False), "active": True}
                for i in ids]

    def get_staff(self, identity, staff_user_id):
        return {"id": staff_user_id, "name": staff_user_id.title()}

    def get_community(self, identity, community_id):
        return {"id": community_id, "name": f"Community {community_id}"}


class Ledger(RuleBasedStateMachine):
    holds = Bundle("holds")
    orders = Bundle("orders")

    @initialize(model=st.sampled_from(["community", "user", "pool"]),
                floor=st.sampled_from([None, 0, -5]))
    def start(self, model, floor):
        self.directory = FakeDirectory()
        self.service = worker_factory(CreditsService, db=memory_database(Base),
                                      config=dict(PAYMENTS,
                                                  credits={"hold_ttl_seconds": 3600}),
                                      directory=self.directory,
                                      payments=Providers(None, InvoicePaymentProvider()))
        self.model, self.floor = model, (floor if model == "community" else None)
        self.service.change_settings(MASTER, {"model": model, "floor": self.floor})
        for community in COMMUNITIES:   # as directory's community_created events do
            self.service.open_wallet(MASTER, ORG, community)
        self.wallets = {w: {"available": 0, "held": 0} for w in self.wallets_of(model)}
        self.keys = {}            # (caller, idempotency key) -> the request it came with first
        self.open_orders = {}     # order id -> (wallet, quantity), awaiting their payment
        self.added = 0
        self.charged = 0
        self.resolved = set()
        self.communication = 0

    @staticmethod
    def wallets_of(model):
        if model == "community":
            return [f"community:{c}" for c in COMMUNITIES]
        if model == "pool":
            return ["pool"]
        return ["pool"] + [f"user:{u}" for u in USERS]

    # --- steps ---------------------------------------------------------------------------

    def client_key(self, data):
        """A key as a client may send it: plain, or spelling one of the ledger's own."""
        key = data.draw(st.sampled_from(KEYS))
        if key == "next reserve":
            return f"reserve:cmm_{self.communication + 1}"
        if key == "last reserve":
            return f"reserve:cmm_{self.communication}"
        if key == "open order":
            return f"order:{data.draw(st.sampled_from(sorted(self.open_orders)))}" \
                if self.open_orders else None
        return key

    def keyed(self, who, key, request, call):
        """Call under (who, key) and say whether it took effect: a new key (or none) does,
        its replay answers as before, another request under it is refused."""
        first = self.keys.get((who, key)) if key else None
        try:
            answer = call()
        except IdempotencyKeyReused:
            assert first is not None and first[0] != request, (who, key, request, first)
            return False, None
        if first is not None:
            assert first == (request, answer), (who, key, request)   # the first answer
            return False, answer
        if key:
            self.keys[(who, key)] = (request, answer)
        return True, answer

    @rule(data=st.data(), amount=st.integers(1, 30), who=st.sampled_from(sorted(MASTERS)))
    def add(self, data, amount, who):
        wallet = data.draw(st.sampled_from(sorted(self.wallets)))
        key = self.client_key(data)
        took, _answer = self.keyed(who, key, ("add", wallet, amount), lambda: (
            self.service.add_credits(MASTERS[who], wallet, amount, "top-up", key)))
        if took:
            self.wallets[wallet]["available"] += amount
            self.added += amount

    @rule(target=holds, data=st.data(),
          amounts=st.lists(st.integers(1, 6), min_size=1, max_size=3),
          replay=st.booleans())
    def reserve(self, data, amounts, replay):
        community = data.draw(st.sampled_from(COMMUNITIES))
        sender = data.draw(st.sampled_from(USERS))
        self.communication += 1
        communication = f"cmm_{self.communication}"
        items = [{"delivery_id": f"{communication}_{n}", "amount": a}
                 for n, a in enumerate(amounts)]
        payer = {"community": f"community:{community}", "pool": "pool",
                 "user": f"user:{sender}"}[self.model]
        total = sum(amounts)
        available = self.wallets[payer]["available"]
        frozen = self.model == "user" and not self.directory.send_sms[sender]
        allowed = (self.floor is None or available - total >= self.floor) \
            if self.model == "community" else (not frozen and available >= total)
        try:
            answer = self.service.reserve(staff(sender), community, communication, items,
                                          f"reserve:{communication}")
            if replay:
                again = self.service.reserve(staff(sender), community, communication, items,
                                             f"reserve:{communication}")
                assert again == answer
        except InsufficientCredits:
            assert not allowed, (payer, available, total)
            return []
        assert allowed, (payer, available, total, frozen)
        # every delivery of the batch is held: none is sent unpaid
        assert answer["total"] == total and len(answer["holds"]) == len(items), answer
        self.wallets[payer]["available"] -= total
        self.wallets[payer]["held"] += total
        return [(h["hold_id"], h["delivery_id"], h["amount"], payer, community, communication)
                for h in answer["holds"]]

    @rule(group=consumes(holds), data=st.data())
    def finish(self, group, data):
        """Deliveries end: delivered (charged what they cost, maybe another amount) or not."""
        for hold_id, delivery_id, amount, payer, community, communication in group:
            delivered = data.draw(st.booleans())
            # over-charging past the hold is only possible where balances may go negative
            most = amount + 3 if self.model == "community" and self.floor is None else amount
            charged = data.draw(st.integers(0, most)) if delivered else 0
            item = {"delivery_id": delivery_id, "resident_id": "res_1", "channel": "sms",
                    "status": "delivered" if delivered else "failed",
                    "previous_status": "sent", "reason": None, "error_code": None,
                    "credits": charged, "hold_id": hold_id}
            event = envelope("deliveries_updated", {"communication_id": communication,
                                                    "community_id": community,
                                                    "items": [item]}, organization_id=ORG)
            self.service.resolve_holds(event)
            self.service.resolve_holds(event)               # redelivered: no second effect
            if hold_id not in self.resolved:
                self.resolved.add(hold_id)
                self.wallets[payer]["held"] -= amount
                self.wallets[payer]["available"] += amount - charged
                self.charged += charged

    @rule()
    def expire_everything_due(self):
        with self.service.db.unit_of_work() as uow:
            uow.session.execute(Hold.__table__.update().values(
                expires_at=func.datetime("now", "-1 day")))
        self.service.expire_holds()
        with self.service.db.read() as session:
            open_holds = session.execute(
                select(Hold.id, Hold.amount, Hold.payer)
                .outerjoin(HoldResolution, HoldResolution.hold_id == Hold.id)
                .where(HoldResolution.hold_id.is_(None))).all()
        assert open_holds == []
        for wallet in self.wallets.values():
            wallet["available"] += wallet["held"]
            wallet["held"] = 0
        with self.service.db.read() as session:
            self.resolved = set(session.scalars(select(HoldResolution.hold_id)))

    @rule(data=st.data(), amount=st.integers(1, 20), who=st.sampled_from(sorted(MASTERS)))
    def transfer(self, data, amount, who):
        source = data.draw(st.sampled_from(sorted(self.wallets)))
        target = data.draw(st.sampled_from(sorted(self.wallets)))
        key = self.client_key(data)
        target_user = target.split(":")[1] if target.startswith("user:") else None
        refused = (self.model == "pool" or source == target
                   or (target_user and not self.directory.send_sms[target_user]))
        try:
            took, _answer = self.keyed(who, key, ("transfer", source, target, amount), lambda: (
                self.service.transfer(MASTERS[who], source, target, amount, "move", key)))
        except Forbidden:
            assert refused
            return
        except InsufficientCredits:
            assert not refused and (key is None or (who, key) not in self.keys)
            assert self.wallets[source]["available"] < amount
            return
        assert not refused
        if took:
            self.wallets[source]["available"] -= amount
            self.wallets[target]["available"] += amount

    @rule(target=orders, data=st.data(), quantity=st.integers(1, 40))
    def order(self, data, quantity):
        """An invoiced order, awaiting its payment (whose credits a client key may spell)."""
        wallet = data.draw(st.sampled_from(sorted(self.wallets)))
        holder = wallet.split(":")[1] if wallet.startswith("user:") else None
        try:
            placed = self.service.purchase(MASTER, wallet, quantity, BUYER)
        except Forbidden:
            assert holder and not self.directory.send_sms[holder]
            return []
        assert placed["status"] == "awaiting_payment"
        self.open_orders[placed["id"]] = (wallet, quantity)
        return [placed["id"]]

    @rule(order=consumes(orders))
    def pay(self, order):
        for order_id in order:
            paid = self.service.record_payment(MASTER, order_id, "EFT-1")
            assert paid["status"] == "paid"
            wallet, quantity = self.open_orders.pop(order_id)
            self.wallets[wallet]["available"] += quantity
            self.added += quantity

    @rule(user=st.sampled_from(USERS), holds_send_sms=st.booleans())
    def permission_changes(self, user, holds_send_sms):
        self.directory.send_sms[user] = holds_send_sms
        kind = "permission_granted" if holds_send_sms else "permission_revoked"
        handler = getattr(self.service, f"note_{kind}")
        handler(envelope(kind, {
            "grant_id": "grt_1", "staff_user_id": user, "name": "send_sms",
            "permissions": ["send_sms"], "scope_type": "organization", "scope_id": ORG,
            "holds_send_sms": holds_send_sms}, organization_id=ORG))

    # --- what must hold after every step -------------------------------------------------

    @invariant()
    def every_transaction_balances(self):
        if not hasattr(self, "service"):
            return
        with self.service.db.read() as session:
            unbalanced = session.execute(
                select(Entry.transaction_id).group_by(Entry.transaction_id)
                .having(func.sum(Entry.amount) != 0)).all()
        assert unbalanced == []

    @invariant()
    def every_wallet_is_what_its_entries_say(self):
        if not hasattr(self, "service"):
            return
        listed = {w["wallet"]: w for w in self.service.list_wallets(MASTER)["items"]}
        for wallet, expected in self.wallets.items():
            found = listed.get(wallet, {"available": 0, "held": 0})
            assert (found["available"], found["held"]) == (expected["available"],
                                                           expected["held"]), wallet
            if self.floor is not None:
                assert found["available"] >= self.floor, wallet

    @invariant()
    def no_credit_is_created_or_lost(self):
        """What came in (additions, paid orders) and what was charged, as the ledger's
        organization accounts count them."""
        if not hasattr(self, "service"):
            return
        with self.service.db.read() as session:
            sums = dict(session.execute(
                select(Account.kind, func.coalesce(func.sum(Entry.amount), 0))
                .join(Entry, Entry.account_id == Account.id)
                .where(Account.kind.in_(("purchases", "usage")))
                .group_by(Account.kind)).all())
        assert (-sums.get("purchases", 0), sums.get("usage", 0)) == (self.added, self.charged)

    @invariant()
    def no_hold_is_resolved_twice(self):
        if not hasattr(self, "service"):
            return
        with self.service.db.read() as session:
            per_hold = Counter(session.scalars(select(HoldResolution.hold_id)))
        assert all(n == 1 for n in per_hold.values())
        assert set(per_hold) == self.resolved


Ledger.TestCase.settings = settings(max_examples=40, stateful_step_count=25, deadline=None,
                                    suppress_health_check=[HealthCheck.too_slow])
TestLedger = Ledger.TestCase
