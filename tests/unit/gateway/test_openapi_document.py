"""/openapi.json is a valid OpenAPI 3.0 document (checked by schemathesis's loader against the
OpenAPI meta-schema), its links lead to operations and parameters that exist, a created
object's id is followed into the routes that take it, and query parameters carry the types and
bounds of the schemas the routes load them with."""

import copy

import schemathesis

from gateway.openapi import document


def test_the_document_is_valid_openapi_and_every_operation_loads():
    # a copy: schemathesis writes the links it infers into the dict it is given
    schema = schemathesis.openapi.from_dict(copy.deepcopy(document()))
    schema.validate()
    operations = list(schema.get_all_operations())
    assert operations and all(type(o).__name__ == "Ok" for o in operations)
    schema.as_state_machine()   # refuses links to unknown operations


def _links():
    for path, operations in document()["paths"].items():
        for method, operation in operations.items():
            for status, answer in operation["responses"].items():
                for link in answer.get("links", {}).values():
                    yield f"{method.upper()} {path} {status}", link


def _target(link):
    path, method = link["operationRef"].removeprefix("#/paths/").rsplit("/", 1)
    path = path.replace("~1", "/").replace("~0", "~")
    return method.upper(), path, document()["paths"][path][method]


def test_every_link_feeds_a_parameter_its_target_takes():
    for source, link in _links():
        method, path, target = _target(link)
        names = {p["name"] for p in target["parameters"]}
        assert set(link["parameters"]) <= names, (source, path, link)
        assert all(v.startswith("$response.body#/") for v in link["parameters"].values())


def test_created_objects_are_followed_into_their_routes():
    followed = {(source, f"{_target(link)[0]} {_target(link)[1]}") for source, link in _links()}
    for source, target in [
            ("POST /v1/communities 201", "GET /v1/communities/{community_id}"),
            ("POST /v1/communities 201", "PATCH /v1/communities/{community_id}"),
            ("POST /v1/communities 201", "GET /v1/communities/{community_id}/units"),
            ("POST /v1/communities/{community_id}/units 201", "GET /v1/units/{unit_id}"),
            ("POST /v1/residents 201", "GET /v1/residents/{resident_id}"),
            ("POST /v1/residents 201", "POST /v1/residents/{resident_id}/move-out"),
            ("POST /v1/communications 202", "GET /v1/communications/{communication_id}"),
            ("POST /v1/communications 202", "POST /v1/communications/{communication_id}/cancel"),
            ("POST /v1/consent/categories 201", "GET /v1/consent/categories/{category_id}"),
            ("POST /v1/credits/orders 201", "GET /v1/credits/orders/{order_id}"),
            ("POST /v1/staff 201", "POST /v1/staff/{staff_user_id}/grants"),
            ("POST /v1/staff/{staff_user_id}/grants 201", "DELETE /v1/grants/{grant_id}"),
            ("POST /v1/tickets 201", "GET /v1/tickets/{ticket_id}"),
            ("POST /v1/tickets 201", "POST /v1/tickets/{ticket_id}/move"),
            ("POST /v1/tickets 201", "POST /v1/tickets/{ticket_id}/attachments"),
            ("POST /v1/tickets 201", "GET /v1/tickets/{ticket_id}/print")]:
        assert (source, target) in followed, (source, target)


def test_query_parameters_are_typed_from_the_schemas_that_load_them():
    parameters = {p["name"]: p["schema"]
                  for p in document()["paths"]["/v1/communities"]["get"]["parameters"]}
    assert parameters["limit"] == {"type": "integer", "minimum": 1, "maximum": 200}
    assert parameters["q"]["maxLength"] == 100
    tickets = {p["name"]: p["schema"]
               for p in document()["paths"]["/v1/tickets"]["get"]["parameters"]}
    assert tickets["status"]["enum"][-1] == "open"
    assert tickets["format"] == {"type": "string", "enum": ["json", "csv"]}
    assert (tickets["created_after"]["type"], tickets["created_after"]["format"]) == (
        "string", "date-time")
    report = document()["paths"]["/v1/reports/deliveries"]["get"]["parameters"]
    assert [(p["name"], p["required"]) for p in report] == [("community_id", True)]


def test_a_patch_documents_as_required_only_what_it_refuses_without():
    # a PATCH changes the fields it is sent (the routes load a create's schema partially):
    # a generated client must be able to send one; making a contact point primary is the
    # one change that route makes, so `primary` is what it needs
    spec = document()
    components = spec["components"]["schemas"]
    required = {}
    for path, operations in spec["paths"].items():
        body = operations.get("patch", {}).get("requestBody")
        if body:
            ref = body["content"]["application/json"]["schema"]["$ref"]
            component = components[ref.rsplit("/", 1)[1]]
            if component.get("required"):
                required[path] = component["required"]
    assert required == {"/v1/contact-points/{contact_point_id}": ["primary"]}
