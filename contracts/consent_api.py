"""HTTP schemas of consent: communication categories."""

from marshmallow import RAISE, Schema, fields, validate

from contracts.text import SingleLine

MODES = ("request", "opt_in", "opt_out")


class Strict(Schema):
    class Meta:
        unknown = RAISE


class CategoryRequest(Strict):
    name = fields.String(required=True,
                         validate=[validate.Length(min=1, max=200), SingleLine()],
                         metadata={"description": "one line: emails' default subject"})
    type = fields.String(validate=validate.OneOf(["message", "broadcast"]))
    mode = fields.String(required=True, validate=validate.OneOf(MODES), metadata={
        "description": "request: nobody until they confirm by email; opt_in: everybody "
                       "until they opt out; opt_out: nobody until they opt in"})
    opt_out_enabled = fields.Boolean(metadata={"description": "offer an unsubscribe link"})
    transactional = fields.Boolean(metadata={"description": "business transactions: no "
                                                            "consent needed"})
    access_team_ids = fields.List(fields.String(validate=validate.Length(min=1, max=64)),
                                  validate=validate.Length(max=50), metadata={
                                      "description": "teams that see every communication "
                                                     "of the category"})
    response_team_ids = fields.List(fields.String(validate=validate.Length(min=1, max=64)),
                                    validate=validate.Length(max=50), metadata={
                                        "description": "teams alerted on replies"})


class CategoryView(Schema):
    id = fields.String()
    organization_id = fields.String()
    name = fields.String()
    type = fields.String()
    mode = fields.String()
    opt_out_enabled = fields.Boolean()
    transactional = fields.Boolean()
    access_team_ids = fields.List(fields.String())
    response_team_ids = fields.List(fields.String())
    used_count = fields.Integer(metadata={"description": "communications that used it"})
    archived = fields.Boolean()
    built_in = fields.Boolean(metadata={
        "description": "Townhall's own (Work orders): renamed by master users, never deleted, "
                       "archived or made non-transactional"})
    created_at = fields.String()
    updated_at = fields.String(allow_none=True)


class CategoryPage(Schema):
    items = fields.List(fields.Nested(CategoryView))
    next_cursor = fields.String(allow_none=True)


class CategoryListQuery(Strict):
    cursor = fields.String(validate=validate.Length(max=200))
    limit = fields.Integer(validate=validate.Range(min=1, max=200))
    q = fields.String(validate=validate.Length(min=1, max=100))
    include_archived = fields.Boolean(load_default=False)


class ArchiveRequest(Strict):
    archived = fields.Boolean(load_default=True, metadata={"description": "false restores"})


class CategoryChangeView(Schema):
    at = fields.String()
    actor = fields.String()
    action = fields.String()
    changes = fields.Dict(metadata={"description": "field -> [before, after]"})


class CategoryChanges(Schema):
    items = fields.List(fields.Nested(CategoryChangeView))


class QuietHours(Strict):
    start = fields.String(required=True, metadata={
        "description": "HH:MM local time, 21:00 or earlier: texts and calls wait from here"})
    end = fields.String(required=True, metadata={
        "description": "HH:MM local time, 08:00 or later: they go again from here"})


class ConsentSettingsRequest(Strict):
    sms_help_text = fields.String(required=True, validate=validate.Length(min=1, max=320),
                                  metadata={"description": "the answer to HELP / INFO texts"})
    quiet_hours = fields.Nested(QuietHours, metadata={
        "description": "wider quiet hours than the legal 21:00–08:00 in each community's "
                       "time zone (never narrower); left out: the legal ones"})


class QuietHoursView(Schema):
    start = fields.String()
    end = fields.String()
    default = fields.Boolean(metadata={"description": "true: the legal 21:00–08:00"})


class ConsentSettingsView(Schema):
    organization_id = fields.String()
    sms_help_text = fields.String()
    quiet_hours = fields.Nested(QuietHoursView)
    default = fields.Boolean(metadata={"description": "true: the platform's text, never set"})
    updated_by = fields.String(allow_none=True)
    updated_at = fields.String(allow_none=True)


# --- consent requests ("Actions → Send consent request")

class ConsentRequestCreate(Strict):
    community_ids = fields.List(fields.String(validate=validate.Length(min=1, max=64)),
                                required=True, validate=validate.Length(min=1, max=50),
                                metadata={"description": "communities whose residents are "
                                                         "asked (1 to 50)"})


class ConsentRequestCounts(Schema):
    total = fields.Integer(metadata={"description": "residents of the communities"})
    skipped_answered = fields.Integer(metadata={"description": "already granted or withdrew "
                                                               "for the category by email"})
    skipped_no_email = fields.Integer()
    queued = fields.Integer()
    sent = fields.Integer()
    failed = fields.Integer()
    confirmed = fields.Integer(metadata={"description": "pressed the button on the page"})


class ConsentRequestView(Schema):
    id = fields.String()
    category_id = fields.String()
    community_ids = fields.List(fields.String())
    status = fields.String(metadata={"description": "sending, or done when no email is "
                                                    "queued any more"})
    counts = fields.Nested(ConsentRequestCounts)
    requested_by = fields.String()
    created_at = fields.String()
    finished_at = fields.String(allow_none=True)
    links = fields.Dict(keys=fields.String(), values=fields.String(),
                        metadata={"description": "self: where to follow its progress"})


class ConsentRequestPage(Schema):
    items = fields.List(fields.Nested(ConsentRequestView))
    next_cursor = fields.String(allow_none=True)


class ConsentRequestListQuery(Strict):
    cursor = fields.String(validate=validate.Length(max=200))
    limit = fields.Integer(validate=validate.Range(min=1, max=200))


# --- importing consent collected before Townhall (paper forms, a previous system)

CONSENT_IMPORT_MAX_BYTES = 5 * 1024 * 1024
CONSENT_IMPORT_MAX_ROWS = 20_000


class ConsentImportQuery(Strict):
    filename = fields.String(validate=validate.Length(min=1, max=255), metadata={
        "description": "kept with every act as evidence (default: the uploaded file's name)"})


class ConsentImportView(Schema):
    imported = fields.Integer(metadata={"description": "acts appended to the consent log, "
                                                      "one per row"})
    category_id = fields.String()
    filename = fields.String(allow_none=True)
