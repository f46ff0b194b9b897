"""The gateway's own rules, without a broker: signatures, problem bodies, OpenAPI."""

import json

import pytest
from marshmallow import ValidationError
from twilio.request_validator import RequestValidator
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from contracts import api as schemas
from contracts.errors import Forbidden, NotFound
from gateway.http import problem_for
from gateway.openapi import document
from gateway.webhooks import verify_twilio

TOKEN = "test-token"
PUBLIC = "https://townhall.example"


def callback(params, signature):
    headers = {"X-Twilio-Signature": signature} if signature is not None else {}
    builder = EnvironBuilder(method="POST", path="/webhooks/twilio/status", data=params,
                             headers=headers)
    return Request(builder.get_environ())


def test_a_correctly_signed_callback_is_believed():
    params = {"MessageSid": "SM1", "MessageStatus": "delivered"}
    signature = RequestValidator(TOKEN).compute_signature(
        PUBLIC + "/webhooks/twilio/status", params)
    assert verify_twilio(callback(params, signature), TOKEN, PUBLIC) == params


@pytest.mark.parametrize("signature, words", [(None, "missing"), ("bm9wZQ==", "does not match")])
def test_missing_or_forged_signatures_are_refused(signature, words):
    with pytest.raises(Forbidden, match=words):
        verify_twilio(callback({"MessageSid": "SM1"}, signature), TOKEN, PUBLIC)


def test_a_signature_for_other_fields_is_refused():
    signed = {"MessageSid": "SM1", "MessageStatus": "sent"}
    signature = RequestValidator(TOKEN).compute_signature(
        PUBLIC + "/webhooks/twilio/status", signed)
    tampered = dict(signed, MessageStatus="failed")
    with pytest.raises(Forbidden):
        verify_twilio(callback(tampered, signature), TOKEN, PUBLIC)


def test_domain_errors_become_problem_documents_naming_the_field():
    response = problem_for(NotFound("resident res_x does not exist", "recipients.residents"))
    body = json.loads(response.get_data())
    assert response.status_code == 404 and response.mimetype == "application/problem+json"
    assert body["field"] == "recipients.residents" and "res_x" in body["detail"]


def test_validation_errors_name_every_bad_field():
    with pytest.raises(ValidationError) as invalid:
        schemas.CommunicationRequest().load({"kind": "message", "channels": ["fax"]})
    body = json.loads(problem_for(invalid.value).get_data())
    assert body["status"] == 422
    assert {"channels", "recipients", "category_id", "body"} <= set(body["errors"])
    assert "channels.0" in body["detail"]


def test_unexpected_errors_hide_their_details():
    body = json.loads(problem_for(RuntimeError("db password is hunter2")).get_data())
    assert body["status"] == 500 and "hunter2" not in json.dumps(body)


def test_openapi_is_generated_from_the_validating_schemas():
    spec = document()
    fields = spec["components"]["schemas"]["CommunicationRequest"]["properties"]
    assert set(fields) == set(schemas.CommunicationRequest().fields)
    # exactly what the API takes today: a generated client is never led to a refusal
    assert fields["channels"]["items"]["enum"] == ["sms", "email", "voice"]
    assert fields["kind"]["enum"] == ["message", "announcement", "document"]
    assert set(fields["recipients"]) == {"$ref"} or "allOf" in fields["recipients"]
    recipients = spec["components"]["schemas"]["Recipients"]["properties"]
    assert set(recipients) == {"communities", "units", "residents", "groups", "occupancy"}


def test_every_route_is_in_the_openapi_document():
    import re

    from gateway.routes import routes
    from gateway.service import GatewayService

    spec = document()
    documented = {(verb, re.sub(r"\{\w+\}", "{}", path))
                  for path, operations in spec["paths"].items() for verb in operations}
    served = {(verb, re.sub(r"\{\w+\}", "{}", path)) for verb, path, _ in routes(GatewayService)}
    assert served - {("get", "/openapi.json")} <= documented, served - documented


def test_forwarded_addresses_are_believed_only_from_a_trusted_proxy():
    from werkzeug.test import EnvironBuilder
    from werkzeug.wrappers import Request

    from gateway.http import client_address

    def request(remote, forwarded):
        return Request(EnvironBuilder(environ_base={"REMOTE_ADDR": remote},
                                      headers={"X-Forwarded-For": forwarded}).get_environ())

    forged = request("198.51.100.9", "10.0.0.1")
    assert client_address(forged, ("10.9.9.9",)) == "198.51.100.9"
    # the client wrote the left part; the proxy appended what it saw
    proxied = request("10.9.9.9", "1.2.3.4, 203.0.113.5")
    assert client_address(proxied, ("10.9.9.9",)) == "203.0.113.5"
    chain = request("10.9.9.9", "203.0.113.5, 10.9.9.8")
    assert client_address(chain, ("10.9.9.9", "10.9.9.8")) == "203.0.113.5"
