"""Writing the valid rows of a residents CSV into a community, inside the import's one
transaction: units by label, residents and their phones and emails.

A row stands for the resident with its external_id, else the one an earlier import of the same
row created (its key, remembered in resident_import_keys), else the resident of that unit with
that name — so importing the same file again finds everyone, changes nothing and sends nothing.
What changed is told in one event per kind for the whole file, never one per resident.

New rows are inserted in chunks with plain INSERTs, yielding to other green threads between
chunks: a 20,000-row file must not stall the service's other work while it is written.
"""

import hashlib
from collections import Counter
from typing import NamedTuple

import eventlet
from sqlalchemy import insert, select, update

from servicekit.access import new_id
from servicekit.db import utcnow
from services.directory.models import (
    Community,
    ContactPoint,
    Resident,
    ResidentImportKey,
    Unit,
)

MAX_KEY = 200   # resident_import_keys.key; longer keys are stored as their digest
CHUNK = 500


class _Point(NamedTuple):
    kind: str
    value: str
    is_primary: bool


def import_rows(uow, job, rows):
    """Upsert `rows` (valid ResidentRows) into the job's community; answer the counts."""
    session = uow.session
    # one import per community at a time: a second one waits here, then sees the first's rows
    session.execute(select(Community.id).where(Community.id == job.community_id)
                    .with_for_update())
    units, units_created = _units(session, job.community_id, rows)
    batch = _Batch(session, job)
    for done, row in enumerate(rows, start=1):
        batch.take(row, units[row.unit.lower()])
        if done % CHUNK == 0:
            eventlet.sleep(0)
    batch.write()
    if batch.moved_in:
        uow.emit("occupant_moved_in", {"community_id": job.community_id,
                                       "occupants": batch.moved_in},
                 organization_id=job.organization_id)
    if batch.point_changes:
        uow.emit("contact_points_changed", {"community_id": job.community_id,
                                            "items": batch.point_changes},
                 organization_id=job.organization_id)
    return dict(batch.counts, units_created=units_created)


def _units(session, community_id, rows):
    """Unit ids by lower-cased label: labels match whatever their case, as units.create
    does; a new label is written the way its first row writes it."""
    units = {label.lower(): unit_id for unit_id, label in session.execute(
        select(Unit.id, Unit.label).where(Unit.community_id == community_id))}
    created = {}
    for row in rows:
        label = row.unit.lower()
        if label not in units and label not in created:
            created[label] = {"id": new_id("unt"), "community_id": community_id,
                              "label": row.unit}
    _insert(session, Unit, list(created.values()))
    return units | {label: unit["id"] for label, unit in created.items()}, len(created)


def _insert(session, model, rows):
    for start in range(0, len(rows), CHUNK):
        session.execute(insert(model.__table__), rows[start:start + CHUNK])
        eventlet.sleep(0)


def stored_key(row_key):
    if len(row_key) <= MAX_KEY:
        return row_key
    return "sha256:" + hashlib.sha256(row_key.encode()).hexdigest()


class _Batch:
    """The community's current residents, keys and contact points, and what the file changes."""

    def __init__(self, session, job):
        self.session, self.job = session, job
        self.now = utcnow()
        current = (Resident.community_id == job.community_id, Resident.move_out.is_(None))
        residents = session.scalars(select(Resident).where(*current)).all()
        self.residents = {r.id: r for r in residents}
        self.by_external, self.by_name = {}, {}
        for resident in residents:
            if resident.external_id:
                self.by_external.setdefault(resident.external_id, resident)
            self.by_name.setdefault((resident.unit_id, _folded(resident.name)), resident)
        self.keys = dict(session.execute(select(ResidentImportKey.key,
                                                ResidentImportKey.resident_id).where(
            ResidentImportKey.community_id == job.community_id)).all())
        self.points = {}
        for resident_id, kind, value, primary in session.execute(
                select(ContactPoint.resident_id, ContactPoint.kind, ContactPoint.value,
                       ContactPoint.is_primary)
                .where(ContactPoint.resident_id.in_(select(Resident.id).where(*current)))):
            self.points.setdefault(resident_id, []).append(_Point(kind, value, primary))
        self.claimed, self.created = set(), set()
        self.new_residents, self.new_points, self.new_keys, self.moved_keys = [], [], [], []
        self.moved_in, self.point_changes = [], []
        self.counts = Counter(residents_created=0, residents_updated=0, residents_unchanged=0,
                              contact_points_created=0)

    def take(self, row, unit_id):
        key = stored_key(row.row_key)
        resident = self._match(row, key, unit_id)
        if resident is None:
            resident_id, changed = self._create(row, unit_id), False
        else:
            resident_id, changed = resident.id, _apply(resident, row, unit_id)
        changed = self._add_points(resident_id, row) or changed
        self._remember(key, resident_id)
        if resident_id in self.created:
            self.counts["residents_created"] += 1
        else:
            self.counts["residents_updated" if changed else "residents_unchanged"] += 1

    def _match(self, row, key, unit_id):
        candidates = (
            self.by_external.get(row.external_id) if row.external_id else None,
            self.residents.get(self.keys.get(key)),
            self._same_name(row, unit_id),
        )
        for resident in candidates:
            if resident is not None and resident.id not in self.claimed:
                self.claimed.add(resident.id)
                return resident
        return None

    def _same_name(self, row, unit_id):
        resident = self.by_name.get((unit_id, _folded(_name(row))))
        # a namesake the property system knows by another id is another person
        if resident and row.external_id and resident.external_id not in (None, row.external_id):
            return None
        return resident

    def _create(self, row, unit_id):
        resident_id = new_id("res")
        self.new_residents.append({
            "id": resident_id, "organization_id": self.job.organization_id,
            "community_id": self.job.community_id, "unit_id": unit_id, "name": _name(row),
            "kind": row.kind, "language": row.language,
            # no date in the file: the onboarding day is not a move-in day
            "move_in": row.move_in, "move_out": None, "external_id": row.external_id})
        self.claimed.add(resident_id)
        self.created.add(resident_id)
        self.moved_in.append({"resident_id": resident_id, "unit_id": unit_id, "kind": row.kind,
                              "date": row.move_in.isoformat() if row.move_in else None})
        return resident_id

    def _add_points(self, resident_id, row):
        """A phone or email the resident lacks is added; it becomes primary only when the
        resident has none of that kind, so a primary chosen by hand or by the resident
        stays."""
        added = False
        for kind, value in (("phone", row.phone), ("email", row.email)):
            if not value:
                continue
            same_kind = [p for p in self.points.get(resident_id, []) if p.kind == kind]
            if any(_same_value(kind, p.value, value) for p in same_kind):
                continue
            point = _Point(kind, value, not any(p.is_primary for p in same_kind))
            self.points.setdefault(resident_id, []).append(point)
            point_id = new_id("cp")
            self.new_points.append({"id": point_id, "resident_id": resident_id, "kind": kind,
                                    "value": value, "is_primary": point.is_primary,
                                    "created_at": self.now})
            self.counts["contact_points_created"] += 1
            changes = ("added", "made_primary") if point.is_primary else ("added",)
            self.point_changes += [{"resident_id": resident_id, "kind": kind, "change": change,
                                    "contact_point_id": point_id} for change in changes]
            added = True
        return added

    def _remember(self, key, resident_id):
        known = self.keys.get(key)
        if known is None:
            self.keys[key] = resident_id
            self.new_keys.append({"community_id": self.job.community_id, "key": key,
                                  "resident_id": resident_id})
        elif known != resident_id:   # the resident it named has moved out
            self.moved_keys.append((key, resident_id))

    def write(self):
        # parents before children, as the foreign keys need them
        self.session.flush()   # the residents the file changed
        _insert(self.session, Resident, self.new_residents)
        for key, resident_id in self.moved_keys:
            self.session.execute(update(ResidentImportKey).where(
                ResidentImportKey.community_id == self.job.community_id,
                ResidentImportKey.key == key).values(resident_id=resident_id))
        _insert(self.session, ContactPoint, self.new_points)
        _insert(self.session, ResidentImportKey, self.new_keys)


def _name(row):
    return f"{row.first_name} {row.last_name}"


def _folded(name):
    return " ".join(name.split()).casefold()


def _apply(resident, row, unit_id):
    """Make the resident what the row says; answer whether anything changed. Empty optional
    cells (move_in, external_id) leave what is known."""
    wanted = {"name": _name(row), "kind": row.kind, "language": row.language,
              "unit_id": unit_id}
    if row.move_in:
        wanted["move_in"] = row.move_in
    if row.external_id:
        wanted["external_id"] = row.external_id
    changed = False
    for field, value in wanted.items():
        if getattr(resident, field) != value:
            setattr(resident, field, value)
            changed = True
    return changed


def _same_value(kind, stored, value):
    return stored == value if kind == "phone" else stored.lower() == value.lower()
