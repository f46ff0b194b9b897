"""Double-entry postings for every ledger operation — pure functions, no I/O.

A *wallet* belongs to an owner: a community (`community:<id>`), a staff user (`user:<id>`)
or the organization's pool (`pool`: AgentBox's system/unallocated credits, or its one shared
pool). Each wallet has two accounts: `wallet` (credits it can spend) and `holds` (credits
reserved for deliveries in flight). The organization (owner "") has `purchases` (where credits
come from; it goes negative as credits are issued) and `usage` (credits spent).
Every operation's postings sum to zero.
"""

from dataclasses import dataclass

ORGANIZATION = ""
POOL = "pool"
OWNER_TYPES = ("community", "user", "pool")


@dataclass(frozen=True)
class Posting:
    owner: str     # a wallet owner, or ORGANIZATION for purchases and usage
    kind: str      # wallet, holds, purchases, usage
    amount: int


class UnbalancedTransaction(AssertionError):
    pass


def owner(owner_type, owner_id=None):
    """`community:<id>`, `user:<id>` or `pool`."""
    if owner_type == "pool":
        return POOL
    if owner_type not in OWNER_TYPES or not owner_id:
        raise ValueError(f"not a wallet owner: {owner_type!r} {owner_id!r}")
    return f"{owner_type}:{owner_id}"


def owner_parts(key):
    """(type, id) of an owner key; the pool has no id."""
    if key == POOL:
        return "pool", None
    owner_type, _, owner_id = key.partition(":")
    return owner_type, owner_id


def purchase(to, amount):
    """Credits bought (or granted by support, or seeded) land in a wallet."""
    return _balanced([Posting(ORGANIZATION, "purchases", -amount), Posting(to, "wallet", amount)])


def reserve(payer, total):
    return _balanced([Posting(payer, "wallet", -total), Posting(payer, "holds", total)])


def settle(payer, held, charged):
    """Charge `charged` for a hold of `held`; the difference goes back to (or is taken
    from) the wallet, so a voice call can settle for its real duration."""
    postings = [Posting(payer, "holds", -held), Posting(ORGANIZATION, "usage", charged)]
    if held != charged:
        postings.append(Posting(payer, "wallet", held - charged))
    return _balanced(postings)


def release(payer, held):
    """A hold given back: the delivery failed, or the hold expired."""
    return _balanced([Posting(payer, "holds", -held), Posting(payer, "wallet", held)])


def transfer(source, target, amount):
    return _balanced([Posting(source, "wallet", -amount), Posting(target, "wallet", amount)])


def _balanced(postings):
    postings = [p for p in postings if p.amount]
    if sum(p.amount for p in postings) != 0:
        raise UnbalancedTransaction(postings)
    return postings
