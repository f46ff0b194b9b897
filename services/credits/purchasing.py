"""Buying credits (seeds 000 and 002): an order for one wallet, paid through a provider, its
credits applied once. Mixed into CreditsService.

`purchase` applies seed 002's rules (who may buy for which wallet), stores the order — status
`payment_unknown`, committed — before the provider is asked, charges outside any database
transaction, then writes the outcome in one transaction:

- succeeded: the order is `paid` and its credits are posted (ledger kind `purchase`, ledger
  key `order:<id>`: whatever retries, replays or reconciliations happen, an order credits its
  wallet once), with `credits_purchased`;
- failed (a declined card): `failed` with the provider's reason; nothing is applied. The answer
  is still the order — status `failed`, `failure_code`, `failure_message` — which the gateway
  shows as a 402 problem carrying the order; the order stays readable;
- pending (an invoice): `awaiting_payment` until a master user records the payment;
- unknown (the provider's answer was lost): `payment_unknown`; `reconcile_orders` asks the
  provider every minute and applies the credits once if it turns out paid.

An Idempotency-Key is remembered with the order in the transaction that stores it; the first
final answer then replaces that note. A replay answers that answer, or — while the outcome is
still unknown — asks the provider again with the same attempt, whose idempotency key makes
the provider answer the first charge instead of charging twice.
"""

import base64
import json
import logging
from dataclasses import asdict, replace
from datetime import timedelta
from decimal import Decimal

from nameko.extensions import DependencyProvider
from nameko.timer import timer
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from contracts.errors import Conflict, Forbidden, InvalidRequest, NotFound
from servicekit import idempotency
from servicekit.access import EVERYWHERE, Caller, new_id
from servicekit.db import insert_missing, utcnow
from servicekit.entrypoints import rpc
from servicekit.pagination import paginate
from services.credits import invoices, ledger, orders, payments, rules, store, wallet_access
from services.credits.ledger import owner_parts
from services.credits.models import CreditOrder, OrderCounter
from services.credits.payment_invoice import InvoicePaymentProvider
from services.credits.payments import FAILED, PENDING, SUCCEEDED, PaymentResult

log = logging.getLogger("townhall.credits.purchasing")

PAID, DECLINED, AWAITING, UNKNOWN = "paid", "failed", "awaiting_payment", "payment_unknown"
RECONCILE_SECONDS = 60
RECONCILE_BATCH = 100
POOL_LABELS = {"user": "System credits", "pool": "Organization pool"}
BUYER_FIELDS = ("name", "address", "email", "tax_number")
# an order is checked in full before it is given a number
UNNUMBERED = orders.order_number(2000, 1)
MAY_NOT_SEE = ("an order is seen by whoever placed it, master users and, for a community "
               "wallet, holders of manage_credits for that community")


class Providers:
    """The installation's card provider (None when payments.provider is invoice) and the
    invoice provider every installation has."""

    def __init__(self, card, invoice):
        self.card, self.invoice = card, invoice

    def for_method(self, payment_method):
        if payment_method is None:
            return self.invoice
        if self.card is None:
            raise InvalidRequest("this installation is paid by invoice only: leave "
                                 "payment_method out", "payment_method")
        return self.card

    def named(self, name):
        found = {p.name: p for p in (self.card, self.invoice) if p is not None}
        if name not in found:
            raise payments.PaymentConfigurationError(
                f"orders paid through {name!r} cannot be reconciled: payments.provider is "
                "configured otherwise")
        return found[name]


class PaymentProviders(DependencyProvider):
    def setup(self):
        config = self.container.config
        kind = (config.get("payments") or {}).get("provider") or "sandbox"
        card = None if kind == "invoice" else payments.provider_from_config(config)
        self.providers = Providers(card, InvoicePaymentProvider())

    def get_dependency(self, worker_ctx):
        return self.providers


class Purchasing:
    payments = PaymentProviders()

    @rpc
    def purchase(self, identity, wallet, quantity, buyer, payment_method=None,
                 idempotency_key=None):
        """Order `quantity` credits for `wallet` and pay for them. buyer: {name, address,
        email, tax_number}; payment_method: a card token (sandbox: pm_card_visa), or None /
        "invoice" to be invoiced. Answers the order (see the module's doc for its status)."""
        caller = Caller.of(identity)
        idempotency.check_key(idempotency_key)
        payment_method = None if payment_method == "invoice" else payment_method
        request = {"purchase": [wallet, quantity, buyer, payment_method]}
        remembered = None
        if idempotency_key:
            remembered = (idempotency.caller_scope(caller), idempotency_key,
                          idempotency.request_hash(request))
            previous = self._previous(remembered)
            if previous is not None:
                return self._resume(previous, caller, remembered)
        order = self._new_order(identity, caller, wallet, quantity, buyer, payment_method)
        provider = self.payments.for_method(payment_method)
        try:
            row = self._store(caller, order, provider, remembered)
        except IntegrityError:
            # the same key at the same moment: the other request stored its order first
            previous = self._previous(remembered) if remembered else None
            if previous is None:
                raise
            return self._resume(previous, caller, remembered)
        return self._pay(row, provider, caller.actor_id, remembered)

    @rpc
    def record_payment(self, identity, order_id, reference, amount=None):
        """An invoice paid (bank transfer, cheque): its credits are applied once; recording a
        payment of an order already paid answers the paid order. Master users only."""
        caller = Caller.of(identity)
        row = self._order_row(caller, order_id)
        if not _is_master(caller):
            raise Forbidden("only master users (manage_credits for the whole organization) "
                            "record payments", "permission")
        if row.status == PAID:
            return _view(row)
        if row.provider != InvoicePaymentProvider.name or row.status != AWAITING:
            raise Conflict(f"order {row.number} is paid by {row.provider} and is {row.status}: "
                           "a payment is recorded only for an invoice awaiting payment",
                           "order_id")
        try:
            result = self.payments.invoice.record_payment(_order(row), reference, amount)
        except payments.InvalidPayment as exc:
            raise InvalidRequest(exc.rule, exc.field) from None
        return self._settle(row.id, result, caller.actor_id)

    @rpc
    def get_order(self, identity, order_id):
        caller = Caller.of(identity)
        return _view(self._visible_order(caller, order_id))

    @rpc
    def list_orders(self, identity, cursor=None, limit=None):
        """The orders the caller may see, oldest first by number."""
        caller = Caller.of(identity)
        query = select(CreditOrder).where(CreditOrder.organization_id == caller.organization_id)
        if not _is_master(caller):
            managed = caller.scopes.get("manage_credits") or ()
            query = query.where(or_(CreditOrder.created_by == caller.actor_id,
                                    CreditOrder.wallet.in_([ledger.owner("community", c)
                                                            for c in managed])))
        with self.db.read() as session:
            rows, next_cursor = paginate(session, query, CreditOrder.number, cursor, limit)
        return {"items": [_view(r) for r in rows], "next_cursor": next_cursor}

    @rpc
    def invoice_pdf(self, identity, order_id):
        """The tax invoice / receipt: "PAID" once paid, "Payment due" while invoiced."""
        caller = Caller.of(identity)
        row = self._visible_order(caller, order_id)
        reference = row.provider_reference or row.number
        if row.status == PAID:
            payment, issued_at = PaymentResult(SUCCEEDED, row.provider, reference), row.paid_at
        elif row.status == AWAITING:
            payment, issued_at = PaymentResult(PENDING, row.provider, reference), row.created_at
        else:
            raise Conflict(f"order {row.number} is {row.status}: an invoice is issued for a "
                           "paid or invoiced order only", "order_id")
        pdf = invoices.render_invoice_pdf(_order(row), payment, issued_at)
        return {"filename": f"{row.number}.pdf",
                "content_base64": base64.b64encode(pdf).decode()}

    @timer(interval=RECONCILE_SECONDS)
    def reconcile_orders(self):
        """Ask the provider how payments of unknown outcome ended; apply those that were paid.
        Any number of instances may run it: the order's status (read under a row lock) and
        the ledger key order:<id> let the credits be applied once."""
        grace = int((self.config.get("credits") or {}).get("order_reconcile_after_seconds", 30))
        due_before = utcnow() - timedelta(seconds=grace)
        with self.db.read() as session:
            due = session.scalars(
                select(CreditOrder).where(CreditOrder.status == UNKNOWN,
                                          CreditOrder.created_at <= due_before)
                .order_by(CreditOrder.created_at).limit(RECONCILE_BATCH)).all()
        for row in due:
            try:
                provider = self.payments.named(row.provider)
                result = provider.reconcile(_order(row), row.attempts, row.provider_reference)
            except (payments.PaymentError, payments.PaymentConfigurationError) as exc:
                log.warning("order %s not reconciled: %s", row.number, exc)
                continue
            if result.status in (SUCCEEDED, FAILED):
                self._settle(row.id, result, "credits")

    # --- steps -----------------------------------------------------------------------------

    def _new_order(self, identity, caller, wallet, quantity, buyer, payment_method):
        """The order as asked, checked against seed 002's rules and every field's rule."""
        kind, target_id = _target(wallet)
        with self.db.read() as session:
            model = store.settings(session, caller.organization_id).model
        # another organization's wallet does not exist for the caller: 404 before any rule
        wallet_access.check_communities(self.db, self.directory, caller, [wallet])
        # directory: 404 for another organization's user
        users = wallet_access.users_of(self.directory, identity, [wallet])
        actor = wallet_access.actor_with_team(self.directory, identity, caller)
        try:
            rules.check_purchase(model, actor, wallet, users)
        except rules.Refusal as refusal:
            raise Forbidden(refusal.message, refusal.field) from None
        label = self._label(identity, caller, model, kind, target_id)
        try:
            terms = orders.terms_from_config(self.config)
        except orders.InvalidOrder as exc:
            raise payments.PaymentConfigurationError(str(exc)) from None
        try:
            return orders.new_order(UNNUMBERED, caller.organization_id, _party(buyer), kind,
                                    target_id, label, quantity, terms, payment_method)
        except orders.InvalidOrder as exc:
            raise InvalidRequest(exc.rule, exc.field) from None

    def _label(self, identity, caller, model, kind, target_id):
        """What the invoice calls the wallet; a community or user of another organization
        is not found by directory."""
        if kind == "pool":
            return POOL_LABELS[model]
        if kind == "community":
            return self.directory.get_community(identity, target_id)["name"]
        # staff_facts has placed the user in the caller's organization; reading a name
        # needs no more than that
        within = {"actor_type": "system", "actor_id": "credits",
                  "organization_id": caller.organization_id}
        return self.directory.get_staff(within, target_id)["name"]

    def _store(self, caller, order, provider, remembered):
        """The order, numbered, committed before any provider is asked."""
        with self.db.unit_of_work() as uow:
            session = uow.session
            order = replace(order, number=_next_number(session, utcnow().year))
            row = CreditOrder(
                id=new_id("ord"), number=order.number, organization_id=order.organization_id,
                wallet=_wallet_of(order), target_label=order.target_label,
                quantity=order.quantity, unit_price=order.unit_price, currency=order.currency,
                tax_rate=str(order.tax_rate_percent), subtotal=orders.subtotal(order),
                tax=orders.tax(order), total=orders.total(order), buyer=asdict(order.buyer),
                seller=asdict(order.seller), status=UNKNOWN, provider=provider.name,
                payment_method=order.payment_method, attempts=1, created_by=caller.actor_id,
                created_at=utcnow())
            session.add(row)
            session.flush()
            if remembered:
                scope, key, digest = remembered
                idempotency.remember(session, self.db.metadata, scope, key, digest,
                                     {"pending_order": row.id})
        return row

    def _pay(self, row, provider, actor, remembered=None):
        try:
            result = provider.charge(_order(row), row.attempts)
        except payments.PaymentRequestRejected as exc:
            # refused before anything was charged (an unknown card token, a bad request)
            result = PaymentResult(FAILED, provider.name, None, exc.code, str(exc))
        except payments.PaymentError as exc:
            log.error("order %s: payment not understood: %s", row.number, exc)
            result = PaymentResult(payments.UNKNOWN, provider.name, None, "payment_error",
                                   str(exc))
        return self._settle(row.id, result, actor, remembered)

    def _settle(self, order_id, result, actor, remembered=None):
        """One transaction: the order's new status, its credits when paid, and the answer
        an Idempotency-Key replays (once the outcome is known)."""
        with self.db.unit_of_work() as uow:
            session = uow.session
            row = session.scalars(select(CreditOrder).where(CreditOrder.id == order_id)
                                  .with_for_update()).one()
            if row.status in (UNKNOWN, AWAITING):   # paid and failed orders are final
                _record(uow, row, result, actor)
            answer = _view(row)
            if remembered and row.status != UNKNOWN:
                _remember_answer(session, self.db.metadata, remembered, answer)
        return answer

    def _previous(self, remembered):
        scope, key, digest = remembered
        with self.db.read() as session:
            return idempotency.replay(session, self.db.metadata, scope, key, digest)

    def _resume(self, previous, caller, remembered):
        """A replay: the first answer, or — its outcome still unknown — the provider asked
        again under the same attempt (never a second charge)."""
        if "pending_order" not in previous:
            return previous
        row = self._order_row(caller, previous["pending_order"])
        if row.status != UNKNOWN:
            answer = _view(row)
            with self.db.unit_of_work() as uow:
                _remember_answer(uow.session, self.db.metadata, remembered, answer)
            return answer
        return self._pay(row, self.payments.named(row.provider), caller.actor_id, remembered)

    def _order_row(self, caller, order_id):
        with self.db.read() as session:
            row = session.get(CreditOrder, order_id) if isinstance(order_id, str) else None
        if row is None or (not caller.is_system
                           and row.organization_id != caller.organization_id):
            raise NotFound(f"order {order_id} does not exist", "order_id")
        return row

    def _visible_order(self, caller, order_id):
        row = self._order_row(caller, order_id)
        kind, owner_id = owner_parts(row.wallet)
        if not (_is_master(caller) or row.created_by == caller.actor_id
                or (kind == "community" and caller.may("manage_credits", owner_id))):
            raise Forbidden(MAY_NOT_SEE, "order_id")
        return row


def _record(uow, row, result, actor):
    row.provider_reference = result.reference or row.provider_reference
    if result.status == SUCCEEDED:
        _apply(uow, row, actor)
        return
    if result.status == FAILED:
        row.status = DECLINED
    elif result.status == PENDING and row.provider == InvoicePaymentProvider.name:
        row.status = AWAITING
    else:   # unknown, or a card payment still processing: reconciled later
        row.status = UNKNOWN
    row.failure_code = (result.failure_code or "")[:60] or None
    row.failure_message = (result.failure_message or "")[:500] or None
    uow.session.flush()


def _apply(uow, row, actor):
    """The order paid and its credits posted, once per order whoever gets here first."""
    session, org, wallet = uow.session, row.organization_id, row.wallet
    key = store.order_key(row.id)
    txn = store.transaction_by_key(session, org, key)
    if txn is None:
        ids = store.accounts(session, org, [wallet])
        before = store.balances(session, org, [wallet])
        txn = store.post(session, org, ids, "purchase", ledger.purchase(wallet, row.quantity),
                         actor=actor, reason=f"order {row.number}", ledger_key=key,
                         order_id=row.id)
        after = store.balances(session, org, [wallet])
        uow.emit("credits_purchased", {
            "order_id": row.id, "number": row.number, "wallet": wallet,
            "quantity": row.quantity, "total": row.total, "currency": row.currency,
            "balance": after[wallet]["balance"]}, organization_id=org)
        store.announce_crossings(uow, org, before, after)
    row.status, row.paid_at, row.transaction_id = PAID, utcnow(), txn.id
    row.failure_code = row.failure_message = None
    session.flush()


def _next_number(session, year):
    """The year's next order number. The UPDATE locks the year's row until the order's
    transaction ends (PostgreSQL; SQLite has one writer), so no two orders share one."""
    table = OrderCounter.__table__
    insert_missing(session, table, [{"year": year, "last": 0}])
    session.execute(update(table).where(table.c.year == year).values(last=table.c.last + 1))
    last = session.scalar(select(table.c.last).where(table.c.year == year))
    return orders.order_number(year, last)


def _remember_answer(session, metadata, remembered, answer):
    scope, key, _digest = remembered
    table = metadata.tables["idempotency_records"]
    session.execute(update(table).where(table.c.scope == scope, table.c.key == key)
                    .values(response=json.dumps(answer)))


def _target(wallet):
    kind, owner_id = owner_parts(wallet if isinstance(wallet, str) else "")
    if kind not in ledger.OWNER_TYPES or (kind != "pool" and not owner_id):
        raise InvalidRequest("must be a wallet: community:<id>, user:<id> or pool", "wallet")
    return kind, owner_id


def _wallet_of(order):
    return ledger.owner(order.target_kind, order.target_id)


def _party(buyer):
    if not isinstance(buyer, dict):
        raise InvalidRequest("must be an object with name, address, email and, optionally, "
                             "tax_number", "buyer")
    unknown = sorted(set(buyer) - set(BUYER_FIELDS))
    if unknown:
        raise InvalidRequest("is not a field of a buyer (name, address, email, tax_number)",
                             f"buyer.{unknown[0]}")
    return orders.Party(name=buyer.get("name"), address=buyer.get("address"),
                        email=buyer.get("email"), tax_number=buyer.get("tax_number") or None)


def _order(row):
    """The domain order a row records (what the invoice and the provider see)."""
    kind, target_id = owner_parts(row.wallet)
    return orders.Order(
        number=row.number, organization_id=row.organization_id,
        buyer=orders.Party(**row.buyer), seller=orders.Party(**row.seller),
        target_kind=kind, target_id=target_id, target_label=row.target_label,
        quantity=row.quantity, unit_price=row.unit_price, currency=row.currency,
        tax_rate_percent=Decimal(row.tax_rate), payment_method=row.payment_method)


def _view(row):
    def at(value):
        return value.isoformat() if value else None

    return {"id": row.id, "number": row.number, "organization_id": row.organization_id,
            "wallet": row.wallet, "target_label": row.target_label, "quantity": row.quantity,
            "unit_price": row.unit_price, "currency": row.currency, "tax_rate": row.tax_rate,
            "subtotal": row.subtotal, "tax": row.tax, "total": row.total,
            "buyer": dict(row.buyer), "seller": dict(row.seller), "status": row.status,
            "provider": row.provider, "payment_method": row.payment_method,
            "provider_reference": row.provider_reference, "failure_code": row.failure_code,
            "failure_message": row.failure_message, "attempts": row.attempts,
            "created_by": row.created_by, "created_at": at(row.created_at),
            "paid_at": at(row.paid_at), "transaction_id": row.transaction_id}


def _is_master(caller):
    return caller.is_system or caller.scopes.get("manage_credits") == EVERYWHERE
