"""The audience of an announcement bench: a community of N residents, each with a phone of
their own, made through Townhall's own API as a master user would onboard a property — the
community (POST /v1/communities), its opening credits (POST /v1/credits/wallets/…/grants) and
the residents from one CSV file (POST /v1/communities/{id}/imports, followed to its end) —
never by writing another service's tables. Seeding is timed but is not part of B3's clock."""

import time

from bench.measure import Deadline, rate
from bench.system import HTTP_TIMEOUT_SECONDS
from servicekit.testing import midday_timezone

MASTER = "master@maplegrove.example"
RESIDENTS_PER_UNIT = 2
# real North American numbers, so that directory's phone check (phonenumbers) takes them:
# area code 202, exchanges 200-999 without N11 (service codes) and 555 (directory
# assistance), every line 0000-9999: far more than an import may hold (20,000 rows)
AREA_CODE = 202
EXCHANGES = tuple(e for e in range(200, 1000) if e % 100 != 11 and e != 555)
FINISHED = ("completed", "rejected", "failed")
POLL_SECONDS = 0.25


def phone(number):
    """The E.164 phone of the `number`-th bench resident (distinct for every number)."""
    exchange, line = divmod(number, 10_000)
    if exchange >= len(EXCHANGES):
        raise ValueError(f"no bench phone numbered {number}")
    return f"+1{AREA_CODE}{EXCHANGES[exchange]}{line:04d}"


def residents_csv(count, first=0):
    """The import file: `count` residents, two to a unit, phones numbered from `first`."""
    lines = ["unit,first_name,last_name,phone,kind"]
    for n in range(first, first + count):
        unit = f"B{n // RESIDENTS_PER_UNIT:05d}"
        kind = "owner" if n % RESIDENTS_PER_UNIT == 0 else "tenant"
        lines.append(f"{unit},Bench,Resident {n:05d},{phone(n)},{kind}")
    return ("\n".join(lines) + "\n").encode()


def seed_community(town, name, count, credits, timeout, first=0):
    """{community_id, residents, seconds, rows_per_s}: a new community of the demo
    organization with `count` residents and `credits` credits in its wallet."""
    deadline = Deadline(timeout, f"seeding {count:,} residents")
    master = town.staff_session(MASTER)
    url = town.gateway_url
    office = town.demo["offices"][0]["id"]
    made = master.post(f"{url}/v1/communities", timeout=HTTP_TIMEOUT_SECONDS,
                       headers={"Idempotency-Key": f"bench-community-{town.run}-{name}"},
                       json={"name": name, "office_id": office,
                             "timezone": midday_timezone()})
    _expect(made, 201, f"creating community {name!r}")
    community = made.json()["id"]
    granted = master.post(f"{url}/v1/credits/wallets/community:{community}/grants",
                          timeout=HTTP_TIMEOUT_SECONDS,
                          headers={"Idempotency-Key": f"bench-credits-{community}"},
                          json={"amount": credits, "reason": "bench opening balance"})
    _expect(granted, 201, f"granting {credits} credits to {community}")
    data = residents_csv(count, first)
    started = time.perf_counter()
    answer = master.post(f"{url}/v1/communities/{community}/imports", data=data,
                         params={"filename": f"bench-{count}.csv"},
                         headers={"Content-Type": "text/csv"}, timeout=HTTP_TIMEOUT_SECONDS)
    _expect(answer, 202, f"importing {count:,} residents")
    job = answer.json()
    while job["status"] not in FINISHED:
        town.check_running("residents were imported")
        deadline.check(f"import {job['id']} {job['status']}, {job.get('rows_checked')} of "
                       f"{job.get('rows_total')} rows checked")
        time.sleep(POLL_SECONDS)
        view = master.get(f"{url}{answer.headers['Location']}", timeout=HTTP_TIMEOUT_SECONDS)
        _expect(view, 200, f"following import {job['id']}")
        job = view.json()
    seconds = time.perf_counter() - started
    created = (job.get("counts") or {}).get("residents_created")
    if job["status"] != "completed" or created != count:
        raise RuntimeError(f"import of {count:,} residents ended {job['status']} with "
                           f"{created} created: {job.get('file_errors') or job.get('errors')}")
    return {"community_id": community, "residents": count, "seconds": seconds,
            "rows_per_s": rate(count, seconds)}


def _expect(answer, status, what):
    if answer.status_code != status:
        raise RuntimeError(f"{what}: {answer.status_code} {answer.text[:500]}")
