"""What an API key may hold: never more than the staff user who creates it, permission by
permission and scope by scope, and, while the key is used, never more than its creator
holds then.

The key asks for (permission, scope_type, scope_id) entries; the creator's holdings are those
of their identity: `scopes` (permission -> "*" or community ids, office grants expanded) and
`office_scopes` (permission -> "*" or office ids held as a whole). Each entry is held when:
1. scope "organization": the creator holds the permission for the whole organization;
2. scope "office": the creator holds it for the whole organization or for that office;
3. scope "community": the creator holds it for that community (through an organization,
   office or community grant).
Everything else is lacking, and the refusal names each lacking entry.

A key in use is cut down to what its creator holds now (`narrowed`): a grant the creator
loses leaves the key too, and comes back if it is granted again.
"""

from contracts.errors import InvalidRequest
from servicekit.access import EVERYWHERE, PERMISSIONS


def asked(organization_id, permissions, grants):
    """(permission, scope_type, scope_id) of a key asked for, each checked for shape."""
    wanted = [(p, "organization", organization_id) for p in permissions]
    for i, grant in enumerate(grants):
        scope_type = grant.get("scope_type")
        if scope_type not in ("office", "community"):
            raise InvalidRequest("must be office or community (organization-wide ones go in "
                                 "permissions)", f"grants.{i}.scope_type")
        wanted.append((grant.get("name"), scope_type, grant.get("scope_id")))
    unknown = sorted({p for p, _t, _i in wanted if p not in PERMISSIONS}, key=str)
    if unknown:
        raise InvalidRequest(f"unknown permissions: {', '.join(map(str, unknown))}; known are "
                             f"{', '.join(PERMISSIONS)}", "permissions")
    return list(dict.fromkeys(wanted))


def lacking(scopes, office_scopes, wanted):
    """The entries of `wanted` the creator does not hold, in the order asked."""
    return [entry for entry in wanted if not _holds(scopes, office_scopes, *entry)]


def _holds(scopes, office_scopes, permission, scope_type, scope_id):
    if scope_type == "organization":
        return scopes.get(permission) == EVERYWHERE
    where = (office_scopes if scope_type == "office" else scopes).get(permission)
    return where == EVERYWHERE or scope_id in (where or ())


def narrowed(key_scopes, creator_scopes):
    """permission -> "*" or ids, where both the key and its creator hold it."""
    found = {}
    for permission, where in key_scopes.items():
        holds = creator_scopes.get(permission)
        if holds == EVERYWHERE:
            found[permission] = where
        elif holds:
            ids = sorted(holds) if where == EVERYWHERE else sorted(set(where) & set(holds))
            if ids:
                found[permission] = ids
    return found


def describe(entries):
    """'manage_credits for the organization, send_sms for office off_1'"""
    return ", ".join(f"{p} for the organization" if t == "organization" else f"{p} for {t} {i}"
                     for p, t, i in entries)
