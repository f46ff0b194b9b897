"""CSV import jobs of residents and units, through directory's RPCs with worker_factory and an
in-memory database; jobs are run here synchronously with `run_import`."""

import base64
from datetime import timedelta

import pytest
from nameko.testing.services import worker_factory
from sqlalchemy import func, select, update

from contracts.errors import Forbidden, IdempotencyKeyReused, InvalidRequest, NotFound
from servicekit.access import EVERYWHERE
from servicekit.db import utcnow
from servicekit.testing import memory_database, outbox_events
from services.directory import imports
from services.directory.imports import (
    FAILED,
    MAX_ATTEMPTS,
    claimable_imports,
    release_imports,
    run_import,
)
from services.directory.models import (
    Base,
    ContactPoint,
    Resident,
    ResidentImport,
    Unit,
)
from services.directory.service import DirectoryService

SPEC = {
    "slug": "acme", "name": "Acme", "api_key_permissions": [],
    "offices": [
        {"name": "North", "communities": [
            {"name": "Alder", "residents": [
                {"name": "Ann Lee", "unit": "1", "phone": "+12025550101",
                 "email": "ann@example.com"}]},
            {"name": "Birch", "residents": [{"name": "Dan Roe", "unit": "9"}]}]}],
}
OTHER = dict(SPEC, slug="other", name="Other", offices=[
    {"name": "East", "communities": [{"name": "Elm", "residents": []}]}])
HEADER = "unit,first_name,last_name,email,phone,kind,move_in,language,external_id"
CLEAN = (
    "1,Ann,Lee,ann@example.com,+1 202-555-0101,,,,",          # already there, unchanged
    "12A,Bob,Ray,bob@example.com,(202) 555-0102,owner,2024-03-01,es,pm-2",
    "12a,Cy,Day,,202 555 0103,,,,",                           # the same unit, other case
)


def csv(*lines, header=HEADER):
    return "\n".join((header, *lines, "")).encode()


def b64(data):
    return base64.b64encode(data).decode()


@pytest.fixture
def directory():
    service = worker_factory(DirectoryService, db=memory_database(Base), config={})
    seeded = service.seed_demo(SPEC)
    service.org = seeded["organization_id"]
    service.alder = next(c["id"] for c in seeded["communities"] if c["name"] == "Alder")
    service.other_org = service.seed_demo(OTHER)["organization_id"]
    return service


def staff(directory, **scopes):
    return {"actor_type": "staff", "actor_id": "usr_t", "organization_id": directory.org,
            "scopes": scopes}


def master(directory):
    return staff(directory, manage_directory=EVERYWHERE)


def upload(directory, data, who=None, **options):
    """Start an import and run it as the background runner would; answer its view."""
    view = directory.start_import(who or master(directory), directory.alder, b64(data),
                                  **options)
    assert view["status"] == "pending" and view["progress"] == 0
    directory.import_jobs.run_soon.assert_called_with(view["id"])
    run_import(directory.db, view["id"])
    return directory.get_import(master(directory), view["id"])


def residents(directory):
    with directory.db.read() as session:
        rows = session.scalars(select(Resident).where(
            Resident.community_id == directory.alder).order_by(Resident.name)).all()
        points = session.scalars(select(ContactPoint)).all()
        units = dict(session.execute(select(Unit.id, Unit.label)).all())
    return {r.name: {"unit": units[r.unit_id], "kind": r.kind, "language": r.language,
                     "move_in": r.move_in and r.move_in.isoformat(),
                     "external_id": r.external_id,
                     "points": sorted((p.kind, p.value, p.is_primary)
                                      for p in points if p.resident_id == r.id)}
            for r in rows}


def events(directory, event_type):
    return outbox_events(directory.db, event_type)


def test_a_clean_file_is_imported_with_its_units_and_contact_points(directory):
    before = len(events(directory, "occupant_moved_in"))

    view = upload(directory, csv(*CLEAN), filename="alder.csv")

    assert view["status"] == "completed" and view["progress"] == 100
    assert view["filename"] == "alder.csv" and view["finished_at"]
    assert view["rows_total"] == view["rows_checked"] == 3
    assert view["counts"] == {
        "residents_created": 2, "residents_updated": 0, "residents_unchanged": 1,
        "units_created": 1, "contact_points_created": 3, "rows_invalid": 0,
        "errors_total": 0, "warnings_total": 0}
    assert view["errors"] == [] and view["file_errors"] == []
    assert view["links"]["self"] == f"/v1/imports/{view['id']}"
    people = residents(directory)
    assert people["Bob Ray"] == {
        "unit": "12A", "kind": "owner", "language": "es", "move_in": "2024-03-01",
        "external_id": "pm-2", "points": [("email", "bob@example.com", True),
                                          ("phone", "+12025550102", True)]}
    assert people["Cy Day"]["unit"] == "12A" and people["Cy Day"]["move_in"] is None
    # one event per kind for the whole file, never one per resident
    [moved_in] = events(directory, "occupant_moved_in")[before:]
    assert sorted(o["kind"] for o in moved_in["data"]["occupants"]) == ["owner", "tenant"]
    assert moved_in["data"]["community_id"] == directory.alder
    [points] = events(directory, "contact_points_changed")
    assert sorted(i["change"] for i in points["data"]["items"]) == ["added"] * 3 + [
        "made_primary"] * 3
    assert events(directory, "contact_point_changed") == []


def test_importing_the_same_file_again_changes_nothing_and_emits_nothing(directory):
    upload(directory, csv(*CLEAN))
    before, outbox = residents(directory), len(events(directory, None))

    again = upload(directory, csv(*reversed(CLEAN)))

    assert again["status"] == "completed"
    assert again["counts"]["residents_unchanged"] == 3
    assert {again["counts"][k] for k in ("residents_created", "residents_updated",
                                         "units_created", "contact_points_created")} == {0}
    assert residents(directory) == before
    assert len(events(directory, None)) == outbox


def test_a_changed_row_updates_its_resident_and_keeps_the_chosen_primary(directory):
    upload(directory, csv(*CLEAN))
    changed = ("12A,Bob,Ray,robert@example.com,(202) 555-0102,tenant,,,pm-2",
               "14,Cy,Day,,202 555 0103,,,,")    # moved to another unit: a new key
    view = upload(directory, csv(*changed))

    assert view["counts"]["residents_updated"] == 1   # Bob; Cy is someone new in unit 14
    assert view["counts"]["residents_created"] == 1
    bob = residents(directory)["Bob Ray"]
    assert bob["kind"] == "tenant" and bob["move_in"] == "2024-03-01"   # empty keeps it
    assert ("email", "bob@example.com", True) in bob["points"]
    assert ("email", "robert@example.com", False) in bob["points"]


def test_a_row_without_external_id_finds_a_resident_entered_by_hand(directory):
    assert upload(directory, csv(" 1 , Ann ,  Lee,,,,,,"))["counts"]["residents_unchanged"] == 1

    view = upload(directory, csv("1,ANN,lee,ann@example.com,,,,,pm-1"))

    assert view["counts"]["residents_updated"] == 1   # the file's spelling and id win
    assert [(name, r["external_id"]) for name, r in residents(directory).items()] == [
        ("ANN lee", "pm-1")]


def test_a_file_with_row_errors_is_rejected_and_nothing_is_written(directory):
    before, outbox = residents(directory), len(events(directory, None))
    data = csv(*CLEAN, "15,Eve,,eve@example.com,,,,,", "16,Fay,Ito,,555-01,,,,")

    view = upload(directory, data)

    assert view["status"] == "rejected" and view["progress"] == 100
    assert view["errors"] == [
        {"line": 5, "column": "last_name", "message": "last_name is required"},
        {"line": 6, "column": "phone",
         "message": "'555-01' is not a valid phone number for region US"}]
    assert view["counts"]["rows_invalid"] == 2 and view["counts"]["residents_created"] == 0
    assert residents(directory) == before
    assert len(events(directory, None)) == outbox
    with directory.db.read() as session:   # the file is personal data: dropped at the end
        assert session.get(ResidentImport, view["id"]).data is None


def test_with_import_valid_rows_only_the_valid_rows_are_imported(directory):
    data = csv(*CLEAN, "15,Eve,,eve@example.com,,,,,", "16,Fay,Ito,,555-01,,,,")

    view = upload(directory, data, import_valid_rows=True)

    assert view["status"] == "completed" and view["import_valid_rows"] is True
    assert view["counts"]["residents_created"] == 2 and view["counts"]["rows_invalid"] == 2
    assert [e["line"] for e in view["errors"]] == [5, 6]
    assert sorted(residents(directory)) == ["Ann Lee", "Bob Ray", "Cy Day"]


def test_a_file_that_is_not_utf8_is_rejected_whole(directory):
    data = "unit,first_name,last_name\n101,Andr\u00e9,Lee\n".encode("latin-1")

    view = upload(directory, data, import_valid_rows=True)

    assert view["status"] == "rejected"
    [error] = view["file_errors"]
    assert "not UTF-8" in error["message"] and error["column"] is None
    assert sorted(residents(directory)) == ["Ann Lee"]


def test_missing_columns_are_a_file_error_on_the_header_line(directory):
    view = upload(directory, csv("1,Ann Lee,ann@example.com", header="unit,name,email"),
                  import_valid_rows=True)

    assert view["status"] == "rejected"
    assert view["file_errors"] == [{
        "line": 1, "column": None,
        "message": "missing required columns: first_name, last_name "
                   "(the header has unit, name, email)"}]


def test_a_person_twice_is_an_error_but_a_unit_shared_by_a_household_is_not(directory):
    view = upload(directory, csv("7,Gus,Orr,,,,,,", "7,Hal,Orr,,,,,,", " 7 ,GUS,orr,,,,,,",
                                 "8,Ida,Poe,,,,,,x-1", "9,Jo,Quo,,,,,,x-1"),
                  import_valid_rows=True)

    assert [(e["line"], e["column"], e["message"]) for e in view["errors"]] == [
        (4, "unit/first_name/last_name", "duplicate of line 2"),
        (6, "external_id", "duplicate of line 5")]
    assert view["counts"]["units_created"] == 2 and view["counts"]["residents_created"] == 3
    assert view["counts"]["warnings_total"] == 5   # no row has a phone or an email


def test_phones_are_read_in_the_region_asked_for(directory):
    data = csv("3,Kim,Lo,,020 7946 0018,,,,")

    assert upload(directory, data)["errors"][0]["column"] == "phone"
    view = upload(directory, data, default_region="gb")
    assert view["status"] == "completed"
    assert ("phone", "+442079460018", True) in residents(directory)["Kim Lo"]["points"]


def test_empty_too_large_or_unreadable_uploads_are_refused_at_once(directory):
    directory.config = {"directory": {"import_max_bytes": 100}}
    cases = [(b"", "file", "empty"), (b"x" * 101, "file", "101 bytes; the limit is 100")]
    for data, field, words in cases:
        with pytest.raises(InvalidRequest, match=words) as refused:
            directory.start_import(master(directory), directory.alder, b64(data))
        assert refused.value.field == field
    with pytest.raises(InvalidRequest) as refused:
        directory.start_import(master(directory), directory.alder, b64(csv()),
                               default_region="XX")
    assert refused.value.field == "region"
    with directory.db.read() as session:
        assert session.scalar(select(func.count()).select_from(ResidentImport)) == 0


def test_another_organizations_community_and_imports_are_not_found(directory):
    stranger = dict(master(directory), organization_id=directory.other_org)
    with pytest.raises(NotFound):
        directory.start_import(stranger, directory.alder, b64(csv(*CLEAN)))
    view = upload(directory, csv(*CLEAN))
    with pytest.raises(NotFound):
        directory.get_import(stranger, view["id"])
    with pytest.raises(NotFound):
        directory.get_import(master(directory), "imp_nothing")


def test_only_holders_of_manage_directory_for_the_community_may_import(directory):
    view = upload(directory, csv(*CLEAN))
    dispatcher = staff(directory, manage_tickets=[directory.alder])
    elsewhere = staff(directory, manage_directory=["com_elsewhere"])
    resident = {"actor_type": "resident", "actor_id": "res_x", "organization_id": directory.org,
                "resident": {"community_id": directory.alder, "unit_id": "unt_x"}}
    for who in (dispatcher, elsewhere, resident):
        with pytest.raises(Forbidden, match="manage_directory"):
            directory.start_import(who, directory.alder, b64(csv(*CLEAN)))
        with pytest.raises(Forbidden):
            directory.get_import(who, view["id"])
    manager = staff(directory, manage_directory=[directory.alder])
    assert upload(directory, csv(*CLEAN), who=manager)["status"] == "completed"


def test_the_same_idempotency_key_answers_the_same_job(directory):
    first = directory.start_import(master(directory), directory.alder, b64(csv(*CLEAN)),
                                   idempotency_key="k-1")
    again = directory.start_import(master(directory), directory.alder, b64(csv(*CLEAN)),
                                   idempotency_key="k-1")
    assert again["id"] == first["id"]
    with pytest.raises(IdempotencyKeyReused):
        directory.start_import(master(directory), directory.alder, b64(csv(CLEAN[0])),
                               idempotency_key="k-1")


def test_progress_is_written_to_the_job_while_a_large_file_is_checked(directory, monkeypatch):
    lines = [f"{100 + n // 2},Person{n},Tester,p{n}@example.com,,,,," for n in range(1200)]
    seen = []
    validate = imports.validate_residents_csv

    def watching(data, progress, **options):
        def record(done, total):
            progress(done, total)
            view = directory.get_import(master(directory), job["id"])
            seen.append((view["status"], view["rows_checked"], view["rows_total"],
                         view["progress"]))
        return validate(data, progress=record, **options)

    monkeypatch.setattr(imports, "validate_residents_csv", watching)
    job = directory.start_import(master(directory), directory.alder, b64(csv(*lines)))
    assert run_import(directory.db, job["id"]) == "completed"

    assert seen == [("validating", 500, 1200, 41), ("validating", 1000, 1200, 83),
                    ("validating", 1200, 1200, 99)]
    view = directory.get_import(master(directory), job["id"])
    assert view["counts"]["residents_created"] == 1200 and view["counts"]["units_created"] == 600
    assert len(events(directory, "contact_points_changed")) == 1


def test_an_unexpected_error_fails_the_job_and_writes_nothing(directory, monkeypatch):
    def broken(uow, job, rows):
        uow.session.add(Unit(id="unt_half", community_id=job.community_id, label="half"))
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(imports, "import_rows", broken)
    job = directory.start_import(master(directory), directory.alder, b64(csv(*CLEAN)))

    assert run_import(directory.db, job["id"]) == "failed"
    view = directory.get_import(master(directory), job["id"])
    assert view["status"] == "failed" and view["file_errors"][0]["message"] == FAILED
    with directory.db.read() as session:
        assert session.get(Unit, "unt_half") is None


# --- claims: a job runs once however many runners, and survives a crash or a stop ----------


def _claim(directory, import_id):
    return imports._claim(directory.db, import_id)


def _expire_lease(directory, import_id):
    with directory.db.unit_of_work() as uow:
        uow.session.execute(update(ResidentImport).where(ResidentImport.id == import_id)
                            .values(lease_expires_at=utcnow() - timedelta(seconds=1)))


def test_a_running_job_is_not_taken_by_another_runner_until_its_lease_runs_out(directory):
    job = directory.start_import(master(directory), directory.alder, b64(csv(*CLEAN)))
    crashed = _claim(directory, job["id"])   # a runner that died while validating

    assert run_import(directory.db, job["id"]) is None
    assert claimable_imports(directory.db) == []
    _expire_lease(directory, job["id"])
    assert claimable_imports(directory.db) == [job["id"]]
    assert run_import(directory.db, job["id"]) == "completed"
    with pytest.raises(imports.LostClaim):   # had it come back, it could not write
        imports._renew(directory.db, job["id"], crashed)
    assert run_import(directory.db, job["id"]) is None   # and nothing runs twice


def test_a_job_handed_back_by_a_stopping_service_is_pending_again(directory):
    job = directory.start_import(master(directory), directory.alder, b64(csv(*CLEAN)))
    claim = _claim(directory, job["id"])

    release_imports(directory.db, {job["id"]: claim})

    assert directory.get_import(master(directory), job["id"])["status"] == "pending"
    assert claimable_imports(directory.db) == [job["id"]]
    assert run_import(directory.db, job["id"]) == "completed"


def test_a_job_that_keeps_killing_its_runner_is_failed(directory):
    job = directory.start_import(master(directory), directory.alder, b64(csv(*CLEAN)))
    for _ in range(MAX_ATTEMPTS):
        assert _claim(directory, job["id"]) is not None
        _expire_lease(directory, job["id"])

    assert claimable_imports(directory.db) == []
    view = directory.get_import(master(directory), job["id"])
    assert view["status"] == "failed" and view["file_errors"][0]["message"] == FAILED
    assert sorted(residents(directory)) == ["Ann Lee"]
