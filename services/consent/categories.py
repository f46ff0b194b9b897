"""Communication categories (Property Vista, seed 004): their definition, who may change them,
the log of every change, and archiving instead of deleting what communications used.

Mixed into ConsentService. Staff with manage_consent_categories create and change them;
every caller of the organization reads them (residents too: their preferences list them).
"""

from sqlalchemy import func, select

from contracts.errors import Conflict, InvalidRequest, NotFound
from servicekit.access import Caller, new_id
from servicekit.consumers import on_event
from servicekit.db import utcnow
from servicekit.entrypoints import rpc
from servicekit.pagination import paginate
from services.consent import work_orders
from services.consent.models import Category, CategoryChange
from services.consent.rules import MODES

TYPES = ("message", "broadcast")
EDITABLE = ("name", "type", "mode", "opt_out_enabled", "transactional", "access_team_ids",
            "response_team_ids")


class Categories:
    @rpc
    def create_category(self, identity, organization_id, name, mode, transactional=False,
                        **options):
        """A new category; the same name again answers the existing one when it is defined
        the same way (so seeding twice changes nothing), else Conflict."""
        caller = Caller.of(identity)
        caller.check_owner(organization_id, "organization", organization_id)
        caller.require("manage_consent_categories")
        fields = self._checked(caller, dict(options, name=name, mode=mode,
                                            transactional=transactional))
        with self.db.unit_of_work() as uow:
            session = uow.session
            existing = session.scalars(select(Category).where(
                Category.organization_id == organization_id,
                func.lower(Category.name) == fields["name"].lower())).first()
            if existing:
                if any(getattr(existing, k) != v for k, v in fields.items() if k != "name"):
                    raise Conflict(f"a category named {existing.name!r} exists with another "
                                   "definition; change it instead", "name")
                return category_view(existing)
            row = Category(id=new_id("cat"), organization_id=organization_id, **{
                "type": "message", "opt_out_enabled": True, "access_team_ids": [],
                "response_team_ids": [], **fields})
            session.add(row)
            session.flush()
            _log(session, row, caller, "created", {k: [None, v] for k, v in fields.items()})
            return category_view(row)

    @rpc
    def update_category(self, identity, category_id, changes):
        caller = Caller.of(identity)
        caller.require("manage_consent_categories")
        fields = self._checked(caller, changes, partial=True)
        with self.db.unit_of_work() as uow:
            session = uow.session
            row = owned_category(session, caller, category_id)
            if row.archived_at is not None:
                raise Conflict(f"category {category_id} is archived; restore it first",
                               "category_id")
            work_orders.check_change(caller, row, fields)
            if "name" in fields and fields["name"].lower() != row.name.lower():
                _check_name_free(session, row.organization_id, fields["name"])
            diff = {k: [getattr(row, k), v] for k, v in fields.items() if getattr(row, k) != v}
            for name, (_old, new) in diff.items():
                setattr(row, name, new)
            if diff:
                row.updated_at = utcnow()
                _log(session, row, caller, "changed", diff)
            session.flush()
            return category_view(row)

    @rpc
    def archive_category(self, identity, category_id, archived=True):
        """Archived categories keep their history and consents but take no new sends."""
        caller = Caller.of(identity)
        caller.require("manage_consent_categories")
        with self.db.unit_of_work() as uow:
            row = owned_category(uow.session, caller, category_id)
            if archived:
                work_orders.check_kept(row, "archived")
            if (row.archived_at is not None) != archived:
                row.archived_at = utcnow() if archived else None
                row.updated_at = utcnow()
                _log(uow.session, row, caller, "archived" if archived else "restored", {})
            uow.session.flush()
            return category_view(row)

    @rpc
    def delete_category(self, identity, category_id):
        """Only a category no communication used may go; the others are archived."""
        caller = Caller.of(identity)
        caller.require("manage_consent_categories")
        with self.db.unit_of_work() as uow:
            row = owned_category(uow.session, caller, category_id)
            work_orders.check_kept(row, "deleted")
            if row.used_count:
                raise Conflict(f"{row.used_count} communication(s) used category "
                               f"{category_id}; archive it instead", "category_id")
            _log(uow.session, row, caller, "deleted", {"name": [row.name, None]})
            uow.session.delete(row)
        return {"deleted": category_id}

    @rpc
    def work_order_category(self, identity):
        """The organization's built-in "Work orders" category, as get_category shows it:
        transactional, made on first use, one per organization (work_orders.py)."""
        return work_orders.find_or_create(self.db, Caller.of(identity), category_view)

    @rpc
    def get_category(self, identity, category_id):
        caller = Caller.of(identity)
        with self.db.read() as session:
            return category_view(owned_category(session, caller, category_id))

    @rpc
    def list_categories(self, identity, include_archived=False, cursor=None, limit=None,
                        q=None):
        caller = Caller.of(identity)
        query = select(Category).where(Category.organization_id == caller.organization_id)
        if not include_archived:
            query = query.where(Category.archived_at.is_(None))
        if q:
            query = query.where(Category.name.ilike(f"%{q.strip()}%"))
        with self.db.read() as session:
            rows, next_cursor = paginate(session, query, Category.id, cursor, limit)
        return {"items": [category_view(r) for r in rows], "next_cursor": next_cursor}

    @rpc
    def category_changes(self, identity, category_id):
        caller = Caller.of(identity)
        caller.require("manage_consent_categories")
        with self.db.read() as session:
            row = session.get(Category, category_id)
            owner = row.organization_id if row else session.scalars(
                select(CategoryChange.organization_id).where(
                    CategoryChange.category_id == category_id)).first()
            if owner is None:
                raise NotFound(f"category {category_id} does not exist", "category_id")
            caller.check_owner(owner, "category", category_id)
            changes = session.scalars(select(CategoryChange).where(
                CategoryChange.category_id == category_id).order_by(CategoryChange.seq)).all()
        return {"items": [{"at": c.at.isoformat(), "actor": c.actor, "action": c.action,
                           "changes": c.changes} for c in changes]}

    @on_event("messaging", "communication_accepted")
    def note_category_used(self, event, uow):
        """A category that communications used cannot be deleted any more."""
        row = uow.session.get(Category, event.data["category_id"])
        if row is not None:
            row.used_count += 1

    def _checked(self, caller, fields, partial=False):
        unknown = sorted(set(fields) - set(EDITABLE))
        if unknown:
            raise InvalidRequest(f"unknown fields: {', '.join(unknown)}", unknown[0])
        checked = dict(fields)
        if "name" in checked:
            checked["name"] = " ".join(str(checked["name"] or "").split())
            if not 1 <= len(checked["name"]) <= 200:
                raise InvalidRequest("must be 1 to 200 characters", "name")
        for name, allowed in (("mode", MODES), ("type", TYPES)):
            if name in checked and checked[name] not in allowed:
                raise InvalidRequest(f"must be one of {', '.join(allowed)}", name)
        for name in ("opt_out_enabled", "transactional"):
            if name in checked and not isinstance(checked[name], bool):
                raise InvalidRequest("must be true or false", name)
        for name in ("access_team_ids", "response_team_ids"):
            if name in checked:
                checked[name] = self._teams(caller, checked[name], name)
        if not partial and "name" not in checked:
            raise InvalidRequest("is required", "name")
        return checked

    def _teams(self, caller, team_ids, field):
        """Teams of the caller's organization, asked of directory (which owns them)."""
        if not isinstance(team_ids, list) or len(set(team_ids)) != len(team_ids):
            raise InvalidRequest("must be a list of distinct team ids", field)
        asking = {"actor_type": "system", "actor_id": "consent",
                  "organization_id": caller.organization_id, "scopes": {"*": "*"}}
        for team_id in team_ids:
            try:
                team = self.directory.get_team(asking, team_id)
            except NotFound:
                team = None
            if team is None or team["organization_id"] != caller.organization_id:
                raise NotFound(f"team {team_id} does not exist", field)
        return sorted(team_ids)


def category_view(row):
    return {"id": row.id, "organization_id": row.organization_id, "name": row.name,
            "type": row.type, "mode": row.mode, "opt_out_enabled": row.opt_out_enabled,
            "transactional": row.transactional, "access_team_ids": list(row.access_team_ids),
            "response_team_ids": list(row.response_team_ids), "used_count": row.used_count,
            "archived": row.archived_at is not None,
            "built_in": row.system_key is not None,
            "created_at": row.created_at.isoformat(),
            "updated_at": row.updated_at.isoformat() if row.updated_at else None}


def owned_category(session, caller, category_id):
    """The caller's organization's category; another organization's does not exist."""
    row = session.get(Category, category_id)
    if row is None:
        raise NotFound(f"category {category_id} does not exist", "category_id")
    caller.check_owner(row.organization_id, "category", category_id)
    return row


def _check_name_free(session, organization_id, name):
    taken = session.scalars(select(Category.id).where(
        Category.organization_id == organization_id,
        func.lower(Category.name) == name.lower())).first()
    if taken:
        raise Conflict(f"a category named {name!r} exists already ({taken})", "name")


def _log(session, row, caller, action, changes):
    session.add(CategoryChange(category_id=row.id, organization_id=row.organization_id,
                               actor=caller.actor_id, action=action, changes=changes))
