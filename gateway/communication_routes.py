"""Routes for communications: send, preview, follow, list, page through deliveries (or
download them as CSV) and cancel. Mixed into GatewayService; messaging decides who may see
or change each communication."""

from contracts import communication_api as schemas
from contracts.errors import Forbidden, ServiceUnavailable
from gateway.credits_routes import ORDER_LINK
from gateway.declaration import CSV
from gateway.http import api, csv_download, idempotency_key, json_body, json_response
from servicekit.spreadsheets import to_csv

DELIVERY_COLUMNS = ("id", "resident_id", "community_id", "channel", "address", "status",
                    "reason", "error_code", "credits", "segments", "attempts", "provider_id",
                    "updated_at")
EXPORT_PAGE = 200


class CommunicationRoutes:
    @api("POST", "/v1/communications", request=schemas.CommunicationRequest,
         answer=schemas.CommunicationAccepted, status=202, location=True,
         errors=(403, 404, 422, 503), idempotency_key="accepted",
         answer_description="accepted: the audience is resolved and sent to after this answer",
         follow=(("GET", "/v1/communications/{communication_id}", "communication_id"),
                 ("GET", "/v1/communications/{communication_id}/deliveries",
                  "communication_id"),
                 ("POST", "/v1/communications/{communication_id}/cancel",
                  "communication_id")))
    def create_communication(self, request):
        """Send a communication (an announcement to communities, units, residents, groups)."""
        identity = self._authenticate(request)
        payload = schemas.CommunicationRequest().load(json_body(request))
        accepted = self.messaging.create(identity, payload,
                                         idempotency_key=idempotency_key(request))
        accepted = self._with_balance(identity, accepted, accepted.get("community_id"))
        body = schemas.CommunicationAccepted().dump(accepted)
        return json_response(body, 202, headers={"Location": accepted["links"]["self"]})

    @api("POST", "/v1/communications/preview", request=schemas.CommunicationRequest,
         answer=schemas.CommunicationPreview, errors=(403, 404, 422, 503))
    def preview_communication(self, request):
        """What a send of this body would do now: the audience, each channel's decisions,
        the credits per wallet and the balance after; sends and holds nothing."""
        identity = self._authenticate(request)
        payload = schemas.CommunicationRequest().load(json_body(request))
        return schemas.CommunicationPreview().dump(self.messaging.preview(identity, payload))

    @api("GET", "/v1/communications", query=schemas.CommunicationListQuery,
         answer=schemas.CommunicationPage, errors=(403, 422))
    def list_communications(self, request):
        """Past sends, newest first, of the communities the caller may read."""
        identity = self._authenticate(request)
        query = schemas.CommunicationListQuery().load(request.args.to_dict())
        for moment in ("created_after", "created_before"):
            if moment in query:
                query[moment] = query[moment].isoformat()
        return schemas.CommunicationPage().dump(
            self.messaging.list_communications(identity, **query))

    @api("GET", "/v1/communications/<string:communication_id>",
         answer=schemas.CommunicationView, errors=(403, 404))
    def get_communication(self, request, communication_id):
        """Progress of a communication: status, counts, credits, who sent it and when."""
        identity = self._authenticate(request)
        view = self.messaging.get(identity, communication_id)
        view["credits"] = self.credits.get_holds(identity, communication_id)
        view = self._with_balance(identity, view, view.get("community_id"))
        return schemas.CommunicationView().dump(view)

    @api("POST", "/v1/communications/<string:communication_id>/reschedule",
         request=schemas.Reschedule, answer=schemas.CommunicationView,
         errors=(403, 404, 409, 422), idempotency_key="accepted")
    def reschedule_communication(self, request, communication_id):
        """Move a scheduled send that has not gone to another send_at."""
        identity = self._authenticate(request)
        payload = schemas.Reschedule().load(json_body(request))
        view = self.messaging.reschedule(identity, communication_id, payload["send_at"],
                                         idempotency_key=idempotency_key(request))
        view["credits"] = self.credits.get_holds(identity, communication_id)
        return schemas.CommunicationView().dump(view)

    @api("GET", "/v1/communications/<string:communication_id>/deliveries",
         query=schemas.DeliveryListQuery, answer=(schemas.DeliveryPage, CSV),
         errors=(403, 404, 422))
    def list_communication_deliveries(self, request, communication_id):
        """A page of a communication's deliveries; format=csv downloads all of them."""
        identity = self._authenticate(request)
        query = schemas.DeliveryListQuery().load(request.args.to_dict())
        if query.pop("format", "json") == "csv":
            return csv_download(to_csv(DELIVERY_COLUMNS,
                                       self._every_delivery(identity, communication_id, query)),
                                "deliveries", communication_id)
        return schemas.DeliveryPage().dump(
            self.messaging.list_deliveries(identity, communication_id, **query))

    @api("POST", "/v1/communications/<string:communication_id>/cancel",
         answer=schemas.CommunicationView, errors=(403, 404), request_required=False)
    def cancel_communication(self, request, communication_id):
        """Stop what is not yet handed to the provider (idempotent)."""
        identity = self._authenticate(request)
        view = self.messaging.cancel(identity, communication_id)
        view["credits"] = self.credits.get_holds(identity, communication_id)
        return schemas.CommunicationView().dump(view)

    def _every_delivery(self, identity, communication_id, query):
        query = dict(query, limit=EXPORT_PAGE, cursor=None)
        while True:
            page = self.messaging.list_deliveries(identity, communication_id, **query)
            yield from schemas.DeliveryView(many=True).dump(page["items"])
            if not page["next"]:
                return
            query["cursor"] = page["next"]

    def _with_balance(self, identity, answer, community_id):
        """Where users send, the balance that pays and where to order more (seed 000)."""
        answer = dict(answer, links=dict(answer.get("links") or {},
                                         order_credits=ORDER_LINK))
        if community_id:
            try:
                answer["balance"] = self.credits_balance.payer_wallet(identity,
                                                                      community_id)
            except (Forbidden, ServiceUnavailable):
                # a reader who may not send sees no paying wallet; and a send that was
                # accepted is answered as accepted even while credits cannot be asked
                answer["balance"] = None
        return answer
