"""Whom a community's notices go to: the staff of its organization named by role, by
permission or by id, and teams named by id — what tickets asks before it writes a work
order's notices.

Mixed into DirectoryService. The rules, in the order they apply:
1. Townhall's own services acting for the community's organization ask, and so do staff
   and API keys who see the community; residents are refused; another organization's
   community does not exist.
2. A name in `roles` is a role (master, manager, dispatcher, senior_management) or a
   permission (manage_tickets, ...). A grant matches a role by that role's name only, and
   a permission by its own name or by any role that includes it.
3. A grant counts for the community when it is held for the organization, for the
   community's office, or for the community itself.
4. `staff_user_ids` adds the staff of the organization named; an id of another
   organization, or of nobody, is simply absent.
5. Disabled staff are never included. Each staff user is there once, sorted by name.
6. `teams`: the organization's teams among `team_ids`, sorted by name.
"""

from sqlalchemy import select

from contracts.errors import Forbidden, InvalidRequest
from servicekit.access import PERMISSIONS, ROLES, Caller
from servicekit.entrypoints import rpc
from services.directory import policy
from services.directory.models import Community, Grant, StaffUser, Team

MAX_NAMED = 1000


def grant_names(wanted):
    """Every grant name that matches one of `wanted` (roles and permissions)."""
    names = set(wanted)
    for role, permissions in ROLES.items():
        if names & set(permissions):
            names.add(role)
    return names


def covers(scope_type, scope_id, community):
    """Whether a grant held at (scope_type, scope_id) holds for `community`."""
    return ((scope_type == "organization" and scope_id == community.organization_id)
            or (scope_type == "office" and community.office_id is not None
                and scope_id == community.office_id)
            or (scope_type == "community" and scope_id == community.id))


class CommunityStaff:
    @rpc
    def staff_contacts(self, identity, community_id, roles=(), staff_user_ids=(),
                       team_ids=()):
        """{"staff": [{id, name, email}], "teams": [{id, name}]} of the community's
        organization: the enabled staff who hold one of `roles` there or are named in
        `staff_user_ids`, and the teams named in `team_ids` (see the module's rules)."""
        caller = Caller.of(identity)
        policy.staff_only(caller, "staff contacts")
        roles = _names(roles, "roles")
        unknown = sorted(set(roles) - set(ROLES) - set(PERMISSIONS))
        if unknown:
            raise InvalidRequest(f"{unknown[0]!r} is neither a role ({', '.join(ROLES)}) nor a "
                                 f"permission ({', '.join(PERMISSIONS)})", "roles")
        staff_user_ids = _names(staff_user_ids, "staff_user_ids")
        team_ids = _names(team_ids, "team_ids")
        with self.db.read() as session:
            community = policy.owned(session, caller, Community, community_id, "community",
                                     "community_id")
            if not caller.sees_community(community.id):
                raise Forbidden(f"this caller holds no permission for community "
                                f"{community.id}", "community_id")
            organization_id = community.organization_id
            wanted = set(staff_user_ids)
            if roles:
                wanted.update(user_id for user_id, scope_type, scope_id in session.execute(
                    select(Grant.staff_user_id, Grant.scope_type, Grant.scope_id).where(
                        Grant.organization_id == organization_id,
                        Grant.name.in_(sorted(grant_names(roles)))))
                    if covers(scope_type, scope_id, community))
            found = session.scalars(select(StaffUser).where(
                StaffUser.id.in_(sorted(wanted)))).all() if wanted else []
            staff = sorted((u for u in found
                            if u.organization_id == organization_id and u.disabled_at is None),
                           key=lambda u: (u.name.lower(), u.id))
            teams = session.scalars(select(Team).where(
                Team.organization_id == organization_id, Team.id.in_(team_ids))).all() \
                if team_ids else []
            return {"staff": [{"id": u.id, "name": u.name, "email": u.email} for u in staff],
                    "teams": [{"id": t.id, "name": t.name}
                              for t in sorted(teams, key=lambda t: (t.name.lower(), t.id))]}


def _names(value, field):
    """A list of distinct strings (a tuple over RPC arrives as a list)."""
    if value is None:
        return []
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise InvalidRequest("must be a list of strings", field)
    if len(value) > MAX_NAMED:
        raise InvalidRequest(f"must name at most {MAX_NAMED}", field)
    return list(dict.fromkeys(value))
