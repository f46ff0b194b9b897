"""/openapi.json, generated from the marshmallow schemas that validate the requests."""

from functools import cache

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from contracts import api as schemas

PROBLEM = {"application/problem+json": {"schema": "Problem"}}


def _json(schema):
    return {"application/json": {"schema": schema}}


def _errors(*codes):
    words = {400: "Bad request", 401: "No or unknown API key", 403: "Forbidden",
             404: "Not found (or another organization's)", 422: "Invalid or unsupported",
             503: "A service is unavailable"}
    return {str(c): {"description": words[c], "content": PROBLEM} for c in codes}


@cache
def document():
    spec = APISpec(title="Townhall API", version="1.0.0", openapi_version="3.0.3",
                   plugins=[MarshmallowPlugin()],
                   info={"description": "Reach residents by text, call and email under "
                                        "consent and prepaid credits."})
    spec.components.security_scheme("apiKey", {"type": "http", "scheme": "bearer"})
    for schema in (schemas.CommunicationRequest, schemas.CommunicationAccepted,
                   schemas.CommunicationView, schemas.WalletView, schemas.DeliveryCounts,
                   schemas.Health, schemas.Problem):
        spec.components.schema(schema.__name__, schema=schema)
    secured = [{"apiKey": []}]
    spec.path("/healthz", operations={"get": {
        "summary": "Broker and services reachable",
        "responses": {"200": {"description": "healthy", "content": _json("Health")},
                      "503": {"description": "degraded", "content": _json("Health")}}}})
    spec.path("/v1/communications", operations={"post": {
        "summary": "Send a communication", "security": secured,
        "parameters": [{"in": "header", "name": "Idempotency-Key", "schema": {"type": "string"},
                        "description": "same key and body: the first answer again"}],
        "requestBody": {"required": True, "content": _json("CommunicationRequest")},
        "responses": {"202": {"description": "accepted",
                              "content": _json("CommunicationAccepted")},
                      **_errors(401, 403, 404, 422, 503)}}})
    spec.path("/v1/communications/{id}", operations={"get": {
        "summary": "Progress of a communication", "security": secured,
        "parameters": [{"in": "path", "name": "id", "required": True,
                        "schema": {"type": "string"}}],
        "responses": {"200": {"description": "its status, deliveries and credits",
                              "content": _json("CommunicationView")},
                      **_errors(401, 404)}}})
    spec.path("/v1/communities/{id}/credits", operations={"get": {
        "summary": "A community wallet", "security": secured,
        "parameters": [{"in": "path", "name": "id", "required": True,
                        "schema": {"type": "string"}}],
        "responses": {"200": {"description": "balance and held credits",
                              "content": _json("WalletView")}, **_errors(401, 404)}}})
    spec.path("/v1/reports/deliveries", operations={"get": {
        "summary": "Delivery counts by status", "security": secured,
        "parameters": [{"in": "query", "name": "community_id", "required": True,
                        "schema": {"type": "string"}}],
        "responses": {"200": {"description": "counts", "content": _json("DeliveryCounts")},
                      **_errors(401, 404, 422)}}})
    spec.path("/webhooks/twilio/status", operations={"post": {
        "summary": "Twilio status callback (X-Twilio-Signature checked)",
        "responses": {"204": {"description": "accepted"}, **_errors(403, 422)}}})
    return spec.to_dict()
