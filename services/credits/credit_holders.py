"""Who holds credits, and whether they are frozen: a staff user who loses send_sms keeps
their credits, frozen until they are transferred away (seed 002).

1. The newest word on a user's send_sms wins: an older permission event arriving late changes
   nothing, and events of directories from before holds_send_sms existed are skipped.
2. A wallet is answered with `frozen` true only for a user wallet whose holder no longer
   holds send_sms.
"""

from datetime import datetime

from sqlalchemy import select

from servicekit.db import utcnow
from services.credits.ledger import owner_parts
from services.credits.models import CreditHolder


def holder(session, owner):
    return holders(session, [owner]).get(owner)


def holders(session, owners):
    """owner -> CreditHolder for the user wallets among `owners`, in one query."""
    users = {owner_parts(o)[1]: o for o in owners if owner_parts(o)[0] == "user"}
    if not users:
        return {}
    return {users[row.staff_user_id]: row for row in session.scalars(
        select(CreditHolder).where(CreditHolder.staff_user_id.in_(list(users))))}


def note_holder(session, event):
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


def wallet_view(owner, found, row=None):
    """A wallet as answered: its balances `found`, and whether its holder `row` is frozen."""
    kind, owner_id = owner_parts(owner)
    return {"wallet": owner, "owner_type": kind, "owner_id": owner_id, **found,
            "frozen": bool(row is not None and not row.holds_send_sms)}
