"""reports: delivery statistics per community and the report of emergency sends, built only
from messaging's events."""

from sqlalchemy import func, select, update

from contracts.vocabulary import STATUS_RANK
from servicekit.access import Caller
from servicekit.consumers import on_events
from servicekit.db import insert_missing, utcnow
from servicekit.entrypoints import rpc
from servicekit.providers import Database
from servicekit.service import TownhallService
from services.reports import emergencies
from services.reports.models import Base, DeliveryState


class ReportsService(TownhallService):
    name = "reports"
    db = Database(Base, relay=False)

    @on_events("messaging", "deliveries_updated")
    def record_deliveries(self, events, uow):
        """Each delivery's furthest status. Two batches about one delivery may be applied at
        once by two workers: the rows are made if missing, then moved forward by statements
        that compare ranks in the database (`rank < new`), so the later one never undoes
        the further one, whatever their order. Events that queued up together are
        recorded in one transaction."""
        session = uow.session
        now = utcnow()
        furthest = {}
        for event in events:
            data = event.data
            for item in data["items"]:
                kept = furthest.get(item["delivery_id"])
                if kept is None or STATUS_RANK[item["status"]] > STATUS_RANK[kept["status"]]:
                    furthest[item["delivery_id"]] = dict(
                        item, organization_id=event.organization_id,
                        community_id=data["community_id"],
                        communication_id=data["communication_id"])
        # rows in one order, as every batch takes them, so none waits on another in turn
        ordered = [furthest[k] for k in sorted(furthest)]
        insert_missing(session, DeliveryState.__table__, [
            {"delivery_id": i["delivery_id"], "organization_id": i["organization_id"],
             "community_id": i["community_id"], "communication_id": i["communication_id"],
             "channel": i["channel"], "status": i["status"], "rank": STATUS_RANK[i["status"]],
             "credits": i["credits"], "updated_at": now} for i in ordered])
        moves = {}
        for item in ordered:
            moves.setdefault((item["status"], item["credits"]), []).append(item["delivery_id"])
        for (status, credits), ids in sorted(moves.items(), key=lambda m: m[1][0]):
            rank = STATUS_RANK[status]
            session.execute(update(DeliveryState).where(
                DeliveryState.delivery_id.in_(ids), DeliveryState.rank < rank)
                .values(status=status, rank=rank, credits=credits, updated_at=now))

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

    @on_events("messaging", "communication_accepted")
    def record_emergency_sends(self, events, uow):
        """The emergency sends among the accepted ones: who, why, when, where."""
        emergencies.record_accepted(uow.session, events)

    @on_events("messaging", "communication_finished")
    def record_finished_communications(self, events, uow):
        """When each communication ended, and how (completed or cancelled)."""
        emergencies.record_finished(uow.session, events)

    @rpc
    def emergency_sends(self, identity, community_id=None, created_after=None,
                        created_before=None, cursor=None, limit=None):
        """A page of the emergency sends the caller may read, newest first."""
        with self.db.read() as session:
            return emergencies.page(session, Caller.of(identity), community_id=community_id,
                                    created_after=created_after, created_before=created_before,
                                    cursor=cursor, limit=limit)
