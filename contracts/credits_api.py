"""HTTP schemas of credits: settings and rate card, wallets, transfers, logs, quotes."""

from marshmallow import RAISE, Schema, fields, validate

from contracts.vocabulary import CHANNELS

# far beyond any wallet's balance or threshold, far inside 64 bits
CREDITS_BOUND = 1_000_000_000
# a text is at most 1,600 characters; a call credit at most an hour
TEXT_CHARS = validate.Range(min=1, max=1600)

WALLET = validate.Regexp(r"^(pool|community:[\w-]{1,60}|user:[\w-]{1,60})$",
                         error="must be a wallet: community:<id>, user:<id> or pool")


class Strict(Schema):
    class Meta:
        unknown = RAISE


class Rates(Strict):
    text_chars = fields.Integer(allow_none=True, validate=TEXT_CHARS,
                                metadata={"description": "characters per credit, GSM-7 text"})
    unicode_text_chars = fields.Integer(allow_none=True, validate=TEXT_CHARS,
                                        metadata={"description": "characters per credit when "
                                                                 "any is outside GSM-7"})
    voice_seconds = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=3600),
                                   metadata={"description": "seconds per credit of a call"})


class SettingsView(Schema):
    organization_id = fields.String()
    model = fields.String(metadata={"description": "community, user or pool"})
    floor = fields.Integer(allow_none=True)
    hold_ttl_seconds = fields.Integer()
    rates = fields.Nested(Rates)


class SettingsChange(Strict):
    model = fields.String(validate=validate.OneOf(["community", "user", "pool"]))
    floor = fields.Integer(allow_none=True, validate=validate.Range(min=-CREDITS_BOUND, max=0),
                           metadata={"description": "community wallets: lowest balance "
                                                    "(null: none, they keep sending)"})
    rates = fields.Nested(Rates)


class WalletView(Schema):
    wallet = fields.String()
    owner_type = fields.String()
    owner_id = fields.String(allow_none=True)
    balance = fields.Integer(metadata={"description": "credits owned: available + held"})
    held = fields.Integer()
    available = fields.Integer()
    frozen = fields.Boolean(metadata={"description": "a user without send_sms: can only be "
                                                     "transferred away"})


class WalletList(Schema):
    model = fields.String()
    items = fields.List(fields.Nested(WalletView))
    links = fields.Dict(keys=fields.String(), values=fields.String())


class AddCredits(Strict):
    amount = fields.Integer(required=True, validate=validate.Range(min=1, max=10_000_000))
    reason = fields.String(required=True, validate=validate.Length(min=1, max=300))


class Threshold(Strict):
    low_threshold = fields.Integer(required=True, allow_none=True,
                                   validate=validate.Range(min=0, max=CREDITS_BOUND))


class ThresholdView(Schema):
    wallet = fields.String()
    low_threshold = fields.Integer(allow_none=True)


class TransferRequest(Strict):
    source = fields.String(required=True, validate=WALLET)
    target = fields.String(required=True, validate=WALLET)
    amount = fields.Integer(required=True, validate=validate.Range(min=1, max=10_000_000))
    reason = fields.String(required=True, validate=validate.Length(min=1, max=300))


class TransferView(Schema):
    transaction_id = fields.String()
    amount = fields.Integer()
    reason = fields.String()
    source = fields.Nested(WalletView)
    target = fields.Nested(WalletView)
    at = fields.String()


class LogQuery(Strict):
    days = fields.Integer(load_default=30, validate=validate.Range(min=1, max=90))
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "csv", "html"]),
                           metadata={"description": "csv: a download; html: a printable page"})


class LogItem(Schema):
    transaction_id = fields.String()
    at = fields.String()
    kind = fields.String(metadata={"description": "grant, purchase, reserve, settle, release, "
                                                  "expire, transfer"})
    available = fields.Integer(metadata={"description": "change to available credits"})
    held = fields.Integer(metadata={"description": "change to held credits"})
    balance = fields.Integer(metadata={"description": "balance after this change"})
    actor = fields.String()
    reason = fields.String()
    communication_id = fields.String(allow_none=True)
    order_id = fields.String(allow_none=True)


class LogView(Schema):
    wallet = fields.String()
    since = fields.String()
    days = fields.Integer()
    opening_balance = fields.Integer()
    closing_balance = fields.Integer()
    items = fields.List(fields.Nested(LogItem))


class QuoteRequest(Strict):
    body = fields.String(load_default="", validate=validate.Length(max=1600))
    channels = fields.List(fields.String(validate=validate.OneOf(CHANNELS)), required=True,
                           validate=validate.Length(min=1))
    recipients = fields.Integer(required=True, validate=validate.Range(min=0, max=1_000_000))
    call_seconds = fields.Integer(validate=validate.Range(min=0, max=3600),
                                  metadata={"description": "expected call length to quote"})
    community_id = fields.String(validate=validate.Length(min=1, max=64),
                                 metadata={"description": "also answer the balance of the "
                                                          "wallet that would pay"})
    category_id = fields.String(validate=validate.Length(min=1, max=64),
                                metadata={"description": "the category of the send: texts "
                                                         "of an opt-out-enabled category are "
                                                         "priced with their unsubscribe "
                                                         "footer, as they are held; without "
                                                         "it the bare body is priced"})


class ChannelQuote(Schema):
    per_recipient = fields.Integer()
    total = fields.Integer()


class QuoteView(Schema):
    channels = fields.Dict(keys=fields.String(), values=fields.Nested(ChannelQuote))
    recipients = fields.Integer()
    total = fields.Integer()
    characters = fields.Integer()
    gsm7 = fields.Boolean()
    unsubscribe_footer = fields.Boolean(metadata={
        "description": "true: texts and emails are priced with the unsubscribe footer their "
                       "category adds; false: the bare body (no category_id given, or a "
                       "category without unsubscribe links)"})
    rates = fields.Nested(Rates)
    balance = fields.Nested(WalletView, allow_none=True,
                            metadata={"description": "the wallet that would pay, when known"})
    links = fields.Dict(keys=fields.String(), values=fields.String())
