"""/openapi.json, generated from the marshmallow schemas that validate the requests."""

import re
from functools import cache

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from contracts import api as schemas
from contracts import consent_api as consent_schemas
from contracts import credits_api as credit_schemas
from contracts import directory_api as objects
from contracts import order_api, preference_api

PROBLEM = {"application/problem+json": {"schema": "Problem"}}


def _json(schema):
    return {"application/json": {"schema": schema}}


def _errors(*codes):
    words = {400: "Bad request", 401: "No or unknown credentials", 403: "Forbidden",
             404: "Not found (or another organization's)",
             402: "Not enough credits, or the payment failed",
             409: "Conflicts with what exists (a unit label, an email)",
             422: "Invalid or unsupported",
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
    for schema in OBJECT_SCHEMAS:
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
                              "content": _json("CommunicationAccepted"),
                              "links": links(("GET", "/v1/communications/{id}", "id"))},
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
        "parameters": _query(schemas.DeliveryReportQuery),
        "responses": {"200": {"description": "counts", "content": _json("DeliveryCounts")},
                      **_errors(401, 404, 422)}}})
    spec.path("/webhooks/twilio/status", operations={"post": {
        "summary": "Twilio status callback (X-Twilio-Signature checked)",
        "responses": {"204": {"description": "accepted"}, **_errors(403, 422)}}})
    spec.path("/webhooks/twilio/inbound", operations={"post": {
        "summary": "Twilio inbound text (X-Twilio-Signature checked); keywords are answered "
                   "later, once, through the API",
        "responses": {"200": {"description": "empty TwiML", "content": {
            "text/xml": {"schema": {"type": "string"}}}}, **_errors(403, 422)}}})
    _directory_paths(spec, secured)
    _object_paths(spec)
    _credits_paths(spec)
    _consent_paths(spec)
    _import_paths(spec, secured)
    _order_paths(spec)
    _preference_paths(spec)
    _consent_request_paths(spec)
    _unsubscribe_paths(spec)
    _consent_import_paths(spec)
    _group_paths(spec)
    return spec.to_dict()


def links(*targets):
    """OpenAPI links from an answer into the routes that take the object it made: each target
    is (method, path, parameter) fed with the answer's `id`, or (method, path, parameter,
    pointer) fed with another JSON pointer into the answer. Clients (and the fuzzer's
    stateful phase) follow them from a created object to reading, changing and deleting it."""
    made = {}
    for method, path, parameter, *pointer in targets:
        escaped = path.replace("~", "~0").replace("/", "~1")
        name = re.sub(r"[^A-Za-z0-9]+", "_", f"{method} {path}").strip("_")
        made[name] = {"operationRef": f"#/paths/{escaped}/{method.lower()}",
                      "parameters": {parameter: "$response.body#" + (pointer or ["/id"])[0]}}
    return made


def _path_id(name):
    return {"in": "path", "name": name, "required": True, "schema": {"type": "string"}}


def _query(schema=None):
    """The query parameters of the schema the route loads them with (types, ranges, enums)."""
    return [{"in": "query", "schema": schema}] if schema else []


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
        "parameters": _query(schemas.ListQuery),
        "responses": {"200": {"description": "a page", "content": _json("CommunityPage")},
                      **_errors(401, 422)}}})
    spec.path("/v1/communities/{id}", operations={"get": {
        "summary": "A community", "security": secured, "parameters": [_path_id("id")],
        "responses": {"200": {"description": "it", "content": _json("CommunityView")},
                      **_errors(401, 403, 404)}}})
    spec.path("/v1/residents", operations={"get": {
        "summary": "Residents the caller may see; search by name, unit, phone or email",
        "security": secured,
        "parameters": _query(schemas.ResidentListQuery),
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
                                       "content": _json("GrantView"),
                                       "links": links(("DELETE", "/v1/grants/{id}", "id"))},
                               **_errors(401, 403, 404, 422)}}})
    spec.path("/v1/grants/{id}", operations={"delete": {
        "summary": "Revoke a grant (master users)", "security": secured,
        "parameters": [_path_id("id")],
        "responses": {"204": {"description": "revoked"}, **_errors(401, 403, 404)}}})
    spec.path("/v1/audit-log", operations={"get": {
        "summary": "Security events of the organization (master users)", "security": secured,
        "parameters": _query(PAGE_QUERY),
        "responses": {"200": {"description": "a page", "content": _json("AuditPage")},
                      **_errors(401, 403)}}})


OBJECT_SCHEMAS = (objects.OrganizationUpdate, objects.OrganizationView,
                  objects.PortalAccountRequest, objects.PortalAccountView,
                  objects.OfficeRequest, objects.OfficeView, objects.OfficePage,
                  objects.CommunityRequest, objects.UnitRequest, objects.UnitView,
                  objects.UnitPage, objects.ContactPointRequest, objects.ContactPointUpdate,
                  objects.ResidentRequest, objects.ResidentUpdate, objects.MoveOutRequest,
                  objects.StaffRequest, objects.StaffUpdate, objects.StaffView,
                  objects.StaffPage, objects.TeamRequest, objects.TeamUpdate, objects.TeamView,
                  objects.TeamPage, objects.ApiKeyRequest, objects.ApiKeyView,
                  objects.ApiKeyCreated, objects.ApiKeyList)
PAGE_QUERY = schemas.ListQuery(only=("cursor", "limit"))
# where a created community, resident or category is followed (see `links`)
COMMUNITY_ROUTES = (("GET", "/v1/communities/{id}", "id"),
                    ("PATCH", "/v1/communities/{id}", "id"),
                    ("GET", "/v1/communities/{id}/credits", "id"),
                    ("GET", "/v1/communities/{community_id}/units", "community_id"),
                    ("POST", "/v1/communities/{community_id}/units", "community_id"),
                    ("POST", "/v1/communities/{community_id}/imports", "community_id"),
                    ("GET", "/v1/communities/{community_id}/consents.csv", "community_id"))
RESIDENT_ROUTES = (("GET", "/v1/residents/{id}", "id"),
                   ("PATCH", "/v1/residents/{id}", "id"),
                   ("POST", "/v1/residents/{resident_id}/move-out", "resident_id"),
                   ("POST", "/v1/residents/{resident_id}/portal-account", "resident_id"),
                   ("POST", "/v1/residents/{resident_id}/contact-points", "resident_id"),
                   ("GET", "/v1/residents/{resident_id}/preferences", "resident_id"),
                   ("PUT", "/v1/residents/{resident_id}/preferences", "resident_id"),
                   ("GET", "/v1/residents/{resident_id}/consents", "resident_id"),
                   ("GET", "/v1/residents/{resident_id}/consents.csv", "resident_id"))
CATEGORY_ROUTES = tuple((method, "/v1/consent/categories/{category_id}" + tail, "category_id")
                        for method, tail in (("GET", ""), ("PATCH", ""), ("DELETE", ""),
                                             ("POST", "/archive"), ("GET", "/changes"),
                                             ("GET", "/requests"), ("POST", "/requests"),
                                             ("POST", "/consent-imports")))
IDEMPOTENCY = {"in": "header", "name": "Idempotency-Key", "schema": {"type": "string"},
               "description": "same key and body: the first answer again"}


def _operation(summary, ids=(), query=None, body=None, answer=None, status=200, errors=(),
               follow=()):
    """One secured operation: path ids, query parameters, a JSON body, an answer schema, and
    the routes its answer's object can be followed into (see `links`)."""
    operation = {"summary": summary, "security": [{"apiKey": []}],
                 "parameters": [_path_id(i) for i in ids] + _query(query)}
    if body:
        operation["requestBody"] = {"required": True, "content": _json(body)}
        if status == 201:
            operation["parameters"].append(IDEMPOTENCY)
    ok = {"description": summary}
    if answer:
        ok["content"] = _json(answer)
    if follow:
        ok["links"] = links(*follow)
    operation["responses"] = {str(status): ok, **_errors(401, *errors)}
    return operation


def _object_paths(spec):
    """Creating and changing offices, communities, units, residents, contact points, staff,
    teams and API keys (PATCH bodies are partial)."""
    listing = schemas.ListQuery
    change = (403, 404, 409, 422)
    spec.path("/v1/organization", operations={
        "get": _operation("The caller's organization (staff)", answer="OrganizationView",
                          errors=(403,)),
        "patch": _operation("Rename the organization (master users)",
                            body="OrganizationUpdate", answer="OrganizationView",
                            errors=(403, 422))})
    spec.path("/v1/offices", operations={
        "get": _operation("Offices the caller holds a permission in", query=listing,
                          answer="OfficePage", errors=(403, 422)),
        "post": _operation("Add an office (master users)", body="OfficeRequest",
                           answer="OfficeView", status=201, errors=(403, 422), follow=(
                               ("GET", "/v1/offices/{office_id}", "office_id"),
                               ("PATCH", "/v1/offices/{office_id}", "office_id")))})
    spec.path("/v1/offices/{office_id}", operations={
        "get": _operation("An office", ids=("office_id",), answer="OfficeView",
                          errors=(403, 404)),
        "patch": _operation("Rename an office (master users)", ids=("office_id",),
                            body="OfficeRequest", answer="OfficeView", errors=change)})
    spec.path("/v1/communities", operations={
        "post": _operation("Add a community to an office (master users)",
                           body="CommunityRequest", answer="CommunityView", status=201,
                           errors=change, follow=COMMUNITY_ROUTES)})
    spec.path("/v1/communities/{id}", operations={
        "patch": _operation("Change a community (manage_directory there; moving it to "
                            "another office: master users)", ids=("id",),
                            body="CommunityRequest", answer="CommunityView", errors=change)})
    spec.path("/v1/communities/{community_id}/units", operations={
        "get": _operation("Units of a community (a resident: their own)",
                          ids=("community_id",), query=listing, answer="UnitPage",
                          errors=(403, 404, 422)),
        "post": _operation("Add a unit (manage_directory there)", ids=("community_id",),
                           body="UnitRequest", answer="UnitView", status=201, errors=change,
                           follow=(("GET", "/v1/units/{unit_id}", "unit_id"),
                                   ("PATCH", "/v1/units/{unit_id}", "unit_id")))})
    spec.path("/v1/units/{unit_id}", operations={
        "get": _operation("A unit", ids=("unit_id",), answer="UnitView", errors=(403, 404)),
        "patch": _operation("Relabel a unit", ids=("unit_id",), body="UnitRequest",
                            answer="UnitView", errors=change)})
    spec.path("/v1/residents", operations={
        "post": _operation("Move a resident into a unit, with contact points",
                           body="ResidentRequest", answer="ResidentView", status=201,
                           errors=change, follow=RESIDENT_ROUTES)})
    spec.path("/v1/residents/{id}", operations={
        "patch": _operation("Change a resident's name, kind, language or external id",
                            ids=("id",), body="ResidentUpdate",
                            answer="ResidentView", errors=change)})
    spec.path("/v1/residents/{resident_id}/move-out", operations={
        "post": _operation("Move a resident out; the record and its history stay",
                           ids=("resident_id",), body="MoveOutRequest", answer="ResidentView",
                           errors=change)})
    spec.path("/v1/residents/{resident_id}/portal-account", operations={
        "post": _operation("Give a resident a portal login (manage_directory there); the "
                           "first password is handed over by the manager",
                           ids=("resident_id",), body="PortalAccountRequest",
                           answer="PortalAccountView", status=201, errors=change)})
    spec.path("/v1/residents/{resident_id}/contact-points", operations={
        "post": _operation("Add a phone (E.164 after normalizing) or an email",
                           ids=("resident_id",), body="ContactPointRequest",
                           answer="ResidentView", status=201, errors=change, follow=(
                               ("PATCH", "/v1/contact-points/{contact_point_id}",
                                "contact_point_id", "/contact_points/0/id"),
                               ("DELETE", "/v1/contact-points/{contact_point_id}",
                                "contact_point_id", "/contact_points/0/id")))})
    spec.path("/v1/contact-points/{contact_point_id}", operations={
        "patch": _operation("Make a contact point the primary of its kind",
                            ids=("contact_point_id",), body="ContactPointUpdate",
                            answer="ResidentView", errors=change),
        "delete": _operation("Remove a contact point (the newest other becomes primary)",
                             ids=("contact_point_id",), answer="ResidentView",
                             errors=(403, 404))})
    spec.path("/v1/staff", operations={
        "get": _operation("Staff users (master users)", query=listing, answer="StaffPage",
                          errors=(403, 422)),
        "post": _operation("Add a staff user, with a login when a password is given "
                           "(master users)", body="StaffRequest", answer="StaffView",
                           status=201, errors=change, follow=(
                               ("GET", "/v1/staff/{staff_user_id}", "staff_user_id"),
                               ("PATCH", "/v1/staff/{staff_user_id}", "staff_user_id"),
                               ("GET", "/v1/staff/{id}/grants", "id"),
                               ("POST", "/v1/staff/{id}/grants", "id")))})
    spec.path("/v1/staff/{staff_user_id}", operations={
        "get": _operation("A staff user (master users, or the user)",
                          ids=("staff_user_id",), answer="StaffView", errors=(403, 404)),
        "patch": _operation("Rename, disable or enable a staff user (master users)",
                            ids=("staff_user_id",), body="StaffUpdate", answer="StaffView",
                            errors=change)})
    spec.path("/v1/teams", operations={
        "get": _operation("Teams (master users: all; others: their own)", query=listing,
                          answer="TeamPage", errors=(403, 422)),
        "post": _operation("Add a team (master users)", body="TeamRequest",
                           answer="TeamView", status=201, errors=change, follow=(
                               ("GET", "/v1/teams/{team_id}", "team_id"),
                               ("PATCH", "/v1/teams/{team_id}", "team_id")))})
    spec.path("/v1/teams/{team_id}", operations={
        "get": _operation("A team (master users and its members)", ids=("team_id",),
                          answer="TeamView", errors=(403, 404)),
        "patch": _operation("Change a team (master users)", ids=("team_id",),
                            body="TeamUpdate", answer="TeamView", errors=change)})
    spec.path("/v1/teams/{team_id}/members/{staff_user_id}", operations={
        "put": _operation("Add a member (master users)", ids=("team_id", "staff_user_id"),
                          answer="TeamView", errors=(403, 404)),
        "delete": _operation("Remove a member (master users)",
                             ids=("team_id", "staff_user_id"), answer="TeamView",
                             errors=(403, 404))})
    spec.path("/v1/api-keys", operations={
        "get": _operation("API keys of the organization, without secrets (master users)",
                          answer="ApiKeyList", errors=(403,)),
        "post": _operation("Create an API key; the key is in this answer only (master users)",
                           body="ApiKeyRequest", answer="ApiKeyCreated", status=201,
                           errors=(403, 422), follow=(
                               ("DELETE", "/v1/api-keys/{api_key_id}", "api_key_id"),))})
    spec.path("/v1/api-keys/{api_key_id}", operations={
        "delete": _operation("Revoke an API key at once (master users)",
                             ids=("api_key_id",), status=204, errors=(403, 404))})


def _import_paths(spec, secured):
    """CSV import of residents and units: a job answered at once, followed at its Location."""
    spec.components.schema("ImportView", schema=schemas.ImportView)
    csv_file = {"type": "string", "format": "binary"}
    spec.path("/v1/communities/{community_id}/imports", operations={"post": {
        "summary": "Import residents and units from a CSV file (manage_directory there)",
        "description": "Columns: unit, first_name, last_name (required); email, phone, kind "
                       "(owner or tenant), move_in (YYYY-MM-DD), language, external_id. Every "
                       "row is validated; a file with errors imports nothing unless "
                       "import_valid_rows=true. Importing the same file again changes nothing.",
        "security": secured,
        "parameters": [_path_id("community_id"), {"in": "query", "schema": schemas.ImportQuery},
                       IDEMPOTENCY],
        "requestBody": {"required": True, "content": {
            "text/csv": {"schema": csv_file},
            "multipart/form-data": {"schema": {"type": "object", "required": ["file"],
                                               "properties": {"file": csv_file}}}}},
        "responses": {"202": {"description": "the job, pending; follow it at Location",
                              "headers": {"Location": {"schema": {"type": "string"}}},
                              "content": _json("ImportView"),
                              "links": links(("GET", "/v1/imports/{import_id}", "import_id"))},
                      **_errors(401, 403, 404, 422)}}})
    spec.path("/v1/imports/{import_id}", operations={"get": {
        "summary": "An import: status, progress, counts and every error with its line",
        "security": secured, "parameters": [_path_id("import_id")],
        "responses": {"200": {"description": "the job", "content": _json("ImportView")},
                      **_errors(401, 403, 404)}}})


CREDIT_SCHEMAS = (credit_schemas.Rates, credit_schemas.SettingsView,
                  credit_schemas.SettingsChange, credit_schemas.WalletList,
                  credit_schemas.AddCredits, credit_schemas.Threshold,
                  credit_schemas.ThresholdView, credit_schemas.TransferRequest,
                  credit_schemas.TransferView, credit_schemas.LogView,
                  credit_schemas.QuoteRequest, credit_schemas.QuoteView)


def _credits_paths(spec):
    """Credit settings, wallets, transfers, logs and quotes."""
    spec.components.schema("CreditWallet", schema=credit_schemas.WalletView)
    for schema in CREDIT_SCHEMAS:
        spec.components.schema(f"Credit{schema.__name__}", schema=schema)
    change = (403, 404, 409, 422)
    spec.path("/v1/credits/settings", operations={
        "get": _operation("The organization's credit model, floor and rate card",
                          answer="CreditSettingsView", errors=(403,)),
        "patch": _operation("Switch the credit model (refused while it would strand "
                            "credits), set the floor or the rate card (master users)",
                            body="CreditSettingsChange", answer="CreditSettingsView",
                            errors=(403, 422))})
    spec.path("/v1/credits/wallets", operations={"get": _operation(
        "Wallets the caller may see (seed 002) and where to order credits",
        answer="CreditWalletList")})
    wallet = ("wallet",)
    spec.path("/v1/credits/wallets/{wallet}", operations={"get": _operation(
        "A wallet: community:<id>, user:<id> or pool", ids=wallet, answer="CreditWallet",
        errors=(403, 404, 422))})
    spec.path("/v1/credits/wallets/{wallet}/grants", operations={"post": _operation(
        "Add credits from outside the ledger: support grants and corrections (master "
        "users; Idempotency-Key required)", ids=wallet, body="CreditAddCredits",
        answer="CreditWallet", status=201, errors=change)})
    spec.path("/v1/credits/wallets/{wallet}/threshold", operations={"put": _operation(
        "Set the balance below which wallet_balance_low is announced", ids=wallet,
        body="CreditThreshold", answer="CreditThresholdView", errors=change)})
    log = _operation("Every change of the last days (30 by default): JSON, a CSV download "
                     "(format=csv) or a printable page (format=html)", ids=wallet,
                     query=credit_schemas.LogQuery, answer="CreditLogView", errors=(403, 404, 422))
    log["responses"]["200"]["content"].update({"text/csv": {"schema": {"type": "string"}},
                                               "text/html": {"schema": {"type": "string"}}})
    spec.path("/v1/credits/wallets/{wallet}/log", operations={"get": log})
    spec.path("/v1/credits/transfers", operations={"post": _operation(
        "Move credits between wallets under the organization's rules (seed 002)",
        body="CreditTransferRequest", answer="CreditTransferView", status=201,
        errors=(402, 403, 404, 422))})
    spec.path("/v1/credits/quote", operations={"post": _operation(
        "Price a body for a number of recipients per channel before sending",
        body="CreditQuoteRequest", answer="CreditQuoteView", errors=(403, 404, 422))})


ORDER_SCHEMAS = {"CreditBuyer": order_api.BuyerRequest,
                 "CreditOrderRequest": order_api.OrderRequest,
                 "CreditPaymentRecord": order_api.PaymentRecord,
                 "CreditParty": order_api.PartyView, "CreditOrderLinks": order_api.OrderLinks,
                 "CreditOrderView": order_api.OrderView, "CreditOrderPage": order_api.OrderPage,
                 "CreditPaymentFailed": order_api.PaymentFailed}


def _order_paths(spec):
    """Buying credits: orders paid by card (credits applied at once) or invoice (applied when
    the payment is recorded), and each order's tax invoice / receipt."""
    for name, schema in ORDER_SCHEMAS.items():
        spec.components.schema(name, schema=schema)
    create = _operation("Order credits for a wallet the caller may buy for (seed 002) and "
                        "pay: by card (payment_method) at once, or by invoice",
                        body="CreditOrderRequest", answer="CreditOrderView",
                        status=201, errors=(403, 404, 422, 503), follow=(
                            ("GET", "/v1/credits/orders/{order_id}", "order_id"),
                            ("GET", "/v1/credits/orders/{order_id}/invoice.pdf", "order_id"),
                            ("POST", "/v1/credits/orders/{order_id}/payments", "order_id")))
    create["responses"]["402"] = {
        "description": "the payment failed (a declined card): nothing was charged or applied; "
                       "the failed order is in the body and at Location",
        "content": {"application/problem+json": {"schema": "CreditPaymentFailed"}}}
    spec.path("/v1/credits/orders", operations={
        "get": _operation("Orders the caller may see: their own, every order for master "
                          "users, a community's for holders of manage_credits there",
                          query=PAGE_QUERY, answer="CreditOrderPage",
                          errors=(422,)),
        "post": create})
    order = ("order_id",)
    spec.path("/v1/credits/orders/{order_id}", operations={"get": _operation(
        "An order: its status, amounts, parties and payment", ids=order,
        answer="CreditOrderView", errors=(403, 404))})
    invoice = _operation("The tax invoice / receipt of a paid or invoiced order (PDF)",
                         ids=order, errors=(403, 404, 409))
    invoice["responses"]["200"]["content"] = {
        "application/pdf": {"schema": {"type": "string", "format": "binary"}}}
    spec.path("/v1/credits/orders/{order_id}/invoice.pdf", operations={"get": invoice})
    spec.path("/v1/credits/orders/{order_id}/payments", operations={"post": _operation(
        "Record the payment of an invoice (master users): its credits are applied once; "
        "recording it again answers the paid order", ids=order, body="CreditPaymentRecord",
        answer="CreditOrderView", errors=(403, 404, 409, 422))})


def _consent_paths(spec):
    """Communication categories (seed 004)."""
    for schema in (consent_schemas.CategoryRequest, consent_schemas.CategoryView,
                   consent_schemas.CategoryPage, consent_schemas.ArchiveRequest,
                   consent_schemas.CategoryChanges):
        spec.components.schema(schema.__name__, schema=schema)
    one = ("category_id",)
    change = (403, 404, 409, 422)
    spec.path("/v1/consent/categories", operations={
        "get": _operation("Categories of the organization", query=consent_schemas.CategoryListQuery,
            answer="CategoryPage",
            errors=(422,)),
        "post": _operation("Add a category (manage_consent_categories)",
                           body="CategoryRequest", answer="CategoryView", status=201,
                           errors=change, follow=CATEGORY_ROUTES)})
    spec.path("/v1/consent/categories/{category_id}", operations={
        "get": _operation("A category", ids=one, answer="CategoryView", errors=(404,)),
        "patch": _operation("Change a category; every change is logged", ids=one,
                            body="CategoryRequest", answer="CategoryView", errors=change),
        "delete": _operation("Delete a category no communication used (else archive it)",
                             ids=one, status=204, errors=(403, 404, 409))})
    spec.path("/v1/consent/categories/{category_id}/archive", operations={
        "post": _operation("Archive (or restore with archived=false): history stays, new "
                           "sends are refused", ids=one, body="ArchiveRequest",
                           answer="CategoryView", errors=change)})
    spec.path("/v1/consent/categories/{category_id}/changes", operations={
        "get": _operation("Who changed what and when (manage_consent_categories)", ids=one,
                          answer="CategoryChanges", errors=(403, 404))})
    for schema in (consent_schemas.ConsentSettingsRequest,
                   consent_schemas.ConsentSettingsView):
        spec.components.schema(schema.__name__, schema=schema)
    spec.path("/v1/consent/settings", operations={
        "get": _operation("The organization's consent settings: the answer to HELP texts",
                          answer="ConsentSettingsView", errors=(403,)),
        "put": _operation("Set the answer to HELP texts (manage_consent_categories)",
                          body="ConsentSettingsRequest", answer="ConsentSettingsView",
                          errors=(403, 422))})


def _preference_paths(spec):
    """A resident's channel preferences (seed 000), consent history and proof (CSV)."""
    for schema in (preference_api.PreferencesRequest, preference_api.PreferencesView,
                   preference_api.ConsentHistory):
        spec.components.schema(schema.__name__, schema=schema)
    one = ("resident_id",)
    spec.path("/v1/residents/{resident_id}/preferences", operations={
        "get": _operation("Channel preferences (email, text, voice); never set: on",
                          ids=one, answer="PreferencesView", errors=(403, 404)),
        "put": _operation("Turn channels on or off, with the words shown (the resident, or "
                          "staff with manage_directory there); every change is kept as "
                          "evidence", ids=one, body="PreferencesRequest",
                          answer="PreferencesView", errors=(403, 404, 422))})
    spec.path("/v1/residents/{resident_id}/consents", operations={"get": _operation(
        "Every grant and withdrawal with its evidence, and the state per category and "
        "channel (the resident, or staff who see them)", ids=one, answer="ConsentHistory",
        errors=(403, 404))})
    spec.path("/v1/residents/{resident_id}/consents.csv", operations={"get": _csv_operation(
        "Proof of consent of a resident (CSV)", one)})
    spec.path("/v1/communities/{community_id}/consents.csv", operations={
        "get": _csv_operation("Proof of consent of every resident of a community (CSV; "
                              "manage_consent_categories or manage_directory there)",
                              ("community_id",))})


def _csv_operation(summary, ids):
    operation = _operation(summary, ids=ids, errors=(403, 404))
    operation["responses"]["200"]["content"] = {"text/csv": {"schema": {"type": "string"}}}
    return operation


def _consent_request_paths(spec):
    """Consent requests (seed 004: Actions → Send consent request) and the public page
    whose button records the express consent."""
    for schema in (consent_schemas.ConsentRequestCreate, consent_schemas.ConsentRequestView,
                   consent_schemas.ConsentRequestPage):
        spec.components.schema(schema.__name__, schema=schema)
    create = _operation("Email every resident of the communities who has not answered yet a "
                        "signed link to confirm the request-mode category "
                        "(manage_consent_categories)", ids=("category_id",),
                        body="ConsentRequestCreate", answer="ConsentRequestView",
                        status=202, errors=(403, 404, 422), follow=(
                            ("GET", "/v1/consent/requests/{request_id}", "request_id"),))
    create["parameters"].append(IDEMPOTENCY)
    create["responses"]["202"]["headers"] = {"Location": {"schema": {"type": "string"}}}
    spec.path("/v1/consent/categories/{category_id}/requests", operations={
        "post": create,
        "get": _operation("Consent requests of a category (manage_consent_categories)",
                          ids=("category_id",), query=consent_schemas.ConsentRequestListQuery,
                          answer="ConsentRequestPage", errors=(403, 404, 422))})
    spec.path("/v1/consent/requests/{request_id}", operations={"get": _operation(
        "A consent request's progress: counts by recipient status, skipped ones included",
        ids=("request_id",), answer="ConsentRequestView", errors=(403, 404))})
    html = {"text/html": {"schema": {"type": "string"}}}
    token = {"in": "path", "name": "token", "required": True, "schema": {"type": "string"},
             "description": "the signed token from the email"}
    problems = {"400": {"description": "a changed or unknown link; nothing recorded",
                        "content": html},
                "410": {"description": "an expired link; nothing recorded", "content": html}}
    spec.path("/c/{token}", operations={
        "get": {"summary": "Public confirm page (no login): the question and one button; "
                           "records nothing", "parameters": [token],
                "responses": {"200": {"description": "the page", "content": html},
                              **problems}},
        "post": {"summary": "The button of the confirm page: records one express consent "
                            "with the words shown, the address and the time",
                 "parameters": [token],
                 "requestBody": {"content": {"application/x-www-form-urlencoded": {
                     "schema": {"type": "object"}}}},
                 "responses": {"200": {"description": "thank-you page", "content": html},
                               **problems}}})


def _unsubscribe_paths(spec):
    """The public unsubscribe page behind the link in every message of an opt-out-enabled
    category, and its RFC 8058 one-click POST (List-Unsubscribe-Post)."""
    html = {"text/html": {"schema": {"type": "string"}}}
    token = {"in": "path", "name": "token", "required": True, "schema": {"type": "string"},
             "description": "the signed token from the message"}
    problems = {"400": {"description": "a changed or unknown link; nothing recorded",
                        "content": html},
                "410": {"description": "an expired link; nothing recorded", "content": html}}
    form = {"type": "object", "properties": {
        "scope": {"type": "string", "enum": ["category", "all_commercial"]},
        "List-Unsubscribe": {"type": "string", "enum": ["One-Click"],
                             "description": "RFC 8058 one-click: withdraws the link's "
                                           "category"}}}
    spec.path("/u/{token}", operations={
        "get": {"summary": "Public unsubscribe page (no login): this category or every "
                           "commercial category; records nothing", "parameters": [token],
                "responses": {"200": {"description": "the page", "content": html},
                              **problems}},
        "post": {"summary": "Unsubscribe (the page's form, or a mail client's one-click "
                            "POST): records the withdrawal with the words shown, the "
                            "address, the time and the client's IP",
                 "parameters": [token],
                 "requestBody": {"content": {
                     "application/x-www-form-urlencoded": {"schema": form},
                     "multipart/form-data": {"schema": form}}},
                 "responses": {"200": {"description": "confirmation page", "content": html},
                               **problems}}})


def _consent_import_paths(spec):
    """Consent collected before Townhall (paper forms, a previous system), with its evidence."""
    spec.components.schema("ConsentImportView", schema=consent_schemas.ConsentImportView)
    csv_file = {"type": "string", "format": "binary"}
    operation = _operation(
        "Import consent collected before Townhall from a CSV file "
        "(manage_consent_categories)", ids=("category_id",), answer="ConsentImportView",
        errors=(403, 404, 422))
    operation["description"] = (
        "Columns: resident_id, channel (sms, email, voice), action (grant, withdraw), "
        "obtained_at (YYYY-MM-DD or an ISO date and time, not in the future), wording (the "
        "words the resident agreed to, up to 1000 characters) are required; address (the "
        "phone or email it concerns) and source (e.g. paper form 2024) are optional. Every "
        "row is checked first; a file with any error imports nothing and the 422 names up to "
        "50 errors by line, column and rule. A good file is appended in one transaction, in "
        "file order, method import. At most 20,000 rows and 5 MiB.")
    operation["parameters"] += [{"in": "query", "schema": consent_schemas.ConsentImportQuery},
                                IDEMPOTENCY]
    operation["requestBody"] = {"required": True, "content": {
        "text/csv": {"schema": csv_file},
        "multipart/form-data": {"schema": {"type": "object", "required": ["file"],
                                           "properties": {"file": csv_file}}}}}
    spec.path("/v1/consent/categories/{category_id}/consent-imports",
              operations={"post": operation})


def _group_paths(spec):
    """Groups: saved audiences of one community (residents and units), read by staff who may
    read its residents and changed with manage_directory there."""
    for schema in (objects.GroupMembers, objects.GroupMemberCounts, objects.GroupRequest,
                   objects.GroupUpdate, objects.GroupSummary, objects.GroupView,
                   objects.GroupPage):
        spec.components.schema(schema.__name__, schema=schema)
    one = ("group_id",)
    change = (403, 404, 409, 422)
    spec.path("/v1/groups", operations={
        "get": _operation("Groups of the communities the caller may read (staff), of one "
                          "with community_id", query=objects.GroupListQuery,
                          answer="GroupPage", errors=(403, 404, 422)),
        "post": _operation("Save a group of residents and units of one community "
                           "(manage_directory there); its name is unique in the community",
                           body="GroupRequest", answer="GroupView", status=201,
                           errors=change, follow=tuple(
                               (method, "/v1/groups/{group_id}", "group_id")
                               for method in ("GET", "PATCH", "DELETE")))})
    spec.path("/v1/groups/{group_id}", operations={
        "get": _operation("A group with its members", ids=one, answer="GroupView",
                          errors=(403, 404)),
        "patch": _operation("Rename a group, describe it, or replace its members whole",
                            ids=one, body="GroupUpdate", answer="GroupView", errors=change),
        "delete": _operation("Delete a group (its residents and units stay)", ids=one,
                             status=204, errors=(403, 404))})
