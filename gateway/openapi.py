"""/openapi.json, generated from the marshmallow schemas that validate the requests."""

from functools import cache

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from contracts import api as schemas

PROBLEM = {"application/problem+json": {"schema": "Problem"}}


def _json(schema):
    return {"application/json": {"schema": schema}}


def _errors(*codes):
    words = {400: "Bad request", 401: "No or unknown credentials", 403: "Forbidden",
             404: "Not found (or another organization's)", 422: "Invalid or unsupported",
             429: "Too many failed attempts", 503: "A service is unavailable"}
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
                   schemas.Health, schemas.Problem, schemas.LoginRequest, schemas.RefreshRequest,
                   schemas.Identity, schemas.Tokens, schemas.CommunityView,
                   schemas.CommunityPage, schemas.ResidentView, schemas.ResidentPage,
                   schemas.AuditPage, schemas.GrantRequest, schemas.GrantView,
                   schemas.GrantList):
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
    _directory_paths(spec, secured)
    return spec.to_dict()


def _path_id(name):
    return {"in": "path", "name": name, "required": True, "schema": {"type": "string"}}


def _query(*names):
    return [{"in": "query", "name": n, "schema": {"type": "string"}} for n in names]


def _directory_paths(spec, secured):
    auth_errors = _errors(401, 422, 429)
    spec.path("/v1/auth/login", operations={"post": {
        "summary": "Sign in with email and password",
        "requestBody": {"required": True, "content": _json("LoginRequest")},
        "responses": {"200": {"description": "tokens", "content": _json("Tokens")},
                      **auth_errors}}})
    spec.path("/v1/auth/refresh", operations={"post": {
        "summary": "Rotate a refresh token for new tokens",
        "requestBody": {"required": True, "content": _json("RefreshRequest")},
        "responses": {"200": {"description": "tokens", "content": _json("Tokens")},
                      **_errors(401, 422)}}})
    spec.path("/v1/auth/logout", operations={"post": {
        "summary": "Revoke a refresh token",
        "requestBody": {"required": True, "content": _json("RefreshRequest")},
        "responses": {"204": {"description": "revoked"}, **_errors(422)}}})
    spec.path("/v1/me", operations={"get": {
        "summary": "Who the caller is and where it holds which permission", "security": secured,
        "responses": {"200": {"description": "identity", "content": _json("Identity")},
                      **_errors(401)}}})
    spec.path("/v1/communities", operations={"get": {
        "summary": "Communities the caller may see", "security": secured,
        "parameters": _query("cursor", "limit", "q"),
        "responses": {"200": {"description": "a page", "content": _json("CommunityPage")},
                      **_errors(401, 422)}}})
    spec.path("/v1/communities/{id}", operations={"get": {
        "summary": "A community", "security": secured, "parameters": [_path_id("id")],
        "responses": {"200": {"description": "it", "content": _json("CommunityView")},
                      **_errors(401, 403, 404)}}})
    spec.path("/v1/residents", operations={"get": {
        "summary": "Residents the caller may see; search by name, unit, phone or email",
        "security": secured,
        "parameters": _query("community_id", "q", "cursor", "limit", "include_moved_out"),
        "responses": {"200": {"description": "a page", "content": _json("ResidentPage")},
                      **_errors(401, 422)}}})
    spec.path("/v1/residents/{id}", operations={"get": {
        "summary": "A resident with contact points", "security": secured,
        "parameters": [_path_id("id")],
        "responses": {"200": {"description": "them", "content": _json("ResidentView")},
                      **_errors(401, 403, 404)}}})
    spec.path("/v1/staff/{id}/grants", operations={
        "get": {"summary": "A staff user's grants (master users)", "security": secured,
                "parameters": [_path_id("id")],
                "responses": {"200": {"description": "grants", "content": _json("GrantList")},
                              **_errors(401, 403, 404)}},
        "post": {"summary": "Grant a permission or a role at a scope (master users)",
                 "security": secured, "parameters": [_path_id("id")],
                 "requestBody": {"required": True, "content": _json("GrantRequest")},
                 "responses": {"201": {"description": "granted",
                                       "content": _json("GrantView")},
                               **_errors(401, 403, 404, 422)}}})
    spec.path("/v1/grants/{id}", operations={"delete": {
        "summary": "Revoke a grant (master users)", "security": secured,
        "parameters": [_path_id("id")],
        "responses": {"204": {"description": "revoked"}, **_errors(401, 403, 404)}}})
    spec.path("/v1/audit-log", operations={"get": {
        "summary": "Security events of the organization (master users)", "security": secured,
        "parameters": _query("cursor", "limit"),
        "responses": {"200": {"description": "a page", "content": _json("AuditPage")},
                      **_errors(401, 403)}}})
