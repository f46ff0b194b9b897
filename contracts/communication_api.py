"""HTTP schemas of communications: sending (and previewing) one, following it, its
deliveries, the list of past sends. The enums say exactly what the API takes today, so a
generated client cannot be led astray: kinds `message`, `announcement` and `document`,
channels `sms`, `email` and `voice`."""

from marshmallow import RAISE, Schema, fields, validate

from contracts import credits_api
from contracts.moments import WITHIN_YEARS
from contracts.text import SingleLine
from contracts.vocabulary import COMMUNICATION_STATUSES, DELIVERY_STATUSES

ACCEPTED_KINDS = ("message", "announcement", "document")
ACCEPTED_CHANNELS = ("sms", "email", "voice")
MAX_IDS = 1000


def _ids(what):
    return fields.List(fields.String(validate=validate.Length(min=1, max=64)),
                       validate=validate.Length(max=MAX_IDS),
                       metadata={"description": f"{what} ids (at most {MAX_IDS})"})


class Recipients(Schema):
    """Any mix; a resident chosen twice is one recipient, and nobody who moved out is."""

    class Meta:
        unknown = RAISE

    communities = _ids("community (everyone living there)")
    units = _ids("unit (everyone living in it)")
    residents = _ids("resident")
    groups = _ids("saved group")
    occupancy = fields.String(allow_none=True, validate=validate.OneOf(("owner", "tenant")),
                              metadata={"description": "only owners, or only tenants"})


class CommunicationRequest(Schema):
    class Meta:
        unknown = RAISE

    kind = fields.String(required=True, validate=validate.OneOf(ACCEPTED_KINDS))
    channels = fields.List(fields.String(validate=validate.OneOf(ACCEPTED_CHANNELS)),
                           required=True, validate=validate.Length(min=1, max=3),
                           metadata={"description": "any non-empty combination, each once; "
                                                    "a call reads the body twice"})
    recipients = fields.Nested(Recipients, required=True)
    category_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    body = fields.String(required=True, validate=validate.Length(min=1, max=1600))
    subject = fields.String(validate=[validate.Length(max=200), SingleLine()],
                            metadata={"description": "email subject; defaults to the category"})
    document_id = fields.String(validate=validate.Length(min=1, max=64), metadata={
        "description": "kind document: the uploaded document (POST /v1/documents) — "
                       "attached to emails, each recipient's own link in texts and calls"})
    emergency = fields.Boolean(load_default=False, metadata={
        "description": "true: sent at once, past quiet hours and ahead of other sends; "
                       "needs send_emergency in every community reached, and a reason"})
    emergency_reason = fields.String(validate=[validate.Length(min=1, max=300), SingleLine()],
                                     metadata={"description": "why it cannot wait (required "
                                                              "with emergency)"})
    send_at = fields.String(metadata={
        "format": "date-time",
        "description": "ISO 8601 with an offset (2026-12-08T09:00:00-05:00), in the future "
                       "and at most 90 days ahead: the communication waits `scheduled` until "
                       "then; consent and credits are checked when it goes"})


class DocumentView(Schema):
    id = fields.String()
    filename = fields.String()
    content_type = fields.String(metadata={"description": "as its content says"})
    size = fields.Integer(metadata={"description": "bytes"})
    sha256 = fields.String()
    uploaded_by = fields.String()
    created_at = fields.String()
    links = fields.Dict(keys=fields.String(), values=fields.String())


class DocumentQuery(Schema):
    class Meta:
        unknown = RAISE

    filename = fields.String(validate=validate.Length(min=1, max=200), metadata={
        "description": "the name to download it as, for a raw body (a form's file field "
                       "names itself)"})


class Reschedule(Schema):
    class Meta:
        unknown = RAISE

    send_at = fields.String(required=True, metadata={
        "format": "date-time", "description": "the new time, as in a send's send_at"})


class PayingWallet(credits_api.WalletView):
    """The wallet that pays for a send, shown beside it (credits' wallet view)."""


class CommunicationAccepted(Schema):
    id = fields.String()
    status = fields.String(metadata={"description": "accepted, or scheduled (send_at)"})
    send_at = fields.String(allow_none=True)
    community_id = fields.String(metadata={"description": "the first community reached"})
    community_ids = fields.List(fields.String())
    audience_size = fields.Integer(metadata={"description": "residents reached when accepted"})
    balance = fields.Nested(PayingWallet, allow_none=True,
                            metadata={"description": "the wallet that pays for this send"})
    links = fields.Dict(keys=fields.String(), values=fields.String(),
                        metadata={"description": "self, deliveries, cancel; order_credits: "
                                                 "where to buy more"})


class DeliveryView(Schema):
    id = fields.String()
    resident_id = fields.String()
    community_id = fields.String(allow_none=True)
    channel = fields.String()
    address = fields.String(allow_none=True)
    status = fields.String(validate=validate.OneOf(DELIVERY_STATUSES))
    reason = fields.String(allow_none=True)
    error_code = fields.String(allow_none=True)
    credits = fields.Integer(metadata={"description": "credits priced for this delivery"})
    segments = fields.Integer(metadata={"description": "Twilio segments of the text sent"})
    attempts = fields.Integer()
    provider_id = fields.String(allow_none=True)
    held_until = fields.String(allow_none=True, metadata={
        "description": "a queued text or call waiting out its community's quiet hours: "
                       "when it goes"})
    updated_at = fields.String()


class CreditsView(Schema):
    held = fields.Integer()
    charged = fields.Integer()
    released = fields.Integer()


class Sender(Schema):
    type = fields.String(metadata={"description": "staff or api_key"})
    id = fields.String()


class CommunicationSummary(Schema):
    id = fields.String()
    kind = fields.String()
    status = fields.String(validate=validate.OneOf(COMMUNICATION_STATUSES))
    community_id = fields.String()
    community_ids = fields.List(fields.String())
    category_id = fields.String()
    channels = fields.List(fields.String())
    subject = fields.String(allow_none=True)
    sent_by = fields.Nested(Sender)
    created_at = fields.String()
    accepted_at = fields.String()
    send_at = fields.String(allow_none=True, metadata={
        "description": "when a scheduled send goes (or went)"})
    emergency = fields.Boolean(metadata={"description": "sent past quiet hours, first"})
    emergency_reason = fields.String(allow_none=True)
    document_id = fields.String(allow_none=True)
    started_at = fields.String(allow_none=True)
    finished_at = fields.String(allow_none=True)
    links = fields.Dict(keys=fields.String(), values=fields.String())


class CommunicationView(CommunicationSummary):
    body = fields.String()
    recipients = fields.Dict(allow_none=True, metadata={"description": "the audience as asked"})
    counts = fields.Dict(keys=fields.String(), values=fields.Integer(),
                         metadata={"description": "deliveries by status"})
    counts_by_channel = fields.Dict(keys=fields.String(), values=fields.Dict())
    total = fields.Integer(metadata={"description": "deliveries made so far"})
    progress = fields.Float(metadata={"description": "share of deliveries final, 0..1"})
    audience_complete = fields.Boolean()
    pages_resolved = fields.Integer()
    cancelled_at = fields.String(allow_none=True)
    cancelled_by = fields.String(allow_none=True)
    held = fields.Dict(metadata={"description": "texts and calls waiting out quiet hours: "
                                                "{deliveries, until (the first to go)}"})
    deliveries = fields.List(fields.Nested(DeliveryView), metadata={
        "description": "inline only for a send of at most 100 deliveries; else page "
                       "through links.deliveries"})
    credits = fields.Nested(CreditsView)
    balance = fields.Nested(PayingWallet, allow_none=True)


def _cursor():
    return fields.String(validate=validate.Length(max=500),
                         metadata={"description": "the `next` of the page before"})


class DeliveryListQuery(Schema):
    class Meta:
        unknown = RAISE

    status = fields.String(validate=validate.OneOf(DELIVERY_STATUSES))
    channel = fields.String(validate=validate.OneOf(ACCEPTED_CHANNELS))
    cursor = _cursor()
    limit = fields.Integer(validate=validate.Range(min=1, max=200))
    format = fields.String(validate=validate.OneOf(("json", "csv")),
                           metadata={"description": "csv: every delivery, as a download"})


class DeliveryPage(Schema):
    items = fields.List(fields.Nested(DeliveryView))
    next = fields.String(allow_none=True)


class CommunicationListQuery(Schema):
    class Meta:
        unknown = RAISE

    community_id = fields.String(validate=validate.Length(min=1, max=64))
    kind = fields.String(validate=validate.OneOf(ACCEPTED_KINDS))
    status = fields.String(validate=validate.OneOf(COMMUNICATION_STATUSES))
    category_id = fields.String(validate=validate.Length(min=1, max=64))
    emergency = fields.Boolean(metadata={"description": "true: the emergency sends only"})
    created_after = fields.AwareDateTime(validate=WITHIN_YEARS,
                                         metadata={"description": "ISO 8601 with an offset"})
    created_before = fields.AwareDateTime(validate=WITHIN_YEARS,
                                         metadata={"description": "ISO 8601 with an offset"})
    cursor = _cursor()
    limit = fields.Integer(validate=validate.Range(min=1, max=200))


class CommunicationPage(Schema):
    items = fields.List(fields.Nested(CommunicationSummary))
    next = fields.String(allow_none=True)


class ChannelPreview(Schema):
    deliveries = fields.Integer()
    allowed = fields.Integer()
    suppressed = fields.Dict(keys=fields.String(), values=fields.Integer(),
                             metadata={"description": "by reason"})
    credits = fields.Integer()
    segments = fields.Integer()


class WalletPreview(Schema):
    wallet = fields.String(allow_none=True)
    communities = fields.List(fields.String())
    credits = fields.Integer(metadata={"description": "what the send would hold on it"})
    balance = fields.Integer(allow_none=True)
    available = fields.Integer(allow_none=True)
    available_after = fields.Integer(allow_none=True)


class CommunicationPreview(Schema):
    audience_size = fields.Integer()
    communities = fields.List(fields.String())
    channels = fields.Dict(keys=fields.String(), values=fields.Nested(ChannelPreview))
    credits = fields.Integer()
    wallets = fields.List(fields.Nested(WalletPreview))
