"""`python -m bench.ledger_driver '<json plan>'`: one process driving the real CreditsService
for B2 the way a credits service process runs — eventlet green threads, a green PostgreSQL
driver — but in-process (nameko's worker_factory with a real database handle), so the broker
is not part of what is measured.

Plan: {url, communities, numbers, offset, batch, workers}: this process's communications are
`numbers` (and `numbers` + `offset` for end to end). It prints "ready", then for each stage
named on stdin (holds, settle, end_to_end) runs them with `workers` green threads and prints
one JSON line: {started, ended, latencies, calls, failed, errors}; it exits on "quit" or when
stdin closes (the bench that started it is gone).
- holds: one reserve per communication, `batch` deliveries of 1 credit each;
- settle: one deliveries_updated event per communication, every delivery delivered;
- end_to_end: other communications, each reserved and then settled by one green thread.
"""

import eventlet

eventlet.monkey_patch()  # before anything imports socket, threading or time

import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

from eventlet.greenpool import GreenPool  # noqa: E402
from nameko.testing.services import worker_factory  # noqa: E402

from bench.ledger import CREDITS_PER_DELIVERY, ORGANIZATION, SENDER, communication  # noqa: E402
from contracts.events import envelope  # noqa: E402
from servicekit.db import DatabaseHandle, create_db_engine  # noqa: E402
from servicekit.postgres import make_green  # noqa: E402
from services.credits.models import Base  # noqa: E402
from services.credits.service import CreditsService  # noqa: E402

make_green()

MAX_ERRORS_KEPT = 3


def stages(plan):
    """Which communications each stage works on, in this process."""
    first = [communication(n, plan["communities"], plan["batch"]) for n in plan["numbers"]]
    then = [communication(n + plan["offset"], plan["communities"], plan["batch"])
            for n in plan["numbers"]]
    return {"holds": (first, _reserve), "settle": (first, _settle),
            "end_to_end": (then, lambda service, c: _settle(service, _reserve(service, c)))}


def main(argv):
    plan = json.loads(argv[0])
    engine = create_db_engine(plan["url"], pool_size=plan["workers"] + 2)
    handle = DatabaseHandle(engine, Base.metadata)

    def service():
        # a fresh instance per call, as nameko makes one worker per call
        return worker_factory(CreditsService, db=handle, config={})

    work = stages(plan)
    print("ready", flush=True)
    try:
        for line in sys.stdin:
            name = line.strip()
            if name == "quit":
                return
            communications, step = work[name]
            print(json.dumps(_run(communications, step, service, plan["workers"])), flush=True)
    finally:
        engine.dispose()


def _run(communications, step, service, workers):
    latencies, errors = [], []

    def timed(item):
        began = time.monotonic()
        try:
            step(service, item)
        except Exception as exc:  # counted and reported; the bench fails the phase
            if len(errors) < MAX_ERRORS_KEPT:
                errors.append(f"{item['id']}: {type(exc).__name__}: {exc}"[:300])
            return
        latencies.append(time.monotonic() - began)

    pool = GreenPool(workers)
    started = time.monotonic()
    for item in communications:
        pool.spawn_n(timed, item)
    pool.waitall()
    return {"started": started, "ended": time.monotonic(), "latencies": latencies,
            "calls": len(communications), "failed": len(communications) - len(latencies),
            "errors": errors}


def _reserve(service, item):
    items = [{"delivery_id": d, "amount": CREDITS_PER_DELIVERY} for d in item["deliveries"]]
    reserved = service().reserve(SENDER, item["community"], item["id"], items,
                                 f"reserve:{item['id']}")
    item["holds"] = reserved["holds"]
    return item


def _settle(service, item):
    """What messaging emits when a batch of deliveries ended delivered."""
    service().resolve_holds(envelope("deliveries_updated", {
        "communication_id": item["id"], "community_id": item["community"],
        "items": [{"delivery_id": h["delivery_id"], "resident_id": "res_bench",
                   "channel": "sms", "status": "delivered", "previous_status": "sent",
                   "reason": None, "error_code": None, "credits": h["amount"],
                   "hold_id": h["hold_id"]} for h in item["holds"]]},
        organization_id=ORGANIZATION))


if __name__ == "__main__":
    main(sys.argv[1:])
