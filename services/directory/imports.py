"""CSV import of residents and units into a community: the usual way a property is onboarded.

Mixed into DirectoryService. `start_import` stores the file as a job and answers at once; the
job then runs in the background (`run_import`): every row is validated, with progress written to
the job, and then either the file is rejected and nothing is written, or the valid rows are
imported in ONE transaction together with the job's outcome, so a crash leaves all or nothing.
Rows are written by `import_rows`, which makes importing the same file again change nothing.

Jobs survive a stop or a crash: the file stays on the job until it ends, and `ImportJobs`
claims unfinished jobs when the service starts and every SWEEP_SECONDS after. A claim is an
UPDATE guarded by the job's status and lease, so two instances never run one job.
"""

import logging
from dataclasses import asdict
from datetime import timedelta

import eventlet
from nameko.extensions import DependencyProvider
from sqlalchemy import and_, func, literal, or_, select, update

from contracts.api import IMPORT_MAX_BYTES
from contracts.errors import InvalidRequest, NotFound
from servicekit import csv_rows, idempotency
from servicekit.access import Caller, new_id
from servicekit.db import UtcDateTime, utcnow
from servicekit.entrypoints import rpc
from servicekit.providers import Database
from services.directory import policy
from services.directory.contacts import check_region
from services.directory.import_rows import import_rows
from services.directory.importing import validate_residents_csv
from services.directory.models import ResidentImport

log = logging.getLogger("townhall.directory.imports")

RUNNING = ("validating", "importing")
TERMINAL = ("completed", "rejected", "failed")
LEASE = timedelta(seconds=60)   # renewed every PROGRESS_EVERY rows, so only a dead runner loses it
SWEEP_SECONDS = 30
MAX_ATTEMPTS = 5                # a file that kills the process fails instead of looping
MAX_LISTED = 1000               # errors and warnings kept per job; the counts say how many
FAILED = "the import stopped on an internal error; nothing was imported: upload the file again"

_jobs = ResidentImport.__table__


def import_view(job):
    return {
        "id": job.id, "community_id": job.community_id, "status": job.status,
        "filename": job.filename, "import_valid_rows": job.import_valid_rows,
        "rows_total": job.rows_total, "rows_checked": job.rows_checked,
        "progress": _percent(job), "counts": dict(job.counts or {}),
        "errors": list(job.errors or []), "warnings": list(job.warnings or []),
        "file_errors": list(job.file_errors or []),
        "created_at": job.created_at.isoformat(),
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
        "links": {"self": f"/v1/imports/{job.id}",
                  "community": f"/v1/communities/{job.community_id}"},
    }


def _percent(job):
    if job.status in TERMINAL:
        return 100
    if not job.rows_total:
        return 0
    return min(99, job.rows_checked * 100 // job.rows_total)


def _region(region):
    try:
        check_region(region.upper())
    except ValueError:
        raise InvalidRequest(f"{region!r} is not a region code phone numbers can be read in "
                             "(e.g. US, CA, GB)", "region") from None
    return region.upper()


# --- running a job ---------------------------------------------------------------------------


class LostClaim(Exception):
    """Another runner took the job over (this one was presumed dead): stop, write nothing."""


def run_import(db, import_id, claims=None):
    """Validate and import one job if it can be claimed; answer its final status, or None
    when another runner has it. `claims` (import id -> claim) lets the caller hand it back."""
    claim = _claim(db, import_id)
    if claim is None:
        return None
    if claims is not None:
        claims[import_id] = claim
    try:
        with db.read() as session:
            job = session.execute(select(_jobs.c.data, _jobs.c.default_region,
                                         _jobs.c.import_valid_rows)
                                  .where(_jobs.c.id == import_id)).one()
        report = validate_residents_csv(job.data, default_region=job.default_region,
                                        progress=_progress_writer(db, import_id, claim))
        if report.file_errors or (report.errors and not job.import_valid_rows):
            with db.unit_of_work() as uow:
                _finish(_owned(uow.session, import_id, claim), report, "rejected", {})
            return "rejected"
        _renew(db, import_id, claim, status="importing")
        with db.unit_of_work() as uow:
            row = _owned(uow.session, import_id, claim)
            _finish(row, report, "completed", import_rows(uow, row, report.rows))
        return "completed"
    except LostClaim:
        log.warning("import %s was taken over by another runner", import_id)
        return None
    except Exception:
        log.exception("import %s failed", import_id)
        return _fail(db, import_id, claim)
    finally:
        if claims is not None:
            claims.pop(import_id, None)


def _claimable(now):
    return or_(_jobs.c.status == "pending",
               and_(_jobs.c.status.in_(RUNNING), _jobs.c.lease_expires_at < now))


def _claim(db, import_id):
    """Take the job if it waits or its runner's lease ran out; answer the claim (its
    attempt number), or None. The guarded UPDATE is what makes two instances safe."""
    now = utcnow()
    with db.unit_of_work() as uow:
        taken = uow.session.execute(
            update(_jobs).where(_jobs.c.id == import_id, _claimable(now),
                                _jobs.c.attempts < MAX_ATTEMPTS)
            .values(status="validating", attempts=_jobs.c.attempts + 1,
                    lease_expires_at=now + LEASE,
                    started_at=func.coalesce(_jobs.c.started_at, literal(now, UtcDateTime()))))
        if taken.rowcount != 1:
            return None
        return uow.session.scalar(select(_jobs.c.attempts).where(_jobs.c.id == import_id))


def _held(import_id, claim):
    return and_(_jobs.c.id == import_id, _jobs.c.attempts == claim,
                _jobs.c.status.in_(RUNNING))


def _renew(db, import_id, claim, **values):
    with db.unit_of_work() as uow:
        _renew_in(uow.session, import_id, claim, **values)


def _renew_in(session, import_id, claim, **values):
    done = session.execute(update(_jobs).where(_held(import_id, claim))
                           .values(lease_expires_at=utcnow() + LEASE, **values))
    if done.rowcount != 1:
        raise LostClaim(import_id)


def _owned(session, import_id, claim):
    """The job, locked for this transaction: the UPDATE comes first, so the claim cannot
    change hands before this transaction ends."""
    _renew_in(session, import_id, claim)
    return session.get(ResidentImport, import_id)


def _progress_writer(db, import_id, claim):
    def record(done, total):
        _renew(db, import_id, claim, rows_checked=done, rows_total=total)
        eventlet.sleep(0)   # validating is plain Python: let RPCs and heartbeats run between
    return record


def _finish(job, report, status, counts):
    job.status = status
    job.rows_total = report.total_rows
    if not report.file_errors:
        job.rows_checked = report.total_rows
    job.counts = {"residents_created": 0, "residents_updated": 0, "residents_unchanged": 0,
                  "units_created": 0, "contact_points_created": 0, **counts,
                  "rows_invalid": len(report.invalid_lines),
                  "errors_total": len(report.errors), "warnings_total": len(report.warnings)}
    job.errors = [asdict(e) for e in report.errors[:MAX_LISTED]]
    job.warnings = [asdict(w) for w in report.warnings[:MAX_LISTED]]
    job.file_errors = [{"line": e.line, "column": None, "message": e.message}
                       for e in report.file_errors]
    _close(job)


def _close(job):
    job.finished_at = utcnow()
    job.lease_expires_at = None
    job.data = None   # personal data, needed no more


def _fail(db, import_id, claim):
    try:
        with db.unit_of_work() as uow:
            _fail_in(_owned(uow.session, import_id, claim))
        return "failed"
    except Exception:
        # the lease runs out and the job is tried again, MAX_ATTEMPTS times at most
        log.exception("import %s could not be marked failed", import_id)
        return None


def _fail_in(job):
    job.status = "failed"
    job.file_errors = [{"line": None, "column": None, "message": FAILED}]
    _close(job)


def claimable_imports(db):
    """Jobs to run: waiting, or left running by a runner that stopped renewing its lease.
    Those tried MAX_ATTEMPTS times are failed instead."""
    now = utcnow()
    with db.unit_of_work() as uow:
        for job in uow.session.scalars(select(ResidentImport).where(
                _claimable(now), ResidentImport.attempts >= MAX_ATTEMPTS)):
            _fail_in(job)
    with db.read() as session:
        return list(session.scalars(select(ResidentImport.id).where(_claimable(now))
                                    .order_by(ResidentImport.created_at)))


def release_imports(db, claims):
    """Hand unfinished jobs back as pending (a stopping service), for any runner to redo."""
    with db.unit_of_work() as uow:
        for import_id, claim in claims.items():
            uow.session.execute(update(_jobs).where(_held(import_id, claim))
                                .values(status="pending", lease_expires_at=None))


class ImportJobs(DependencyProvider):
    """Runs import jobs beside the service's workers: new ones at once, unfinished ones at
    start and every SWEEP_SECONDS. On stop, running jobs are killed (their transaction rolls
    back) and handed back as pending, so a stop never waits for a large file."""

    def setup(self):
        self.threads, self.claims = {}, {}
        self.running = False

    def start(self):
        self.running = True
        self.container.spawn_managed_thread(self._sweep, identifier="resident-import-sweep")

    def stop(self):
        self.running = False
        claims = dict(self.claims)   # a killed run forgets its claim on the way out
        for thread in list(self.threads.values()):
            thread.kill()
        if claims:
            release_imports(self._db(), claims)

    def kill(self):
        self.running = False
        for thread in list(self.threads.values()):
            thread.kill()

    def get_dependency(self, worker_ctx):
        return self

    def run_soon(self, import_id):
        if self.running and import_id not in self.threads:
            self.threads[import_id] = self.container.spawn_managed_thread(
                lambda: self._run(import_id), identifier=f"resident-import-{import_id}")

    def _run(self, import_id):
        try:
            run_import(self._db(), import_id, self.claims)
        finally:
            self.threads.pop(import_id, None)

    def _sweep(self):
        while self.running:
            try:
                for import_id in claimable_imports(self._db()):
                    self.run_soon(import_id)
            except Exception:   # the database may be away for a moment: try again later
                log.exception("looking for unfinished imports failed")
            eventlet.sleep(SWEEP_SECONDS)

    def _db(self):
        return next(d.handle for d in self.container.dependencies if isinstance(d, Database))


class ResidentImports:
    import_jobs = ImportJobs()

    @rpc
    def start_import(self, identity, community_id, data_base64, filename=None,
                     import_valid_rows=False, default_region=None, idempotency_key=None):
        """Store a CSV file as an import job of the community and start it; answer its view."""
        caller = Caller.of(identity)
        settings = self.config.get("directory") or {}

        def work(uow):
            community = policy.community_for_change(uow.session, caller, community_id)
            data = csv_rows.uploaded(data_base64,
                                     int(settings.get("import_max_bytes", IMPORT_MAX_BYTES)))
            region = _region(default_region or settings.get("default_phone_region") or "US")
            job = ResidentImport(
                id=new_id("imp"), organization_id=community.organization_id,
                community_id=community.id, requested_by=caller.actor_id, filename=filename,
                data=data, import_valid_rows=bool(import_valid_rows), default_region=region,
                status="pending", attempts=0, rows_checked=0, counts={}, errors=[],
                warnings=[], file_errors=[], created_at=utcnow())
            uow.session.add(job)
            uow.session.flush()
            return import_view(job)

        request = {"start_import": [community_id, data_base64, filename,
                                    bool(import_valid_rows), default_region]}
        view = idempotency.once(self.db, idempotency.caller_scope(caller), idempotency_key,
                                request, work)
        # a replayed request starts nothing twice: only one runner can claim the job
        self.import_jobs.run_soon(view["id"])
        return view

    @rpc
    def get_import(self, identity, import_id):
        caller = Caller.of(identity)
        with self.db.read() as session:
            job = session.get(ResidentImport, import_id)
            if job is None or not caller.owns(job.organization_id):
                raise NotFound(f"import {import_id} does not exist", "import_id")
            caller.require("manage_directory", job.community_id)
            return import_view(job)
