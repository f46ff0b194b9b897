"""gateway: the HTTP API. It authenticates the caller and passes the identity in every RPC;
the owning services decide what the caller may see or change."""


import eventlet
from kombu import Connection
from nameko.dependency_providers import Config
from werkzeug.wrappers import Response

from contracts import api as schemas
from contracts.errors import (
    Forbidden,
    InvalidRequest,
    ServiceUnavailable,
    Unauthenticated,
)
from contracts.events import envelope
from gateway import openapi
from gateway.consent_import_routes import ConsentImportRoutes
from gateway.consent_request_routes import ConsentRequestRoutes
from gateway.consent_routes import ConsentRoutes
from gateway.credits_routes import ORDER_LINK, CreditsRoutes
from gateway.directory_routes import DirectoryRoutes
from gateway.group_routes import GroupRoutes
from gateway.http import api, json_body, json_response
from gateway.import_routes import ImportRoutes
from gateway.order_routes import OrderRoutes
from gateway.people_routes import PeopleRoutes
from gateway.places_routes import PlacesRoutes
from gateway.preference_routes import PreferenceRoutes
from gateway.publisher import EventPublisher
from gateway.unsubscribe_pages import UnsubscribePages
from gateway.webhooks import verify_twilio
from servicekit import tokens
from servicekit.providers import Rpc
from servicekit.tracing import Tracing, current_correlation_id

SERVICES = ("directory", "consent", "credits", "messaging", "tickets", "reports")
HEALTH_TIMEOUT = 2.0
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


class GatewayService(DirectoryRoutes, PlacesRoutes, PeopleRoutes, ImportRoutes, CreditsRoutes,
                     OrderRoutes, ConsentRoutes, PreferenceRoutes, ConsentRequestRoutes,
                     ConsentImportRoutes, UnsubscribePages, GroupRoutes):
    name = "gateway"
    config = Config()
    tracing = Tracing()
    events = EventPublisher()
    directory = Rpc("directory")
    consent = Rpc("consent")   # health checks are bounded by HEALTH_TIMEOUT anyway
    credits = Rpc("credits")
    # the balance shown beside a send: never worth holding the send's answer for long
    credits_balance = Rpc("credits", timeout=HEALTH_TIMEOUT)
    messaging = Rpc("messaging")
    tickets = Rpc("tickets", timeout=HEALTH_TIMEOUT)
    reports = Rpc("reports")

    @api("GET", "/healthz")
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

    @api("GET", "/openapi.json")
    def openapi_document(self, request):
        return openapi.document()

    @api("POST", "/v1/communications")
    def create_communication(self, request):
        identity = self._authenticate(request)
        payload = schemas.CommunicationRequest().load(json_body(request))
        key = request.headers.get("Idempotency-Key")
        accepted = self.messaging.create(identity, payload, idempotency_key=key)
        accepted = self._with_balance(identity, accepted, accepted.get("community_id"))
        body = schemas.CommunicationAccepted().dump(accepted)
        return json_response(body, 202, headers={"Location": accepted["links"]["self"]})

    @api("GET", "/v1/communications/<string:communication_id>")
    def get_communication(self, request, communication_id):
        identity = self._authenticate(request)
        view = self.messaging.get(identity, communication_id)
        view["credits"] = self.credits.get_holds(identity, communication_id)
        view = self._with_balance(identity, view, view.get("community_id"))
        return schemas.CommunicationView().dump(view)

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

    @api("GET", "/v1/communities/<string:community_id>/credits")
    def get_community_credits(self, request, community_id):
        identity = self._authenticate(request)
        self.directory.get_community(identity, community_id)  # 404 unless the caller's
        return schemas.WalletView().dump(self.credits.get_wallet(identity, community_id))

    @api("GET", "/v1/reports/deliveries")
    def delivery_report(self, request):
        identity = self._authenticate(request)
        query = schemas.DeliveryReportQuery().load(request.args.to_dict())
        self.directory.get_community(identity, query["community_id"])
        counts = self.reports.delivery_counts(identity, query["community_id"])
        return schemas.DeliveryCounts().dump(counts)

    @api("POST", "/webhooks/twilio/status", body="form")
    def twilio_status(self, request):
        """Checked, acknowledged at once, applied asynchronously by messaging."""
        twilio = self.config["twilio"]
        public_url = self.config["gateway"]["public_url"]
        params = verify_twilio(request, twilio["auth_token"], public_url)
        sid, status = params.get("MessageSid"), params.get("MessageStatus")
        if not sid or not status:
            raise InvalidRequest("MessageSid and MessageStatus are required", "MessageSid")
        self.events.publish(envelope("provider_status_received", {
            "provider": "twilio", "provider_id": sid, "status": status,
            "error_code": params.get("ErrorCode") or None},
            correlation_id=current_correlation_id()))
        return Response(status=204)

    @api("POST", "/webhooks/twilio/inbound", body="form")
    def twilio_inbound(self, request):
        """A text to one of our numbers: checked, handed on as `text_received`, answered at
        once with empty TwiML — keywords are answered later, exactly once, through the API."""
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
