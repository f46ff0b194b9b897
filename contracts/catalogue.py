"""Writes the public event catalogue (docs/events.md) from the schemas in contracts.events.

    python -m contracts.catalogue > docs/events.md

A test fails when the committed document and the schemas disagree.
"""

from marshmallow import fields

from contracts.events import CATALOGUE, Envelope

HEADER = """# Townhall event catalogue

Generated from `contracts/events.py` by `python -m contracts.catalogue`; do not edit by hand.

Every event is published on the durable topic exchange `<source>.events` of the service that
owns the fact, with the event type as routing key and a JSON body: the envelope below with
the payload in `data`. Bind your own durable queue to the exchange to subscribe; dedupe by
`event_id` (delivery is at least once). A breaking change to a payload is published as a new
`version`; fields may be added to a version at any time. Events marked *internal* are
Townhall's own work items: they may change without notice.
"""


def _type(field):
    if isinstance(field, fields.List):
        return f"list of {_type(field.inner)}"
    if isinstance(field, fields.Nested):
        schema = field.schema
        inner = ", ".join(f"{name}: {_type(f)}" for name, f in schema.fields.items())
        return f"object {{{inner}}}"
    return type(field).__name__.lower()


def _rows(schema):
    for name, field in schema.fields.items():
        need = "required" if field.required else ("nullable" if field.allow_none else "optional")
        note = field.metadata.get("description", "")
        yield f"| `{name}` | {_type(field)} | {need} | {note} |"


def render():
    out = [HEADER, "## Envelope", "", "| field | type | | notes |", "|---|---|---|---|"]
    out += list(_rows(Envelope()))
    for spec in sorted(CATALOGUE.values(), key=lambda e: (e.source, e.name)):
        internal = " *(internal)*" if spec.internal else ""
        out += ["", f"## `{spec.name}` v{spec.version}{internal}", "",
                f"Exchange `{spec.source}.events`, routing key `{spec.name}`. "
                f"{spec.description}", "", "| field | type | | notes |", "|---|---|---|---|"]
        out += list(_rows(spec.schema()))
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    print(render(), end="")
