"""A resident import in a running directory service on SQLite and PostgreSQL: a stop hands the
running job back and writes nothing; the next start finishes it."""

import base64

import eventlet
from nameko.standalone.rpc import ClusterRpcProxy
from sqlalchemy import func, select

from servicekit import migrate
from servicekit.access import SYSTEM
from servicekit.config import database_url
from servicekit.db import create_db_engine
from servicekit.testing import wait_until
from services.directory import imports
from services.directory.models import Resident, ResidentImport
from services.directory.service import DirectoryService

SPEC = {"slug": "acme", "name": "Acme", "api_key_permissions": [],
        "offices": [{"name": "North", "communities": [{"name": "Alder", "residents": []}]}]}


def _job(config, import_id):
    engine = create_db_engine(database_url(config, "directory"))
    try:
        with engine.connect() as conn:
            status = conn.execute(select(ResidentImport.status)
                                  .where(ResidentImport.id == import_id)).scalar()
            residents = conn.execute(select(func.count()).select_from(Resident)).scalar()
        return status, residents
    finally:
        engine.dispose()


def test_a_stopped_service_hands_its_import_back_and_the_next_start_finishes_it(
        make_config, container_factory, monkeypatch):
    config = make_config()
    migrate.upgrade("directory", config)
    validate, stalled = imports.validate_residents_csv, []

    def slow_once(data, progress, **options):
        def record(done, total):
            progress(done, total)
            if not stalled:
                stalled.append(done)
                eventlet.sleep(30)   # killed by the stop long before this ends
        return validate(data, progress=record, **options)

    monkeypatch.setattr(imports, "validate_residents_csv", slow_once)
    rows = "\n".join(f"{n},Person{n},Tester,p{n}@example.com" for n in range(600))
    data = base64.b64encode(f"unit,first_name,last_name,email\n{rows}\n".encode()).decode()

    first = container_factory(DirectoryService, config)
    first.start()
    with ClusterRpcProxy(config, timeout=10) as cluster:
        seeded = cluster.directory.seed_demo(SPEC)
        job = cluster.directory.start_import(SYSTEM, seeded["communities"][0]["id"], data)
        wait_until(lambda: stalled)
    assert _job(config, job["id"]) == ("validating", 0)

    first.stop()
    assert _job(config, job["id"]) == ("pending", 0)

    container_factory(DirectoryService, config).start()   # its first sweep finds the job
    wait_until(lambda: _job(config, job["id"])[0] == "completed", timeout=20)
    assert _job(config, job["id"]) == ("completed", 600)
