"""directory: organizations, communities, units, residents, staff and API keys."""

from sqlalchemy import select

from contracts.errors import NotFound, Unauthenticated
from servicekit.access import Caller, new_id
from servicekit.entrypoints import rpc
from servicekit.providers import Database
from servicekit.service import TownhallService
from services.directory import keys
from services.directory.models import (
    ApiKey,
    Base,
    Community,
    Organization,
    Resident,
    StaffUser,
    Unit,
)

DEMO_PERMISSIONS = ["send_communications", "send_sms", "view_reports", "manage_credits"]


class DirectoryService(TownhallService):
    name = "directory"
    db = Database(Base)

    @rpc
    def authenticate(self, api_key):
        """The identity of an API key's holder, or Unauthenticated."""
        prefix = keys.prefix_of(api_key)
        with self.db.read() as session:
            row = session.scalars(select(ApiKey).where(ApiKey.prefix == prefix)).first() \
                if prefix else None
        if row is None or row.revoked_at is not None or not keys.matches(api_key, row.key_hash):
            raise Unauthenticated("the API key is unknown or revoked")
        return {"actor_type": "api_key", "actor_id": row.id,
                "organization_id": row.organization_id, "permissions": list(row.permissions)}

    @rpc
    def get_residents(self, identity, resident_ids):
        """Contact facts of residents, in the order asked; NotFound names the first unknown."""
        caller = Caller.of(identity)
        with self.db.read() as session:
            rows = {r.id: r for r in session.scalars(
                select(Resident).where(Resident.id.in_(resident_ids)))}
        found = []
        for resident_id in resident_ids:
            row = rows.get(resident_id)
            if row is None:
                raise NotFound(f"resident {resident_id} does not exist", "recipients.residents")
            caller.check_owner(row.organization_id, "resident", resident_id)
            found.append({"id": row.id, "community_id": row.community_id, "name": row.name,
                          "phone": row.phone, "email": row.email})
        return found

    @rpc
    def get_community(self, identity, community_id):
        caller = Caller.of(identity)
        with self.db.read() as session:
            row = session.get(Community, community_id)
        if row is None:
            raise NotFound(f"community {community_id} does not exist", "community_id")
        caller.check_owner(row.organization_id, "community", community_id)
        return {"id": row.id, "organization_id": row.organization_id, "name": row.name,
                "timezone": row.timezone}

    @rpc
    def seed_demo(self, spec, known_key=None):
        """Create the demo organization once; answer its ids and a working API key.

        Re-running keeps everything; `known_key` is returned again when it still works,
        otherwise a new key is issued (keys are stored hashed and cannot be shown again).
        """
        with self.db.unit_of_work() as uow:
            session = uow.session
            org = session.scalars(select(Organization)
                                  .where(Organization.slug == spec["slug"])).first()
            if org is None:
                org = _create_demo(uow, spec)
            communities = session.scalars(select(Community).where(
                Community.organization_id == org.id).order_by(Community.name)).all()
            residents = session.scalars(select(Resident).where(
                Resident.organization_id == org.id).order_by(Resident.name)).all()
            key = known_key
            try:
                if known_key is None or self.authenticate(known_key)["organization_id"] != org.id:
                    key = None
            except Unauthenticated:
                key = None
            if key is None:
                key = _issue_key(session, org.id, "demo key", DEMO_PERMISSIONS)
        return {
            "organization_id": org.id,
            "api_key": key,
            "communities": [{"id": c.id, "name": c.name} for c in communities],
            "residents": [{"id": r.id, "name": r.name, "phone": r.phone, "email": r.email,
                           "community_id": r.community_id} for r in residents],
        }

    @rpc
    def issue_api_key(self, identity, organization_id, name, permissions):
        caller = Caller.of(identity)
        caller.check_owner(organization_id, "organization", organization_id)
        caller.require("manage_directory")
        with self.db.unit_of_work() as uow:
            return {"api_key": _issue_key(uow.session, organization_id, name, permissions)}


def _issue_key(session, organization_id, name, permissions):
    key, prefix, key_hash = keys.generate()
    session.add(ApiKey(id=new_id("key"), organization_id=organization_id, name=name,
                       prefix=prefix, key_hash=key_hash, permissions=list(permissions)))
    return key


def _create_demo(uow, spec):
    session = uow.session
    org = Organization(id=new_id("org"), slug=spec["slug"], name=spec["name"])
    session.add(org)
    session.flush()
    for staff in spec.get("staff", []):
        session.add(StaffUser(id=new_id("usr"), organization_id=org.id, name=staff["name"],
                              email=staff["email"]))
    for community_spec in spec["communities"]:
        community = Community(id=new_id("com"), organization_id=org.id,
                              name=community_spec["name"],
                              timezone=community_spec.get("timezone", "UTC"))
        session.add(community)
        session.flush()
        for resident_spec in community_spec["residents"]:
            unit = Unit(id=new_id("unt"), community_id=community.id,
                        label=resident_spec["unit"])
            session.add(unit)
            session.flush()
            session.add(Resident(id=new_id("res"), organization_id=org.id,
                                 community_id=community.id, unit_id=unit.id,
                                 name=resident_spec["name"], phone=resident_spec.get("phone"),
                                 email=resident_spec.get("email")))
        uow.emit("community_created", {"community_id": community.id, "organization_id": org.id,
                                       "name": community.name}, organization_id=org.id)
    return org


