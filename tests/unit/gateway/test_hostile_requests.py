"""The gateway's answers to hostile or careless requests, without a broker: deep JSON, bad
link tokens, unknown methods and paths, fields that are not applied."""

import io

import pytest
from marshmallow import ValidationError
from werkzeug.routing import Map, Rule
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from contracts import directory_api
from contracts.errors import InvalidRequest, PayloadTooLarge
from gateway.http import ANSWER_HEADERS, finished, json_body, no_route, read_at_most
from gateway.pages import well_formed


def json_request(data):
    return Request(EnvironBuilder(method="POST", path="/v1/x", data=data,
                                  content_type="application/json").get_environ())


def test_deep_json_is_refused_naming_the_body_before_it_is_parsed():
    with pytest.raises(InvalidRequest, match="nested more than 32 levels") as refused:
        json_body(json_request("[" * 100_000))
    assert refused.value.field == "body"
    assert json_body(json_request('{"a": [[{"b": 1}]]}')) == {"a": [[{"b": 1}]]}


@pytest.mark.parametrize("token", ["unsub_é.sig", "unsub_abc", "unsub_a.b.c", "x" * 300,
                                   "unsub_a.b<script>", ""])
def test_a_token_that_cannot_be_ours_is_not_valid_at_once(token):
    with pytest.raises(InvalidRequest) as refused:
        well_formed(token)
    assert refused.value.field == "token"


def test_a_token_as_consent_signs_it_passes():
    assert well_formed("unsub_AbC-d_9.Zx-y_1") == "unsub_AbC-d_9.Zx-y_1"


ROUTES = Map([Rule("/v1/communications", methods=["POST"]),
              Rule("/v1/communications/<id>", methods=["GET"])])


def routed(method, path):
    environ = EnvironBuilder(method=method, path=path).get_environ()
    try:
        ROUTES.bind_to_environ(environ).match()
    except Exception as exc:
        return finished(no_route(exc, Request(environ)), "cid-1")
    raise AssertionError("matched")


@pytest.mark.parametrize("method", ["OPTIONS", "TRACE", "PROPFIND", "GET"])
def test_a_method_the_path_does_not_take_is_a_405_problem_with_allow(method):
    answer = routed(method, "/v1/communications")
    assert answer.status_code == 405 and answer.mimetype == "application/problem+json"
    assert answer.headers["Allow"] == "POST"
    assert method in answer.get_json()["detail"]


def test_an_unknown_path_is_a_404_problem_with_the_answer_headers():
    answer = routed("TRACE", "/v1/nowhere")
    assert answer.status_code == 404 and answer.mimetype == "application/problem+json"
    assert "TRACE /v1/nowhere" in answer.get_json()["detail"]
    assert answer.headers["X-Correlation-Id"] == "cid-1"
    for name, value in ANSWER_HEADERS.items():
        assert answer.headers[name] == value


def test_a_contact_points_value_is_refused_by_name_not_ignored():
    with pytest.raises(ValidationError) as refused:
        directory_api.ContactPointUpdate().load({"value": "other@example.com", "primary": True})
    assert list(refused.value.messages) == ["value"]
    assert "only primary can" in refused.value.messages["value"][0]
    with pytest.raises(ValidationError, match="primary"):
        directory_api.ContactPointUpdate().load({})
    assert directory_api.ContactPointUpdate().load({"primary": True}) == {"primary": True}


def streamed(data):
    """A request whose body has no Content-Length (sent chunked), as the server hands it on."""
    environ = EnvironBuilder(method="POST", path="/v1/x", content_type="text/csv",
                             input_stream=io.BytesIO(data)).get_environ()
    environ.pop("CONTENT_LENGTH", None)
    environ["wsgi.input_terminated"] = True
    return Request(environ)


def test_a_body_of_unknown_length_is_read_up_to_the_limit_and_refused_past_it():
    too_big = PayloadTooLarge("too big", "body")
    assert read_at_most(streamed(b"x" * 100), 100, too_big) == b"x" * 100
    with pytest.raises(PayloadTooLarge):
        read_at_most(streamed(b"x" * 101), 100, too_big)
    sized = Request(EnvironBuilder(method="POST", data=b"x" * 101).get_environ())
    with pytest.raises(PayloadTooLarge):
        read_at_most(sized, 100, too_big)   # by its Content-Length, before reading
