"""How directory objects look to callers."""


def community(row):
    return {"id": row.id, "organization_id": row.organization_id, "office_id": row.office_id,
            "name": row.name, "timezone": row.timezone, "address": row.address}


def resident(row, contact_points, unit_label=None):
    primary = {cp.kind: cp.value for cp in contact_points if cp.is_primary}
    return {
        "id": row.id, "organization_id": row.organization_id,
        "community_id": row.community_id, "unit_id": row.unit_id, "unit": unit_label,
        "name": row.name, "kind": row.kind, "language": row.language,
        "move_in": row.move_in.isoformat() if row.move_in else None,
        "move_out": row.move_out.isoformat() if row.move_out else None,
        "phone": primary.get("phone"), "email": primary.get("email"),
        "contact_points": [{"id": cp.id, "kind": cp.kind, "value": cp.value,
                            "primary": cp.is_primary} for cp in contact_points],
    }


def audit_event(row):
    return {"seq": row.seq, "at": row.at.isoformat(), "actor": row.actor, "action": row.action,
            "target": row.target, "address": row.address, "result": row.result,
            "details": row.details}


def grant(row):
    return {"id": row.id, "staff_user_id": row.staff_user_id, "name": row.name,
            "scope_type": row.scope_type, "scope_id": row.scope_id,
            "granted_by": row.granted_by, "granted_at": row.granted_at.isoformat()}


def office(row, community_ids):
    return {"id": row.id, "organization_id": row.organization_id, "name": row.name,
            "community_ids": list(community_ids)}


def unit(row, occupants):
    return {"id": row.id, "community_id": row.community_id, "label": row.label,
            "occupants": occupants}


def staff(row, has_login, team_ids, office_ids=()):
    return {"id": row.id, "organization_id": row.organization_id, "name": row.name,
            "email": row.email, "disabled": row.disabled_at is not None,
            "has_login": has_login, "team_ids": list(team_ids), "office_ids": list(office_ids)}


def staff_facts(row, office_ids, team_ids, team_member_ids, holds_send_sms):
    """What another service needs to decide about a staff user (credits: seed 002)."""
    return {"id": row.id, "office_ids": list(office_ids), "team_ids": list(team_ids),
            "team_member_ids": list(team_member_ids), "holds_send_sms": holds_send_sms,
            "active": row.disabled_at is None}


def team(row, member_ids):
    return {"id": row.id, "organization_id": row.organization_id, "office_id": row.office_id,
            "name": row.name, "member_ids": list(member_ids)}


def api_key(row):
    return {"id": row.id, "name": row.name, "prefix": row.prefix,
            "permissions": list(row.permissions),
            "grants": [{"name": p, "scope_type": t, "scope_id": i} for p, t, i in row.grants or ()],
            "created_by": row.created_by, "created_at": row.created_at.isoformat(),
            "revoked_at": row.revoked_at.isoformat() if row.revoked_at else None}


def organization(row):
    return {"id": row.id, "slug": row.slug, "name": row.name,
            "created_at": row.created_at.isoformat()}


def group_summary(row, residents, units):
    """A group without its member lists (for lists of groups): how many of each."""
    return {"id": row.id, "organization_id": row.organization_id,
            "community_id": row.community_id, "name": row.name,
            "description": row.description,
            "member_counts": {"residents": residents, "units": units},
            "created_at": row.created_at.isoformat(), "updated_at": row.updated_at.isoformat()}


def group(row, resident_ids, unit_ids):
    return dict(group_summary(row, len(resident_ids), len(unit_ids)),
                members={"residents": list(resident_ids), "units": list(unit_ids)})
