"""B2: ledger holds and settlements per second — the real CreditsService code against a real
database made for the run (an SQLite file in a temporary folder; a PostgreSQL database created
and dropped again), migrated with the service's Alembic migrations.

The service runs in-process (`bench.ledger_driver`: worker_factory with a real database
handle, green threads, as a credits process runs them), so RabbitMQ is not part of what B2
measures. Scenarios: `spread` (communications of small batches over 1,000 community wallets)
and `hot` (larger batches, every one on one wallet). Each runs on a fresh database: holds
(one reserve per communication), settle (one deliveries_updated event per communication),
end to end (other communications reserved and settled in turn), then a check that the
ledger is exact.
"""

import json
import queue
import subprocess
import sys
import threading

from sqlalchemy import func, select

from bench import isolation
from bench.measure import BenchTimeout, Deadline, latency_figures, rate
from servicekit import migrate
from servicekit.db import DatabaseHandle, create_db_engine
from services.credits import ledger, store
from services.credits.models import Account, Base, Entry, Hold, HoldResolution

SCENARIOS = {
    # name: (wallets, deliveries per communication)
    "spread": (1_000, 20),
    "hot": (1, 100),
}
DATABASES = ("sqlite", "postgresql")
ORGANIZATION = "org_bench"
SENDER = {"actor_type": "api_key", "actor_id": "key_bench", "organization_id": ORGANIZATION,
          "permissions": ["send_communications", "manage_credits", "view_reports"]}
CREDITS_PER_DELIVERY = 1
STAGES = ("holds", "settle", "end_to_end")
OPENING_CREDITS = 10_000_000
SEED_CHUNK = 200
STOP_GRACE_SECONDS = 10


def measure(holds, processes, workers, timeout, databases=DATABASES, scenarios=SCENARIOS):
    """[{database, scenario, wallets, batch, count, holds, settle, end_to_end, check}] for
    `holds` holds per stage (figures of a stage: holds_per_s, seconds, p50_ms, p99_ms)."""
    deadline = Deadline(timeout, "B2 ledger")
    found = []
    for database in databases:
        for scenario in scenarios:
            with isolation.service_database(database, "credits", "b2") as url:
                found.append(_scenario(url, database, scenario, holds, processes, workers,
                                       deadline))
    return found


def communication(number, communities, batch):
    """The number-th communication of a run: which community sends it, to whom."""
    return {"id": f"cmm_{number:07d}", "community": communities[number % len(communities)],
            "deliveries": [f"dlv_{number:07d}_{k:04d}" for k in range(batch)]}


def _scenario(url, database, scenario, holds, processes, workers, deadline):
    wallets, batch = SCENARIOS[scenario]
    calls = max(1, holds // batch)
    communities = [f"com_{n:04d}" for n in range(wallets)]
    migrate.upgrade("credits", {"DATABASE_URL": url})
    engine = create_db_engine(url)
    try:
        handle = DatabaseHandle(engine, Base.metadata)
        _open_wallets(handle, communities)
        drivers = [_Driver({"url": url, "communities": communities, "batch": batch,
                            "workers": workers, "offset": calls,
                            "numbers": list(range(index, calls, processes))})
                   for index in range(processes)]
        try:
            for driver in drivers:
                driver.expect_ready(deadline)
            timed = {stage: _stage(drivers, stage, deadline) for stage in STAGES}
        finally:
            for driver in drivers:
                driver.stop()
        placed = _placed(communities, batch, 2 * calls)
        check = _check(handle, placed)
    finally:
        engine.dispose()
    figures = {"database": database, "scenario": scenario, "wallets": wallets, "batch": batch,
               "count": calls * batch, "processes": processes, "workers": workers,
               "check": check}
    for stage, (seconds, latencies) in timed.items():
        p50, p99 = latency_figures(latencies)
        figures[stage] = {"holds_per_s": rate(calls * batch, seconds), "seconds": seconds,
                          "p50_ms": p50, "p99_ms": p99}
    return figures


def _open_wallets(handle, communities):
    """Every wallet starts with OPENING_CREDITS, granted through the ledger's own code."""
    owners = [ledger.owner("community", c) for c in communities]
    for start in range(0, len(owners), SEED_CHUNK):
        chunk = owners[start:start + SEED_CHUNK]
        with handle.unit_of_work() as uow:
            ids = store.accounts(uow.session, ORGANIZATION, chunk)
            for owner in chunk:
                store.post(uow.session, ORGANIZATION, ids, "grant",
                           ledger.purchase(owner, OPENING_CREDITS), actor="bench",
                           reason="B2 opening credits", idempotency_key=f"b2-open-{owner}")


def _stage(drivers, stage, deadline):
    """(seconds from the first process starting to the last finishing, every latency)."""
    for driver in drivers:
        driver.send(stage)
    answers = [driver.expect_json(deadline, stage) for driver in drivers]
    failed = sum(a["failed"] for a in answers)
    if failed:
        errors = [e for a in answers for e in a["errors"]]
        raise RuntimeError(f"{stage}: {failed} calls failed, e.g. {errors[:2]}")
    # time.monotonic() is one clock for every process of the machine
    seconds = max(a["ended"] for a in answers) - min(a["started"] for a in answers)
    return seconds, [s for a in answers for s in a["latencies"]]


def _placed(communities, batch, calls):
    """Credits held (and then settled) per wallet, from the plan itself."""
    placed = {ledger.owner("community", c): 0 for c in communities}
    for number in range(calls):
        community = communication(number, communities, 0)["community"]
        placed[ledger.owner("community", community)] += batch * CREDITS_PER_DELIVERY
    return placed


def _check(handle, placed):
    """The ledger is exact: every transaction balances, every hold was settled exactly once,
    each wallet holds its opening credits less what was settled on it and nothing is held,
    and usage counts every credit settled."""
    problems = []
    settled_total = sum(placed.values())
    with handle.read() as session:
        unbalanced = session.scalar(select(func.count()).select_from(
            select(Entry.transaction_id).group_by(Entry.transaction_id)
            .having(func.sum(Entry.amount) != 0).subquery()))
        holds = session.scalar(select(func.count()).select_from(Hold))
        unresolved = session.scalar(
            select(func.count()).select_from(Hold)
            .outerjoin(HoldResolution, HoldResolution.hold_id == Hold.id)
            .where(HoldResolution.hold_id.is_(None)))
        outcomes = dict(session.execute(
            select(HoldResolution.outcome, func.count()).group_by(HoldResolution.outcome)).all())
        usage = session.scalar(
            select(func.coalesce(func.sum(Entry.amount), 0))
            .join(Account, Account.id == Entry.account_id)
            .where(Account.organization_id == ORGANIZATION, Account.kind == "usage"))
        wallets = store.balances(session, ORGANIZATION, list(placed))
    if unbalanced:
        problems.append(f"{unbalanced} transactions do not balance")
    if holds * CREDITS_PER_DELIVERY != settled_total:
        problems.append(f"{holds} holds placed; the plan placed {settled_total} credits")
    if unresolved:
        problems.append(f"{unresolved} holds unresolved")
    if outcomes != {"settled": holds}:
        problems.append(f"resolutions {outcomes}, expected {holds} settled")
    if usage != settled_total:
        problems.append(f"usage counts {usage} credits, {settled_total} were settled")
    wrong = [f"{w}: {found} (expected balance {OPENING_CREDITS - placed[w]}, held 0)"
             for w, found in wallets.items()
             if (found["balance"], found["held"]) != (OPENING_CREDITS - placed[w], 0)]
    if wrong:
        problems.append(f"{len(wrong)} wallets wrong, e.g. {wrong[0]}")
    return {"exact": not problems, "problems": problems, "holds": holds,
            "settled_credits": int(usage), "wallets_checked": len(wallets)}


class _Driver:
    """One `bench.ledger_driver` process, spoken to line by line."""

    def __init__(self, plan):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.ledger_driver", json.dumps(plan)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            bufsize=1)
        self.lines = queue.Queue()
        self.stderr = []
        threading.Thread(target=self._read, args=(self.process.stdout, self.lines.put),
                         daemon=True).start()
        threading.Thread(target=self._read, args=(self.process.stderr, self.stderr.append),
                         daemon=True).start()

    @staticmethod
    def _read(stream, put):
        for line in stream:
            put(line)
        put("")

    def send(self, line):
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def expect_ready(self, deadline):
        line = self._line(deadline, "driver start")
        if line.strip() != "ready":
            raise RuntimeError(f"ledger driver did not start: {line}{self._said()}")

    def expect_json(self, deadline, what):
        line = self._line(deadline, what)
        if not line:
            raise RuntimeError(f"ledger driver exited during {what}:{self._said()}")
        return json.loads(line)

    def _line(self, deadline, what):
        try:
            return self.lines.get(timeout=max(deadline.remaining(), 0.01))
        except queue.Empty:
            raise BenchTimeout(f"B2 {what}: gave up after {deadline.seconds:.0f}s") from None

    def _said(self):
        return "\n" + "".join(self.stderr[-30:])

    def stop(self):
        if self.process.poll() is None:
            try:
                self.send("quit")
                self.process.wait(STOP_GRACE_SECONDS)
            except (OSError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait()
