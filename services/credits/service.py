"""credits: the community wallets' ledger. Holds on send, settled on delivery,
released on failure — each exactly once."""

from datetime import datetime

from sqlalchemy import func, select

from contracts.errors import InvalidRequest, NotFound
from contracts.vocabulary import TERMINAL_STATUSES
from servicekit.access import SYSTEM, Caller, new_id
from servicekit.consumers import on_event
from servicekit.db import insert_missing, utcnow
from servicekit.entrypoints import rpc
from servicekit.providers import Database
from servicekit.service import TownhallService
from services.credits import ledger
from services.credits.models import (
    Account,
    Base,
    CreditHolder,
    Entry,
    Hold,
    HoldResolution,
    LedgerTransaction,
)

COMMUNITY_ACCOUNTS = ("wallet", "holds")
ORGANIZATION_ACCOUNTS = ("purchases", "usage")
# who may read a community's wallet: whoever sends from it, manages or reports on it
WALLET_READERS = ("send_communications", "manage_credits", "view_reports")


class CreditsService(TownhallService):
    name = "credits"
    db = Database(Base)

    @rpc
    def open_wallet(self, identity, organization_id, community_id):
        caller = Caller.of(identity)
        caller.check_owner(organization_id, "organization", organization_id)
        with self.db.unit_of_work() as uow:
            _accounts(uow.session, organization_id, community_id)
        return self.get_wallet(SYSTEM, community_id)

    @rpc
    def grant(self, identity, organization_id, community_id, amount, reason, idempotency_key):
        """Add credits to a community wallet (seed, support, later purchases)."""
        caller = Caller.of(identity)
        caller.check_owner(organization_id, "organization", organization_id)
        caller.require("manage_credits", community_id)
        if not isinstance(amount, int) or amount <= 0:
            raise InvalidRequest("must be a whole number of credits above 0", "amount")
        with self.db.unit_of_work() as uow:
            session = uow.session
            if _transaction_by_key(session, organization_id, idempotency_key) is None:
                accounts = _accounts(session, organization_id, community_id)
                _post(session, organization_id, accounts, "grant", ledger.grant(amount),
                      actor=caller.actor_id, reason=reason,
                      idempotency_key=_scoped(organization_id, idempotency_key))
                uow.emit("credits_granted", {
                    "community_id": community_id, "amount": amount, "reason": reason,
                    "balance": _balance(session, accounts)["balance"]},
                    organization_id=organization_id)
        return self.get_wallet(SYSTEM, community_id)

    @rpc
    def reserve(self, identity, community_id, communication_id, items, idempotency_key):
        """One hold per delivery, in one transaction for the whole batch.

        items: [{delivery_id, amount}]. Community wallets are not blocked below zero.
        A replay with the same key answers the first holds and changes nothing.
        """
        caller = Caller.of(identity)
        caller.require("send_communications", community_id)
        if any(not isinstance(i.get("amount"), int) or i["amount"] <= 0 for i in items):
            raise InvalidRequest("every amount must be a whole number of credits above 0",
                                 "items")
        org = caller.organization_id
        with self.db.unit_of_work() as uow:
            session = uow.session
            existing = _transaction_by_key(session, org, idempotency_key)
            if existing is not None:
                holds = session.scalars(select(Hold).where(
                    Hold.transaction_id == existing.id)).all()
                return _reserved(holds)
            accounts = _accounts(session, org, community_id)
            total = sum(i["amount"] for i in items)
            txn = _post(session, org, accounts, "reserve", ledger.reserve(total),
                        actor=caller.actor_id, reason=f"send {communication_id}",
                        idempotency_key=_scoped(org, idempotency_key),
                        communication_id=communication_id)
            holds = [Hold(id=new_id("hld"), organization_id=org, community_id=community_id,
                          transaction_id=txn.id, communication_id=communication_id,
                          delivery_id=i["delivery_id"], amount=i["amount"]) for i in items]
            session.add_all(holds)
            session.flush()
            uow.emit("credits_reserved", {
                "community_id": community_id, "communication_id": communication_id,
                "total": total, "balance": _balance(session, accounts)["balance"],
                "holds": [{"hold_id": h.id, "delivery_id": h.delivery_id, "amount": h.amount}
                          for h in holds]}, organization_id=org)
        return _reserved(holds)

    @rpc
    def get_wallet(self, identity, community_id):
        caller = Caller.of(identity)
        with self.db.read() as session:
            accounts = session.scalars(select(Account).where(
                Account.community_id == community_id, Account.kind.in_(COMMUNITY_ACCOUNTS))).all()
            if accounts:
                caller.check_owner(accounts[0].organization_id, "community", community_id)
            caller.require_any(WALLET_READERS, community_id)
            balances = _balance(session, {a.kind: a.id for a in accounts})
        return {"community_id": community_id, **balances}

    @rpc
    def get_holds(self, identity, communication_id):
        """Credits held, charged and released for one communication."""
        caller = Caller.of(identity)
        with self.db.read() as session:
            rows = session.execute(
                select(Hold.organization_id, Hold.community_id, Hold.amount,
                       HoldResolution.outcome,
                       HoldResolution.charged)
                .outerjoin(HoldResolution, HoldResolution.hold_id == Hold.id)
                .where(Hold.communication_id == communication_id)).all()
        summary = {"held": 0, "charged": 0, "released": 0}
        for row in rows:
            caller.check_owner(row.organization_id, "communication", communication_id)
            caller.require_any(WALLET_READERS, row.community_id)
            if row.outcome is None:
                summary["held"] += row.amount
            elif row.outcome == "settled":
                summary["charged"] += row.charged
            else:
                summary["released"] += row.amount
        return summary

    @on_event("directory", "community_created")
    def open_wallet_for_new_community(self, event, uow):
        _accounts(uow.session, event.data["organization_id"], event.data["community_id"])

    @on_event("directory", "permission_granted")
    def note_permission_granted(self, event, uow):
        _note_holder(uow.session, event)

    @on_event("directory", "permission_revoked")
    def note_permission_revoked(self, event, uow):
        """A user who loses send_sms keeps their credits, frozen until transferred away."""
        _note_holder(uow.session, event)

    @rpc
    def get_holder(self, identity, staff_user_id):
        """Whether a staff user's credits are frozen (they no longer hold send_sms)."""
        caller = Caller.of(identity)
        with self.db.read() as session:
            row = session.get(CreditHolder, staff_user_id)
        if row is None or (not caller.is_system
                           and row.organization_id != caller.organization_id):
            raise NotFound(f"staff user {staff_user_id} holds no credits", "staff_user_id")
        if caller.actor_id != staff_user_id:
            caller.require("manage_credits")
        return {"staff_user_id": row.staff_user_id, "holds_send_sms": row.holds_send_sms,
                "frozen": not row.holds_send_sms, "as_of": row.as_of.isoformat()}

    @on_event("messaging", "deliveries_updated")
    def resolve_holds(self, event, uow):
        """Settle holds of delivered deliveries, release the others that ended; once each."""
        finished = {i["hold_id"]: i for i in event.data["items"]
                    if i.get("hold_id") and i["status"] in TERMINAL_STATUSES}
        if not finished:
            return
        session = uow.session
        resolved = set(session.scalars(select(HoldResolution.hold_id).where(
            HoldResolution.hold_id.in_(finished))))
        holds = session.scalars(select(Hold).where(Hold.id.in_(set(finished) - resolved))).all()
        if not holds:
            return
        org = holds[0].organization_id
        accounts = _accounts(session, org, holds[0].community_id)
        settled, released = [], []
        for hold in holds:
            delivered = finished[hold.id]["status"] == "delivered"
            (settled if delivered else released).append(hold)
        for outcome, group, postings in (
                ("settled", settled, lambda h: ledger.settle(h.amount, h.amount)),
                ("released", released, lambda h: ledger.release(h.amount))):
            if not group:
                continue
            combined = [p for h in group for p in postings(h)]
            txn = _post(session, org, accounts, "settle" if outcome == "settled" else "release",
                        combined, actor="messaging", reason=f"deliveries {outcome}",
                        communication_id=group[0].communication_id)
            for hold in group:
                session.add(HoldResolution(hold_id=hold.id, transaction_id=txn.id,
                                           outcome=outcome,
                                           charged=hold.amount if outcome == "settled" else 0))
            session.flush()
            uow.emit(f"credits_{outcome}", {
                "community_id": holds[0].community_id,
                "balance": _balance(session, accounts)["balance"],
                "items": [{"hold_id": h.id, "delivery_id": h.delivery_id,
                           "amount": h.amount if outcome == "settled" else 0} for h in group]},
                organization_id=org)


def _note_holder(session, event):
    """Apply the newest word on a user's send_sms; an older event arriving late changes
    nothing. Events of directories before holds_send_sms existed are skipped."""
    holds = event.data.get("holds_send_sms")
    if holds is None:
        return
    at = datetime.fromisoformat(event.occurred_at) if event.occurred_at else utcnow()
    row = session.get(CreditHolder, event.data["staff_user_id"])
    if row is None:
        session.add(CreditHolder(staff_user_id=event.data["staff_user_id"],
                                 organization_id=event.organization_id,
                                 holds_send_sms=holds, as_of=at))
    elif at >= row.as_of:
        row.holds_send_sms, row.as_of = holds, at


def _scoped(organization_id, key):
    return f"{organization_id}:{key}" if key else None


def _transaction_by_key(session, organization_id, key):
    if not key:
        return None
    return session.scalars(select(LedgerTransaction).where(
        LedgerTransaction.idempotency_key == _scoped(organization_id, key))).first()


def _accounts(session, organization_id, community_id):
    """Account ids by kind for a community, opening whatever is missing (concurrent openers
    of the same wallet both succeed and see the same accounts)."""
    wanted = [(k, community_id) for k in COMMUNITY_ACCOUNTS] + \
             [(k, "") for k in ORGANIZATION_ACCOUNTS]

    def existing():
        rows = session.execute(select(Account.kind, Account.community_id, Account.id).where(
            Account.organization_id == organization_id,
            Account.community_id.in_([community_id, ""]))).all()
        return {(kind, owner): account_id for kind, owner, account_id in rows}

    have = existing()
    missing = [{"id": new_id("acc"), "organization_id": organization_id, "kind": kind,
                "community_id": owner, "created_at": utcnow()}
               for kind, owner in wanted if (kind, owner) not in have]
    if missing:
        insert_missing(session, Account.__table__, missing)
        have = existing()
    return {kind: have[(kind, owner)] for kind, owner in wanted}


def _post(session, organization_id, accounts, kind, postings, *, actor, reason,
          idempotency_key=None, communication_id=None):
    txn = LedgerTransaction(id=new_id("txn"), organization_id=organization_id, kind=kind,
                            idempotency_key=idempotency_key, actor=actor, reason=reason,
                            communication_id=communication_id)
    session.add(txn)
    session.flush()
    session.add_all([Entry(transaction_id=txn.id, account_id=accounts[p.account],
                           amount=p.amount) for p in postings])
    session.flush()
    return txn


def _balance(session, accounts):
    sums = dict(session.execute(
        select(Entry.account_id, func.coalesce(func.sum(Entry.amount), 0))
        .where(Entry.account_id.in_([accounts.get("wallet", ""), accounts.get("holds", "")]))
        .group_by(Entry.account_id)).all())
    available = int(sums.get(accounts.get("wallet"), 0))
    held = int(sums.get(accounts.get("holds"), 0))
    return {"balance": available + held, "held": held, "available": available}


def _reserved(holds):
    return {"total": sum(h.amount for h in holds),
            "holds": [{"hold_id": h.id, "delivery_id": h.delivery_id, "amount": h.amount}
                      for h in holds]}
