"""The senders' budgets as rows every instance shares: what one transaction takes, the next
one sees — the tokens, and an emergency's mark that holds ordinary batches back."""

from servicekit.testing import memory_database
from services.messaging import budgets
from services.messaging.models import Base, SenderBudget
from services.messaging.rate_limit import URGENT_GRACE_SECONDS

SENDER = "+15550000000"


def take(db, costs, now, urgent=False):
    with db.unit_of_work() as uow:
        return budgets.take(uow.session, SENDER, 2.0, costs, now=now, urgent=urgent)


def test_an_emergencys_mark_is_kept_for_the_next_transaction_of_any_instance():
    db = memory_database(Base)
    assert take(db, [1] * 2, now=100.0).granted == 2                    # the burst
    short = take(db, [1] * 4, now=100.0, urgent=True)
    assert short.granted == 0
    with db.read() as session:
        row = session.get(SenderBudget, SENDER)
        assert (row.tokens, row.urgent_until) == (0.0, 100.0 + 2.0 + URGENT_GRACE_SECONDS)
    # a second later two tokens have accrued: an ordinary batch takes none of them
    held = take(db, [1], now=101.0)
    assert (held.granted, held.retry_after) == (0, 1.0 + URGENT_GRACE_SECONDS)
    assert take(db, [1] * 4, now=101.0, urgent=True).granted == 2
    assert take(db, [1] * 2, now=102.0, urgent=True).granted == 2
    assert take(db, [1], now=102.0 + URGENT_GRACE_SECONDS).granted == 1
