"""credits: the communication-credit ledger under the organization's credit model —
community wallets, individual user credits or one shared pool. Holds on send, settled on
delivery, released on failure or expiry — each exactly once; transfers by seed 002's rules."""

from datetime import timedelta

from nameko.timer import timer
from sqlalchemy import select

from contracts import footer, pricing
from contracts.errors import (
    Forbidden,
    InsufficientCredits,
    InvalidRequest,
    NotFound,
)
from contracts.pricing import RateCard
from contracts.vocabulary import CHANNELS
from servicekit import idempotency
from servicekit.access import SYSTEM, Caller, new_id
from servicekit.consumers import on_event, on_events
from servicekit.db import utcnow
from servicekit.entrypoints import rpc
from servicekit.providers import Database, Rpc
from servicekit.service import TownhallService
from services.credits import credit_holders, holds, ledger, rules, store, wallet_access
from services.credits.ledger import owner_parts
from services.credits.models import (
    Account,
    Base,
    CreditHolder,
    CreditSettings,
    Hold,
    HoldResolution,
    SettingChange,
    WalletState,
)
from services.credits.purchasing import Purchasing

MAX_LOG_DAYS = 90
RATE_NAMES = ("text_chars", "unicode_text_chars", "voice_seconds")
EXPIRY_SWEEP_SECONDS = 60


class CreditsService(Purchasing, TownhallService):
    name = "credits"
    db = Database(Base)
    directory = Rpc("directory")

    # --- community wallets (the skeleton's calls) -------------------------------------

    @rpc
    def open_wallet(self, identity, organization_id, community_id):
        caller = Caller.of(identity)
        caller.check_owner(organization_id, "organization", organization_id)
        with self.db.unit_of_work() as uow:
            store.accounts(uow.session, organization_id, [ledger.owner("community",
                                                                       community_id)])
        return self.get_wallet(SYSTEM, community_id)

    @rpc
    def grant(self, identity, organization_id, community_id, amount, reason, idempotency_key):
        """Add credits to a community wallet (seed, support)."""
        caller = Caller.of(identity)
        caller.check_owner(organization_id, "organization", organization_id)
        caller.require("manage_credits", community_id)
        self._add(caller, organization_id, ledger.owner("community", community_id), amount,
                  reason, idempotency_key, community_id=community_id)
        return self.get_wallet(SYSTEM, community_id)

    @rpc
    def add_credits(self, identity, wallet, amount, reason, idempotency_key):
        """Credits from outside the ledger into any wallet the organization's model uses:
        support grants and corrections (master users). Purchases come through orders."""
        caller = Caller.of(identity)
        wallet_access.check_owner_key(wallet, "wallet")
        wallet_access.check_exists(self.db, self.directory, identity, caller, wallet)
        wallet_access.require_master(identity)
        org = caller.organization_id
        with self.db.read() as session:
            model = store.settings(session, org).model
        if owner_parts(wallet)[0] not in rules.wallets_in_use(model):
            raise InvalidRequest(f"this organization uses {model} credits; {wallet} is not "
                                 "one of its wallets", "wallet")
        return self._add(caller, org, wallet, amount, reason, idempotency_key)

    def _add(self, caller, organization_id, wallet, amount, reason, idempotency_key,
             community_id=None):
        """Credits into a wallet; the caller's key answers its first addition again."""
        _check_amount(amount)

        def work(uow):
            session = uow.session
            before = store.balances(session, organization_id, [wallet])
            ids = store.accounts(session, organization_id, [wallet])
            store.post(session, organization_id, ids, "grant", ledger.purchase(wallet, amount),
                       actor=caller.actor_id, reason=reason)
            after = store.balances(session, organization_id, [wallet])
            uow.emit("credits_granted", {
                "community_id": community_id or "", "amount": amount, "reason": reason,
                "balance": after[wallet]["balance"], "wallet": wallet},
                organization_id=organization_id)
            store.announce_crossings(uow, organization_id, before, after)
            return credit_holders.wallet_view(wallet, after[wallet],
                                              credit_holders.holder(session, wallet))

        return idempotency.once(self.db, idempotency.caller_scope(caller, organization_id),
                                idempotency_key, {"add": [wallet, amount, reason]}, work)

    @rpc
    def get_wallet(self, identity, community_id):
        caller = Caller.of(identity)
        wallet = ledger.owner("community", community_id)
        with self.db.read() as session:
            organization_id = session.scalars(select(Account.organization_id).where(
                Account.owner == wallet)).first()
            if organization_id:
                caller.check_owner(organization_id, "community", community_id)
            caller.require_any(wallet_access.WALLET_READERS, community_id)
            found = store.balances(session, organization_id or caller.organization_id,
                                   [wallet])[wallet]
        return {"community_id": community_id, **found}

    # --- holds ------------------------------------------------------------------------

    @rpc
    def reserve(self, identity, community_id, communication_id, items, idempotency_key):
        """One hold per delivery, in one transaction for the whole batch, on the wallet the
        organization's credit model makes pay. items: [{delivery_id, amount}].
        `idempotency_key` is the ledger key messaging builds, `reserve:<communication id>`
        (no client key is ever written to the ledger, so none can stand in for it): a replay
        for that communication answers the first holds and changes nothing; a reservation of
        another communication under it is refused."""
        caller = Caller.of(identity)
        caller.require("send_communications", community_id)
        if any(not isinstance(i.get("amount"), int) or i["amount"] <= 0 for i in items):
            raise InvalidRequest("every amount must be a whole number of credits above 0",
                                 "items")
        org = caller.organization_id
        with self.db.unit_of_work() as uow:
            session = uow.session
            existing = store.transaction_by_key(session, org, idempotency_key)
            if existing is not None:
                return holds.replayed_reservation(session, existing, community_id,
                                             communication_id)
            config = store.settings(session, org)
            try:
                payer = rules.payer(config.model, community_id, wallet_access.actor_of(caller))
            except rules.Refusal as refusal:
                raise InsufficientCredits(refusal.message, refusal.field) from None
            total = sum(i["amount"] for i in items)
            ids = store.accounts(session, org, [payer])
            store.lock_wallet(session, ids[(payer, "wallet")])
            before = store.balances(session, org, [payer])
            holder = credit_holders.holder(session, payer)
            try:
                rules.check_spend(config.model, payer, before[payer]["available"], total,
                                  floor=config.floor, holder=holder)
            except rules.Refusal as refusal:
                raise InsufficientCredits(refusal.message, refusal.field) from None
            txn = store.post(session, org, ids, "reserve", ledger.reserve(payer, total),
                             actor=caller.actor_id, reason=f"send {communication_id}",
                             ledger_key=idempotency_key,
                             communication_id=communication_id)
            expires = utcnow() + timedelta(seconds=self._hold_ttl())
            made = [Hold(id=new_id("hld"), organization_id=org, community_id=community_id,
                          payer=payer, transaction_id=txn.id, communication_id=communication_id,
                          delivery_id=i["delivery_id"], amount=i["amount"], expires_at=expires)
                     for i in items]
            session.add_all(made)
            session.flush()
            after = store.balances(session, org, [payer])
            answer = holds.reserved(made)
            uow.emit("credits_reserved", {
                "community_id": community_id, "communication_id": communication_id,
                "total": total, "balance": after[payer]["balance"], "wallet": payer,
                "holds": answer["holds"]}, organization_id=org)
            store.announce_crossings(uow, org, before, after)
        return answer

    @rpc
    def get_holds(self, identity, communication_id):
        """Credits held, charged and released for one communication."""
        with self.db.read() as session:
            return holds.summary(session, Caller.of(identity), communication_id,
                                 wallet_access.WALLET_READERS)

    @on_events("messaging", "deliveries_updated")
    def resolve_holds(self, events, uow):
        """Settle or release the holds of deliveries that ended (holds.resolve_ended); the
        events that queued up together in one transaction."""
        holds.resolve_ended(uow, [i for event in events for i in event.data["items"]])

    @timer(interval=EXPIRY_SWEEP_SECONDS)
    def expire_holds(self):
        """Release holds left unresolved past their time (a delivery that never ended)."""
        holds.expire_due(self.db, utcnow())

    # --- wallets, transfers, settings ---------------------------------------------------

    @rpc
    def wallet(self, identity, owner):
        """Any wallet the caller may see: its balance, held and available credits."""
        caller = Caller.of(identity)
        wallet_access.check_owner_key(owner, "wallet")
        wallet_access.check_exists(self.db, self.directory, identity, caller, owner)
        with self.db.read() as session:
            model = store.settings(session, caller.organization_id).model
            wallet_access.check_may_see(self.directory, identity, caller, model, owner)
            found = store.balances(session, caller.organization_id, [owner])[owner]
            frozen = credit_holders.holder(session, owner)
        return credit_holders.wallet_view(owner, found, frozen)

    @rpc
    def payer_wallet(self, identity, community_id):
        """The wallet that pays when this caller sends to this community (None when nothing
        may pay, e.g. an API key under individual user credits)."""
        caller = Caller.of(identity)
        caller.require("send_communications", community_id)
        with self.db.read() as session:
            model = store.settings(session, caller.organization_id).model
            try:
                payer = rules.payer(model, community_id, wallet_access.actor_of(caller))
            except rules.Refusal:
                return None
            found = store.balances(session, caller.organization_id, [payer])[payer]
            return credit_holders.wallet_view(payer, found, credit_holders.holder(session, payer))

    @rpc
    def list_wallets(self, identity):
        """The wallets the caller may see (seed 002: master users everything, office credit
        managers the users of their offices, others themselves and their team)."""
        caller = Caller.of(identity)
        with self.db.read() as session:
            model = store.settings(session, caller.organization_id).model
            in_use = rules.wallets_in_use(model)
            owners = [o for o in store.wallet_owners(session, caller.organization_id)
                      if owner_parts(o)[0] in in_use]
            if model == "user" and caller.actor_type == "staff":
                owners = sorted(set(owners) | {ledger.owner("user", caller.actor_id)})
            visible = wallet_access.visible(self.directory, identity, caller, model, owners)
            found = store.balances(session, caller.organization_id, visible)
            holders = credit_holders.holders(session, visible)
        return {"model": model, "items": [credit_holders.wallet_view(o, found[o], holders.get(o))
                                          for o in visible]}

    @rpc
    def transfer(self, identity, source, target, amount, reason, idempotency_key=None):
        """Move credits between wallets under seed 002's rules; the same key answers the
        first transfer again and moves nothing."""
        caller = Caller.of(identity)
        _check_amount(amount)
        org = caller.organization_id
        for side, key in (("source", source), ("target", target)):
            wallet_access.check_owner_key(key, side)
        if not (reason or "").strip():
            raise InvalidRequest("say why credits move (it is kept in the log)", "reason")
        with self.db.read() as session:
            model = store.settings(session, org).model
        # another organization's: 404
        wallet_access.check_communities(self.db, self.directory, caller, [source, target])
        users = wallet_access.users_of(self.directory, identity, [source, target])
        actor = wallet_access.actor_with_team(self.directory, identity, caller)
        try:
            rules.check_transfer(model, actor, source, target, users)
        except rules.Refusal as refusal:
            raise Forbidden(refusal.message, refusal.field) from None

        def work(uow):
            session = uow.session
            ids = store.accounts(session, org, [source, target])
            store.lock_wallet(session, ids[(source, "wallet")])
            before = store.balances(session, org, [source, target])
            if before[source]["available"] < amount:
                raise InsufficientCredits(
                    f"{source} has {before[source]['available']} credits available; "
                    f"{amount} cannot be transferred", "amount")
            # the caller's key stays in idempotency_records (`once`), out of the ledger's keys
            txn = store.post(session, org, ids, "transfer",
                             ledger.transfer(source, target, amount), actor=caller.actor_id,
                             reason=reason)
            after = store.balances(session, org, [source, target])
            uow.emit("credits_transferred", {
                "source": source, "target": target, "amount": amount, "reason": reason,
                "actor": caller.actor_id, "source_balance": after[source]["balance"],
                "target_balance": after[target]["balance"]}, organization_id=org)
            store.announce_crossings(uow, org, before, after)
            return {"transaction_id": txn.id, "amount": amount, "reason": reason,
                    "source": credit_holders.wallet_view(source, after[source]),
                    "target": credit_holders.wallet_view(target, after[target]),
                    "at": txn.created_at.isoformat()}

        return idempotency.once(self.db, idempotency.caller_scope(caller), idempotency_key,
                                {"transfer": [source, target, amount, reason]}, work)

    @rpc
    def rate_card(self, identity):
        """The organization's rate card (DESIGN's defaults where it sets nothing)."""
        caller = Caller.of(identity)
        with self.db.read() as session:
            return _rates(store.settings(session, caller.organization_id))

    @rpc
    def quote(self, identity, body, channels, recipients, call_seconds=None,
              unsubscribe_footer=False, public_url=None):
        """What a send would cost, priced by the same function messaging holds with. With
        `unsubscribe_footer` (the gateway asked consent: the category is opt-out-enabled) each
        text and email is priced with a footer as long as the one each recipient will get,
        whose link starts with `public_url`."""
        caller = Caller.of(identity)
        if caller.is_resident:
            raise Forbidden("residents do not send communications", "actor_type")
        if not isinstance(recipients, int) or recipients < 0:
            raise InvalidRequest("must be a whole number of recipients, 0 or more",
                                 "recipients")
        unknown = sorted(set(channels) - set(CHANNELS))
        if unknown or not channels:
            raise InvalidRequest(f"must be one or more of {', '.join(CHANNELS)}", "channels")
        link = None
        if unsubscribe_footer:
            if not isinstance(public_url, str) or not public_url:
                raise InvalidRequest("an unsubscribe footer needs the public address its "
                                     "links start with", "public_url")
            link = footer.placeholder_unsubscribe_link(public_url)
        with self.db.read() as session:
            rates = RateCard(**_rates(store.settings(session, caller.organization_id)))
        return pricing.quote(body, channels, recipients, rates, call_seconds, link)

    @rpc
    def get_settings(self, identity):
        caller = Caller.of(identity)
        if caller.is_resident:
            raise Forbidden("residents do not see credit settings", "actor_type")
        with self.db.read() as session:
            row = store.settings(session, caller.organization_id)
        return {"organization_id": caller.organization_id, "model": row.model,
                "floor": row.floor, "hold_ttl_seconds": self._hold_ttl(),
                "rates": _rates(row)}

    @rpc
    def change_settings(self, identity, changes):
        """Switch the credit model (refused while it would strand credits) or set the
        community floor; master users only, every change logged."""
        caller = wallet_access.require_master(identity)
        org = caller.organization_id
        with self.db.unit_of_work() as uow:
            session = uow.session
            row = session.get(CreditSettings, org)
            if row is None:
                row = CreditSettings(organization_id=org, model="community")
                session.add(row)
            if "model" in changes and changes["model"] != row.model:
                owners = store.wallet_owners(session, org)
                pending = set(session.scalars(
                    select(Hold.payer).outerjoin(HoldResolution,
                                                 HoldResolution.hold_id == Hold.id)
                    .where(Hold.organization_id == org, HoldResolution.hold_id.is_(None))))
                found = store.balances(session, org, owners)
                try:
                    rules.check_switch(row.model, changes["model"],
                                       {o: v["balance"] for o, v in found.items()}, pending)
                except rules.Refusal as refusal:
                    raise InvalidRequest(refusal.message, refusal.field) from None
                _changed(session, org, caller, "model", row.model, changes["model"])
                row.model = changes["model"]
            if "floor" in changes and changes["floor"] != row.floor:
                floor = changes["floor"]
                if floor is not None and (not isinstance(floor, int) or floor > 0):
                    raise InvalidRequest("must be a whole number of credits at or below 0, or "
                                         "null for no floor", "floor")
                _changed(session, org, caller, "floor", row.floor, floor)
                row.floor = floor
            for name, value in (changes.get("rates") or {}).items():
                if name not in RATE_NAMES:
                    raise InvalidRequest(f"unknown rate {name!r}; rates are "
                                         f"{', '.join(RATE_NAMES)}", f"rates.{name}")
                if value is not None and (not isinstance(value, int) or value < 1):
                    raise InvalidRequest("must be a whole number above 0, or null for the "
                                         "default", f"rates.{name}")
                _changed(session, org, caller, f"rates.{name}", getattr(row, name), value)
                setattr(row, name, value)
            row.updated_at = utcnow()
            session.flush()
        return self.get_settings(identity)

    @rpc
    def set_low_threshold(self, identity, owner, threshold):
        caller = Caller.of(identity)
        wallet_access.check_owner_key(owner, "wallet")
        if threshold is not None and (not isinstance(threshold, int) or threshold < 0):
            raise InvalidRequest("must be a whole number of credits, 0 or more, or null",
                                 "threshold")
        wallet_access.check_exists(self.db, self.directory, identity, caller, owner)
        with self.db.unit_of_work() as uow:
            session = uow.session
            model = store.settings(session, caller.organization_id).model
            wallet_access.check_may_manage(caller, model, owner)
            state = session.get(WalletState, (caller.organization_id, owner))
            if state is None:
                state = WalletState(organization_id=caller.organization_id, owner=owner,
                                    state="ok")
                session.add(state)
            _changed(session, caller.organization_id, caller, f"low_threshold:{owner}",
                     state.low_threshold, threshold)
            state.low_threshold = threshold
            found = store.balances(session, caller.organization_id, [owner])
            session.flush()
            store.announce_crossings(uow, caller.organization_id, found, found)
        return {"wallet": owner, "low_threshold": threshold}

    @rpc
    def log(self, identity, wallet, days=30):
        """Every change to a wallet over the last `days` days, oldest first, with the
        balance after each, who made it, why, and the communication or order it served."""
        caller = Caller.of(identity)
        if not isinstance(days, int) or not 1 <= days <= MAX_LOG_DAYS:
            raise InvalidRequest(f"must be a whole number of days from 1 to {MAX_LOG_DAYS}",
                                 "days")
        since = utcnow() - timedelta(days=days)
        wallet_access.check_owner_key(wallet, "wallet")
        wallet_access.check_exists(self.db, self.directory, identity, caller, wallet)
        with self.db.read() as session:
            org = caller.organization_id
            wallet_access.check_may_see(self.directory, identity, caller,
                                        store.settings(session, org).model, wallet)
            rows, opening = store.history(session, org, wallet, since)
        balance, items = opening, []
        for row in rows:
            balance += row["available"] + row["held"]
            items.append({**row, "balance": balance})
        return {"wallet": wallet, "since": since.isoformat(), "days": days,
                "opening_balance": opening, "closing_balance": balance, "items": items}

    # --- who is who, from directory's events and answers --------------------------------

    @on_event("directory", "community_created")
    def open_wallet_for_new_community(self, event, uow):
        store.accounts(uow.session, event.data["organization_id"],
                       [ledger.owner("community", event.data["community_id"])])

    @on_event("directory", "permission_granted")
    def note_permission_granted(self, event, uow):
        credit_holders.note_holder(uow.session, event)

    @on_event("directory", "permission_revoked")
    def note_permission_revoked(self, event, uow):
        """A user who loses send_sms keeps their credits, frozen until transferred away."""
        credit_holders.note_holder(uow.session, event)

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

    # --- helpers that need the service ----------------------------------------------------

    def _hold_ttl(self):
        return int((self.config.get("credits") or {}).get("hold_ttl_seconds", 86400))




def _rates(row):
    return {name: getattr(row, name, None) or getattr(pricing.DEFAULT_RATES, name)
            for name in RATE_NAMES}







def _changed(session, org, caller, setting, old, new):
    session.add(SettingChange(organization_id=org, actor=caller.actor_id, setting=setting,
                              old=None if old is None else str(old),
                              new=None if new is None else str(new)))


def _check_amount(amount):
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise InvalidRequest("must be a whole number of credits above 0", "amount")



