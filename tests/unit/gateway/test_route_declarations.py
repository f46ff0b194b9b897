"""Every route declares on `@api` what its OpenAPI entry says, and the document is built from
those declarations alone: a route without one is named with what it lacks (and the document
refuses to be built), and each declaration agrees with its handler — the schemas it loads
and dumps, its credentials, its Idempotency-Key and its status."""

import inspect
import re

import pytest
from marshmallow import Schema
from werkzeug.wrappers import Response

from contracts import api as schemas
from gateway.declaration import CSV, Answer, Declaration
from gateway.http import api
from gateway.openapi import HAND_WRITTEN, UndeclaredRoutes, build, document, undeclared_routes
from gateway.routes import declared_routes
from gateway.service import GatewayService

ROUTES = declared_routes(GatewayService)
DECLARED = [r for r in ROUTES if r.name not in HAND_WRITTEN]
# `Name(...).load(` and `Name(...).dump(`, the parentheses nested at most once
CALL = r"(\w+)\((?:[^()]|\([^()]*\))*\)"
LOADED, DUMPED = re.compile(CALL + r"\.load\("), re.compile(CALL + r"\.dump\(")


class Careless:
    """Routes added without (all of) their declaration."""

    @api("GET", "/v1/things/<string:thing_id>")
    def get_thing(self, request, thing_id):
        return {}

    @api("POST", "/v1/things", request=schemas.GrantRequest, status=201)
    def make_thing(self, request):
        """Make a thing."""
        return 201, {}

    @api("DELETE", "/v1/things/<string:thing_id>", status=204)
    def remove_thing(self, request, thing_id):
        """Remove a thing."""
        return Response(status=204)


def test_every_route_of_the_gateway_declares_its_openapi_entry():
    assert undeclared_routes(ROUTES) == []
    assert set(HAND_WRITTEN) <= {r.name for r in ROUTES}, "a hand-written route is gone"


def test_a_route_without_a_declaration_is_named_with_what_it_lacks():
    assert undeclared_routes(declared_routes(Careless)) == [
        "POST /v1/things (make_thing): answer (a schema or a media type)",
        "GET /v1/things/{thing_id} (get_thing): a summary (or a docstring), "
        "answer (a schema or a media type)"]
    with pytest.raises(UndeclaredRoutes, match="make_thing.*get_thing"):
        build(Careless)


def test_every_declared_route_is_in_the_document_under_its_own_path():
    paths = document()["paths"]
    for route in DECLARED:
        if not route.declaration.documented:
            assert route.path not in paths
            continue
        entry = paths[route.path][route.method]
        in_path = [p["name"] for p in entry.get("parameters", []) if p["in"] == "path"]
        assert in_path == [name for name, _ in route.parameters], route.name
        assert entry["summary"] == route.declaration.summary_of(route.handler)
        assert ("security" in entry) == (not route.declaration.public), route.name


def test_the_hand_written_routes_are_in_the_document():
    documented = {(verb, re.sub(r"\{\w+\}", "{}", path))
                  for path, entries in document()["paths"].items() for verb in entries}
    for route in ROUTES:
        if route.name in HAND_WRITTEN:
            assert (route.method, re.sub(r"\{\w+\}", "{}", route.path)) in documented


def _code(handler):
    """The handler's body: its source without the decorator and the docstring."""
    source = inspect.getsource(handler)
    source = source[source.index("def "):]
    doc = handler.__doc__
    return source.replace(doc, "") if doc else source


def _schema_names(items):
    for item in items:
        if isinstance(item, type) and issubclass(item, Schema):
            yield item.__name__
        elif isinstance(item, Schema):
            yield type(item).__name__


@pytest.mark.parametrize("route", DECLARED, ids=lambda r: f"{r.method} {r.path}")
def test_a_declaration_names_the_schemas_its_handler_loads_and_dumps(route):
    declared = route.declaration
    code = _code(route.handler)
    takes = set(_schema_names((declared.query, declared.request)))
    gives = set(_schema_names(declared.answer + tuple(
        item for answer in declared.answers.values() for item in answer.content)))
    assert set(LOADED.findall(code)) == takes, "declared query/request vs what it loads"
    assert set(DUMPED.findall(code)) == gives, "declared answers vs what it dumps"


@pytest.mark.parametrize("route", DECLARED, ids=lambda r: f"{r.method} {r.path}")
def test_a_declaration_agrees_with_its_handler_on_credentials_key_and_status(route):
    declared, code = route.declaration, _code(route.handler)
    assert declared.public == ("self._authenticate(" not in code)
    reads_key = "idempotency_key(request)" in code or '"Idempotency-Key"' in code
    assert bool(declared.idempotency_key) == reads_key
    for status in (201, 202, 204):
        assert bool(re.search(rf"\b{status}\b", code)) == (declared.status == status), status


def test_a_summary_is_the_docstrings_first_paragraph_on_one_line():
    def handler():
        """Add a staff user, with a login when a password is given
        (master users).

        Not part of the summary."""

    assert Declaration().summary_of(handler) == ("Add a staff user, with a login when a "
                                                  "password is given (master users)")
    assert Declaration(summary="Given").summary_of(handler) == "Given"


@pytest.mark.parametrize("declared, words", [
    ({"body": "xml"}, "body must be one of json, form, upload"),
    ({"idempotency_key": "yes"}, "idempotency_key must be"),
    ({"body": "upload", "request": schemas.GrantRequest}, "takes no request schema"),
    ({"answers": {402: "declined"}}, "answers maps statuses to Answer"),
])
def test_a_declaration_that_cannot_be_right_fails_when_the_route_is_declared(declared, words):
    with pytest.raises((ValueError, TypeError), match=words):
        Declaration(**declared)


def test_an_answer_takes_one_schema_or_several():
    assert Answer("x", CSV).content == (CSV,)
    assert Answer("x", (schemas.Health, CSV)).content == (schemas.Health, CSV)
