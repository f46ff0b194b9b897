"""/openapi.json, built from what each route declares on `@api` (gateway/declaration.py) and
the marshmallow schemas it validates and answers with. The routes in HAND_WRITTEN are still
written out by hand, below, until their owner declares them."""

import re
from functools import cache

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import Schema

from contracts import api as schemas
from contracts import credits_api as credit_schemas
from contracts import order_api
from gateway.declaration import PDF
from gateway.http import PROBLEM as PROBLEM_TYPE
from gateway.routes import declared_routes

PROBLEM = {PROBLEM_TYPE: {"schema": "Problem"}}
SECURED = [{"apiKey": []}]
ERROR_MEANINGS = {400: "Bad request", 401: "No or unknown credentials", 403: "Forbidden",
                  404: "Not found (or another organization's)",
                  402: "Not enough credits, or the payment failed",
                  409: "Conflicts with what exists (a unit label, an email)",
                  422: "Invalid or unsupported",
                  413: "Larger than the limit the answer names",
                  429: "Too many failed attempts", 503: "A service is unavailable"}
IDEMPOTENCY_MEANINGS = {
    "accepted": "same key and body: the first answer again",
    "required": "required: without one a retried request would repeat the change; same key "
                "and body: the first answer again"}
FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")
CSV_FILE = {"type": "string", "format": "binary"}

# components not named after their class: two classes are called WalletView, and the
# credits API's schemas carry the prefix they have always had (registered first, in this
# order, so that a schema nested in another is found under its name)
CREDIT_SCHEMAS = (credit_schemas.Rates, credit_schemas.SettingsView,
                  credit_schemas.SettingsChange, credit_schemas.WalletList,
                  credit_schemas.AddCredits, credit_schemas.Threshold,
                  credit_schemas.ThresholdView, credit_schemas.TransferRequest,
                  credit_schemas.TransferView, credit_schemas.LogView,
                  credit_schemas.QuoteRequest, credit_schemas.QuoteView)
COMPONENT_NAMES = {
    credit_schemas.WalletView: "CreditWallet",
    **{schema: f"Credit{schema.__name__}" for schema in CREDIT_SCHEMAS},
    order_api.BuyerRequest: "CreditBuyer", order_api.OrderRequest: "CreditOrderRequest",
    order_api.PaymentRecord: "CreditPaymentRecord", order_api.PartyView: "CreditParty",
    order_api.OrderLinks: "CreditOrderLinks", order_api.OrderView: "CreditOrderView",
    order_api.OrderPage: "CreditOrderPage", order_api.PaymentFailed: "CreditPaymentFailed"}

# routes whose entries are written out by hand below, by handler name
HAND_WRITTEN = ()


class UndeclaredRoutes(RuntimeError):
    """A route whose OpenAPI entry cannot be built from its declaration."""


@cache
def document():
    from gateway.service import GatewayService  # it serves this document

    return build(GatewayService)


def build(service_cls):
    """The document of a service's routes; UndeclaredRoutes names any it cannot describe."""
    spec = APISpec(title="Townhall API", version="1.0.0", openapi_version="3.0.3",
                   plugins=[MarshmallowPlugin()],
                   info={"description": "Reach residents by text, call and email under "
                                        "consent and prepaid credits."})
    spec.components.security_scheme("apiKey", {"type": "http", "scheme": "bearer"})
    spec.components.schema("Problem", schema=schemas.Problem)
    for schema, name in COMPONENT_NAMES.items():
        spec.components.schema(name, schema=schema)
    routes = declared_routes(service_cls)
    for schema in {type(r.declaration.request): r.declaration.request for r in routes
                   if _partial(r.declaration.request)}.values():
        # a PATCH's body, a create's schema loaded with partial=True, is documented under a
        # name of its own with nothing required: apispec tells the instance from its class
        spec.components.schema(type(schema).__name__.removesuffix("Request") + "Change",
                               schema=schema)
    undeclared = undeclared_routes(routes)
    if undeclared:
        raise UndeclaredRoutes("routes without a declaration on @api: " + "; ".join(undeclared))
    for route in routes:
        if route.name not in HAND_WRITTEN and route.declaration.documented:
            spec.path(route.path, operations={route.method: operation(route)})
    return spec.to_dict()


def _partial(schema):
    return isinstance(schema, Schema) and schema.partial is True


def undeclared_routes(routes):
    """"METHOD path (handler): what it lacks" for every route the document cannot describe."""
    return [f"{r.method.upper()} {r.path} ({r.name}): {', '.join(r.missing())}"
            for r in routes if r.name not in HAND_WRITTEN and r.missing()]


def operation(route):
    """The OpenAPI operation of one route, from its declaration alone."""
    declared = route.declaration
    summary = declared.summary_of(route.handler)
    made = {"summary": summary}
    if declared.description:
        made["description"] = declared.description
    if not declared.public:
        made["security"] = SECURED
    parameters = [_path_parameter(name, converter, declared.path_parameters.get(name))
                  for name, converter in route.parameters]
    if declared.query is not None:
        parameters.append({"in": "query", "schema": declared.query})
    parameters += [{"in": "header", "name": name, "required": True,
                    "schema": {"type": "string"}, "description": meaning}
                   for name, meaning in declared.request_headers.items()]
    if declared.idempotency_key:
        key = {"in": "header", "name": "Idempotency-Key", "schema": {"type": "string"},
               "description": IDEMPOTENCY_MEANINGS[declared.idempotency_key]}
        if declared.idempotency_key == "required":
            key["required"] = True
        parameters.append(key)
    if parameters:
        made["parameters"] = parameters
    body = _request_body(declared)
    if body:
        made["requestBody"] = body
    main = {"description": declared.answer_description or summary}
    if declared.answer:
        main["content"] = _content(declared.answer)
    if declared.location:
        main["headers"] = {"Location": {"schema": {"type": "string"},
                                        "description": "where to follow it"}}
    if declared.follow:
        main["links"] = links(*declared.follow)
    responses = {str(declared.status): main}
    for status, answer in declared.answers.items():
        responses[str(status)] = {"description": answer.description}
        if answer.content:
            responses[str(status)]["content"] = _content(answer.content, answer.problem)
    for status in ((() if declared.public else (401,)) + tuple(declared.errors)):
        if status not in ERROR_MEANINGS:
            raise UndeclaredRoutes(f"{route.name}: no meaning written for error {status}")
        responses.setdefault(str(status), {"description": ERROR_MEANINGS[status],
                                           "content": PROBLEM})
    made["responses"] = responses
    return made


def _path_parameter(name, converter, description):
    kind = {"int": "integer", "float": "number"}.get(converter, "string")
    parameter = {"in": "path", "name": name, "required": True, "schema": {"type": kind}}
    if description:
        parameter["description"] = description
    return parameter


def _content(items, problem=False):
    """{media type: {schema}}: a media type stands for text (or PDF bytes); a marshmallow
    schema, or a JSON schema dict, for JSON (or a problem document)."""
    content = {}
    for item in items:
        if isinstance(item, str):
            text = {"type": "string", "format": "binary"} if item == PDF else {"type": "string"}
            content[item] = {"schema": text}
        else:
            content[PROBLEM_TYPE if problem else "application/json"] = {"schema": item}
    return content


def _request_body(declared):
    if declared.body == "upload":
        # an upload's raw body is a CSV, or the media types the route names as its request
        raw = declared.request if isinstance(declared.request, tuple) else ("text/csv",)
        return {"required": True, "content": {
            **{media: {"schema": CSV_FILE} for media in raw},
            "multipart/form-data": {"schema": {"type": "object", "required": ["file"],
                                               "properties": {"file": CSV_FILE}}}}}
    if declared.request is None:
        return None
    types = FORMS if declared.body == "form" else ("application/json",)
    body = {"content": {media: {"schema": declared.request} for media in types}}
    if declared.request_required:
        body["required"] = True
    return body


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


def _json(schema):
    return {"application/json": {"schema": schema}}


def _errors(*codes):
    return {str(c): {"description": ERROR_MEANINGS[c], "content": PROBLEM} for c in codes}


