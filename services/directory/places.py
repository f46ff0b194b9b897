"""Offices, communities and units: create, read, change, list.

Mixed into DirectoryService. Master users (manage_directory for the whole organization) add
offices and communities; whoever holds manage_directory for a community changes it and its
units. Staff see the places they hold a permission for, a resident their own community and unit.
"""

from functools import cache
from zoneinfo import available_timezones

from sqlalchemy import func, select

from contracts.errors import Conflict, Forbidden, InvalidRequest, NotFound
from servicekit import idempotency
from servicekit.access import EVERYWHERE, Caller, new_id
from servicekit.entrypoints import rpc
from servicekit.pagination import paginate
from services.directory import policy, views
from services.directory.models import Community, Office, Organization, Resident, Unit


class Places:
    # --- the caller's organization ------------------------------------------------------

    @rpc
    def get_organization(self, identity):
        caller = Caller.of(identity)
        policy.staff_only(caller, "the organization's settings")
        with self.db.read() as session:
            return views.organization(_organization(session, caller))

    @rpc
    def update_organization(self, identity, fields):
        caller = policy.master(identity)
        with self.db.unit_of_work() as uow:
            row = _organization(uow.session, caller)
            if "name" in fields:
                row.name = fields["name"].strip()
            uow.session.flush()
            return views.organization(row)

    # --- offices ------------------------------------------------------------------------

    @rpc
    def create_office(self, identity, fields, idempotency_key=None):
        caller = policy.master(identity)

        def work(uow):
            row = Office(id=new_id("off"), organization_id=caller.organization_id,
                         name=fields["name"].strip())
            uow.session.add(row)
            uow.session.flush()
            return views.office(row, [])

        return idempotency.once(self.db, idempotency.caller_scope(caller), idempotency_key,
                                {"create_office": [fields]}, work)

    @rpc
    def update_office(self, identity, office_id, fields):
        caller = policy.master(identity)
        with self.db.unit_of_work() as uow:
            row = _office(uow.session, caller, office_id)
            if "name" in fields:
                row.name = fields["name"].strip()
            uow.session.flush()
            return views.office(row, _office_communities(uow.session, [row.id])[row.id])

    @rpc
    def get_office(self, identity, office_id):
        caller = Caller.of(identity)
        with self.db.read() as session:
            row = _office(session, caller, office_id)
            communities = _office_communities(session, [row.id])[row.id]
        if not policy.sees_office(caller, communities):
            raise Forbidden(f"this caller holds no permission in office {office_id}",
                            "office_id")
        return views.office(row, communities)

    @rpc
    def list_offices(self, identity, cursor=None, limit=None, q=None):
        caller = Caller.of(identity)
        policy.staff_only(caller, "offices")
        query = select(Office).where(Office.organization_id == caller.organization_id)
        visible = caller.communities()
        if visible != EVERYWHERE:
            query = query.where(Office.id.in_(
                select(Community.office_id).where(Community.id.in_(visible))))
        if q:
            query = query.where(Office.name.ilike(f"%{q.strip()}%"))
        with self.db.read() as session:
            rows, next_cursor = paginate(session, query, Office.id, cursor, limit)
            communities = _office_communities(session, [r.id for r in rows])
        return {"items": [views.office(r, communities[r.id]) for r in rows],
                "next_cursor": next_cursor}

    # --- communities --------------------------------------------------------------------

    @rpc
    def create_community(self, identity, fields, idempotency_key=None):
        caller = policy.master(identity)
        timezone = _timezone(fields.get("timezone") or "UTC")

        def work(uow):
            office = _office(uow.session, caller, fields["office_id"], field="office_id")
            row = Community(id=new_id("com"), organization_id=caller.organization_id,
                            office_id=office.id, name=fields["name"].strip(),
                            timezone=timezone, address=fields.get("address"))
            uow.session.add(row)
            uow.session.flush()
            uow.emit("community_created", {"community_id": row.id,
                                           "organization_id": row.organization_id,
                                           "name": row.name},
                     organization_id=row.organization_id)
            return views.community(row)

        return idempotency.once(self.db, idempotency.caller_scope(caller), idempotency_key,
                                {"create_community": [fields]}, work)

    @rpc
    def update_community(self, identity, community_id, fields):
        caller = Caller.of(identity)
        with self.db.unit_of_work() as uow:
            row = policy.community_for_change(uow.session, caller, community_id)
            if "office_id" in fields:
                # moving a community between offices changes who manages it: master users only
                policy.master(identity)
                row.office_id = _office(uow.session, caller, fields["office_id"],
                                        field="office_id").id
            if "timezone" in fields:
                row.timezone = _timezone(fields["timezone"])
            for name in ("name", "address"):
                if name in fields:
                    setattr(row, name, fields[name].strip() if fields[name] else None)
            if not row.name:
                raise InvalidRequest("name must not be empty", "name")
            uow.session.flush()
            return views.community(row)

    # --- units --------------------------------------------------------------------------

    @rpc
    def create_unit(self, identity, community_id, fields, idempotency_key=None):
        caller = Caller.of(identity)
        label = _label(fields["label"])

        def work(uow):
            policy.community_for_change(uow.session, caller, community_id)
            _check_label_free(uow.session, community_id, label)
            row = Unit(id=new_id("unt"), community_id=community_id, label=label)
            uow.session.add(row)
            uow.session.flush()
            return views.unit(row, 0)

        return idempotency.once(self.db, idempotency.caller_scope(caller), idempotency_key,
                                {"create_unit": [community_id, fields]}, work)

    @rpc
    def update_unit(self, identity, unit_id, fields):
        caller = Caller.of(identity)
        with self.db.unit_of_work() as uow:
            row = _unit(uow.session, caller, unit_id)
            policy.community_for_change(uow.session, caller, row.community_id)
            if "label" in fields:
                label = _label(fields["label"])
                if label != row.label:
                    _check_label_free(uow.session, row.community_id, label)
                    row.label = label
            uow.session.flush()
            return views.unit(row, _occupants(uow.session, [row.id]).get(row.id, 0))

    @rpc
    def get_unit(self, identity, unit_id):
        caller = Caller.of(identity)
        with self.db.read() as session:
            row = _unit(session, caller, unit_id)
            if caller.is_resident:
                if caller.resident.get("unit_id") != row.id:
                    raise Forbidden("residents see only their own unit", "unit_id")
            elif not caller.sees_community(row.community_id):
                raise Forbidden(f"this caller holds no permission for community "
                                f"{row.community_id}", "unit_id")
            return views.unit(row, _occupants(session, [row.id]).get(row.id, 0))

    @rpc
    def list_units(self, identity, community_id, cursor=None, limit=None, q=None):
        caller = Caller.of(identity)
        with self.db.read() as session:
            policy.community_for_reading(session, caller, community_id)
            query = select(Unit).where(Unit.community_id == community_id)
            if caller.is_resident:
                query = query.where(Unit.id == caller.resident.get("unit_id"))
            if q:
                query = query.where(Unit.label.ilike(f"%{q.strip()}%"))
            rows, next_cursor = paginate(session, query, Unit.id, cursor, limit)
            occupants = _occupants(session, [r.id for r in rows])
        return {"items": [views.unit(r, occupants.get(r.id, 0)) for r in rows],
                "next_cursor": next_cursor}


def _organization(session, caller):
    row = session.get(Organization, caller.organization_id) if caller.organization_id else None
    if row is None:
        raise NotFound("the caller belongs to no organization", "organization_id")
    return row


def _office(session, caller, office_id, field="office_id"):
    return policy.owned(session, caller, Office, office_id, "office", field)


def _office_communities(session, office_ids):
    found = {office_id: [] for office_id in office_ids}
    if office_ids:
        for community_id, office_id in session.execute(
                select(Community.id, Community.office_id)
                .where(Community.office_id.in_(office_ids)).order_by(Community.name)):
            found[office_id].append(community_id)
    return found


def _unit(session, caller, unit_id):
    row = session.get(Unit, unit_id)
    community = session.get(Community, row.community_id) if row else None
    if community is None or not caller.owns(community.organization_id):
        raise NotFound(f"unit {unit_id} does not exist", "unit_id")
    return row


def _occupants(session, unit_ids):
    if not unit_ids:
        return {}
    return dict(session.execute(
        select(Resident.unit_id, func.count()).where(Resident.unit_id.in_(unit_ids),
                                                     Resident.move_out.is_(None))
        .group_by(Resident.unit_id)).all())


def _label(raw):
    label = " ".join((raw or "").split())
    if not label:
        raise InvalidRequest("label must not be empty", "label")
    return label


def _check_label_free(session, community_id, label):
    taken = session.scalars(select(Unit.id).where(
        Unit.community_id == community_id,
        func.lower(Unit.label) == label.lower())).first()
    if taken:
        raise Conflict(f"unit {label!r} already exists in this community ({taken})", "label")


def _timezone(name):
    if name not in _timezones():
        raise InvalidRequest(f"{name!r} is not an IANA time zone (e.g. America/Toronto)",
                             "timezone")
    return name


@cache
def _timezones():
    return frozenset(available_timezones())
