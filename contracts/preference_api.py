"""HTTP schemas of a resident's channel preferences, consent history and proof export."""

from marshmallow import RAISE, Schema, fields, validate

from contracts.vocabulary import CHANNELS


class PreferencesRequest(Schema):
    class Meta:
        unknown = RAISE

    channels = fields.Dict(
        keys=fields.String(validate=validate.OneOf(CHANNELS)),
        values=fields.Boolean(), required=True,
        metadata={"description": "channel -> on (true) or off (false); channels left out "
                                 "stay as they are"})
    wording = fields.String(required=True, validate=validate.Length(min=1, max=1000),
                            metadata={"description": "the exact words shown to the person "
                                                     "who chose, kept as evidence"})


class ChannelPreference(Schema):
    on = fields.Boolean(metadata={"description": "never set: on"})
    since = fields.String(allow_none=True)
    method = fields.String(allow_none=True, metadata={
        "description": "portal (the resident) or staff_on_behalf"})
    by = fields.String(allow_none=True)


class ChannelPreferences(Schema):
    sms = fields.Nested(ChannelPreference)
    email = fields.Nested(ChannelPreference)
    voice = fields.Nested(ChannelPreference)


class PreferencesView(Schema):
    resident_id = fields.String()
    channels = fields.Nested(ChannelPreferences)


class ConsentEventView(Schema):
    id = fields.String()
    occurred_at = fields.String()
    channel = fields.String()
    category_id = fields.String(allow_none=True, metadata={
        "description": "none: the channel as a whole (a preference)"})
    category_name = fields.String(allow_none=True)
    action = fields.String(metadata={"description": "grant or withdraw"})
    method = fields.String()
    recorded_by = fields.String()
    label = fields.String(allow_none=True, metadata={
        "description": "keyword stop / keyword start for SMS keywords (proof of what a "
                       "handset asked, not the channel preference)"})
    evidence = fields.Dict(metadata={"description": "the words shown, the address, ..."})


class ConsentStateView(Schema):
    category_id = fields.String()
    category_name = fields.String()
    channel = fields.String()
    allowed = fields.Boolean()
    reason = fields.String(allow_none=True)


class ConsentHistory(Schema):
    resident_id = fields.String()
    events = fields.List(fields.Nested(ConsentEventView), metadata={
        "description": "every grant and withdrawal, oldest first"})
    state = fields.List(fields.Nested(ConsentStateView), metadata={
        "description": "may they be reached now, per non-archived category and channel"})
