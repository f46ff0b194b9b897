"""The senders' segment budgets and the account's call rate, shared by every messaging
instance: one row per sender (and one for the account's calls) in messaging's database,
taken per batch under the row's lock by rate_limit's rules — an emergency's batch first."""

import time

from sqlalchemy import select, update

from servicekit.db import insert_missing
from services.messaging import rate_limit
from services.messaging.models import SenderBudget

UNKNOWN_SENDER = {"kind": "long_code"}  # a number nobody described sends at the slowest rate


def rates(config):
    """{sender number: segments per second} from `messaging.senders`; every entry is checked
    when the service starts, so a wrong kind stops it with the field named."""
    found = {}
    for n, entry in enumerate((config.get("messaging") or {}).get("senders") or []):
        if not isinstance(entry, dict) or not entry.get("number"):
            raise ValueError(f"messaging.senders[{n}].number: each sender needs its number")
        try:
            found[entry["number"]] = rate_limit.sender_rate(entry)
        except ValueError as exc:
            raise ValueError(f"messaging.senders[{n}]: {exc}") from None
    return found


def take(session, sender, rate, costs, now=None, urgent=False):
    """A grant for the longest prefix of `costs` (segments) the sender may send now; `urgent`:
    an emergency's batch, which takes first (rate_limit rule 6). The first statement writes
    the row, so the transaction holds the sender's lock (PostgreSQL's row lock, SQLite's
    write lock) before it reads the tokens left."""
    now = time.time() if now is None else now
    burst = rate_limit.burst_for(rate)
    insert_missing(session, SenderBudget.__table__,
                   [{"sender": sender, "tokens": burst, "updated_at": now, "urgent_until": 0.0}])
    session.execute(update(SenderBudget).where(SenderBudget.sender == sender)
                    .values(sender=sender))
    row = session.scalars(select(SenderBudget).where(SenderBudget.sender == sender)).one()
    grant = rate_limit.take(rate_limit.Bucket(row.tokens, row.updated_at, row.urgent_until),
                            now, rate, burst, costs, urgent=urgent)
    row.tokens, row.updated_at = grant.bucket.tokens, grant.bucket.updated_at
    row.urgent_until = grant.bucket.urgent_until
    return grant


class Sender:
    """The number texts go out from, with its rate: what dispatching takes budget from."""

    def __init__(self, number, rate):
        self.number, self.rate = number, rate

    def take(self, session, costs, urgent=False):
        return take(session, self.number, self.rate, costs, urgent=urgent)

    @classmethod
    def from_config(cls, config):
        number = (config.get("twilio") or {}).get("from_number")
        known = rates(config)
        if number in known:
            return cls(number, known[number])
        return cls(number, rate_limit.sender_rate(UNKNOWN_SENDER))


class CallRate:
    """The account's calls per second (Twilio's default is 1), a bucket of its own beside
    the senders', shared by every instance the same way; each call costs one token."""

    def __init__(self, account_sid, rate):
        self.key, self.rate = f"calls:{account_sid}", float(rate)

    def take(self, session, count, urgent=False):
        return take(session, self.key, self.rate, [1] * count, urgent=urgent)
