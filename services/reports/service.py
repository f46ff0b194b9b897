"""reports: delivery statistics per community, built only from messaging's events."""

from sqlalchemy import func, select

from contracts.vocabulary import STATUS_RANK
from servicekit.access import Caller
from servicekit.consumers import on_event
from servicekit.db import utcnow
from servicekit.entrypoints import rpc
from servicekit.providers import Database
from servicekit.service import TownhallService
from services.reports.models import Base, DeliveryState


class ReportsService(TownhallService):
    name = "reports"
    db = Database(Base, relay=False)

    @on_event("messaging", "deliveries_updated")
    def record_deliveries(self, event, uow):
        data = event.data
        session = uow.session
        ids = [i["delivery_id"] for i in data["items"]]
        known = {s.delivery_id: s for s in session.scalars(
            select(DeliveryState).where(DeliveryState.delivery_id.in_(ids)))}
        for item in data["items"]:
            rank = STATUS_RANK[item["status"]]
            state = known.get(item["delivery_id"])
            if state is None:
                state = DeliveryState(delivery_id=item["delivery_id"],
                                      organization_id=event.organization_id,
                                      community_id=data["community_id"],
                                      communication_id=data["communication_id"],
                                      channel=item["channel"], status=item["status"],
                                      rank=rank, credits=item["credits"])
                session.add(state)
                known[state.delivery_id] = state
            elif rank > state.rank:
                state.status, state.rank = item["status"], rank
                state.credits, state.updated_at = item["credits"], utcnow()

    @rpc
    def delivery_counts(self, identity, community_id):
        caller = Caller.of(identity)
        caller.require("view_reports", community_id)
        with self.db.read() as session:
            rows = session.execute(
                select(DeliveryState.status, func.count())
                .where(DeliveryState.community_id == community_id,
                       DeliveryState.organization_id == caller.organization_id)
                .group_by(DeliveryState.status)).all()
        counts = {status: n for status, n in rows}
        return {"community_id": community_id, "counts": counts, "total": sum(counts.values())}
