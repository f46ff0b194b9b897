"""Audience resolution: milliseconds per page of directory's `resolve_audience` for a whole
community, the real DirectoryService code against a real database made for the run (an
SQLite file in a temporary folder; a PostgreSQL database created and dropped again), migrated
with the service's Alembic migrations.

The service runs in this process (worker_factory with a real database handle), so neither the
broker nor RPC serialization is part of what is measured. The organization has the measured
community (two residents a unit, a phone and an email each, every tenth with a second,
non-primary phone, 3% moved out, every third an owner), a second community half its size,
and another organization of the same size beside it. Ids are random, as new_id makes them,
so the measured community's residents are spread through the table's order of id. Every run
pages through the whole community in pages of 1,000 and checks that the pages hold every
resident living there exactly once, in order of id, and none of anyone else.

`python -m bench.audience_pages [--residents 10000] [--runs 3] [--databases sqlite,postgresql]`
"""

import argparse
import random
import statistics
import time
from datetime import date

from nameko.testing.services import worker_factory
from sqlalchemy import insert

from bench import isolation
from servicekit import migrate
from servicekit.db import DatabaseHandle, create_db_engine
from services.directory.models import (
    Base,
    Community,
    ContactPoint,
    Office,
    Organization,
    Resident,
    Unit,
)
from services.directory.service import DirectoryService

DATABASES = ("sqlite", "postgresql")
ORGANIZATION, OTHER_ORGANIZATION = "org_bench", "org_bench_other"
SENDER = {"actor_type": "api_key", "actor_id": "key_bench", "organization_id": ORGANIZATION,
          "permissions": ["send_communications"]}
PAGE = 1000
CHUNK = 5000
MOVED_OUT_EVERY = 33          # about 3%
OWNER_EVERY = 3
SECOND_PHONE_EVERY = 10
SEED = 2026


def measure(residents=10_000, runs=3, databases=DATABASES):
    """[{database, residents, pages, ms_per_page_p50, slowest_page_ms, scope_ms, exact}]:
    ms_per_page_p50 is the median page over every run."""
    found = []
    for database in databases:
        with isolation.service_database(database, "directory", "audience") as url:
            migrate.upgrade("directory", {"DATABASE_URL": url})
            engine = create_db_engine(url)
            try:
                handle = DatabaseHandle(engine, Base.metadata)
                living = _seed(handle, residents)
                found.append(_run(handle, database, living, runs))
            finally:
                engine.dispose()
    return found


def _run(handle, database, living, runs):
    directory = worker_factory(DirectoryService, db=handle, config={})
    recipients = {"communities": ["com_bench"]}
    pages, exact, scopes = [], True, []
    for _ in range(runs):
        seen, after = [], None
        while True:
            started = time.perf_counter()
            page = directory.resolve_audience(SENDER, recipients, after=after, limit=PAGE)
            pages.append(time.perf_counter() - started)
            seen += [r["id"] for r in page["residents"]]
            after = page["next"]
            if after is None:
                break
        exact = exact and seen == sorted(living)
        started = time.perf_counter()
        size = directory.audience_scope(SENDER, recipients)["size"]
        scopes.append(time.perf_counter() - started)
        exact = exact and size == len(living)
    return {"database": database, "residents": len(living), "pages": len(pages) // runs,
            "ms_per_page_p50": round(statistics.median(pages) * 1000, 1),
            "slowest_page_ms": round(max(pages) * 1000, 1),
            "scope_ms": round(statistics.median(scopes) * 1000, 1), "exact": exact}


def _seed(handle, residents):
    """The organizations and their residents; answers the ids of those living in the
    measured community now."""
    with handle.unit_of_work() as uow:
        session = uow.session
        for org in (ORGANIZATION, OTHER_ORGANIZATION):
            session.execute(insert(Organization).values(id=org, slug=org, name=org))
            session.execute(insert(Office).values(id=f"off_{org}", organization_id=org,
                                                  name="Office"))
        for community, org in (("com_bench", ORGANIZATION), ("com_beside", ORGANIZATION),
                               ("com_other", OTHER_ORGANIZATION)):
            session.execute(insert(Community).values(id=community, organization_id=org,
                                                     office_id=f"off_{org}", name=community))
    ids = random.Random(SEED)
    living = []
    for community, org, count in (("com_bench", ORGANIZATION, residents),
                                  ("com_beside", ORGANIZATION, residents // 2),
                                  ("com_other", OTHER_ORGANIZATION, residents)):
        for start in range(0, count, CHUNK):
            made = _seed_chunk(handle, community, org, ids,
                               range(start, min(count, start + CHUNK)))
            living += made if community == "com_bench" else []
    return living


def _seed_chunk(handle, community, org, ids, numbers):
    units, people, points, living = [], [], [], []
    for n in numbers:
        resident_id = f"res_{ids.randbytes(15).hex()}"
        if n % 2 == 0:
            units.append({"id": f"unt_{community}_{n // 2:06d}", "community_id": community,
                          "label": str(n // 2)})
        moved_out = n % MOVED_OUT_EVERY == 0
        people.append({"id": resident_id, "organization_id": org, "community_id": community,
                       "unit_id": f"unt_{community}_{n // 2:06d}", "name": f"Resident {n}",
                       "kind": "owner" if n % OWNER_EVERY == 0 else "tenant",
                       "language": "en", "move_in": date(2024, 1, 1),
                       "move_out": date(2025, 6, 30) if moved_out else None})
        points += [{"id": f"cp_p_{resident_id}", "resident_id": resident_id, "kind": "phone",
                    "value": f"+1416{n:07d}", "is_primary": True},
                   {"id": f"cp_e_{resident_id}", "resident_id": resident_id, "kind": "email",
                    "value": f"r{n}@{community}.example", "is_primary": True}]
        if n % SECOND_PHONE_EVERY == 0:
            points.append({"id": f"cp_q_{resident_id}", "resident_id": resident_id,
                           "kind": "phone", "value": f"+1647{n:07d}", "is_primary": False})
        if not moved_out:
            living.append(resident_id)
    with handle.unit_of_work() as uow:
        if units:
            uow.session.execute(insert(Unit), units)
        uow.session.execute(insert(Resident), people)
        uow.session.execute(insert(ContactPoint), points)
    return living


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.audience_pages",
                                     description="ms per page of resolve_audience")
    parser.add_argument("--residents", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--databases", default=",".join(DATABASES))
    args = parser.parse_args(argv)
    rows = measure(args.residents, args.runs, tuple(args.databases.split(",")))
    print(f"{'database':<11}{'living':>8}{'pages':>7}{'ms/page p50':>13}{'slowest ms':>12}"
          f"{'scope ms':>10}  exact")
    for row in rows:
        print(f"{row['database']:<11}{row['residents']:>8}{row['pages']:>7}"
              f"{row['ms_per_page_p50']:>13}{row['slowest_page_ms']:>12}{row['scope_ms']:>10}"
              f"  {row['exact']}")
    return 0 if all(row["exact"] for row in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
