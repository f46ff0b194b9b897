"""The demo organization of `make seed`: offices, communities, residents with contact points,
staff with their offices and grants, portal logins — written as the service writes any
directory data, with its events."""

from datetime import date

from servicekit.access import new_id
from services.directory import passwords
from services.directory.models import (
    Community,
    ContactPoint,
    Grant,
    LoginAccount,
    Office,
    Organization,
    Resident,
    StaffOffice,
    StaffUser,
    Team,
    TeamMember,
    Unit,
)


def create_demo(uow, spec):
    session = uow.session
    org = Organization(id=new_id("org"), slug=spec["slug"], name=spec["name"])
    session.add(org)
    session.flush()
    scopes = {"organization": {spec["slug"]: org.id}, "office": {}, "community": {}}
    logins = []
    for office_spec in spec["offices"]:
        office = Office(id=new_id("off"), organization_id=org.id, name=office_spec["name"])
        session.add(office)
        session.flush()  # no ORM relationships: parents are flushed before their children
        scopes["office"][office.name] = office.id
        for community_spec in office_spec["communities"]:
            community = _community(uow, org, office, community_spec, logins)
            scopes["community"][community.name] = community.id
    session.flush()
    for staff_spec in spec.get("staff", []):
        user = StaffUser(id=new_id("usr"), organization_id=org.id, name=staff_spec["name"],
                         email=staff_spec["email"])
        session.add(user)
        session.flush()
        logins.append((staff_spec["email"], staff_spec["password"], "staff", user.id))
        session.add_all(StaffOffice(staff_user_id=user.id, office_id=scopes["office"][name],
                                    is_primary=position == 0)  # the first is the primary
                        for position, name in enumerate(staff_spec.get("offices", [])))
        for grant_spec in staff_spec.get("grants", []):
            scope_type, _, scope_name = grant_spec["scope"].partition(":")
            scope_id = scopes[scope_type][scope_name or spec["slug"]]
            session.add(Grant(id=new_id("grt"), organization_id=org.id, staff_user_id=user.id,
                              name=grant_spec["name"], scope_type=scope_type,
                              scope_id=scope_id, granted_by="seed"))
    staff_ids = {email: user_id for email, _p, kind, user_id in logins if kind == "staff"}
    for team_spec in spec.get("teams", []):
        team = Team(id=new_id("team"), organization_id=org.id, name=team_spec["name"],
                    office_id=scopes["office"].get(team_spec.get("office")))
        session.add(team)
        session.flush()
        session.add_all(TeamMember(team_id=team.id, staff_user_id=staff_ids[email])
                        for email in team_spec["members"])
    for email, password, principal_type, principal_id in logins:
        session.add(LoginAccount(id=new_id("acct"), organization_id=org.id,
                                 email=email.lower(),
                                 password_hash=passwords.hash_password(password),
                                 principal_type=principal_type, principal_id=principal_id))
    session.flush()
    return org


def _community(uow, org, office, spec, logins):
    session = uow.session
    community = Community(id=new_id("com"), organization_id=org.id, office_id=office.id,
                          name=spec["name"], timezone=spec.get("timezone", "UTC"),
                          address=spec.get("address"))
    session.add(community)
    session.flush()
    # parents before children, one flush per table: there are no ORM relationships to order
    units = {label: Unit(id=new_id("unt"), community_id=community.id, label=label)
             for label in dict.fromkeys(r["unit"] for r in spec["residents"])}
    session.add_all(units.values())
    session.flush()
    residents, points, moved_in = [], [], []
    for resident_spec in spec["residents"]:
        unit = units[resident_spec["unit"]]
        resident = Resident(id=new_id("res"), organization_id=org.id, community_id=community.id,
                            unit_id=unit.id, name=resident_spec["name"],
                            kind=resident_spec.get("kind", "tenant"),
                            move_in=date.fromisoformat(resident_spec.get("move_in",
                                                                         "2024-01-01")))
        residents.append(resident)
        points += [ContactPoint(id=new_id("cp"), resident_id=resident.id, kind=kind,
                                value=resident_spec[kind], is_primary=True)
                   for kind in ("phone", "email") if resident_spec.get(kind)]
        if resident_spec.get("portal_password"):
            logins.append((resident_spec["email"], resident_spec["portal_password"],
                           "resident", resident.id))
        moved_in.append({"resident_id": resident.id, "unit_id": unit.id,
                         "kind": resident.kind, "date": resident.move_in.isoformat()})
    session.add_all(residents)
    session.flush()
    session.add_all(points)
    session.flush()
    uow.emit("community_created", {"community_id": community.id, "organization_id": org.id,
                                   "name": community.name}, organization_id=org.id)
    uow.emit("occupant_moved_in", {"community_id": community.id, "occupants": moved_in},
             organization_id=org.id)
    return community
