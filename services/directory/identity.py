"""Who a caller is, as every service receives it: the organization, and for each permission
where it holds — office grants already expanded to their communities in `scopes`, and, in
`office_scopes`, the offices where it holds as a whole (an organization grant: "*"), for rules
about an office's staff such as manage_office_sms_credits."""

from sqlalchemy import select

from contracts.errors import Unauthenticated
from servicekit.access import EVERYWHERE, ROLES, expand_scopes
from services.directory import delegation
from services.directory.models import (
    Community,
    Grant,
    LoginAccount,
    LoginSession,
    Resident,
    StaffUser,
)

ENDED = "this session has ended (signed out, revoked or disabled); sign in again"


def for_staff(session, user: StaffUser):
    if user.disabled_at is not None:
        raise Unauthenticated("this account is disabled")
    grants = session.execute(select(Grant.name, Grant.scope_type, Grant.scope_id)
                             .where(Grant.staff_user_id == user.id)).all()
    scopes, offices = _holdings(session, grants)
    return {"actor_type": "staff", "actor_id": user.id, "organization_id": user.organization_id,
            "name": user.name, "scopes": scopes, "office_scopes": offices}


def _holdings(session, grants):
    """(scopes, office_scopes) of grants [(permission_or_role, scope_type, scope_id)]."""
    office_ids = {scope_id for _n, scope_type, scope_id in grants if scope_type == "office"}
    offices = {}
    if office_ids:
        for community_id, office_id in session.execute(
                select(Community.id, Community.office_id)
                .where(Community.office_id.in_(office_ids))):
            offices.setdefault(office_id, []).append(community_id)
    return expand_scopes(grants, offices), office_scopes(grants)


def office_scopes(grants):
    """permission -> "*" or sorted office ids, from grants [(permission_or_role, scope_type,
    scope_id)] for the organization or an office; a community grant covers no whole office."""
    found = {}
    for name, scope_type, scope_id in grants:
        if scope_type not in ("organization", "office"):
            continue
        for permission in ROLES.get(name, (name,)):
            if scope_type == "organization":
                found[permission] = EVERYWHERE
            elif found.get(permission) != EVERYWHERE:
                found.setdefault(permission, set()).add(scope_id)
    return {p: (w if w == EVERYWHERE else sorted(w)) for p, w in found.items()}


def for_resident(resident: Resident):
    if resident.move_out is not None:
        raise Unauthenticated("this resident has moved out")
    return {"actor_type": "resident", "actor_id": resident.id,
            "organization_id": resident.organization_id, "name": resident.name, "scopes": {},
            "office_scopes": {},
            "resident": {"id": resident.id, "community_id": resident.community_id,
                         "unit_id": resident.unit_id}}


def key_grants(key):
    """Every (permission, scope_type, scope_id) an API key was given."""
    return ([(p, "organization", key.organization_id) for p in key.permissions]
            + [tuple(g) for g in key.grants or ()])


def for_api_key(session, key):
    """What the key was given, cut down to what its creator holds now (delegation)."""
    scopes, offices = _holdings(session, key_grants(key))
    if key.created_by is not None:
        creator = session.get(StaffUser, key.created_by)
        if creator is None or creator.disabled_at is not None:
            raise Unauthenticated("the staff user who created this API key is disabled; a "
                                  "master user issues a new key", "Authorization")
        holds = for_staff(session, creator)
        scopes = delegation.narrowed(scopes, holds["scopes"])
        offices = delegation.narrowed(offices, holds["office_scopes"])
    return {"actor_type": "api_key", "actor_id": key.id, "organization_id": key.organization_id,
            "name": key.name, "scopes": scopes, "office_scopes": offices}


def of_session(session, account_id, session_id):
    """The identity behind an access token, as it is now: its session must still be live
    and its account enabled, so an ended session stops at the next request."""
    row = session.get(LoginSession, session_id) if session_id else None
    if row is None or row.account_id != account_id or row.ended_at is not None:
        raise Unauthenticated(ENDED, "Authorization")
    account = session.get(LoginAccount, account_id)
    if account is None:
        raise Unauthenticated("the account no longer exists", "Authorization")
    return of_account(session, account)


def refusal(session, account):
    """Why this login may not sign in now ("disabled", "moved_out"), or None."""
    if account.disabled_at is not None:
        return "disabled"
    if account.principal_type == "staff":
        user = session.get(StaffUser, account.principal_id)
        return "disabled" if user is None or user.disabled_at is not None else None
    resident = session.get(Resident, account.principal_id)
    return "moved_out" if resident is None or resident.move_out is not None else None


def of_account(session, account):
    if account.disabled_at is not None:
        raise Unauthenticated("this account is disabled")
    if account.principal_type == "staff":
        return for_staff(session, session.get(StaffUser, account.principal_id))
    return for_resident(session.get(Resident, account.principal_id))
