"""directory: organizations, offices, teams, communities, units, residents and their contact
points, staff, grants, logins and API keys — and who a caller is."""

from sqlalchemy import or_, select

from contracts.errors import Forbidden, InvalidRequest, NotFound, Unauthenticated
from servicekit.access import EVERYWHERE, Caller
from servicekit.db import utcnow
from servicekit.entrypoints import rpc
from servicekit.pagination import paginate
from servicekit.providers import Database
from servicekit.service import TownhallService
from services.directory import (
    audiences,
    grants,
    identity,
    integration_keys,
    keys,
    logins,
    policy,
    views,
)
from services.directory.community_staff import CommunityStaff
from services.directory.demo import create_demo
from services.directory.groups import Groups
from services.directory.imports import ResidentImports
from services.directory.models import (
    ApiKey,
    AuditEvent,
    Base,
    Community,
    ContactPoint,
    LoginAccount,
    Office,
    Organization,
    Resident,
    Unit,
)
from services.directory.people import People
from services.directory.places import Places


class DirectoryService(TownhallService, Places, People, Groups, ResidentImports,
                       CommunityStaff):
    name = "directory"
    db = Database(Base)

    # --- who is calling -------------------------------------------------------------

    @rpc
    def authenticate(self, api_key):
        """The identity of an API key's holder, or Unauthenticated."""
        prefix = keys.prefix_of(api_key)
        with self.db.read() as session:
            row = session.scalars(select(ApiKey).where(ApiKey.prefix == prefix)).first() \
                if prefix else None
            if row is None or row.revoked_at is not None or not keys.matches(api_key,
                                                                             row.key_hash):
                raise Unauthenticated("the API key is unknown or revoked", "Authorization")
            return identity.for_api_key(session, row)

    @rpc
    def identity(self, account_id, session_id):
        """The current identity behind an access token (grants as they are now), while its
        session is live and its account enabled; otherwise Unauthenticated."""
        with self.db.read() as session:
            return identity.of_session(session, account_id, session_id)

    @rpc
    def login(self, email, password, address, organization_id=None):
        with self.db.unit_of_work() as uow:
            outcome = logins.login(uow.session, self.config, email, password, address,
                                   organization_id)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    @rpc
    def refresh(self, refresh_token, address):
        with self.db.unit_of_work() as uow:
            outcome = logins.refresh(uow.session, self.config, refresh_token, address)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    @rpc
    def logout(self, refresh_token, address):
        with self.db.unit_of_work() as uow:
            return {"revoked": logins.logout(uow.session, refresh_token, address)}

    # --- communities and residents --------------------------------------------------

    @rpc
    def get_community(self, identity, community_id):
        caller = Caller.of(identity)
        with self.db.read() as session:
            return views.community(policy.community_for_reading(session, caller, community_id))

    @rpc
    def list_communities(self, identity, cursor=None, limit=None, q=None):
        caller = Caller.of(identity)
        query = select(Community).where(Community.organization_id == caller.organization_id)
        visible = _visible_communities(caller)
        if visible != EVERYWHERE:
            query = query.where(Community.id.in_(visible))
        if q:
            query = query.where(Community.name.ilike(f"%{q}%"))
        with self.db.read() as session:
            rows, next_cursor = paginate(session, query, Community.id, cursor, limit)
        return {"items": [views.community(r) for r in rows], "next_cursor": next_cursor}

    @rpc
    def get_residents(self, identity, resident_ids):
        """Contact facts of residents, in the order asked; NotFound names the first unknown.
        Used by other services, which then check what the caller may do with them."""
        caller = Caller.of(identity)
        with self.db.read() as session:
            rows = {r.id: r for r in session.scalars(
                select(Resident).where(Resident.id.in_(resident_ids)))}
            points = _contact_points(session, list(rows))
        found = []
        for resident_id in resident_ids:
            row = rows.get(resident_id)
            if row is None or not caller.owns(row.organization_id):
                raise NotFound(f"resident {resident_id} does not exist", "recipients.residents")
            found.append(views.resident(row, points.get(row.id, [])))
        return found

    # --- audiences: whom a communication is for ---------------------------------------

    @rpc
    def audience_scope(self, identity, recipients):
        """The communities an audience touches (sorted ids), each one's time zone, and how
        many distinct residents it is now; NotFound naming the field for an id the caller's
        organization lacks."""
        caller = Caller.of(identity)
        policy.staff_only(caller, "audiences")
        audience = audiences.parse(recipients)
        organization_id = caller.organization_id if caller.confined else None
        with self.db.read() as session:
            return audiences.scope(session, audience, organization_id, utcnow().date())

    @rpc
    def resolve_audience(self, identity, recipients, after=None, limit=None):
        """One page of the audience's residents in order of id, with their primary phone
        and email: {"residents", "next"}; pass `next` as `after` for the following page.
        The first page checks the names as audience_scope does; every page holds only
        residents of the caller's organization."""
        caller = Caller.of(identity)
        policy.staff_only(caller, "audiences")
        audience = audiences.parse(recipients)
        limit = audiences.page_limit(limit)
        after = audiences.check_after(after)
        organization_id = caller.organization_id if caller.confined else None
        with self.db.read() as session:
            if after is None:
                audiences.check_named(session, audience, organization_id)
            return audiences.resolve_page(session, audience, organization_id,
                                          utcnow().date(), after, limit)

    @rpc
    def get_resident(self, identity, resident_id):
        caller = Caller.of(identity)
        with self.db.read() as session:
            row = session.get(Resident, resident_id)
            if row is None:
                raise NotFound(f"resident {resident_id} does not exist", "resident_id")
            caller.check_owner(row.organization_id, "resident", resident_id)
            policy.may_see_resident(caller, row)
            unit = session.get(Unit, row.unit_id) if row.unit_id else None
            points = _contact_points(session, [row.id]).get(row.id, [])
        return views.resident(row, points, unit.label if unit else None)

    @rpc
    def list_residents(self, identity, community_id=None, q=None, cursor=None, limit=None,
                       include_moved_out=False):
        """Residents the caller may see, searchable by name, unit, phone or email."""
        caller = Caller.of(identity)
        query = select(Resident).where(Resident.organization_id == caller.organization_id)
        if caller.is_resident:
            query = query.where(Resident.unit_id == caller.resident["unit_id"])
        else:
            visible = _visible_communities(caller)
            if visible != EVERYWHERE:
                query = query.where(Resident.community_id.in_(visible))
        if community_id:
            query = query.where(Resident.community_id == community_id)
        if not include_moved_out:
            query = query.where(Resident.move_out.is_(None))
        if q:
            like = f"%{q.strip()}%"
            query = query.where(or_(
                Resident.name.ilike(like),
                Resident.unit_id.in_(select(Unit.id).where(Unit.label.ilike(like))),
                Resident.id.in_(select(ContactPoint.resident_id)
                                .where(ContactPoint.value.ilike(like)))))
        with self.db.read() as session:
            rows, next_cursor = paginate(session, query, Resident.id, cursor, limit)
            points = _contact_points(session, [r.id for r in rows])
            units = dict(session.execute(select(Unit.id, Unit.label).where(
                Unit.id.in_({r.unit_id for r in rows if r.unit_id}))).all())
        return {"items": [views.resident(r, points.get(r.id, []), units.get(r.unit_id))
                          for r in rows], "next_cursor": next_cursor}

    @rpc
    def find_residents_by_phone(self, identity, phone):
        """Residents (not moved out) with this phone, across organizations: whom an inbound
        text is from. Only for Townhall's own services (the SYSTEM identity)."""
        caller = Caller.of(identity)
        if not caller.is_system:
            raise Forbidden("only Townhall's own services look residents up by phone",
                            "actor_type")
        if not isinstance(phone, str) or not phone:
            raise InvalidRequest("must be an E.164 phone number", "phone")
        with self.db.read() as session:
            rows = session.execute(
                select(Resident.id, Resident.organization_id, Resident.community_id,
                       Organization.name)
                .join(Organization, Organization.id == Resident.organization_id)
                .where(or_(Resident.move_out.is_(None), Resident.move_out > utcnow().date()),
                       Resident.id.in_(select(ContactPoint.resident_id).where(
                           ContactPoint.kind == "phone", ContactPoint.value == phone)))
                .order_by(Resident.organization_id, Resident.id)).all()
        return [{"resident_id": r.id, "organization_id": r.organization_id,
                 "organization_name": r.name, "community_id": r.community_id} for r in rows]

    # --- grants and the audit log ---------------------------------------------------

    @rpc
    def grant(self, identity, staff_user_id, name, scope_type, scope_id):
        """Give a staff user a permission or a role at a scope (master users only)."""
        caller = policy.master(identity)
        with self.db.unit_of_work() as uow:
            return grants.grant(uow, caller, staff_user_id, name, scope_type, scope_id)

    @rpc
    def revoke(self, identity, grant_id):
        caller = policy.master(identity)
        with self.db.unit_of_work() as uow:
            return grants.revoke(uow, caller, grant_id)

    @rpc
    def list_grants(self, identity, staff_user_id):
        caller = policy.master(identity)
        with self.db.read() as session:
            return grants.of_user(session, caller, staff_user_id)

    @rpc
    def audit_log(self, identity, cursor=None, limit=None):
        """Security events of the caller's organization, newest last (master users)."""
        caller = policy.master(identity)
        query = select(AuditEvent).where(AuditEvent.organization_id == caller.organization_id)
        with self.db.read() as session:
            rows, next_cursor = paginate(session, query, AuditEvent.seq, cursor, limit)
        return {"items": [views.audit_event(r) for r in rows], "next_cursor": next_cursor}

    # --- demo data ------------------------------------------------------------------

    @rpc
    def seed_demo(self, spec, known_key=None):
        """Create the demo organizations once; answer their ids and a working API key.

        Re-running keeps everything; `known_key` is returned again when it still works,
        otherwise a new key is issued (keys are stored hashed and cannot be shown again).
        """
        with self.db.unit_of_work() as uow:
            session = uow.session
            org = session.scalars(select(Organization)
                                  .where(Organization.slug == spec["slug"])).first()
            if org is None:
                org = create_demo(uow, spec)
            key = known_key
            try:
                if known_key is None or self.authenticate(known_key)["organization_id"] != org.id:
                    key = None
            except Unauthenticated:
                key = None
            if key is None:
                key = integration_keys.issue(session, org.id, "demo key",
                                             spec["api_key_permissions"])
            summary = _summary(session, org)
        return dict(summary, api_key=key)

    @rpc
    def create_api_key(self, identity, name, permissions, grants=None):
        """A new key for an integration: shown once in this answer, kept only as a hash.
        `permissions` are organization-wide, `grants` [{name, scope_type, scope_id}] for an
        office or a community; the key holds only what its creator holds (delegation)."""
        caller = policy.master(identity)
        with self.db.unit_of_work() as uow:
            return integration_keys.create(uow, caller, identity, name, permissions, grants)

    @rpc
    def list_api_keys(self, identity):
        caller = policy.master(identity)
        with self.db.read() as session:
            return integration_keys.of_organization(session, caller)

    @rpc
    def revoke_api_key(self, identity, api_key_id):
        caller = policy.master(identity)
        with self.db.unit_of_work() as uow:
            return integration_keys.revoke(uow, caller, api_key_id)


def _visible_communities(caller):
    return caller.communities()


def _contact_points(session, resident_ids):
    found = {}
    if resident_ids:
        for cp in session.scalars(select(ContactPoint).where(
                ContactPoint.resident_id.in_(resident_ids)).order_by(ContactPoint.created_at)):
            found.setdefault(cp.resident_id, []).append(cp)
    return found


def _summary(session, org):
    communities = session.scalars(select(Community).where(
        Community.organization_id == org.id).order_by(Community.name)).all()
    offices = session.scalars(select(Office).where(Office.organization_id == org.id)
                              .order_by(Office.name)).all()
    accounts = session.scalars(select(LoginAccount).where(
        LoginAccount.organization_id == org.id).order_by(LoginAccount.email)).all()
    residents = session.scalars(select(Resident).where(
        Resident.organization_id == org.id).order_by(Resident.name)).all()
    points = _contact_points(session, [r.id for r in residents])
    return {
        "organization_id": org.id,
        "offices": [{"id": o.id, "name": o.name} for o in offices],
        "communities": [{"id": c.id, "name": c.name, "office_id": c.office_id}
                        for c in communities],
        "accounts": [{"email": a.email, "principal_type": a.principal_type,
                      "principal_id": a.principal_id} for a in accounts],
        "residents": [{"id": r.id, "name": r.name, "community_id": r.community_id,
                       "unit_id": r.unit_id,
                       **{cp.kind: cp.value for cp in points.get(r.id, []) if cp.is_primary}}
                      for r in residents],
    }
