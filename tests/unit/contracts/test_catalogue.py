from pathlib import Path

from contracts.catalogue import render
from contracts.events import CATALOGUE, envelope

DOC = Path(__file__).resolve().parents[3] / "docs" / "events.md"


def test_the_published_catalogue_matches_the_schemas():
    assert DOC.read_text() == render(), "run: python -m contracts.catalogue > docs/events.md"


# a state reached, named as the credits issue and its partners name it
# facts named for the state they report (the issue names ticket_overdue so)
STATE_EVENTS = {"wallet_balance_low", "ticket_overdue"}
IRREGULAR_PAST = {"went", "sent", "paid", "made", "began"}


def test_every_catalogued_event_names_its_exchange_and_a_version():
    for name, spec in CATALOGUE.items():
        assert spec.name == name and spec.version >= 1 and spec.source
        assert name in STATE_EVENTS or any(
            w.endswith("ed") or w in IRREGULAR_PAST for w in name.split("_")), \
            f"{name} is not past tense"


def test_an_envelope_refuses_a_payload_that_breaks_its_schema():
    import pytest
    from marshmallow import ValidationError

    with pytest.raises(ValidationError):
        envelope("credits_granted", {"community_id": "com_1"})
