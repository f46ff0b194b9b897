import pytest

from services.credits import ledger

WALLET = ledger.owner("community", "c1")


def balances(*operations):
    totals = {}
    for postings in operations:
        assert sum(p.amount for p in postings) == 0
        for p in postings:
            totals[(p.owner, p.kind)] = totals.get((p.owner, p.kind), 0) + p.amount
    return totals


def test_hold_then_settle_moves_credits_from_wallet_to_usage():
    totals = balances(ledger.purchase(WALLET, 100), ledger.reserve(WALLET, 3),
                      ledger.settle(WALLET, 3, 3))
    assert totals == {("", "purchases"): -100, (WALLET, "wallet"): 97, (WALLET, "holds"): 0,
                      ("", "usage"): 3}


def test_release_gives_the_hold_back():
    totals = balances(ledger.purchase(WALLET, 10), ledger.reserve(WALLET, 4),
                      ledger.release(WALLET, 4))
    assert totals[(WALLET, "wallet")] == 10 and totals[(WALLET, "holds")] == 0
    assert ("", "usage") not in totals


@pytest.mark.parametrize("held, charged", [(2, 1), (2, 0), (2, 5)])
def test_settling_for_another_amount_keeps_every_account_right(held, charged):
    totals = balances(ledger.purchase(WALLET, 10), ledger.reserve(WALLET, held),
                      ledger.settle(WALLET, held, charged))
    assert totals[(WALLET, "holds")] == 0
    assert totals.get(("", "usage"), 0) == charged
    assert totals[(WALLET, "wallet")] == 10 - charged


def test_a_transfer_moves_credits_between_wallets_only():
    ann = ledger.owner("user", "ann")
    totals = balances(ledger.purchase(ledger.POOL, 10), ledger.transfer(ledger.POOL, ann, 4))
    assert totals[(ledger.POOL, "wallet")] == 6 and totals[(ann, "wallet")] == 4


def test_owner_keys_round_trip():
    assert ledger.owner_parts(ledger.owner("user", "u1")) == ("user", "u1")
    assert ledger.owner_parts(ledger.owner("pool")) == ("pool", None)
    with pytest.raises(ValueError):
        ledger.owner("planet", "x")
