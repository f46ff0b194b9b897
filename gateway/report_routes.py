"""Routes for the reports built from events: the report of emergency sends (JSON pages or
one CSV download). Mixed into GatewayService; reports decides who may read what."""

from contracts import report_api as schemas
from contracts.vocabulary import DELIVERY_STATUSES
from gateway.declaration import CSV
from gateway.http import api, csv_download
from servicekit.spreadsheets import to_csv

EXPORT_PAGE = 200
EMERGENCY_COLUMNS = ("communication_id", "accepted_at", "finished_at", "status",
                     "community_ids", "channels", "kind", "category_id", "sent_by_type",
                     "sent_by_id", "sent_by_name", "emergency_reason", *DELIVERY_STATUSES,
                     "total")


class ReportRoutes:
    @api("GET", "/v1/reports/emergency-sends", query=schemas.EmergencySendQuery,
         answer=(schemas.EmergencySendPage, CSV), errors=(403, 404, 422))
    def emergency_send_report(self, request):
        """Emergency sends, newest first: who sent each and why, when, where, and its
        deliveries by status; format=csv downloads every one the query names."""
        identity = self._authenticate(request)
        query = schemas.EmergencySendQuery().load(request.args.to_dict())
        if query.get("community_id"):
            # another organization's community, or none, is a 404 (directory's policy)
            self.directory.get_community(identity, query["community_id"])
        for moment in ("created_after", "created_before"):
            if moment in query:
                query[moment] = query[moment].isoformat()
        if query.pop("format") == "csv":
            where = [query["community_id"]] if query.get("community_id") else []
            return csv_download(to_csv(EMERGENCY_COLUMNS, self._every_emergency_send(
                identity, query)), "emergency-sends", *where)
        return schemas.EmergencySendPage().dump(self.reports.emergency_sends(identity, **query))

    def _every_emergency_send(self, identity, query):
        query = dict(query, limit=EXPORT_PAGE, cursor=None)
        while True:
            page = self.reports.emergency_sends(identity, **query)
            for send in schemas.EmergencySendView(many=True).dump(page["items"]):
                yield _row(send)
            if not page["next"]:
                return
            query["cursor"] = page["next"]


def _row(send):
    """One CSV row: lists joined by spaces, the sender flat, a column per status."""
    sender = send.get("sent_by") or {}
    return {**send, **{status: send["counts"].get(status, 0) for status in DELIVERY_STATUSES},
            "community_ids": " ".join(send["community_ids"]),
            "channels": " ".join(send["channels"]), "sent_by_type": sender.get("type"),
            "sent_by_id": sender.get("id"), "sent_by_name": sender.get("name")}
