"""HTTP request and response schemas. The gateway validates requests with them and
/openapi.json is generated from the same classes."""

from marshmallow import RAISE, Schema, fields, validate

from contracts.vocabulary import CHANNELS, DELIVERY_STATUSES

KINDS = ("message", "announcement", "document")


class Recipients(Schema):
    class Meta:
        unknown = RAISE

    residents = fields.List(fields.String(validate=validate.Length(min=1, max=64)),
                            required=True, validate=validate.Length(min=1),
                            metadata={"description": "resident ids"})


class CommunicationRequest(Schema):
    class Meta:
        unknown = RAISE

    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    channels = fields.List(fields.String(validate=validate.OneOf(CHANNELS)), required=True,
                           validate=validate.Length(min=1))
    recipients = fields.Nested(Recipients, required=True)
    category_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    body = fields.String(required=True, validate=validate.Length(min=1, max=1600))
    subject = fields.String(validate=validate.Length(max=200),
                            metadata={"description": "email subject; defaults to the category"})


class Link(Schema):
    href = fields.String()


class CommunicationAccepted(Schema):
    id = fields.String()
    status = fields.String()
    links = fields.Dict(keys=fields.String(), values=fields.String())


class DeliveryView(Schema):
    id = fields.String()
    resident_id = fields.String()
    channel = fields.String()
    status = fields.String(validate=validate.OneOf(DELIVERY_STATUSES))
    reason = fields.String(allow_none=True)
    error_code = fields.String(allow_none=True)
    credits = fields.Integer(metadata={"description": "credits priced for this delivery"})
    updated_at = fields.String()


class CreditsView(Schema):
    held = fields.Integer()
    charged = fields.Integer()
    released = fields.Integer()


class CommunicationView(Schema):
    id = fields.String()
    kind = fields.String()
    status = fields.String()
    community_id = fields.String()
    category_id = fields.String()
    channels = fields.List(fields.String())
    created_at = fields.String()
    counts = fields.Dict(keys=fields.String(), values=fields.Integer())
    deliveries = fields.List(fields.Nested(DeliveryView))
    credits = fields.Nested(CreditsView)


class WalletView(Schema):
    community_id = fields.String()
    balance = fields.Integer(metadata={"description": "credits owned: available + held"})
    held = fields.Integer(metadata={"description": "reserved for deliveries in flight"})
    available = fields.Integer(metadata={"description": "balance - held; may be negative"})


class DeliveryCounts(Schema):
    community_id = fields.String()
    counts = fields.Dict(keys=fields.String(), values=fields.Integer())
    total = fields.Integer()


class DeliveryReportQuery(Schema):
    class Meta:
        unknown = RAISE

    community_id = fields.String(required=True, validate=validate.Length(min=1, max=64))


class Health(Schema):
    status = fields.String()
    broker = fields.String()
    services = fields.Dict(keys=fields.String(), values=fields.String())


class Problem(Schema):
    type = fields.String()
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    field = fields.String(allow_none=True)
    errors = fields.Dict()
