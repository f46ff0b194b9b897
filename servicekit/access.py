"""The caller's identity, passed in every caller-facing RPC, and the checks every owning
service applies to its own objects. Objects of another organization are reported as not
found, never as forbidden, so their existence does not leak."""

import secrets
from dataclasses import dataclass, field

from contracts.errors import Forbidden, NotFound, Unauthenticated

SYSTEM = {"actor_type": "system", "actor_id": "system", "organization_id": None,
          "permissions": ["*"]}


@dataclass(frozen=True)
class Caller:
    actor_type: str
    actor_id: str
    organization_id: str | None
    permissions: frozenset = field(default_factory=frozenset)

    @classmethod
    def of(cls, identity):
        if not identity or "actor_type" not in identity:
            raise Unauthenticated("the call carries no caller identity")
        return cls(identity["actor_type"], identity["actor_id"],
                   identity.get("organization_id"), frozenset(identity.get("permissions", ())))

    @property
    def is_system(self):
        return self.actor_type == "system"

    def may(self, permission):
        return self.is_system or "*" in self.permissions or permission in self.permissions

    def require(self, permission):
        if not self.may(permission):
            raise Forbidden(f"this caller lacks the permission {permission!r}")

    def check_owner(self, organization_id, what, object_id):
        """Tenant isolation: another organization's object does not exist for this caller."""
        if not self.is_system and organization_id != self.organization_id:
            raise NotFound(f"{what} {object_id} does not exist", what)


def new_id(prefix):
    """Public ids: a type prefix and 20 random url-safe characters."""
    return f"{prefix}_{secrets.token_urlsafe(15)}"
