"""Permissions and roles given to staff users at a scope (master users only): a grant is
made once (the same one again answers the first), each change is announced with whether the
user still holds send_sms anywhere (credits freezes a balance without it) and written to the
audit log."""

from sqlalchemy import select

from contracts.errors import InvalidRequest
from servicekit.access import PERMISSIONS, ROLES, new_id
from services.directory import logins, policy, views
from services.directory.models import Community, Grant, Office, StaffUser

SCOPE_TYPES = ("organization", "office", "community")


def grant(uow, caller, staff_user_id, name, scope_type, scope_id):
    if name not in PERMISSIONS and name not in ROLES:
        raise InvalidRequest(f"must be a permission ({', '.join(PERMISSIONS)}) or a role "
                             f"({', '.join(ROLES)})", "name")
    if scope_type not in SCOPE_TYPES:
        raise InvalidRequest(f"must be one of {', '.join(SCOPE_TYPES)}", "scope_type")
    session = uow.session
    user = staff_of(session, caller, staff_user_id)
    check_scope(session, caller, scope_type, scope_id)
    existing = session.scalars(select(Grant).where(
        Grant.staff_user_id == user.id, Grant.name == name,
        Grant.scope_type == scope_type, Grant.scope_id == scope_id)).first()
    if existing:
        return views.grant(existing)
    row = Grant(id=new_id("grt"), organization_id=caller.organization_id,
                staff_user_id=user.id, name=name, scope_type=scope_type,
                scope_id=scope_id, granted_by=caller.actor_id)
    session.add(row)
    session.flush()
    _changed(uow, caller, row, "permission_granted")
    return views.grant(row)


def revoke(uow, caller, grant_id):
    row = policy.owned(uow.session, caller, Grant, grant_id, "grant", "grant_id")
    _changed(uow, caller, row, "permission_revoked")
    uow.session.delete(row)
    return {"revoked": grant_id}


def of_user(session, caller, staff_user_id):
    user = staff_of(session, caller, staff_user_id)
    rows = session.scalars(select(Grant).where(Grant.staff_user_id == user.id)
                           .order_by(Grant.granted_at)).all()
    return {"items": [views.grant(r) for r in rows]}


def staff_of(session, caller, staff_user_id):
    return policy.owned(session, caller, StaffUser, staff_user_id, "staff user",
                        "staff_user_id")


def check_scope(session, caller, scope_type, scope_id):
    """The scope is the caller's organization, or one of its offices or communities."""
    model = {"office": Office, "community": Community}.get(scope_type)
    if model is None:
        if scope_id != caller.organization_id:
            raise InvalidRequest("must be the caller's organization id", "scope_id")
        return
    policy.owned(session, caller, model, scope_id, scope_type, "scope_id")


def _changed(uow, caller, row, event_type):
    permissions = list(ROLES.get(row.name, (row.name,)))
    uow.emit(event_type, {"grant_id": row.id, "staff_user_id": row.staff_user_id,
                          "name": row.name, "permissions": permissions,
                          "scope_type": row.scope_type, "scope_id": row.scope_id,
                          "holds_send_sms": _holds(uow.session, row, event_type, "send_sms")},
             organization_id=row.organization_id)
    logins.audit(uow.session, event_type, "succeeded", actor=caller.actor_id,
                 organization_id=row.organization_id, target=row.staff_user_id,
                 name=row.name, scope_type=row.scope_type, scope_id=row.scope_id)


def _holds(session, changed, event_type, permission):
    """Whether the staff user holds `permission` anywhere once `changed` is granted or gone."""
    query = select(Grant.name).where(Grant.staff_user_id == changed.staff_user_id)
    if event_type == "permission_revoked":
        query = query.where(Grant.id != changed.id)
    return any(permission in ROLES.get(name, (name,)) for name in session.scalars(query))
