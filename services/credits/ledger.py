"""Double-entry postings for every ledger operation — pure functions, no I/O.

Accounts of a community: its `wallet` (credits it can spend) and its `holds` (credits
reserved for deliveries in flight). Accounts of an organization: `purchases` (where
credits come from; it goes negative as credits are issued) and `usage` (credits spent).
Every operation's postings sum to zero.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Posting:
    account: str   # account kind: wallet, holds, usage, purchases
    amount: int


class UnbalancedTransaction(AssertionError):
    pass


def grant(amount):
    return _balanced([Posting("purchases", -amount), Posting("wallet", amount)])


def reserve(total):
    return _balanced([Posting("wallet", -total), Posting("holds", total)])


def settle(held, charged):
    """Charge `charged` for a hold of `held`; the difference goes back to (or is taken
    from) the wallet, so a voice call can settle for its real duration."""
    postings = [Posting("holds", -held), Posting("usage", charged)]
    if held != charged:
        postings.append(Posting("wallet", held - charged))
    return _balanced(postings)


def release(held):
    return _balanced([Posting("holds", -held), Posting("wallet", held)])


def _balanced(postings):
    postings = [p for p in postings if p.amount]
    if sum(p.amount for p in postings) != 0:
        raise UnbalancedTransaction(postings)
    return postings
