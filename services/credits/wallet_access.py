"""Which wallets a caller may name, see and manage: seed 002's rules (rules.py) applied to a
caller, with the facts directory keeps (a staff user's team, users' offices).

1. Another organization's wallet does not exist for a caller: a 404 on `wallet`, not a 403.
   A community directory has made but whose community_created credits has not handled yet
   (a grant a moment after the 201) is asked of directory, and its wallet opened as that
   event would open it.
2. A community's wallet is read by whoever sends from it, manages or reports on it there
   (WALLET_READERS); user wallets by seed 002's visibility (master users all, office credit
   managers their offices' users, others themselves and their team members who hold
   send_sms); the pool by master users, and by readers under the pool model.
3. Thresholds of community wallets need manage_credits there; of user and pool wallets, a
   master user. Settings need a master user (manage_credits for the whole organization).
"""

from sqlalchemy import select

from contracts.errors import Forbidden, InvalidRequest, NotFound
from servicekit.access import EVERYWHERE, Caller, system_of
from services.credits import ledger, rules, store
from services.credits.ledger import owner_parts
from services.credits.models import Account

# who may read a community's wallet: whoever sends from it, manages or reports on it
WALLET_READERS = ("send_communications", "manage_credits", "view_reports")
SERVICE = "credits"


def actor_of(caller, identity=None):
    """The caller as seed 002's rules see it, from its identity alone (no team)."""
    office_scopes = (identity or {}).get("office_scopes") or {}
    managed = office_scopes.get("manage_office_sms_credits") or ()
    credit = caller.scopes.get("manage_credits") or ()
    return rules.Actor(
        caller.actor_id,
        is_master=caller.is_system or caller.scopes.get("manage_credits") == EVERYWHERE,
        managed_offices=managed if managed == EVERYWHERE else frozenset(managed),
        credit_communities=credit if credit == EVERYWHERE else frozenset(credit),
        is_staff=caller.actor_type == "staff", is_system=caller.is_system)


def actor_with_team(directory, identity, caller):
    """actor_of, with a staff user's team members from directory."""
    actor = actor_of(caller, identity)
    if caller.actor_type != "staff" or actor.is_master:
        return actor
    facts = directory.staff_facts(identity, [caller.actor_id])[0]
    return rules.Actor(actor.id, actor.is_master, actor.managed_offices,
                       actor.credit_communities, frozenset(facts["team_member_ids"]))


def users_of(directory, identity, owners):
    """rules.User by id for the user wallets among `owners`, in one directory call
    (NotFound for another organization's)."""
    ids = [owner_parts(o)[1] for o in owners if owner_parts(o)[0] == "user"]
    if not ids:
        return {}
    return {f["id"]: rules.User(f["id"], frozenset(f["office_ids"]),
                                f["holds_send_sms"], f["active"])
            for f in directory.staff_facts(identity, ids)}


def check_exists(db, directory, identity, caller, owner):
    """Rule 1 for one wallet."""
    kind = owner_parts(owner)[0]
    if kind == "community":
        check_communities(db, directory, caller, [owner])
    elif kind == "user" and not caller.is_system:
        users_of(directory, identity, [owner])


def check_communities(db, directory, caller, owners):
    """Rule 1 for the community wallets among `owners`: one query, and directory asked only
    of those credits has not opened yet."""
    wanted = [o for o in owners if owner_parts(o)[0] == "community"]
    if not wanted:
        return
    with db.read() as session:
        mine = set(session.scalars(select(Account.owner).where(
            Account.owner.in_(wanted), Account.organization_id == caller.organization_id)))
    missing = [o for o in wanted if o not in mine]
    if not missing:
        return
    if caller.organization_id is None:
        raise _no_wallet(missing[0])
    as_credits = system_of(caller.organization_id, SERVICE)
    for owner in missing:        # at most a transfer's two sides
        try:
            directory.get_community(as_credits, owner_parts(owner)[1])
        except NotFound:
            raise _no_wallet(owner) from None
    with db.unit_of_work() as uow:
        store.accounts(uow.session, caller.organization_id, missing)


def visible(directory, identity, caller, model, owners):
    """Rule 2: the owners among `owners` this caller may see, in their order."""
    seen = [o for o in owners if owner_parts(o)[0] != "user" and sees_place(caller, model, o)]
    users = [o for o in owners if owner_parts(o)[0] == "user"]
    if users and (caller.is_system or caller.scopes.get("manage_credits") == EVERYWHERE):
        seen += users
    elif users and caller.actor_type == "staff":
        actor = actor_with_team(directory, identity, caller)
        seen += rules.visible_wallets(actor, users, users_of(directory, identity, users))
    return [o for o in owners if o in seen]


def check_may_see(directory, identity, caller, model, owner):
    """Rule 2 for one wallet: Forbidden naming what it would take."""
    check_owner_key(owner, "wallet")
    if visible(directory, identity, caller, model, [owner]):
        return
    kind = owner_parts(owner)[0]
    if kind == "pool":
        raise Forbidden("only master users see system or unallocated credits", "wallet")
    if kind == "community":
        caller.require_any(WALLET_READERS, owner_parts(owner)[1])
    raise Forbidden("you see your own credits and your team's; other users' need "
                    "manage_office_sms_credits for their office, or a master user", "wallet")


def sees_place(caller, model, owner):
    """Rule 2 for a community or pool wallet."""
    kind, owner_id = owner_parts(owner)
    if caller.is_system:
        return True
    if kind == "community":
        return caller.may_any(WALLET_READERS, owner_id)
    return caller.scopes.get("manage_credits") == EVERYWHERE or (
        model == "pool" and caller.may_any(WALLET_READERS))


def check_may_manage(caller, model, owner):
    """Rule 3 for a wallet's threshold."""
    kind, owner_id = owner_parts(owner)
    if kind == "community":
        caller.require("manage_credits", owner_id)
    elif caller.scopes.get("manage_credits") != EVERYWHERE and not caller.is_system:
        raise Forbidden("only master users set thresholds of user and pool wallets",
                        "wallet")


def require_master(identity):
    """Rule 3 for settings: the caller, when it is a master user (or the system)."""
    caller = Caller.of(identity)
    if not caller.is_system and caller.scopes.get("manage_credits") != EVERYWHERE:
        raise Forbidden("only master users (manage_credits for the whole organization) may "
                        "change credit settings", "permission")
    return caller


def check_owner_key(key, field):
    kind, owner_id = owner_parts(key or "")
    if kind not in ledger.OWNER_TYPES or (kind != "pool" and not owner_id):
        raise InvalidRequest("must be a wallet: community:<id>, user:<id> or pool", field)


def _no_wallet(owner):
    return NotFound(f"community {owner_parts(owner)[1]} has no wallet", "wallet")
