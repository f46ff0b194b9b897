"""API keys of integrations: made by master users (never by another key), holding only what
their creator holds (delegation), shown once and kept as a hash (keys), revoked once; each
is written to the audit log."""

from sqlalchemy import select

from contracts.errors import Forbidden
from servicekit.access import new_id
from servicekit.db import utcnow
from services.directory import delegation, grants, keys, logins, policy, views
from services.directory.models import ApiKey


def issue(session, organization_id, name, permissions, scoped=(), created_by=None):
    """A new key (answered once); `scoped` grants [name, scope_type, scope_id]."""
    key, prefix, key_hash = keys.generate()
    session.add(ApiKey(id=new_id("key"), organization_id=organization_id, name=name,
                       prefix=prefix, key_hash=key_hash, permissions=list(permissions),
                       grants=list(scoped) or None, created_by=created_by))
    return key


def create(uow, caller, identity, name, permissions, asked_grants):
    if caller.actor_type == "api_key":
        raise Forbidden("API keys are created by master users, not by other keys",
                        "actor_type")
    wanted = delegation.asked(caller.organization_id, permissions, asked_grants or [])
    missing = [] if caller.is_system else delegation.lacking(
        identity.get("scopes") or {}, identity.get("office_scopes") or {}, wanted)
    if missing:
        raise Forbidden(f"a key holds only what its creator holds; this caller lacks "
                        f"{delegation.describe(missing)}", "permissions")
    for _p, scope_type, scope_id in wanted:
        grants.check_scope(uow.session, caller, scope_type, scope_id)
    scoped = [list(g) for g in wanted if g[1] != "organization"]
    key = issue(uow.session, caller.organization_id, name, permissions, scoped,
                None if caller.is_system else caller.actor_id)
    row = uow.session.scalars(select(ApiKey).where(ApiKey.prefix == keys.prefix_of(key))).one()
    logins.audit(uow.session, "api_key_created", "succeeded", actor=caller.actor_id,
                 organization_id=caller.organization_id, target=row.prefix,
                 permissions=list(permissions), grants=scoped)
    return dict(views.api_key(row), api_key=key)


def of_organization(session, caller):
    rows = session.scalars(select(ApiKey).where(
        ApiKey.organization_id == caller.organization_id).order_by(ApiKey.created_at)).all()
    return {"items": [views.api_key(r) for r in rows]}


def revoke(uow, caller, api_key_id):
    row = policy.owned(uow.session, caller, ApiKey, api_key_id, "API key", "api_key_id")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        logins.audit(uow.session, "api_key_revoked", "succeeded", actor=caller.actor_id,
                     organization_id=row.organization_id, target=row.prefix)
    uow.session.flush()
    return views.api_key(row)
