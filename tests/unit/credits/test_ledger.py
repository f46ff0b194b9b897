import pytest

from services.credits import ledger


def balances(*operations):
    totals = {}
    for postings in operations:
        assert sum(p.amount for p in postings) == 0
        for p in postings:
            totals[p.account] = totals.get(p.account, 0) + p.amount
    return totals


def test_hold_then_settle_moves_credits_from_wallet_to_usage():
    totals = balances(ledger.grant(100), ledger.reserve(3), ledger.settle(3, 3))
    assert totals == {"purchases": -100, "wallet": 97, "holds": 0, "usage": 3}


def test_release_gives_the_hold_back():
    totals = balances(ledger.grant(10), ledger.reserve(4), ledger.release(4))
    assert totals["wallet"] == 10 and totals["holds"] == 0 and "usage" not in totals


@pytest.mark.parametrize("held, charged", [(2, 1), (2, 0), (2, 5)])
def test_settling_for_another_amount_keeps_every_account_right(held, charged):
    totals = balances(ledger.grant(10), ledger.reserve(held), ledger.settle(held, charged))
    assert totals["holds"] == 0
    assert totals.get("usage", 0) == charged
    assert totals["wallet"] == 10 - charged


def test_a_wallet_may_go_negative_in_the_community_model():
    totals = balances(ledger.grant(1), ledger.reserve(3), ledger.settle(3, 3))
    assert totals["wallet"] == -2
