"""HTTP request and response schemas. The gateway validates requests with them and
/openapi.json is generated from the same classes."""

from marshmallow import RAISE, Schema, fields, validate

# communications' schemas live in their own module; named here too for the gateway
from contracts.communication_api import (  # noqa: E402,F401
    CommunicationAccepted,
    CommunicationRequest,
    CommunicationView,
    CreditsView,
    DeliveryView,
    PayingWallet,
    Recipients,
)


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


class LoginRequest(Schema):
    class Meta:
        unknown = RAISE

    email = fields.String(required=True, validate=validate.Length(min=3, max=254))
    password = fields.String(required=True, validate=validate.Length(min=1, max=1024),
                             load_only=True)
    organization_id = fields.String(validate=validate.Length(min=1, max=64), metadata={
        "description": "which organization, when the email signs in to several (a 409 "
                       "lists them once the password is proven)"})


class RefreshRequest(Schema):
    class Meta:
        unknown = RAISE

    refresh_token = fields.String(required=True, validate=validate.Length(min=1, max=200))


class Identity(Schema):
    actor_type = fields.String()
    actor_id = fields.String()
    organization_id = fields.String()
    name = fields.String()
    scopes = fields.Dict(keys=fields.String(), values=fields.Raw(),
                         metadata={"description": "permission -> '*' or community ids"})
    office_scopes = fields.Dict(keys=fields.String(), values=fields.Raw(), metadata={
        "description": "permission -> '*' or office ids, from organization and office grants"})
    resident = fields.Dict(allow_none=True)


class Tokens(Schema):
    access_token = fields.String()
    token_type = fields.String()
    expires_in = fields.Integer(metadata={"description": "seconds"})
    refresh_token = fields.String(metadata={"description": "single use; rotate with "
                                                           "/v1/auth/refresh"})
    identity = fields.Nested(Identity)


class CommunityView(Schema):
    id = fields.String()
    organization_id = fields.String()
    office_id = fields.String(allow_none=True)
    name = fields.String()
    timezone = fields.String()
    address = fields.String(allow_none=True)


class ContactPointView(Schema):
    id = fields.String()
    kind = fields.String()
    value = fields.String()
    primary = fields.Boolean()


class ResidentView(Schema):
    id = fields.String()
    organization_id = fields.String()
    community_id = fields.String()
    unit_id = fields.String(allow_none=True)
    unit = fields.String(allow_none=True)
    name = fields.String()
    kind = fields.String()
    language = fields.String()
    move_in = fields.String(allow_none=True)
    move_out = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    contact_points = fields.List(fields.Nested(ContactPointView))


class ListQuery(Schema):
    class Meta:
        unknown = RAISE

    cursor = fields.String(validate=validate.Length(max=200))
    limit = fields.Integer(validate=validate.Range(min=1, max=200))
    q = fields.String(validate=validate.Length(min=1, max=100),
                      metadata={"description": "search by name, unit, phone or email"})


class ResidentListQuery(ListQuery):
    community_id = fields.String(validate=validate.Length(min=1, max=64))
    include_moved_out = fields.Boolean(load_default=False)


class CommunityPage(Schema):
    items = fields.List(fields.Nested(CommunityView))
    next_cursor = fields.String(allow_none=True)


class ResidentPage(Schema):
    items = fields.List(fields.Nested(ResidentView))
    next_cursor = fields.String(allow_none=True)


class AuditEventView(Schema):
    seq = fields.Integer()
    at = fields.String()
    actor = fields.String()
    action = fields.String()
    target = fields.String(allow_none=True)
    address = fields.String(allow_none=True)
    result = fields.String()
    details = fields.Dict()


class AuditPage(Schema):
    items = fields.List(fields.Nested(AuditEventView))
    next_cursor = fields.String(allow_none=True)


class GrantRequest(Schema):
    class Meta:
        unknown = RAISE

    name = fields.String(required=True, metadata={"description": "a permission or a role"})
    scope_type = fields.String(required=True,
                               validate=validate.OneOf(["organization", "office", "community"]))
    scope_id = fields.String(required=True, validate=validate.Length(min=1, max=64))


class GrantView(Schema):
    id = fields.String()
    staff_user_id = fields.String()
    name = fields.String()
    scope_type = fields.String()
    scope_id = fields.String()
    granted_by = fields.String()
    granted_at = fields.String()


class GrantList(Schema):
    items = fields.List(fields.Nested(GrantView))


# --- resident imports --------------------------------------------------------------------

IMPORT_MAX_BYTES = 5 * 1024 * 1024   # default of directory.import_max_bytes
IMPORT_STATUSES = ("pending", "validating", "importing", "completed", "rejected", "failed")


class ImportQuery(Schema):
    class Meta:
        unknown = RAISE

    import_valid_rows = fields.Boolean(load_default=False, metadata={
        "description": "import the valid rows of a file that has invalid ones; by default "
                       "such a file is rejected and nothing is imported"})
    region = fields.String(validate=validate.Regexp(r"^[A-Za-z]{2}$",
                                                    error="must be a 2-letter region code"),
                           metadata={"description": "region of phone numbers written without "
                                                    "+ (default US)"})
    filename = fields.String(validate=validate.Length(min=1, max=255),
                             metadata={"description": "shown in the import's view"})


class ImportMessage(Schema):
    line = fields.Integer(allow_none=True, metadata={"description": "line of the file"})
    column = fields.String(allow_none=True, metadata={"description": "null: the whole row"})
    message = fields.String()


class ImportCounts(Schema):
    residents_created = fields.Integer()
    residents_updated = fields.Integer()
    residents_unchanged = fields.Integer()
    units_created = fields.Integer()
    contact_points_created = fields.Integer()
    rows_invalid = fields.Integer(metadata={"description": "rows with errors, not imported"})
    errors_total = fields.Integer(metadata={"description": "errors found; the first 1000 "
                                                           "are listed"})
    warnings_total = fields.Integer()


class ImportView(Schema):
    id = fields.String()
    community_id = fields.String()
    status = fields.String(validate=validate.OneOf(IMPORT_STATUSES), metadata={
        "description": "rejected: the file has errors and nothing was imported"})
    filename = fields.String(allow_none=True)
    import_valid_rows = fields.Boolean()
    rows_total = fields.Integer(allow_none=True, metadata={"description": "null until read"})
    rows_checked = fields.Integer()
    progress = fields.Integer(metadata={"description": "percent of rows checked; 100 when "
                                                      "finished"})
    counts = fields.Nested(ImportCounts)
    errors = fields.List(fields.Nested(ImportMessage))
    warnings = fields.List(fields.Nested(ImportMessage))
    file_errors = fields.List(fields.Nested(ImportMessage), metadata={
        "description": "the file as a whole: encoding, header, size"})
    created_at = fields.String()
    finished_at = fields.String(allow_none=True)
    links = fields.Dict(keys=fields.String(), values=fields.String())
