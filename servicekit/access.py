"""The caller's identity, passed in every caller-facing RPC, and the one policy every owning
service applies to its own objects.

An identity carries, per permission, where it holds: "*" for the whole organization or the
list of community ids (office grants are expanded to their communities when the identity is
built, so services never need the directory to decide). Objects of another organization are
reported as not found, never as forbidden, so their existence does not leak; an object of
the caller's organization that the caller may not touch is forbidden, naming the permission.
"""

import secrets
from dataclasses import dataclass, field

from contracts.errors import Forbidden, NotFound, Unauthenticated

PERMISSIONS = (
    "send_communications",
    "send_sms",
    "send_emergency",          # past quiet hours and ahead of other sends, with a reason
    "manage_office_sms_credits",
    "manage_credits",
    "manage_consent_categories",
    "manage_tickets",
    "view_reports",
    "manage_directory",
)

# Roles are named bundles of permissions, granted at a scope like any permission.
ROLES = {
    "master": PERMISSIONS,
    "manager": ("send_communications", "send_sms", "manage_tickets", "view_reports",
                "manage_directory"),
    "dispatcher": ("manage_tickets",),
    "senior_management": ("view_reports",),
}
EVERYWHERE = "*"

SYSTEM = {"actor_type": "system", "actor_id": "system", "organization_id": None,
          "scopes": {p: EVERYWHERE for p in PERMISSIONS}}


def system_of(organization_id, actor_id):
    """Townhall's own service `actor_id` acting for one organization: every permission
    there, and nothing of any other organization (see Caller.owns)."""
    return {"actor_type": "system", "actor_id": actor_id, "organization_id": organization_id,
            "scopes": {p: EVERYWHERE for p in PERMISSIONS}}


@dataclass(frozen=True)
class Caller:
    actor_type: str            # staff, resident, api_key, system
    actor_id: str
    organization_id: str | None
    scopes: dict = field(default_factory=dict)
    resident: dict | None = None

    @classmethod
    def of(cls, identity):
        if not identity or "actor_type" not in identity:
            raise Unauthenticated("the call carries no caller identity")
        scopes = dict(identity.get("scopes") or {})
        for permission in identity.get("permissions", ()):  # organization-wide shorthand
            scopes[permission] = EVERYWHERE
        if "*" in scopes:
            scopes = {p: EVERYWHERE for p in PERMISSIONS}
        return cls(identity["actor_type"], identity["actor_id"], identity.get("organization_id"),
                   scopes, identity.get("resident"))

    @property
    def is_system(self):
        return self.actor_type == "system"

    @property
    def confined(self):
        """Whether the caller acts within one organization: everyone except Townhall's own
        services acting for none (SYSTEM). A system identity that names an organization
        is confined to it like any other caller."""
        return not self.is_system or self.organization_id is not None

    def owns(self, organization_id):
        """Whether objects of `organization_id` exist for this caller."""
        return not self.confined or organization_id == self.organization_id

    @property
    def is_resident(self):
        return self.actor_type == "resident"

    def may(self, permission, community_id=None):
        """Holds `permission` for that community (or, without one, anywhere at all)."""
        if self.is_system:
            return True
        where = self.scopes.get(permission)
        if where is None:
            return False
        return where == EVERYWHERE or community_id is None or community_id in where

    def may_any(self, permissions, community_id=None):
        return any(self.may(p, community_id) for p in permissions)

    def require(self, permission, community_id=None):
        if not self.may(permission, community_id):
            where = f" for community {community_id}" if community_id else ""
            raise Forbidden(f"this caller lacks the permission {permission!r}{where}",
                            "permission")

    def require_any(self, permissions, community_id=None):
        if not self.may_any(permissions, community_id):
            names = " or ".join(repr(p) for p in permissions)
            where = f" for community {community_id}" if community_id else ""
            raise Forbidden(f"this caller needs {names}{where}", "permission")

    def communities(self, permissions=PERMISSIONS):
        """Where the caller holds any of `permissions`: EVERYWHERE or a set of community ids."""
        if self.is_system:
            return EVERYWHERE
        found = set()
        for permission in permissions:
            where = self.scopes.get(permission)
            if where == EVERYWHERE:
                return EVERYWHERE
            found.update(where or ())
        return found

    def sees_community(self, community_id):
        """Staff see a community they hold any permission for; a resident sees their own."""
        if self.is_resident:
            return bool(self.resident) and self.resident.get("community_id") == community_id
        where = self.communities()
        return where == EVERYWHERE or community_id in where

    def check_owner(self, organization_id, what, object_id):
        """Tenant isolation: another organization's object does not exist for this caller."""
        if not self.owns(organization_id):
            raise NotFound(f"{what} {object_id} does not exist", what)


def expand_scopes(grants, offices_communities):
    """Identity scopes from grants [(permission_or_role, scope_type, scope_id)].

    offices_communities: office id -> community ids of that office.
    """
    scopes = {}
    for name, scope_type, scope_id in grants:
        for permission in ROLES.get(name, (name,)):
            if scopes.get(permission) == EVERYWHERE:
                continue
            if scope_type == "organization":
                scopes[permission] = EVERYWHERE
                continue
            ids = offices_communities.get(scope_id, ()) if scope_type == "office" else (scope_id,)
            scopes.setdefault(permission, set()).update(ids)
    return {p: (w if w == EVERYWHERE else sorted(w)) for p, w in scopes.items()}


def new_id(prefix):
    """Public ids: a type prefix and 20 random url-safe characters."""
    return f"{prefix}_{secrets.token_urlsafe(15)}"
