"""Residents and their contact points, staff users and teams: create, read, change, list.

Mixed into DirectoryService. Residents are added, changed and moved out by whoever holds
manage_directory for their community; moving out keeps the record and its history. A resident
keeps their own phones and emails. Staff users, the offices they work in and teams are the
master users' business; what other services need to know about staff (offices, team mates,
send_sms) staff_facts answers.
"""

from collections import defaultdict
from datetime import date

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from contracts.errors import Conflict, Forbidden, InvalidRequest, NotFound
from servicekit import idempotency
from servicekit.access import EVERYWHERE, ROLES, Caller, new_id
from servicekit.db import utcnow
from servicekit.entrypoints import rpc
from servicekit.pagination import paginate
from services.directory import logins, passwords, policy, views
from services.directory.contacts import ContactError, normalize_email, normalize_phone
from services.directory.models import (
    ContactPoint,
    Grant,
    LoginAccount,
    Office,
    Resident,
    StaffOffice,
    StaffUser,
    Team,
    TeamMember,
    Unit,
)


class People:
    # --- residents ----------------------------------------------------------------------

    @rpc
    def create_resident(self, identity, fields, idempotency_key=None):
        caller = Caller.of(identity)

        def work(uow):
            session = uow.session
            community = policy.community_for_change(session, caller, fields["community_id"])
            unit = session.get(Unit, fields["unit_id"])
            if unit is None or unit.community_id != community.id:
                raise NotFound(f"unit {fields['unit_id']} does not exist in community "
                               f"{community.id}", "unit_id")
            points = [self._contact_value(p, f"contact_points.{i}")
                      for i, p in enumerate(fields.get("contact_points") or [])]
            move_in = _day(fields.get("move_in")) or utcnow().date()
            row = Resident(id=new_id("res"), organization_id=community.organization_id,
                           community_id=community.id, unit_id=unit.id,
                           name=fields["name"].strip(), kind=fields.get("kind", "tenant"),
                           language=fields.get("language", "en"), move_in=move_in,
                           external_id=fields.get("external_id"))
            session.add(row)
            session.flush()
            for kind, value, primary in points:
                _add_point(uow, row, kind, value, primary)
            uow.emit("occupant_moved_in", {"community_id": community.id, "occupants": [
                _occupant(row, row.move_in)]}, organization_id=row.organization_id)
            return _resident_view(session, row)

        return idempotency.once(self.db, idempotency.caller_scope(caller), idempotency_key,
                                {"create_resident": [fields]}, work)

    @rpc
    def update_resident(self, identity, resident_id, fields):
        caller = Caller.of(identity)
        with self.db.unit_of_work() as uow:
            row = _resident(uow.session, caller, resident_id)
            caller.require("manage_directory", row.community_id)
            for name in ("name", "kind", "language", "external_id"):
                if name in fields:
                    setattr(row, name, fields[name].strip() if name == "name" else fields[name])
            if not row.name:
                raise InvalidRequest("name must not be empty", "name")
            uow.session.flush()
            return _resident_view(uow.session, row)

    @rpc
    def move_out(self, identity, resident_id, on=None, idempotency_key=None):
        """The resident leaves their unit; the record, its contact points and every
        communication and ticket that names it stay as history."""
        caller = Caller.of(identity)

        def work(uow):
            row = _resident(uow.session, caller, resident_id)
            caller.require("manage_directory", row.community_id)
            if row.move_out is not None:
                raise Conflict(f"resident {resident_id} moved out on {row.move_out.isoformat()}",
                               "resident_id")
            day = _day(on) or utcnow().date()
            if row.move_in and day < row.move_in:
                raise InvalidRequest(f"date {day.isoformat()} is before the move-in date "
                                     f"{row.move_in.isoformat()}", "date")
            row.move_out = day
            uow.session.flush()
            uow.emit("occupant_moved_out", {"community_id": row.community_id, "occupants": [
                _occupant(row, day)]}, organization_id=row.organization_id)
            return _resident_view(uow.session, row)

        return idempotency.once(self.db, idempotency.caller_scope(caller), idempotency_key,
                                {"move_out": [resident_id, on]}, work)

    @rpc
    def create_portal_account(self, identity, resident_id, fields, idempotency_key=None):
        """A resident's login to the portal, on their primary email unless another is given;
        the manager hands over the first password, the resident changes it."""
        caller = Caller.of(identity)
        password = fields.get("password") or ""
        weakness = passwords.check_strength(password)
        if weakness:
            raise InvalidRequest(f"password {weakness}", "password")

        def work(uow):
            session = uow.session
            row = _resident(session, caller, resident_id)
            caller.require("manage_directory", row.community_id)
            if row.move_out is not None:
                raise Conflict(f"resident {resident_id} has moved out", "resident_id")
            if session.scalars(select(LoginAccount.id).where(
                    LoginAccount.principal_type == "resident",
                    LoginAccount.principal_id == row.id)).first():
                raise Conflict(f"resident {resident_id} already has a portal account",
                               "resident_id")
            email = fields.get("email") or session.scalars(select(ContactPoint.value).where(
                ContactPoint.resident_id == row.id, ContactPoint.kind == "email",
                ContactPoint.is_primary.is_(True))).first()
            if not email:
                raise InvalidRequest("the resident has no primary email; give one", "email")
            try:
                email = normalize_email(email).lower()
            except ContactError as exc:
                raise InvalidRequest(exc.message, "email") from None
            if session.scalars(select(LoginAccount.id).where(  # in this organization only
                    LoginAccount.organization_id == row.organization_id,
                    LoginAccount.email == email)).first():
                raise Conflict(f"{email} is already in use", "email")
            add_login(session, LoginAccount(
                id=new_id("acct"), organization_id=row.organization_id, email=email,
                password_hash=passwords.hash_password(password), principal_type="resident",
                principal_id=row.id))
            logins.audit(session, "portal_account_created", "succeeded",
                         actor=caller.actor_id, organization_id=row.organization_id,
                         target=row.id, email=email)
            return {"resident_id": row.id, "email": email}

        return idempotency.once(self.db, idempotency.caller_scope(caller), idempotency_key,
                                {"create_portal_account": [resident_id, fields]}, work)

    # --- contact points -----------------------------------------------------------------

    @rpc
    def add_contact_point(self, identity, resident_id, fields, idempotency_key=None):
        caller = Caller.of(identity)
        kind, value, primary = self._contact_value(fields)

        def work(uow):
            row = _resident(uow.session, caller, resident_id)
            policy.may_change_contact_points(caller, row)
            _add_point(uow, row, kind, value, primary)
            return _resident_view(uow.session, row)

        return idempotency.once(self.db, idempotency.caller_scope(caller), idempotency_key,
                                {"add_contact_point": [resident_id, fields]}, work)

    @rpc
    def make_primary(self, identity, contact_point_id):
        caller = Caller.of(identity)
        with self.db.unit_of_work() as uow:
            point, row = _point(uow.session, caller, contact_point_id)
            policy.may_change_contact_points(caller, row)
            if not point.is_primary:
                _set_primary(uow, row, point)
            return _resident_view(uow.session, row)

    @rpc
    def remove_contact_point(self, identity, contact_point_id):
        """Removing a primary makes the newest other of its kind primary."""
        caller = Caller.of(identity)
        with self.db.unit_of_work() as uow:
            session = uow.session
            point, row = _point(session, caller, contact_point_id)
            policy.may_change_contact_points(caller, row)
            session.delete(point)
            session.flush()
            _changed(uow, row, point, "removed")
            if point.is_primary:
                heir = session.scalars(select(ContactPoint).where(
                    ContactPoint.resident_id == row.id, ContactPoint.kind == point.kind)
                    .order_by(ContactPoint.created_at.desc())).first()
                if heir is not None:
                    _set_primary(uow, row, heir)
            return _resident_view(session, row)

    def _contact_value(self, fields, field=None):
        kind = fields["kind"]
        region = (self.config.get("directory") or {}).get("default_phone_region", "US")
        try:
            value = (normalize_phone(fields["value"], region) if kind == "phone"
                     else normalize_email(fields["value"]))
        except ContactError as exc:
            raise InvalidRequest(exc.message, field or "value") from None
        return kind, value, bool(fields.get("primary"))

    # --- staff users --------------------------------------------------------------------

    @rpc
    def create_staff(self, identity, fields, idempotency_key=None):
        caller = policy.master(identity)
        try:
            email = normalize_email(fields["email"]).lower()
        except ContactError as exc:
            raise InvalidRequest(exc.message, "email") from None
        password = fields.get("password")
        weakness = passwords.check_strength(password) if password else None
        if weakness:
            raise InvalidRequest(f"password {weakness}", "password")
        office_ids = _office_list(fields) or []

        def work(uow):
            session = uow.session
            _check_offices(session, caller.organization_id, office_ids)
            if session.scalars(select(StaffUser.id).where(
                    StaffUser.organization_id == caller.organization_id,
                    StaffUser.email == email)).first() or (password and session.scalars(
                    select(LoginAccount.id).where(
                        LoginAccount.organization_id == caller.organization_id,
                        LoginAccount.email == email)).first()):
                raise Conflict(f"{email} is already in use", "email")
            row = StaffUser(id=new_id("usr"), organization_id=caller.organization_id,
                            name=fields["name"].strip(), email=email)
            session.add(row)
            session.flush()
            _set_offices(session, row.id, office_ids)
            if password:
                add_login(session, LoginAccount(
                    id=new_id("acct"), organization_id=row.organization_id, email=email,
                    password_hash=passwords.hash_password(password), principal_type="staff",
                    principal_id=row.id))
            logins.audit(session, "staff_created", "succeeded", actor=caller.actor_id,
                         organization_id=row.organization_id, target=row.id,
                         login=bool(password), office_ids=office_ids)
            return _staff_view(session, row)

        return idempotency.once(self.db, idempotency.caller_scope(caller), idempotency_key,
                                {"create_staff": [fields]}, work)

    @rpc
    def update_staff(self, identity, staff_user_id, fields):
        caller = policy.master(identity)
        office_ids = _office_list(fields)
        with self.db.unit_of_work() as uow:
            session = uow.session
            row = _staff(session, caller, staff_user_id)
            if "name" in fields:
                row.name = fields["name"].strip()
            if office_ids is not None:
                _change_offices(session, caller, row, office_ids)
            if "disabled" in fields and fields["disabled"] != (row.disabled_at is not None):
                if fields["disabled"] and row.id == caller.actor_id:
                    raise InvalidRequest("a master user cannot disable themselves", "disabled")
                row.disabled_at = utcnow() if fields["disabled"] else None
                _disable_logins(session, row, fields["disabled"])
                logins.audit(session, "staff_disabled" if fields["disabled"] else
                             "staff_enabled", "succeeded", actor=caller.actor_id,
                             organization_id=row.organization_id, target=row.id)
            session.flush()
            return _staff_view(session, row)

    @rpc
    def get_staff(self, identity, staff_user_id):
        caller = Caller.of(identity)
        with self.db.read() as session:
            row = _staff(session, caller, staff_user_id)
            if row.id != caller.actor_id:
                policy.master(identity)
            return _staff_view(session, row)

    @rpc
    def list_staff(self, identity, cursor=None, limit=None, q=None):
        caller = policy.master(identity)
        query = select(StaffUser).where(StaffUser.organization_id == caller.organization_id)
        if q:
            like = f"%{q.strip()}%"
            query = query.where(StaffUser.name.ilike(like) | StaffUser.email.ilike(like))
        with self.db.read() as session:
            rows, next_cursor = paginate(session, query, StaffUser.id, cursor, limit)
            return {"items": _staff_views(session, rows),
                    "next_cursor": next_cursor}

    @rpc
    def staff_facts(self, identity, staff_user_ids):
        """Each staff user asked, in the order asked: offices (primary first), teams, the
        other members of those teams, whether they hold send_sms and are active — what
        credits needs to apply seed 002. Any staff user or API key of the organization may
        ask; one query per table, however many users are asked."""
        caller = Caller.of(identity)
        policy.staff_only(caller, "staff users")
        if not isinstance(staff_user_ids, list | tuple) or not all(
                isinstance(i, str) for i in staff_user_ids):
            raise InvalidRequest("must be a list of staff user ids", "staff_user_ids")
        ids = list(dict.fromkeys(staff_user_ids))
        if not ids:
            return []
        with self.db.read() as session:
            # One query loads them all; policy.owned then finds each in the session's identity
            # map (held by `loaded`: it keeps only weak references) and applies the tenant
            # rule without a query per id.
            loaded = session.scalars(select(StaffUser).where(StaffUser.id.in_(ids))).all()
            rows = [policy.owned(session, caller, StaffUser, i, "staff user", "staff_user_ids")
                    for i in ids]
            del loaded
            offices = _offices_of(session, ids)
            teams, members = _teams_of(session, ids)
            senders = {user_id for user_id, name in session.execute(
                select(Grant.staff_user_id, Grant.name).where(Grant.staff_user_id.in_(ids)))
                if "send_sms" in ROLES.get(name, (name,))}
        facts = {}
        for row in rows:
            team_ids = sorted(teams[row.id])
            mates = set().union(*(members[t] for t in team_ids)) - {row.id}
            facts[row.id] = views.staff_facts(row, offices[row.id], team_ids, sorted(mates),
                                              row.id in senders)
        return [facts[i] for i in staff_user_ids]

    # --- teams --------------------------------------------------------------------------

    @rpc
    def create_team(self, identity, fields, idempotency_key=None):
        caller = policy.master(identity)

        def work(uow):
            office_id = _office_id(uow.session, caller, fields.get("office_id"))
            row = Team(id=new_id("team"), organization_id=caller.organization_id,
                       office_id=office_id, name=fields["name"].strip())
            uow.session.add(row)
            uow.session.flush()
            return views.team(row, [])

        return idempotency.once(self.db, idempotency.caller_scope(caller), idempotency_key,
                                {"create_team": [fields]}, work)

    @rpc
    def update_team(self, identity, team_id, fields):
        caller = policy.master(identity)
        with self.db.unit_of_work() as uow:
            row = _team(uow.session, caller, team_id)
            if "name" in fields:
                row.name = fields["name"].strip()
            if "office_id" in fields:
                row.office_id = _office_id(uow.session, caller, fields["office_id"])
            uow.session.flush()
            return views.team(row, _members(uow.session, row.id))

    @rpc
    def add_team_member(self, identity, team_id, staff_user_id):
        caller = policy.master(identity)
        with self.db.unit_of_work() as uow:
            row = _team(uow.session, caller, team_id)
            user = _staff(uow.session, caller, staff_user_id)
            if uow.session.get(TeamMember, (row.id, user.id)) is None:
                uow.session.add(TeamMember(team_id=row.id, staff_user_id=user.id))
                uow.session.flush()
            return views.team(row, _members(uow.session, row.id))

    @rpc
    def remove_team_member(self, identity, team_id, staff_user_id):
        caller = policy.master(identity)
        with self.db.unit_of_work() as uow:
            row = _team(uow.session, caller, team_id)
            member = uow.session.get(TeamMember, (row.id, staff_user_id))
            if member is None:
                raise NotFound(f"staff user {staff_user_id} is not in team {team_id}",
                               "staff_user_id")
            uow.session.delete(member)
            uow.session.flush()
            return views.team(row, _members(uow.session, row.id))

    @rpc
    def get_team(self, identity, team_id):
        caller = Caller.of(identity)
        with self.db.read() as session:
            row = _team(session, caller, team_id)
            members = _members(session, row.id)
        if caller.actor_id not in members:
            policy.master(identity)
        return views.team(row, members)

    @rpc
    def list_teams(self, identity, cursor=None, limit=None, q=None):
        """Master users see every team; other staff the teams they are in."""
        caller = Caller.of(identity)
        policy.staff_only(caller, "teams")
        query = select(Team).where(Team.organization_id == caller.organization_id)
        if caller.scopes.get("manage_directory") != EVERYWHERE and not caller.is_system:
            query = query.where(Team.id.in_(select(TeamMember.team_id).where(
                TeamMember.staff_user_id == caller.actor_id)))
        if q:
            query = query.where(Team.name.ilike(f"%{q.strip()}%"))
        with self.db.read() as session:
            rows, next_cursor = paginate(session, query, Team.id, cursor, limit)
            members = _members_of(session, [r.id for r in rows])
            return {"items": [views.team(r, members[r.id]) for r in rows],
                    "next_cursor": next_cursor}


def _day(value):
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidRequest(f"{value!r} is not a date (YYYY-MM-DD)", "date") from None


def _occupant(row, day):
    return {"resident_id": row.id, "unit_id": row.unit_id, "kind": row.kind,
            "date": day.isoformat() if day else None}


def _resident(session, caller, resident_id):
    row = session.get(Resident, resident_id)
    if row is None:
        raise NotFound(f"resident {resident_id} does not exist", "resident_id")
    caller.check_owner(row.organization_id, "resident", resident_id)
    policy.may_see_resident(caller, row)
    return row


def _resident_view(session, row):
    points = session.scalars(select(ContactPoint).where(ContactPoint.resident_id == row.id)
                             .order_by(ContactPoint.created_at)).all()
    unit = session.get(Unit, row.unit_id) if row.unit_id else None
    return views.resident(row, points, unit.label if unit else None)


def _point(session, caller, contact_point_id):
    point = session.get(ContactPoint, contact_point_id)
    row = session.get(Resident, point.resident_id) if point else None
    if row is None or not caller.owns(row.organization_id):
        raise NotFound(f"contact point {contact_point_id} does not exist", "contact_point_id")
    policy.may_see_resident(caller, row)
    return point, row


def _add_point(uow, row, kind, value, primary):
    session = uow.session
    same_kind = session.scalars(select(ContactPoint).where(
        ContactPoint.resident_id == row.id, ContactPoint.kind == kind)).all()
    if any(p.value.lower() == value.lower() for p in same_kind):
        raise Conflict(f"this resident already has the {kind} {value}", "value")
    point = ContactPoint(id=new_id("cp"), resident_id=row.id, kind=kind, value=value,
                         is_primary=False, created_at=utcnow())
    session.add(point)
    session.flush()
    _changed(uow, row, point, "added")
    if primary or not any(p.is_primary for p in same_kind):
        _set_primary(uow, row, point)
    return point


def _set_primary(uow, row, point):
    for other in uow.session.scalars(select(ContactPoint).where(
            ContactPoint.resident_id == row.id, ContactPoint.kind == point.kind,
            ContactPoint.is_primary.is_(True))):
        other.is_primary = False
    uow.session.flush()
    point.is_primary = True
    uow.session.flush()
    _changed(uow, row, point, "made_primary")


def _changed(uow, row, point, change):
    uow.emit("contact_point_changed", {"resident_id": row.id, "kind": point.kind,
                                       "change": change, "contact_point_id": point.id},
             organization_id=row.organization_id)


def _staff(session, caller, staff_user_id):
    row = policy.owned(session, caller, StaffUser, staff_user_id, "staff user", "staff_user_id")
    if caller.is_resident:
        raise Forbidden("residents do not see staff users", "actor_type")
    return row


def _staff_view(session, row):
    return _staff_views(session, [row])[0]


def _staff_views(session, rows):
    """Views of staff users with their login, teams and offices: three queries for all."""
    ids = [r.id for r in rows]
    with_login = set(session.scalars(select(LoginAccount.principal_id).where(
        LoginAccount.principal_type == "staff", LoginAccount.principal_id.in_(ids))))
    team_ids = defaultdict(list)
    for user_id, team_id in session.execute(select(TeamMember.staff_user_id, TeamMember.team_id)
                                            .where(TeamMember.staff_user_id.in_(ids))):
        team_ids[user_id].append(team_id)
    offices = _offices_of(session, ids)
    return [views.staff(r, r.id in with_login, team_ids[r.id], offices[r.id]) for r in rows]


def _office_list(fields):
    """The office ids asked for, the first being the primary office; None when not asked."""
    if "office_ids" not in fields:
        return None
    office_ids = fields["office_ids"] or []
    if not isinstance(office_ids, list | tuple) or not all(isinstance(o, str)
                                                          for o in office_ids):
        raise InvalidRequest("must be a list of office ids", "office_ids")
    seen = set()
    for office_id in office_ids:
        if office_id in seen:
            raise InvalidRequest(f"office {office_id} is listed twice; list each office once",
                                 "office_ids")
        seen.add(office_id)
    return list(office_ids)


def _check_offices(session, organization_id, office_ids):
    """Each office must be one of the organization's; the first unknown is not found."""
    if not office_ids:
        return
    known = set(session.scalars(select(Office.id).where(
        Office.id.in_(office_ids), Office.organization_id == organization_id)))
    for office_id in office_ids:
        if office_id not in known:
            raise NotFound(f"office {office_id} does not exist", "office_ids")


def _set_offices(session, staff_user_id, office_ids):
    session.execute(delete(StaffOffice).where(StaffOffice.staff_user_id == staff_user_id))
    session.add_all(StaffOffice(staff_user_id=staff_user_id, office_id=office_id,
                                is_primary=position == 0)
                    for position, office_id in enumerate(office_ids))
    session.flush()


def _change_offices(session, caller, row, office_ids):
    _check_offices(session, row.organization_id, office_ids)
    current = _offices_of(session, [row.id])[row.id]
    if (current[:1], set(current)) == (office_ids[:1], set(office_ids)):
        return
    _set_offices(session, row.id, office_ids)
    logins.audit(session, "staff_offices_changed", "succeeded", actor=caller.actor_id,
                 organization_id=row.organization_id, target=row.id, office_ids=office_ids,
                 previous=current)


def _offices_of(session, staff_user_ids):
    """staff user id -> office ids, the primary office first, then by id."""
    found = defaultdict(list)
    for user_id, office_id in session.execute(
            select(StaffOffice.staff_user_id, StaffOffice.office_id)
            .where(StaffOffice.staff_user_id.in_(staff_user_ids))
            .order_by(StaffOffice.staff_user_id, StaffOffice.is_primary.desc(),
                      StaffOffice.office_id)):
        found[user_id].append(office_id)
    return found


def _teams_of(session, staff_user_ids):
    """staff user id -> their team ids, and team id -> member ids, for every team of those
    users, in one query."""
    teams, members = defaultdict(set), defaultdict(set)
    their_teams = select(TeamMember.team_id).where(TeamMember.staff_user_id.in_(staff_user_ids))
    for team_id, user_id in session.execute(
            select(TeamMember.team_id, TeamMember.staff_user_id)
            .where(TeamMember.team_id.in_(their_teams))):
        teams[user_id].add(team_id)
        members[team_id].add(user_id)
    return teams, members


def _disable_logins(session, user, disabled):
    """The user's login follows them: disabled with every session ended, or enabled again
    (sessions ended stay ended)."""
    for account in session.scalars(select(LoginAccount).where(
            LoginAccount.principal_type == "staff", LoginAccount.principal_id == user.id)):
        account.disabled_at = user.disabled_at
        if disabled:
            logins.end_sessions(session, account.id, "disabled")


def _team(session, caller, team_id):
    row = policy.owned(session, caller, Team, team_id, "team", "team_id")
    if caller.is_resident:
        raise Forbidden("residents do not see teams", "actor_type")
    return row


def _members(session, team_id):
    return _members_of(session, [team_id])[team_id]


def _members_of(session, team_ids):
    """team id -> member ids, sorted, in one query."""
    found = defaultdict(list)
    for team_id, user_id in session.execute(
            select(TeamMember.team_id, TeamMember.staff_user_id)
            .where(TeamMember.team_id.in_(team_ids)).order_by(TeamMember.staff_user_id)):
        found[team_id].append(user_id)
    return found


def _office_id(session, caller, office_id):
    if office_id is None:
        return None
    return policy.owned(session, caller, Office, office_id, "office", "office_id").id


def add_login(session, account):
    """A new login, written at once: one made for the same email of the organization at the
    same moment (the check before it saw neither) is a 409, as a sequential one is — the
    password is hashed meanwhile, so two such requests easily overlap."""
    session.add(account)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(f"{account.email} is already in use", "email") from None
