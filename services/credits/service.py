"""credits: the communication-credit ledger under the organization's credit model —
community wallets, individual user credits or one shared pool. Holds on send, settled on
delivery, released on failure or expiry — each exactly once; transfers by seed 002's rules."""

from datetime import datetime, timedelta

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
from servicekit.access import EVERYWHERE, SYSTEM, Caller, new_id, system_of
from servicekit.consumers import on_event, on_events
from servicekit.db import utcnow
from servicekit.entrypoints import rpc
from servicekit.providers import Database, Rpc
from servicekit.service import TownhallService
from services.credits import holds, ledger, rules, store
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

# who may read a community's wallet: whoever sends from it, manages or reports on it
WALLET_READERS = ("send_communications", "manage_credits", "view_reports")
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
        _check_owner_key(wallet, "wallet")
        self._check_exists(identity, caller, wallet)
        _master(identity)
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
            return _wallet_view(wallet, after[wallet], _holder(session, wallet))

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
            caller.require_any(WALLET_READERS, community_id)
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
                payer = rules.payer(config.model, community_id, _actor(caller))
            except rules.Refusal as refusal:
                raise InsufficientCredits(refusal.message, refusal.field) from None
            total = sum(i["amount"] for i in items)
            ids = store.accounts(session, org, [payer])
            store.lock_wallet(session, ids[(payer, "wallet")])
            before = store.balances(session, org, [payer])
            holder = _holder(session, payer)
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
                                 WALLET_READERS)

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
        _check_owner_key(owner, "wallet")
        self._check_exists(identity, caller, owner)
        with self.db.read() as session:
            model = store.settings(session, caller.organization_id).model
            self._check_may_see(identity, caller, model, owner)
            found = store.balances(session, caller.organization_id, [owner])[owner]
            frozen = _holder(session, owner)
        return _wallet_view(owner, found, frozen)

    @rpc
    def payer_wallet(self, identity, community_id):
        """The wallet that pays when this caller sends to this community (None when nothing
        may pay, e.g. an API key under individual user credits)."""
        caller = Caller.of(identity)
        caller.require("send_communications", community_id)
        with self.db.read() as session:
            model = store.settings(session, caller.organization_id).model
            try:
                payer = rules.payer(model, community_id, _actor(caller))
            except rules.Refusal:
                return None
            found = store.balances(session, caller.organization_id, [payer])[payer]
            return _wallet_view(payer, found, _holder(session, payer))

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
            visible = self._visible(identity, caller, model, owners)
            found = store.balances(session, caller.organization_id, visible)
            holders = _holders(session, visible)
        return {"model": model, "items": [_wallet_view(o, found[o], holders.get(o))
                                          for o in visible]}

    @rpc
    def transfer(self, identity, source, target, amount, reason, idempotency_key=None):
        """Move credits between wallets under seed 002's rules; the same key answers the
        first transfer again and moves nothing."""
        caller = Caller.of(identity)
        _check_amount(amount)
        org = caller.organization_id
        for side, key in (("source", source), ("target", target)):
            _check_owner_key(key, side)
        if not (reason or "").strip():
            raise InvalidRequest("say why credits move (it is kept in the log)", "reason")
        with self.db.read() as session:
            model = store.settings(session, org).model
        self._check_communities(caller, [source, target])   # another organization's: 404
        users = self._users(identity, [source, target])
        try:
            rules.check_transfer(model, self._actor(identity, caller), source, target, users)
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
                    "source": _wallet_view(source, after[source]),
                    "target": _wallet_view(target, after[target]),
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
        caller = _master(identity)
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
        _check_owner_key(owner, "wallet")
        if threshold is not None and (not isinstance(threshold, int) or threshold < 0):
            raise InvalidRequest("must be a whole number of credits, 0 or more, or null",
                                 "threshold")
        self._check_exists(identity, caller, owner)
        with self.db.unit_of_work() as uow:
            session = uow.session
            model = store.settings(session, caller.organization_id).model
            self._check_may_manage(caller, model, owner)
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
        _check_owner_key(wallet, "wallet")
        self._check_exists(identity, caller, wallet)
        with self.db.read() as session:
            org = caller.organization_id
            self._check_may_see(identity, caller, store.settings(session, org).model, wallet)
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

    # --- helpers that need the service ----------------------------------------------------

    def _hold_ttl(self):
        return int((self.config.get("credits") or {}).get("hold_ttl_seconds", 86400))

    def _actor(self, identity, caller):
        """The caller as seed 002's rules see it; team members come from directory."""
        actor = _actor(caller, identity)
        if caller.actor_type != "staff" or actor.is_master:
            return actor
        facts = self.directory.staff_facts(identity, [caller.actor_id])[0]
        return rules.Actor(actor.id, actor.is_master, actor.managed_offices,
                           actor.credit_communities, frozenset(facts["team_member_ids"]))

    def _users(self, identity, owners):
        ids = [owner_parts(o)[1] for o in owners if owner_parts(o)[0] == "user"]
        if not ids:
            return {}
        return {f["id"]: rules.User(f["id"], frozenset(f["office_ids"]),
                                    f["holds_send_sms"], f["active"])
                for f in self.directory.staff_facts(identity, ids)}

    def _check_exists(self, identity, caller, owner):
        """Another organization's wallet does not exist for this caller (404, not 403)."""
        kind = owner_parts(owner)[0]
        if kind == "community":
            self._check_communities(caller, [owner])
        elif kind == "user" and not caller.is_system:
            self._users(identity, [owner])     # directory: NotFound for another organization

    def _check_communities(self, caller, owners):
        """Community wallets of another organization (or none) do not exist: one query. A
        community directory has made but whose community_created credits has not handled
        yet (a grant a moment after the 201) is asked of directory, and its wallet opened
        as that event would open it."""
        wanted = [o for o in owners if owner_parts(o)[0] == "community"]
        if not wanted:
            return
        with self.db.read() as session:
            mine = set(session.scalars(select(Account.owner).where(
                Account.owner.in_(wanted), Account.organization_id == caller.organization_id)))
        missing = [o for o in wanted if o not in mine]
        if not missing:
            return
        if caller.organization_id is None:
            raise NotFound(f"community {owner_parts(missing[0])[1]} has no wallet", "wallet")
        for owner in missing:
            self._community_of_directory(caller.organization_id, owner)
        with self.db.unit_of_work() as uow:
            store.accounts(uow.session, caller.organization_id, missing)

    def _community_of_directory(self, organization_id, owner):
        """NotFound on `wallet` unless `owner`'s community is the organization's."""
        community_id = owner_parts(owner)[1]
        try:
            self.directory.get_community(system_of(organization_id, self.name), community_id)
        except NotFound:
            raise NotFound(f"community {community_id} has no wallet", "wallet") from None

    def _visible(self, identity, caller, model, owners):
        """The owners among `owners` this caller may see; user wallets by seed 002's rules
        (master users all, office credit managers their offices' users, others themselves
        and team members who hold send_sms)."""
        seen = [o for o in owners if owner_parts(o)[0] != "user" and self._sees_place(
            caller, model, o)]
        users = [o for o in owners if owner_parts(o)[0] == "user"]
        if users and (caller.is_system or caller.scopes.get("manage_credits") == EVERYWHERE):
            seen += users
        elif users and caller.actor_type == "staff":
            actor = self._actor(identity, caller)
            facts = self._users(identity, users)
            seen += rules.visible_wallets(actor, users, facts)
        return [o for o in owners if o in seen]

    def _check_may_see(self, identity, caller, model, owner):
        _check_owner_key(owner, "wallet")
        if not self._visible(identity, caller, model, [owner]):
            kind = owner_parts(owner)[0]
            if kind == "pool":
                raise Forbidden("only master users see system or unallocated credits",
                                "wallet")
            if kind == "community":
                caller.require_any(WALLET_READERS, owner_parts(owner)[1])
            raise Forbidden("you see your own credits and your team's; other users' need "
                            "manage_office_sms_credits for their office, or a master user",
                            "wallet")

    @staticmethod
    def _sees_place(caller, model, owner):
        kind, owner_id = owner_parts(owner)
        if caller.is_system:
            return True
        if kind == "community":
            return caller.may_any(WALLET_READERS, owner_id)
        return caller.scopes.get("manage_credits") == EVERYWHERE or (
            model == "pool" and caller.may_any(WALLET_READERS))

    def _check_may_manage(self, caller, model, owner):
        kind, owner_id = owner_parts(owner)
        if kind == "community":
            caller.require("manage_credits", owner_id)
        elif caller.scopes.get("manage_credits") != EVERYWHERE and not caller.is_system:
            raise Forbidden("only master users set thresholds of user and pool wallets",
                            "wallet")


def _actor(caller, identity=None):
    office_scopes = (identity or {}).get("office_scopes") or {}
    managed = office_scopes.get("manage_office_sms_credits") or ()
    credit = caller.scopes.get("manage_credits") or ()
    return rules.Actor(
        caller.actor_id,
        is_master=caller.is_system or caller.scopes.get("manage_credits") == EVERYWHERE,
        managed_offices=managed if managed == EVERYWHERE else frozenset(managed),
        credit_communities=credit if credit == EVERYWHERE else frozenset(credit),
        is_staff=caller.actor_type == "staff", is_system=caller.is_system)


def _rates(row):
    return {name: getattr(row, name, None) or getattr(pricing.DEFAULT_RATES, name)
            for name in RATE_NAMES}


def _master(identity):
    caller = Caller.of(identity)
    if not caller.is_system and caller.scopes.get("manage_credits") != EVERYWHERE:
        raise Forbidden("only master users (manage_credits for the whole organization) may "
                        "change credit settings", "permission")
    return caller


def _holder(session, owner):
    return _holders(session, [owner]).get(owner)


def _holders(session, owners):
    """owner -> CreditHolder for the user wallets among `owners`, in one query."""
    users = {owner_parts(o)[1]: o for o in owners if owner_parts(o)[0] == "user"}
    if not users:
        return {}
    return {users[row.staff_user_id]: row for row in session.scalars(
        select(CreditHolder).where(CreditHolder.staff_user_id.in_(list(users))))}

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


def _changed(session, org, caller, setting, old, new):
    session.add(SettingChange(organization_id=org, actor=caller.actor_id, setting=setting,
                              old=None if old is None else str(old),
                              new=None if new is None else str(new)))


def _check_amount(amount):
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise InvalidRequest("must be a whole number of credits above 0", "amount")


def _check_owner_key(key, field):
    kind, owner_id = owner_parts(key or "")
    if kind not in ledger.OWNER_TYPES or (kind != "pool" and not owner_id):
        raise InvalidRequest("must be a wallet: community:<id>, user:<id> or pool", field)


def _wallet_view(owner, found, holder=None):
    kind, owner_id = owner_parts(owner)
    return {"wallet": owner, "owner_type": kind, "owner_id": owner_id, **found,
            "frozen": bool(holder is not None and not holder.holds_send_sms)}

