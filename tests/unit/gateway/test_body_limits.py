import json

import pytest

from gateway.body_limits import MAX_JSON_DEPTH, limit_for, nesting_exceeds, too_large


def nested(depth):
    return "[" * depth + "]" * depth


def test_nesting_up_to_the_limit_passes_and_one_more_level_does_not():
    assert not nesting_exceeds(nested(MAX_JSON_DEPTH))
    assert nesting_exceeds(nested(MAX_JSON_DEPTH + 1))
    assert nesting_exceeds("[" * 100_000)          # unbalanced: refused before parsing
    assert nesting_exceeds('{"a":' * 40 + "1" + "}" * 40)


def test_brackets_inside_strings_do_not_count():
    text = json.dumps({"body": "[" * 1000, "quoted": 'a \\"[[[[" and "{' * 50,
                       "list": [["x"]]})
    assert not nesting_exceeds(text)
    assert not nesting_exceeds('"' + '\\"' * 10_000 + "[" * 40)   # one unterminated string


def test_a_request_like_a_real_one_passes():
    body = {"kind": "message", "channels": ["sms"], "recipients": {"residents": ["res_1"]},
            "contact_points": [{"kind": "phone", "value": "+1"}] * 60}
    assert not nesting_exceeds(json.dumps(body))


def test_limits_per_kind_come_from_configuration_or_defaults():
    assert limit_for("json") == 1024 * 1024
    assert limit_for("form") == 64 * 1024
    assert limit_for("upload") is None
    assert limit_for("json", {"max_json_bytes": "2048"}) == 2048
    with pytest.raises(ValueError, match="unknown body kind"):
        limit_for("xml")
    assert "limit of 2048 bytes for json" in too_large(2048, "json")
