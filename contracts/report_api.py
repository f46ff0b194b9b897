"""HTTP schemas of the reports built from events: the report of emergency sends."""

from marshmallow import RAISE, Schema, fields, validate

from contracts.moments import WITHIN_YEARS
from contracts.vocabulary import DELIVERY_STATUSES


class EmergencySendQuery(Schema):
    class Meta:
        unknown = RAISE

    community_id = fields.String(validate=validate.Length(min=1, max=64), metadata={
        "description": "only the sends that reached this community"})
    created_after = fields.AwareDateTime(validate=WITHIN_YEARS, metadata={
        "description": "ISO 8601 with an offset: accepted at or after"})
    created_before = fields.AwareDateTime(validate=WITHIN_YEARS, metadata={
        "description": "ISO 8601 with an offset: accepted before"})
    cursor = fields.String(validate=validate.Length(max=500),
                           metadata={"description": "the `next` of the page before"})
    limit = fields.Integer(validate=validate.Range(min=1, max=200))
    format = fields.String(load_default="json", validate=validate.OneOf(("json", "csv")),
                           metadata={"description": "csv: every send the query names, as a "
                                                    "download"})


class EmergencySender(Schema):
    type = fields.String(allow_none=True, metadata={"description": "staff or api_key"})
    id = fields.String(allow_none=True, metadata={"description": "the staff user or API key"})
    name = fields.String(allow_none=True, metadata={"description": "their name when it was sent"})


class EmergencySendView(Schema):
    communication_id = fields.String()
    community_ids = fields.List(fields.String(), metadata={
        "description": "every community it reached"})
    kind = fields.String()
    category_id = fields.String()
    channels = fields.List(fields.String())
    sent_by = fields.Nested(EmergencySender)
    emergency_reason = fields.String(allow_none=True, metadata={"description": "why it could "
                                                                              "not wait"})
    accepted_at = fields.String()
    status = fields.String(validate=validate.OneOf(("accepted", "completed", "cancelled")),
                           metadata={"description": "accepted until every delivery ended"})
    finished_at = fields.String(allow_none=True)
    counts = fields.Dict(keys=fields.String(validate=validate.OneOf(DELIVERY_STATUSES)),
                         values=fields.Integer(), metadata={
                             "description": "deliveries by status, as the deliveries report "
                                            "counts them"})
    total = fields.Integer(metadata={"description": "deliveries counted"})


class EmergencySendPage(Schema):
    items = fields.List(fields.Nested(EmergencySendView))
    next = fields.String(allow_none=True)
