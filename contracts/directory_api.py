"""HTTP schemas for creating and changing directory objects: offices, teams, communities,
units, residents and their contact points, staff users and API keys.

They check shape (types, lengths, allowed words); the directory service checks the rules that
need its data or a library (valid phone numbers and time zones, unique unit labels, who may).
"""

from marshmallow import RAISE, Schema, fields, validate

from contracts.text import SingleLine

# one line: a name can be printed into a header (the organization's is in the subject of
# consent requests)
NAME = [validate.Length(min=1, max=200), SingleLine()]
ID = validate.Length(min=1, max=64)


class Strict(Schema):
    class Meta:
        unknown = RAISE


class OrganizationUpdate(Strict):
    name = fields.String(validate=NAME)


class OrganizationView(Schema):
    id = fields.String()
    slug = fields.String()
    name = fields.String()
    created_at = fields.String()


class PortalAccountRequest(Strict):
    email = fields.String(validate=validate.Length(min=3, max=254),
                          metadata={"description": "defaults to the resident's primary email"})
    password = fields.String(required=True, load_only=True,
                             validate=validate.Length(min=12, max=1024))


class PortalAccountView(Schema):
    resident_id = fields.String()
    email = fields.String()


class OfficeRequest(Strict):
    name = fields.String(required=True, validate=NAME)


class OfficeView(Schema):
    id = fields.String()
    organization_id = fields.String()
    name = fields.String()
    community_ids = fields.List(fields.String())


class OfficePage(Schema):
    items = fields.List(fields.Nested(OfficeView))
    next_cursor = fields.String(allow_none=True)


class CommunityRequest(Strict):
    name = fields.String(required=True, validate=NAME)
    office_id = fields.String(required=True, validate=ID)
    timezone = fields.String(load_default="UTC", validate=validate.Length(min=1, max=64),
                             metadata={"description": "IANA name, e.g. America/Toronto"})
    address = fields.String(allow_none=True, validate=validate.Length(max=300))


class UnitRequest(Strict):
    label = fields.String(required=True, validate=validate.Length(min=1, max=40))


class UnitView(Schema):
    id = fields.String()
    community_id = fields.String()
    label = fields.String()
    occupants = fields.Integer(metadata={"description": "residents living there now"})


class UnitPage(Schema):
    items = fields.List(fields.Nested(UnitView))
    next_cursor = fields.String(allow_none=True)


class ContactPointRequest(Strict):
    kind = fields.String(required=True, validate=validate.OneOf(["phone", "email"]))
    value = fields.String(required=True, validate=validate.Length(min=1, max=254))
    primary = fields.Boolean(load_default=False,
                             metadata={"description": "the first of a kind is primary anyway"})


class ContactPointUpdate(Strict):
    """Making a contact point primary is the one change there is: any other field is refused
    by name rather than ignored (a new phone or email is added, the old one removed)."""

    error_messages = {"unknown": "cannot be changed: only primary can; to change a phone or "
                                 "email add the new one and remove the old one"}

    primary = fields.Boolean(required=True, validate=validate.Equal(True),
                             metadata={"description": "true makes it the primary of its kind"})


class ResidentRequest(Strict):
    community_id = fields.String(required=True, validate=ID)
    unit_id = fields.String(required=True, validate=ID)
    name = fields.String(required=True, validate=NAME)
    kind = fields.String(load_default="tenant", validate=validate.OneOf(["owner", "tenant"]))
    language = fields.String(load_default="en", validate=validate.Regexp(r"^[a-z]{2}$"))
    move_in = fields.Date(allow_none=True)
    external_id = fields.String(allow_none=True, validate=validate.Length(max=100))
    contact_points = fields.List(fields.Nested(ContactPointRequest), load_default=list,
                                 validate=validate.Length(max=10))


class ResidentUpdate(Strict):
    name = fields.String(validate=NAME)
    kind = fields.String(validate=validate.OneOf(["owner", "tenant"]))
    language = fields.String(validate=validate.Regexp(r"^[a-z]{2}$"))
    external_id = fields.String(allow_none=True, validate=validate.Length(max=100))


class MoveOutRequest(Strict):
    date = fields.Date(metadata={"description": "defaults to today (UTC)"})


class StaffRequest(Strict):
    name = fields.String(required=True, validate=NAME)
    email = fields.String(required=True, validate=validate.Length(min=3, max=254))
    password = fields.String(load_only=True, validate=validate.Length(min=12, max=1024),
                             metadata={"description": "gives the user a login; 12+ characters"})
    office_ids = fields.List(fields.String(validate=ID), validate=validate.Length(max=20),
                             metadata={"description": "offices the user works in; the first "
                                                      "is the primary office"})


class StaffUpdate(Strict):
    name = fields.String(validate=NAME)
    disabled = fields.Boolean(metadata={"description": "true stops every login and token"})
    office_ids = fields.List(fields.String(validate=ID), validate=validate.Length(max=20),
                             metadata={"description": "replaces the user's offices; the first "
                                                      "is the primary office"})


class StaffView(Schema):
    id = fields.String()
    organization_id = fields.String()
    name = fields.String()
    email = fields.String()
    disabled = fields.Boolean()
    has_login = fields.Boolean()
    team_ids = fields.List(fields.String())
    office_ids = fields.List(fields.String(), metadata={"description": "primary office first"})


class StaffPage(Schema):
    items = fields.List(fields.Nested(StaffView))
    next_cursor = fields.String(allow_none=True)


class TeamRequest(Strict):
    name = fields.String(required=True, validate=NAME)
    office_id = fields.String(allow_none=True, validate=ID)


class TeamUpdate(Strict):
    name = fields.String(validate=NAME)
    office_id = fields.String(allow_none=True, validate=ID)


class TeamView(Schema):
    id = fields.String()
    organization_id = fields.String()
    office_id = fields.String(allow_none=True)
    name = fields.String()
    member_ids = fields.List(fields.String())


class TeamPage(Schema):
    items = fields.List(fields.Nested(TeamView))
    next_cursor = fields.String(allow_none=True)


class ApiKeyGrant(Strict):
    name = fields.String(required=True, validate=validate.Length(min=1, max=40),
                         metadata={"description": "a permission"})
    scope_type = fields.String(required=True, validate=validate.OneOf(["office", "community"]))
    scope_id = fields.String(required=True, validate=ID)


class ApiKeyRequest(Strict):
    name = fields.String(required=True, validate=NAME)
    permissions = fields.List(fields.String(), load_default=list,
                              validate=validate.Length(max=20),
                              metadata={"description": "permissions, organization-wide; the "
                                                       "creator must hold each there"})
    grants = fields.List(fields.Nested(ApiKeyGrant), load_default=list,
                         validate=validate.Length(max=100),
                         metadata={"description": "permissions for an office or a community; "
                                                  "the creator must hold each there"})


class ApiKeyView(Schema):
    id = fields.String()
    name = fields.String()
    prefix = fields.String(metadata={"description": "the key's first characters, to tell "
                                                    "keys apart"})
    permissions = fields.List(fields.String())
    grants = fields.List(fields.Nested(ApiKeyGrant))
    created_by = fields.String(allow_none=True, metadata={
        "description": "the staff user whose permissions bound the key's, while it is used"})
    created_at = fields.String()
    revoked_at = fields.String(allow_none=True)


class ApiKeyCreated(ApiKeyView):
    api_key = fields.String(metadata={"description": "shown once; only its hash is kept"})


class ApiKeyList(Schema):
    items = fields.List(fields.Nested(ApiKeyView))


# --- groups and audiences --------------------------------------------------------------

MAX_GROUP_MEMBERS = 5000      # per list: a group is one community's residents and units
MAX_AUDIENCE_IDS = 1000       # per list of an audience
OCCUPANCIES = ("owner", "tenant")


class GroupMembers(Strict):
    residents = fields.List(fields.String(validate=ID), load_default=list,
                            validate=validate.Length(max=MAX_GROUP_MEMBERS),
                            metadata={"description": "resident ids of the group's community"})
    units = fields.List(fields.String(validate=ID), load_default=list,
                        validate=validate.Length(max=MAX_GROUP_MEMBERS),
                        metadata={"description": "unit ids of the group's community: everyone "
                                                 "living there when a message is sent"})


class GroupRequest(Strict):
    community_id = fields.String(required=True, validate=ID)
    name = fields.String(required=True, validate=NAME,
                         metadata={"description": "unique in the community, whatever its case"})
    description = fields.String(allow_none=True, validate=validate.Length(max=2000))
    members = fields.Nested(GroupMembers, load_default=lambda: {"residents": [], "units": []})


class GroupUpdate(Strict):
    name = fields.String(validate=NAME)
    description = fields.String(allow_none=True, validate=validate.Length(max=2000))
    members = fields.Nested(GroupMembers, metadata={
        "description": "replaces the members whole: a list left out is empty"})


class GroupListQuery(Strict):
    community_id = fields.String(validate=ID)
    cursor = fields.String(validate=validate.Length(max=200))
    limit = fields.Integer(validate=validate.Range(min=1, max=200))


class GroupMemberCounts(Schema):
    residents = fields.Integer()
    units = fields.Integer()


class GroupSummary(Schema):
    id = fields.String()
    organization_id = fields.String()
    community_id = fields.String()
    name = fields.String()
    description = fields.String(allow_none=True)
    member_counts = fields.Nested(GroupMemberCounts)
    created_at = fields.String()
    updated_at = fields.String()


class GroupView(GroupSummary):
    members = fields.Nested(GroupMembers)


class GroupPage(Schema):
    items = fields.List(fields.Nested(GroupSummary))
    next_cursor = fields.String(allow_none=True)


class AudienceRequest(Strict):
    """Whom a communication is for: any mix of communities (everyone living there), units,
    residents and saved groups, of the sender's organization, optionally only owners or only
    tenants. Residents who have moved out are never included, and a resident named twice is
    one recipient (directory's `audience_scope` and `resolve_audience` apply the rules)."""

    communities = fields.List(fields.String(validate=ID),
                              validate=validate.Length(max=MAX_AUDIENCE_IDS),
                              metadata={"description": "community ids: everyone living there"})
    units = fields.List(fields.String(validate=ID),
                        validate=validate.Length(max=MAX_AUDIENCE_IDS),
                        metadata={"description": "unit ids: everyone living there"})
    residents = fields.List(fields.String(validate=ID),
                            validate=validate.Length(max=MAX_AUDIENCE_IDS),
                            metadata={"description": "resident ids"})
    groups = fields.List(fields.String(validate=ID),
                         validate=validate.Length(max=MAX_AUDIENCE_IDS),
                         metadata={"description": "group ids: their residents and units"})
    occupancy = fields.String(allow_none=True, validate=validate.OneOf(OCCUPANCIES),
                              metadata={"description": "only owners or only tenants; "
                                                       "null or left out: both"})
