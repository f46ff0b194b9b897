"""Groups: saved audiences of one community — residents and units named once and sent to
again. Create, read, change (members replaced whole), list, delete.

Mixed into DirectoryService. Staff who may read the community's residents (any permission
there, send_communications included) read its groups; whoever holds manage_directory for the
community changes them. Residents do not see groups; another organization's is not found.
Every member belongs to the group's community: a resident or unit of another community (or
none) is a 422 naming `members.residents` or `members.units` and the id. A resident who moves
out later may stay a member; audiences leave them out when a message is sent.
"""

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from contracts.errors import Conflict, Forbidden, InvalidRequest
from servicekit import idempotency
from servicekit.access import EVERYWHERE, Caller, new_id
from servicekit.db import utcnow
from servicekit.entrypoints import rpc
from servicekit.pagination import paginate
from services.directory import policy, views
from services.directory.models import Group, GroupResident, GroupUnit, Resident, Unit


class Groups:
    @rpc
    def create_group(self, identity, fields, idempotency_key=None):
        caller = Caller.of(identity)
        policy.staff_only(caller, "groups")
        name = _name(fields.get("name"))

        def work(uow):
            session = uow.session
            community = policy.community_for_change(session, caller, fields.get("community_id"))
            _check_name_free(session, community.id, name)
            members = _members(session, community, fields.get("members") or {})
            now = utcnow()
            row = Group(id=new_id("grp"), organization_id=community.organization_id,
                        community_id=community.id, name=name,
                        description=_description(fields.get("description")),
                        created_at=now, updated_at=now)
            session.add(row)
            _flush(session, name)
            _set_members(session, row.id, members)
            return views.group(row, *members)

        return idempotency.once(self.db, idempotency.caller_scope(caller), idempotency_key,
                                {"create_group": [fields]}, work)

    @rpc
    def get_group(self, identity, group_id):
        caller = Caller.of(identity)
        with self.db.read() as session:
            row = _group_for_reading(session, caller, group_id)
            return views.group(row, *_members_of(session, row.id))

    @rpc
    def list_groups(self, identity, community_id=None, cursor=None, limit=None):
        """Groups of the communities the caller may read, by id; of one when asked."""
        caller = Caller.of(identity)
        policy.staff_only(caller, "groups")
        query = select(Group)
        if caller.confined:
            query = query.where(Group.organization_id == caller.organization_id)
        visible = caller.communities()
        if visible != EVERYWHERE:
            query = query.where(Group.community_id.in_(visible))
        with self.db.read() as session:
            if community_id is not None:
                policy.community_for_reading(session, caller, community_id)
                query = query.where(Group.community_id == community_id)
            rows, next_cursor = paginate(session, query, Group.id, cursor, limit)
            counts = _member_counts(session, [r.id for r in rows])
        return {"items": [views.group_summary(r, *counts.get(r.id, (0, 0))) for r in rows],
                "next_cursor": next_cursor}

    @rpc
    def update_group(self, identity, group_id, fields):
        """Change the name, the description, or the members (replaced whole when given)."""
        caller = Caller.of(identity)
        with self.db.unit_of_work() as uow:
            session = uow.session
            row = _group_for_change(session, caller, group_id)
            if "name" in fields:
                name = _name(fields["name"])
                if name != row.name:
                    _check_name_free(session, row.community_id, name, but=row.id)
                    row.name = name
                    _flush(session, name)
            if "description" in fields:
                row.description = _description(fields["description"])
            if "members" in fields:
                community = policy.community(session, caller, row.community_id)
                _set_members(session, row.id,
                             _members(session, community, fields["members"] or {}))
            row.updated_at = utcnow()
            session.flush()
            return views.group(row, *_members_of(session, row.id))

    @rpc
    def delete_group(self, identity, group_id):
        caller = Caller.of(identity)
        with self.db.unit_of_work() as uow:
            session = uow.session
            row = _group_for_change(session, caller, group_id)
            session.execute(delete(GroupResident).where(GroupResident.group_id == row.id))
            session.execute(delete(GroupUnit).where(GroupUnit.group_id == row.id))
            session.delete(row)
            session.flush()
        return {"deleted": group_id}


def _group(session, caller, group_id):
    policy.staff_only(caller, "groups")
    return policy.owned(session, caller, Group, group_id, "group", "group_id")


def _group_for_reading(session, caller, group_id):
    row = _group(session, caller, group_id)
    if not caller.sees_community(row.community_id):
        raise Forbidden(f"this caller holds no permission for community "
                               f"{row.community_id}", "group_id")
    return row


def _group_for_change(session, caller, group_id):
    row = _group(session, caller, group_id)
    caller.require("manage_directory", row.community_id)
    return row


def _name(raw):
    name = " ".join((raw or "").split()) if isinstance(raw, str) else ""
    if not name:
        raise InvalidRequest("must not be empty", "name")
    if len(name) > 200:
        raise InvalidRequest("must be at most 200 characters", "name")
    return name


def _description(raw):
    """Optional: blank is none."""
    if not isinstance(raw, str):
        return None
    return raw.strip() or None


def _check_name_free(session, community_id, name, but=None):
    query = select(Group.id).where(Group.community_id == community_id,
                                   func.lower(Group.name) == name.lower())
    if but is not None:
        query = query.where(Group.id != but)
    taken = session.scalars(query).first()
    if taken:
        raise Conflict(f"group {name!r} already exists in this community ({taken})", "name")


def _flush(session, name):
    """Written at once: a group of the same name made at the same moment (the check before
    it saw neither) is a 409, as a sequential one is."""
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(f"group {name!r} already exists in this community", "name") from None


def _members(session, community, members):
    """(resident ids, unit ids), each once and sorted, all of the community; otherwise a 422
    naming the list and the first id that is not."""
    residents = _ids(members.get("residents"), "members.residents")
    units = _ids(members.get("units"), "members.units")
    known = set(session.scalars(select(Resident.id).where(
        Resident.id.in_(residents), Resident.community_id == community.id,
        Resident.organization_id == community.organization_id))) if residents else set()
    for resident_id in residents:
        if resident_id not in known:
            raise InvalidRequest(f"resident {resident_id} is not a resident of community "
                                 f"{community.id}", "members.residents")
    known = set(session.scalars(select(Unit.id).where(
        Unit.id.in_(units), Unit.community_id == community.id))) if units else set()
    for unit_id in units:
        if unit_id not in known:
            raise InvalidRequest(f"unit {unit_id} is not a unit of community {community.id}",
                                 "members.units")
    return sorted(residents), sorted(units)


def _ids(values, field):
    if values is None:
        return []
    if not isinstance(values, list | tuple) or not all(isinstance(v, str) for v in values):
        raise InvalidRequest("must be a list of ids", field)
    return list(dict.fromkeys(values))


def _set_members(session, group_id, members):
    residents, units = members
    session.execute(delete(GroupResident).where(GroupResident.group_id == group_id))
    session.execute(delete(GroupUnit).where(GroupUnit.group_id == group_id))
    session.add_all(GroupResident(group_id=group_id, resident_id=r) for r in residents)
    session.add_all(GroupUnit(group_id=group_id, unit_id=u) for u in units)
    session.flush()


def _members_of(session, group_id):
    residents = session.scalars(select(GroupResident.resident_id).where(
        GroupResident.group_id == group_id).order_by(GroupResident.resident_id)).all()
    units = session.scalars(select(GroupUnit.unit_id).where(
        GroupUnit.group_id == group_id).order_by(GroupUnit.unit_id)).all()
    return list(residents), list(units)


def _member_counts(session, group_ids):
    """group id -> (residents, units): one query per member table for the whole page."""
    if not group_ids:
        return {}
    counts = {g: [0, 0] for g in group_ids}
    for position, model in enumerate((GroupResident, GroupUnit)):
        for group_id, count in session.execute(
                select(model.group_id, func.count()).where(model.group_id.in_(group_ids))
                .group_by(model.group_id)):
            counts[group_id][position] = count
    return {g: tuple(c) for g, c in counts.items()}
