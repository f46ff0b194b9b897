"""gateway: the HTTP API. It authenticates the caller and passes the identity in every RPC;
the owning services decide what the caller may see or change."""


import eventlet
from kombu import Connection
from nameko.dependency_providers import Config
from werkzeug.wrappers import Response

from contracts import api as schemas
from contracts.errors import (
    InvalidRequest,
    ServiceUnavailable,
    Unauthenticated,
)
from contracts.events import envelope
from gateway import openapi
from gateway.call_webhooks import CallWebhooks
from gateway.communication_routes import CommunicationRoutes
from gateway.consent_import_routes import ConsentImportRoutes
from gateway.consent_request_routes import ConsentRequestRoutes
from gateway.consent_routes import ConsentRoutes
from gateway.credits_routes import CreditsRoutes
from gateway.declaration import XML, Answer
from gateway.directory_routes import DirectoryRoutes
from gateway.document_routes import DocumentRoutes
from gateway.group_routes import GroupRoutes
from gateway.http import api
from gateway.import_routes import ImportRoutes
from gateway.order_routes import OrderRoutes
from gateway.people_routes import PeopleRoutes
from gateway.places_routes import PlacesRoutes
from gateway.preference_routes import PreferenceRoutes
from gateway.publisher import EventPublisher
from gateway.report_routes import ReportRoutes
from gateway.status_batches import StatusBatches
from gateway.ticket_routes import TicketRoutes
from gateway.unsubscribe_pages import UnsubscribePages
from gateway.webhooks import verify_twilio
from servicekit import tokens
from servicekit.providers import Rpc
from servicekit.tracing import Tracing, current_correlation_id

SERVICES = ("directory", "consent", "credits", "messaging", "tickets", "reports")
HEALTH_TIMEOUT = 2.0
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
SIGNED_BY_TWILIO = {"X-Twilio-Signature": "Twilio's signature of the public URL and the form "
                                          "fields (HMAC-SHA1 with the auth token)"}
STATUS_FORM = {"type": "object", "required": ["MessageSid", "MessageStatus"], "properties": {
    "MessageSid": {"type": "string"}, "MessageStatus": {"type": "string"},
    "ErrorCode": {"type": "string"}}}
INBOUND_FORM = {"type": "object", "required": ["MessageSid", "From", "To", "Body"],
                "properties": {name: {"type": "string"}
                               for name in ("MessageSid", "From", "To", "Body")}}


class GatewayService(CommunicationRoutes, DirectoryRoutes, GroupRoutes, PlacesRoutes,
                     PeopleRoutes, ImportRoutes, CreditsRoutes, OrderRoutes, ConsentRoutes,
                     PreferenceRoutes, ConsentRequestRoutes, ConsentImportRoutes,
                     UnsubscribePages, CallWebhooks, DocumentRoutes, ReportRoutes,
                     TicketRoutes):
    name = "gateway"
    config = Config()
    tracing = Tracing()
    events = EventPublisher()
    status_batches = StatusBatches()
    directory = Rpc("directory")
    consent = Rpc("consent")   # health checks are bounded by HEALTH_TIMEOUT anyway
    credits = Rpc("credits")
    # the balance shown beside a send: never worth holding the send's answer for long
    credits_balance = Rpc("credits", timeout=HEALTH_TIMEOUT)
    messaging = Rpc("messaging")
    tickets = Rpc("tickets")
    reports = Rpc("reports")

    @api("GET", "/healthz", public=True, answer=schemas.Health, answer_description="healthy",
         answers={503: Answer("degraded: what does not answer is named", schemas.Health)})
    def healthz(self, request):
        """Broker and every service reachable: 200, else 503 naming what is not."""
        broker = _broker_status(self.config["AMQP_URI"])
        pool = eventlet.GreenPool(len(SERVICES))
        checks = dict(pool.imap(self._service_status, SERVICES))
        healthy = broker == "ok" and all(v == "ok" for v in checks.values())
        body = {"status": "ok" if healthy else "degraded", "broker": broker, "services": checks}
        return (200 if healthy else 503), schemas.Health().dump(body)

    def _service_status(self, service):
        try:
            with eventlet.Timeout(HEALTH_TIMEOUT):
                getattr(self, service).health()
            return service, "ok"
        except (eventlet.Timeout, ServiceUnavailable):
            return service, "unreachable"
        except Exception as exc:  # a service that answers with an error is not healthy
            return service, f"error: {type(exc).__name__}"

    @api("GET", "/openapi.json", public=True, documented=False)
    def openapi_document(self, request):
        """This document (it does not list itself)."""
        return openapi.document()

    @api("GET", "/v1/communities/<string:community_id>/credits", answer=schemas.WalletView,
         errors=(404,))
    def get_community_credits(self, request, community_id):
        """A community wallet: balance and held credits."""
        identity = self._authenticate(request)
        self.directory.get_community(identity, community_id)  # 404 unless the caller's
        return schemas.WalletView().dump(self.credits.get_wallet(identity, community_id))

    @api("GET", "/v1/reports/deliveries", query=schemas.DeliveryReportQuery,
         answer=schemas.DeliveryCounts, errors=(404, 422))
    def delivery_report(self, request):
        """Delivery counts by status."""
        identity = self._authenticate(request)
        query = schemas.DeliveryReportQuery().load(request.args.to_dict())
        self.directory.get_community(identity, query["community_id"])
        counts = self.reports.delivery_counts(identity, query["community_id"])
        return schemas.DeliveryCounts().dump(counts)

    @api("POST", "/webhooks/twilio/status", body="form", public=True, request=STATUS_FORM,
         request_headers=SIGNED_BY_TWILIO, status=204, answer_description="accepted",
         errors=(403, 422))
    def twilio_status(self, request):
        """Twilio status callback (X-Twilio-Signature checked): acknowledged at once, applied
        asynchronously by messaging."""
        twilio = self.config["twilio"]
        public_url = self.config["gateway"]["public_url"]
        params = verify_twilio(request, twilio["auth_token"], public_url)
        sid, status = params.get("MessageSid"), params.get("MessageStatus")
        if not sid or not status:
            raise InvalidRequest("MessageSid and MessageStatus are required", "MessageSid")
        self.status_batches.add(self.events, {
            "provider": "twilio", "provider_id": sid, "status": status,
            "error_code": params.get("ErrorCode") or None},
            correlation_id=current_correlation_id())
        return Response(status=204)

    @api("POST", "/webhooks/twilio/inbound", body="form", public=True, request=INBOUND_FORM,
         request_headers=SIGNED_BY_TWILIO, answer=XML, answer_description="empty TwiML",
         errors=(403, 422))
    def twilio_inbound(self, request):
        """Twilio inbound text (X-Twilio-Signature checked): handed on as text_received and
        answered at once with empty TwiML; keywords are answered later, exactly once,
        through the API."""
        twilio = self.config["twilio"]
        public_url = self.config["gateway"]["public_url"]
        params = verify_twilio(request, twilio["auth_token"], public_url)
        for field in ("MessageSid", "From", "To"):
            if not params.get(field):
                raise InvalidRequest(f"{field} is required", field)
        if "Body" not in params:
            raise InvalidRequest("Body is required (it may be empty)", "Body")
        self.events.publish(envelope("text_received", {
            "provider": "twilio", "provider_id": params["MessageSid"],
            "from_number": params["From"], "to_number": params["To"], "body": params["Body"]},
            correlation_id=current_correlation_id()))
        return Response(EMPTY_TWIML, status=200, mimetype="text/xml")

    def _authenticate(self, request):
        """An API key (`th_…`) or a signed access token from /v1/auth/login; either way the
        identity comes from directory as it is now, so a revoked grant, an ended session
        (logout, refresh-token reuse) or a disabled account stops at once on every instance."""
        header = request.headers.get("Authorization", "")
        scheme, _, credential = header.partition(" ")
        credential = credential.strip()
        if scheme.lower() != "bearer" or not credential:
            raise Unauthenticated("send 'Authorization: Bearer <API key or access token>'",
                                  "Authorization")
        if credential.startswith("th_"):
            return self.directory.authenticate(credential)
        claims = tokens.verify_session(self.config, credential)
        return self.directory.identity(claims["account_id"], claims["session_id"])


def _broker_status(amqp_uri):
    try:
        with Connection(amqp_uri, connect_timeout=2) as conn:
            conn.ensure_connection(max_retries=1)
        return "ok"
    except Exception as exc:
        return f"unreachable: {type(exc).__name__}"
