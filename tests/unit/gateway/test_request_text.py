"""Text no database can store is refused where it enters, naming where it is: U+0000 in the
path, the query, a header or a JSON body, and lone surrogates (JSON's "\\udc80" escapes, which
are not characters and cannot be encoded as UTF-8) in a JSON body."""

import pytest
from werkzeug.test import EnvironBuilder

from contracts.errors import InvalidRequest
from gateway.http import json_body, refuse_nul


def request(body=None, path="/v1/offices", headers=None, query=None):
    return EnvironBuilder(method="POST", path=path, query_string=query,
                          headers=headers or {}, data=body,
                          content_type="application/json").get_request()


@pytest.mark.parametrize("body, field, words", [
    ('{"name": "North\\u0000"}', "name", "NUL"),
    ('{"contact_points": [{"value": "a\\u0000"}]}', "contact_points.0.value", "NUL"),
    ('{"na\\u0000me": "x"}', "na\x00me", "NUL"),
    ('{"password": "\\udc80abcdefghijklm"}', "password", "surrogate"),
    ('{"name": ["\\ud800"]}', "name.0", "surrogate"),
])
def test_a_json_body_with_unstorable_text_is_refused_naming_the_field(body, field, words):
    with pytest.raises(InvalidRequest) as refused:
        json_body(request(body))
    assert refused.value.field == field
    assert words in refused.value.detail


def test_astral_characters_written_as_surrogate_pairs_are_text_like_any_other():
    assert json_body(request('{"name": "\\ud83c\\udfe0 Home"}')) == {"name": "\U0001f3e0 Home"}


@pytest.mark.parametrize("where, field", [
    ({"path": "/v1/units/a\x00"}, "path"),
    ({"query": {"q": "a\x00"}}, "q"),
    ({"headers": {"Idempotency-Key": "k\x00"}}, "Idempotency-Key"),
])
def test_nul_in_the_address_or_a_header_is_refused_naming_where(where, field):
    with pytest.raises(InvalidRequest) as refused:
        refuse_nul(request(**where))
    assert refused.value.field == field
