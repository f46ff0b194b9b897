"""Who pays, who may spend, and who may move or buy credits, under the organization's credit
model — pure functions over plain facts, no I/O. Every refusal is a `Refusal` whose message
names the rule, so the caller learns why and what to do instead.

Models (DESIGN.md, seeds 000–002):
* `community` (Pilera): each community pays for its own sends; sending continues below zero
  unless the organization sets a floor.
* `user` (AgentBox individual credits): credits are bought into the pool (system/unallocated)
  or for a user, allocated before use, and the sender always pays from their own credits;
  only users with send_sms hold credits; a user who loses it keeps a frozen balance that can
  only be transferred away; never below zero.
* `pool` (AgentBox system-wide): one organization pool pays for every send; never below zero.

Townhall's own sends for an organization (work-order notices, sent by the system, not by a
user) are paid like any other: by the community under community wallets, by the pool under
the shared pool, and — having no user's credits to spend — by the pool (the system /
unallocated credits) under individual user credits.
"""

from dataclasses import dataclass, field

from services.credits.ledger import POOL, owner, owner_parts

MODELS = ("community", "user", "pool")
EVERYWHERE = "*"


class Refusal(Exception):
    def __init__(self, message, field="wallet"):
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass(frozen=True)
class Actor:
    """What credits needs to know about the caller."""

    id: str
    is_master: bool = False                 # manage_credits for the whole organization
    managed_offices: frozenset | str = frozenset()   # manage_office_sms_credits: ids or "*"
    credit_communities: frozenset | str = frozenset()  # manage_credits: community ids or "*"
    team_members: frozenset = frozenset()   # staff ids sharing a team with the caller
    is_staff: bool = True
    is_system: bool = False                 # Townhall's own service, for the organization


@dataclass(frozen=True)
class User:
    """What credits needs to know about a staff user whose wallet is touched."""

    id: str
    office_ids: frozenset = field(default_factory=frozenset)
    holds_send_sms: bool = True
    active: bool = True


def wallets_in_use(model):
    """The owner types whose wallets the model spends from or allocates through."""
    return {"community": {"community"}, "user": {"user", "pool"}, "pool": {"pool"}}[model]


def payer(model, community_id, actor):
    """Whose wallet pays for a send to a community."""
    if model == "community":
        return owner("community", community_id)
    if model == "pool" or actor.is_system:
        return POOL
    if not actor.is_staff:
        raise Refusal("this organization uses individual user credits: a send is paid from "
                      "the sender's own credits, so it must be sent by a staff user, not an "
                      "API key", "credits")
    return owner("user", actor.id)


def check_spend(model, payer_key, available, total, *, floor=None, holder=None):
    """Refuse a hold of `total` that the wallet may not take."""
    if model == "community":
        if floor is not None and available - total < floor:
            raise Refusal(f"the hold of {total} credits would take {payer_key} to "
                          f"{available - total}, below the organization's floor of {floor}",
                          "credits")
        return
    if holder is not None and not holder.holds_send_sms:
        raise Refusal(f"{payer_key} no longer holds send_sms: its credits are frozen until "
                      "they are transferred away", "credits")
    if available < total:
        raise Refusal(f"{payer_key} has {available} credits available and this send needs "
                      f"{total}; credits must be bought or allocated first (no negative "
                      "balance under this credit model)", "credits")


def check_transfer(model, actor, source, target, users):
    """May `actor` move credits from wallet `source` to wallet `target`?

    users: staff id -> User, for every user wallet involved.
    """
    if source == target:
        raise Refusal("source and target are the same wallet", "target")
    if model == "pool":
        raise Refusal("this organization shares one pool of credits; it cannot be split into "
                      "other wallets", "target")
    target_type, target_id = owner_parts(target)
    if target_type == "user":
        _check_may_hold(users[target_id])
    if actor.is_master:
        return
    source_type, source_id = owner_parts(source)
    if model == "community":
        for side, (kind, community_id) in (("source", (source_type, source_id)),
                                           ("target", (target_type, target_id))):
            if kind != "community" or not _in(community_id, actor.credit_communities):
                raise Refusal(f"moving credits between community wallets needs manage_credits "
                              f"for both communities; the {side} is not yours to manage", side)
        return
    if POOL in (source, target):
        raise Refusal("only master users move system or unallocated credits", "source")
    for side, kind, key in (("source", source_type, source), ("target", target_type, target)):
        if kind != "user":
            raise Refusal(f"this organization uses individual user credits: credits move "
                          f"between users, and {key} is not a user's wallet", side)
    if _manages(actor, users[source_id]) and _manages(actor, users[target_id]):
        return
    if source_id != actor.id:
        raise Refusal("you may give only your own credits: taking credits from another user "
                      "needs manage_office_sms_credits for their office, or a master user",
                      "source")
    if target_id not in actor.team_members:
        raise Refusal("you may give your credits only to members of your team (or, with "
                      "manage_office_sms_credits, to users of your offices)", "target")


def check_purchase(model, actor, target, users):
    """May `actor` buy credits into wallet `target`?"""
    target_type, target_id = owner_parts(target)
    if target_type not in wallets_in_use(model):
        raise Refusal(f"this organization uses {model} credits: buy for "
                      f"{' or '.join(sorted(wallets_in_use(model)))} wallets", "target")
    if target_type == "community":
        if not _in(target_id, actor.credit_communities):
            raise Refusal("buying credits for a community needs manage_credits there", "target")
        return
    if target_type == "pool":
        if not actor.is_master:
            raise Refusal("only master users buy system credits", "target")
        return
    _check_may_hold(users[target_id])
    if actor.is_master or _manages(actor, users[target_id]):
        return
    if target_id != actor.id and target_id not in actor.team_members:
        raise Refusal("you may buy credits for yourself and members of your team (or, with "
                      "manage_office_sms_credits, for users of your offices)", "target")


def check_switch(old, new, balances, pending_holds):
    """Refuse a model switch that would strand credits in wallets the new model never uses.

    balances: owner key -> balance (available + held); pending_holds: owner keys with holds.
    """
    if new not in MODELS:
        raise Refusal(f"must be one of {', '.join(MODELS)}", "model")
    if new == old:
        return
    kept = wallets_in_use(new)
    stranded = sorted(k for k, v in balances.items() if v and owner_parts(k)[0] not in kept)
    if stranded:
        raise Refusal(f"switching to {new} credits would strand the credits of "
                      f"{', '.join(stranded)}: transfer them first (a master user may move "
                      "them to the pool)", "model")
    busy = sorted(k for k in pending_holds if owner_parts(k)[0] not in kept)
    if busy:
        raise Refusal(f"deliveries in flight still hold credits of {', '.join(busy)}; switch "
                      "when they have ended", "model")


def visible_wallets(actor, wallets, users):
    """The wallets (owner keys) an actor may see under the user model (seed 002): master
    users everything, office credit managers the users of their offices, others themselves
    and their team members who hold send_sms."""
    if actor.is_master:
        return list(wallets)
    seen = []
    for key in wallets:
        kind, user_id = owner_parts(key)
        if kind != "user":
            continue
        user = users.get(user_id)
        if user_id == actor.id or (user and _manages(actor, user)) or (
                user and user_id in actor.team_members and user.holds_send_sms):
            seen.append(key)
    return seen


def _check_may_hold(user):
    if not user.active:
        raise Refusal(f"user {user.id} is not active; credits go only to active users", "target")
    if not user.holds_send_sms:
        raise Refusal(f"user {user.id} does not hold send_sms; only users who may send texts "
                      "hold credits", "target")


def _manages(actor, user):
    return actor.managed_offices == EVERYWHERE or bool(set(actor.managed_offices)
                                                       & set(user.office_ids))


def _in(item, scope):
    return scope == EVERYWHERE or item in scope
