"""HTTP schemas of work orders (tickets): reporting one, changing, moving and assigning it,
comments and attachments, lists, the resident dashboard, the activity log and the settings.

They check shape (types, lengths, allowed words); the tickets service checks the rules that
need its data (who may see or change what, the organization's categories, allowed moves).
"""

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from contracts.moments import WITHIN_YEARS
from contracts.text import SingleLine
from contracts.vocabulary import (
    ASSIGNEE_TYPES,
    CHANNELS,
    REOPEN_POLICIES,
    TICKET_KINDS,
    TICKET_PRIORITIES,
    TICKET_STATUSES,
    VISIBILITIES,
)

ID = validate.Length(min=1, max=64)
LINE = [validate.Length(min=1, max=200), SingleLine()]
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
TIME = validate.Regexp(r"^([01]\d|2[0-3]):[0-5]\d$", error="must be a time of day as HH:MM")
MAX_PREFERRED_TIMES = 5
MAX_TEXT = 5000


class Strict(Schema):
    class Meta:
        unknown = RAISE


class PreferredTime(Strict):
    """A window when the resident prefers the work done (their community's local time)."""

    days = fields.List(fields.String(validate=validate.OneOf(DAYS)), load_default=list,
                       validate=validate.Length(max=7),
                       metadata={"description": "mon..sun; none: any day"})
    start = fields.String(required=True, validate=TIME, metadata={"description": "HH:MM"})
    end = fields.String(required=True, validate=TIME,
                        metadata={"description": "HH:MM, after start"})

    @validates_schema
    def _ordered(self, data, **_):
        if data.get("start") and data.get("end") and data["end"] <= data["start"]:
            raise ValidationError("must be after start", "end")


def _preferred_times():
    return fields.List(fields.Nested(PreferredTime),
                       validate=validate.Length(max=MAX_PREFERRED_TIMES),
                       metadata={"description": f"at most {MAX_PREFERRED_TIMES} windows"})


def _visibility(what):
    return fields.String(load_default="managers_and_residents",
                         validate=validate.OneOf(VISIBILITIES),
                         metadata={"description": f"who reads {what}: managers and residents "
                                                  "(the default), or managers only"})


class TicketRequest(Strict):
    kind = fields.String(required=True, validate=validate.OneOf(TICKET_KINDS))
    community_id = fields.String(validate=ID, metadata={
        "description": "common_area: the community (a resident's own by default)"})
    unit_id = fields.String(validate=ID, metadata={
        "description": "unit: the unit (a resident's own by default)"})
    location = fields.String(validate=[validate.Length(min=1, max=100), SingleLine()],
                             metadata={"description": "common_area: where (Lobby, Pool...)"})
    title = fields.String(required=True, validate=LINE)
    description = fields.String(load_default="", validate=validate.Length(max=MAX_TEXT))
    category = fields.String(validate=validate.Length(min=1, max=50), metadata={
        "description": "one of the organization's categories (GET /v1/tickets/settings); "
                       "default: other"})
    priority = fields.String(load_default="normal", validate=validate.OneOf(TICKET_PRIORITIES))
    permission_to_enter = fields.Boolean(load_default=False, metadata={
        "description": "unit: staff may enter when nobody is home"})
    entry_notes = fields.String(validate=validate.Length(max=1000), metadata={
        "description": "unit: pets, alarm, where the key is..."})
    preferred_times = _preferred_times()
    contact_email = fields.Email(validate=validate.Length(max=254), metadata={
        "description": "where the reporter hears back; a resident with no email on file "
                       "must give one (it is added to their contact points)"})
    reporter_resident_id = fields.String(validate=ID, metadata={
        "description": "staff: the resident on whose behalf it is reported"})


class TicketChange(Strict):
    title = fields.String(validate=LINE)
    description = fields.String(validate=validate.Length(max=MAX_TEXT))
    category = fields.String(validate=validate.Length(min=1, max=50))
    priority = fields.String(validate=validate.OneOf(TICKET_PRIORITIES))
    location = fields.String(validate=[validate.Length(min=1, max=100), SingleLine()])
    permission_to_enter = fields.Boolean()
    entry_notes = fields.String(validate=validate.Length(max=1000), allow_none=True)
    preferred_times = _preferred_times()
    contact_email = fields.Email(validate=validate.Length(max=254))
    due_at = fields.AwareDateTime(allow_none=True, validate=WITHIN_YEARS, metadata={
        "description": "staff: ISO 8601 with an offset; null returns to the organization's "
                       "response target for the priority"})


class TicketMove(Strict):
    status = fields.String(required=True, validate=validate.OneOf(TICKET_STATUSES))
    note = fields.String(validate=validate.Length(min=1, max=2000))
    note_visibility = _visibility("the note")


class Assignee(Strict):
    type = fields.String(required=True, validate=validate.OneOf(ASSIGNEE_TYPES))
    id = fields.String(validate=ID, metadata={"description": "staff or team: its id"})
    name = fields.String(validate=LINE, metadata={"description": "vendor: its name"})
    email = fields.Email(validate=validate.Length(max=254), metadata={"description": "vendor"})
    phone = fields.String(validate=[validate.Length(min=3, max=32), SingleLine()],
                          metadata={"description": "vendor"})

    @validates_schema
    def _named(self, data, **_):
        if data.get("type") in ("staff", "team") and not data.get("id"):
            raise ValidationError(f"a {data['type']} assignee is named by its id", "id")
        if data.get("type") == "vendor" and not data.get("name"):
            raise ValidationError("a vendor assignee is named by its name", "name")
        if data.get("type") in ("staff", "team"):
            for extra in ("name", "email", "phone"):
                if data.get(extra):
                    raise ValidationError(f"only a vendor carries {extra}; a {data['type']} "
                                          "is found by its id", extra)


class TicketAssign(Strict):
    assignee = fields.Nested(Assignee, required=True, allow_none=True,
                             metadata={"description": "null: nobody"})
    note = fields.String(validate=validate.Length(min=1, max=2000))


class CommentRequest(Strict):
    body = fields.String(required=True, validate=validate.Length(min=1, max=MAX_TEXT))
    visibility = _visibility("the comment")


class AttachmentQuery(Strict):
    filename = fields.String(validate=validate.Length(min=1, max=200), metadata={
        "description": "the name to download it as, for a raw body"})
    comment_id = fields.String(validate=ID, metadata={
        "description": "attach it to a comment: it is read by whoever reads the comment"})
    visibility = fields.String(validate=validate.OneOf(VISIBILITIES), metadata={
        "description": "without a comment: who reads it (default managers_and_residents)"})


class Actor(Schema):
    type = fields.String(metadata={"description": "resident, staff, api_key or system"})
    id = fields.String()
    name = fields.String(allow_none=True)


class AssigneeView(Schema):
    type = fields.String(validate=validate.OneOf(ASSIGNEE_TYPES))
    id = fields.String(allow_none=True)
    name = fields.String()
    email = fields.String(allow_none=True, metadata={"description": "a vendor's; staff only"})
    phone = fields.String(allow_none=True, metadata={"description": "a vendor's; staff only"})


class AttachmentView(Schema):
    id = fields.String()
    filename = fields.String()
    content_type = fields.String(metadata={"description": "as its content says"})
    size = fields.Integer(metadata={"description": "bytes"})
    sha256 = fields.String()
    visibility = fields.String(validate=validate.OneOf(VISIBILITIES))
    comment_id = fields.String(allow_none=True)
    uploaded_by = fields.Nested(Actor)
    created_at = fields.String()
    links = fields.Dict(keys=fields.String(), values=fields.String())


class CommentView(Schema):
    id = fields.String()
    body = fields.String()
    visibility = fields.String(validate=validate.OneOf(VISIBILITIES))
    author = fields.Nested(Actor)
    created_at = fields.String()
    attachments = fields.List(fields.Nested(AttachmentView))


class TicketSummary(Schema):
    id = fields.String()
    number = fields.String(metadata={"description": "the organization's work order number, "
                                                    "e.g. WO-1001"})
    kind = fields.String(validate=validate.OneOf(TICKET_KINDS))
    community_id = fields.String()
    unit_id = fields.String(allow_none=True)
    unit_label = fields.String(allow_none=True)
    location = fields.String(allow_none=True)
    title = fields.String()
    category = fields.String()
    priority = fields.String(validate=validate.OneOf(TICKET_PRIORITIES))
    status = fields.String(validate=validate.OneOf(TICKET_STATUSES))
    assignee = fields.Nested(AssigneeView, allow_none=True)
    due_at = fields.String(allow_none=True)
    overdue = fields.Boolean(metadata={"description": "open and past its due date"})
    created_at = fields.String()
    updated_at = fields.String()
    links = fields.Dict(keys=fields.String(), values=fields.String())


class TicketView(TicketSummary):
    description = fields.String()
    permission_to_enter = fields.Boolean()
    entry_notes = fields.String(allow_none=True)
    preferred_times = fields.List(fields.Nested(PreferredTime))
    reporter = fields.Nested(Actor)
    created_by = fields.Nested(Actor)
    contact_email = fields.String(allow_none=True)
    overdue_at = fields.String(allow_none=True, metadata={
        "description": "when the sweeper found it past its due date"})
    acknowledged_at = fields.String(allow_none=True)
    first_response_at = fields.String(allow_none=True, metadata={
        "description": "the first move or comment by staff"})
    completed_at = fields.String(allow_none=True)
    time_to_acknowledge_seconds = fields.Integer(allow_none=True)
    time_to_complete_seconds = fields.Integer(allow_none=True)
    allowed_moves = fields.List(fields.String(), metadata={
        "description": "the statuses this caller may move it to now"})
    may_comment = fields.Boolean(metadata={"description": "whether this caller may comment"})
    comments = fields.List(fields.Nested(CommentView),
                           metadata={"description": "those this caller may read, oldest first"})
    attachments = fields.List(fields.Nested(AttachmentView), metadata={
        "description": "those not on a comment that this caller may read"})


class TicketPage(Schema):
    items = fields.List(fields.Nested(TicketSummary))
    next = fields.String(allow_none=True)


def _cursor():
    return fields.String(validate=validate.Length(max=500),
                         metadata={"description": "the `next` of the page before"})


class TicketListQuery(Strict):
    community_id = fields.String(validate=ID)
    kind = fields.String(validate=validate.OneOf(TICKET_KINDS))
    status = fields.String(validate=validate.OneOf(TICKET_STATUSES + ("open",)), metadata={
        "description": "one status, or open (any but completed, cancelled and rejected)"})
    priority = fields.String(validate=validate.OneOf(TICKET_PRIORITIES))
    assignee_id = fields.String(validate=ID, metadata={
        "description": "a staff user's or team's id, or none for nobody"})
    unit_id = fields.String(validate=ID)
    overdue = fields.Boolean()
    created_after = fields.AwareDateTime(validate=WITHIN_YEARS,
                                         metadata={"description": "ISO 8601 with an offset"})
    created_before = fields.AwareDateTime(validate=WITHIN_YEARS,
                                         metadata={"description": "ISO 8601 with an offset"})
    q = fields.String(validate=[validate.Length(min=1, max=100), SingleLine()], metadata={
        "description": "words in the title, description, location or number"})
    cursor = _cursor()
    limit = fields.Integer(validate=validate.Range(min=1, max=200))
    format = fields.String(validate=validate.OneOf(("json", "csv")),
                           metadata={"description": "csv: every match, as a download"})


class DashboardPart(Schema):
    open = fields.Integer(metadata={"description": "open tickets of this kind"})
    items = fields.List(fields.Nested(TicketSummary), metadata={"description": "newest first"})


class Dashboard(Schema):
    unit = fields.Nested(DashboardPart, metadata={"description": "the resident's own unit's"})
    common_area = fields.Nested(DashboardPart,
                                metadata={"description": "every one of their community"})


class ActivityEntry(Schema):
    id = fields.String()
    at = fields.String()
    actor = fields.Nested(Actor)
    action = fields.String(metadata={"description": "created, changed, moved, assigned, "
                                                    "commented, attachment_added, "
                                                    "due_date_changed, overdue"})
    details = fields.Dict(metadata={"description": "what changed: from/to, fields..."})


class ActivityPage(Schema):
    items = fields.List(fields.Nested(ActivityEntry))
    next = fields.String(allow_none=True)


class ActivityQuery(Strict):
    cursor = _cursor()
    limit = fields.Integer(validate=validate.Range(min=1, max=200))


def _hours():
    return fields.Integer(validate=validate.Range(min=1, max=2160),
                          metadata={"description": "hours from creation (1..2160)"})


class ResponseTargets(Strict):
    emergency = _hours()
    high = _hours()
    normal = _hours()
    low = _hours()


class TicketSettings(Strict):
    """The organization's: categories, response targets per priority, who may reopen."""

    categories = fields.List(fields.String(validate=[validate.Length(min=1, max=50),
                                                     SingleLine()]),
                             validate=validate.Length(min=1, max=50))
    response_targets_hours = fields.Nested(ResponseTargets)
    reopen_completed = fields.String(validate=validate.OneOf(REOPEN_POLICIES), metadata={
        "description": "who may move a completed ticket back to in_progress"})


class NotifyRule(Strict):
    roles = fields.List(fields.String(validate=validate.Length(min=1, max=64)),
                        validate=validate.Length(max=20), metadata={
        "description": "staff holding any of these roles or permissions for the community "
                       "(manager, dispatcher, master, manage_tickets...)"})
    staff_user_ids = fields.List(fields.String(validate=ID),
                                 validate=validate.Length(max=50))


class NotifySettings(Strict):
    created = fields.Nested(NotifyRule, metadata={"description": "on a new ticket"})
    resident_commented = fields.Nested(NotifyRule,
                                       metadata={"description": "on a resident's comment"})


class CommunityTicketSettings(Strict):
    """A community's: who is told of what, the header of its emails, whether residents may
    comment, and how the reporter hears back."""

    residents_may_comment = fields.Boolean()
    email_header = fields.String(validate=validate.Length(max=2000), allow_none=True,
                                 metadata={"description": "the text that opens every work "
                                                          "order email of this community"})
    notify = fields.Nested(NotifySettings)
    reporter_channels = fields.List(fields.String(validate=validate.OneOf(CHANNELS[:2])),
                                    validate=validate.Length(min=1, max=2), metadata={
        "description": "how a resident reporter is told of changes: email (free) and/or sms "
                       "(paid like any text); their channel preferences still apply"})


class CommunityTicketSettingsView(CommunityTicketSettings):
    community_id = fields.String()
    updated_at = fields.String(allow_none=True)


class TicketSettingsView(TicketSettings):
    organization_id = fields.String()
    updated_at = fields.String(allow_none=True)
