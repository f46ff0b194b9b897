"""A hypothesis state machine drives the credits service (worker_factory, in-memory
database) through random additions, holds, settlements (also for other amounts), releases,
expiries, transfers, permission removals and replayed idempotency keys, under each credit
model — and checks after every step that the ledger agrees with a plain model of it."""

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
from services.credits.models import Base, Entry, Hold, HoldResolution
from services.credits.service import CreditsService

ORG = "org_sm"
COMMUNITIES = ("c1", "c2")
USERS = ("ann", "bob")
ALL = {"send_communications": "*", "send_sms": "*"}
MASTER = {"actor_type": "staff", "actor_id": "mia", "organization_id": ORG,
          "scopes": dict(ALL, manage_credits="*")}


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


class Ledger(RuleBasedStateMachine):
    holds = Bundle("holds")

    @initialize(model=st.sampled_from(["community", "user", "pool"]),
                floor=st.sampled_from([None, 0, -5]))
    def start(self, model, floor):
        self.directory = FakeDirectory()
        self.service = worker_factory(CreditsService, db=memory_database(Base),
                                      config={"credits": {"hold_ttl_seconds": 3600}},
                                      directory=self.directory)
        self.model, self.floor = model, (floor if model == "community" else None)
        self.service.change_settings(MASTER, {"model": model, "floor": self.floor})
        for community in COMMUNITIES:   # as directory's community_created events do
            self.service.open_wallet(MASTER, ORG, community)
        self.wallets = {w: {"available": 0, "held": 0} for w in self.wallets_of(model)}
        self.keys = {}            # idempotency key -> amount it carried first
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

    @rule(data=st.data(), amount=st.integers(1, 30), key=st.sampled_from(["k1", "k2", None]))
    def add(self, data, amount, key):
        wallet = data.draw(st.sampled_from(sorted(self.wallets)))
        self.service.add_credits(MASTER, wallet, amount, "top-up", key)
        if key is None or key not in self.keys:
            if key:
                self.keys[key] = amount
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

    @rule(data=st.data(), amount=st.integers(1, 20), key=st.sampled_from(["t1", "t2", None]))
    def transfer(self, data, amount, key):
        source = data.draw(st.sampled_from(sorted(self.wallets)))
        target = data.draw(st.sampled_from(sorted(self.wallets)))
        target_user = target.split(":")[1] if target.startswith("user:") else None
        refused = (self.model == "pool" or source == target
                   or (target_user and not self.directory.send_sms[target_user]))
        request = (source, target, amount)
        first = self.keys.get(key) if key else None
        try:
            self.service.transfer(MASTER, source, target, amount, "move", key)
        except Forbidden:
            assert refused
            return
        except IdempotencyKeyReused:
            assert first is not None and first != request
            return
        except InsufficientCredits:
            assert not refused and first is None
            assert self.wallets[source]["available"] < amount
            return
        assert not refused
        if first is not None:
            assert first == request     # the first answer again, nothing moved
            return
        if key:
            self.keys[key] = request
        self.wallets[source]["available"] -= amount
        self.wallets[target]["available"] += amount

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
