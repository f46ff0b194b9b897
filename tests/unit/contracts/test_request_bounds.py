"""Every integer a request can carry has bounds that fit 64 bits (a bigger one reached the
database and answered 500), and every text field that can end up in a header is one line."""

import importlib
import re
from pathlib import Path

import pytest
from marshmallow import ValidationError, fields, validate

import gateway
from contracts import api, consent_api, directory_api
from contracts.text import SingleLine, control_character

GATEWAY = Path(gateway.__file__).parent

INT64 = 2 ** 63


def request_schemas():
    """The schemas the gateway loads requests with, read from its route modules."""
    for path in sorted(GATEWAY.glob("*.py")):
        module = importlib.import_module(f"gateway.{path.stem}")
        for alias, name in re.findall(r"(\w+)\.(\w+)\(\)\.load\(", path.read_text()):
            yield getattr(getattr(module, alias), name)


def integer_fields(schema_cls, prefix=None):
    prefix = prefix or schema_cls.__name__
    for name, field in schema_cls().fields.items():
        inner = field.inner if isinstance(field, fields.List) else field
        if isinstance(inner, fields.Nested):
            yield from integer_fields(type(inner.schema), f"{prefix}.{name}")
        elif isinstance(inner, fields.Integer):
            yield f"{prefix}.{name}", inner


INTEGERS = sorted({(name, field) for cls in request_schemas()
                   for name, field in integer_fields(cls)}, key=lambda item: item[0])


def test_the_request_schemas_are_found():
    names = [name for name, _ in INTEGERS]
    assert "Threshold.low_threshold" in names and "SettingsChange.floor" in names
    assert "OrderRequest.quantity" in names


@pytest.mark.parametrize("name, field", INTEGERS, ids=[n for n, _ in INTEGERS])
def test_every_request_integer_has_bounds_inside_64_bits(name, field):
    ranges = [v for v in field.validators if isinstance(v, validate.Range)]
    assert ranges, f"{name} has no Range"
    assert all(r.min is not None and r.max is not None for r in ranges), name
    assert all(-INT64 <= r.min and r.max < INT64 for r in ranges), name
    with pytest.raises(ValidationError):
        field.deserialize(2 ** 70)


def test_the_control_character_rule():
    assert control_character("Water off at noon — 12:00 ✓") is None
    for text, found in [("a\r\nb", ("\r", 1)), ("\tx", ("\t", 0)), ("x\x00", ("\x00", 1)),
                        ("NEL\x85", ("\x85", 3)), ("a\u2028b", ("\u2028", 1)),
                        ("p\u2029", ("\u2029", 1)), ("del\x7f", ("\x7f", 3))]:
        assert control_character(text) == found
    with pytest.raises(ValidationError, match="U\\+000D at position 5"):
        SingleLine()("Water\r\nBcc: x@example.com")


@pytest.mark.parametrize("schema, field", [
    (api.CommunicationRequest, "subject"), (consent_api.CategoryRequest, "name"),
    (directory_api.OrganizationUpdate, "name"), (directory_api.CommunityRequest, "name")])
def test_fields_that_reach_headers_refuse_line_breaks(schema, field):
    validators = schema().fields[field].validators
    assert any(isinstance(v, SingleLine) for v in validators), f"{schema.__name__}.{field}"
