"""An emergency overtakes a large ordinary send held back by its sender's rate limit, through
the whole system: a stack of its own whose one number sends 4 segments a second, an ordinary
announcement of 80 texts (20 s of budget), and, once it is under way, an emergency to 20 of
the same residents. The emergency's texts reach the provider together — no more ordinary
ones between its first and its last than were already granted when it came (one second's
burst) — and long before the ordinary backlog is done; the rate still holds for both."""

import time
import uuid

import pytest
import requests

pytestmark = pytest.mark.e2e

SEGMENTS_PER_SECOND = 4           # the burst is one second's worth: 4
ORDINARY, URGENT = 80, 20
MASTER = "master@maplegrove.example"


@pytest.fixture(scope="module")
def slow(own_system):
    senders = f'[{{"number": "+15550000000", "segments_per_second": {SEGMENTS_PER_SECOND}}}]'
    with own_system(TOWNHALL_MESSAGING__SENDERS=senders) as system:
        yield system


def residents_csv(count):
    """Two residents to a unit, each with a phone of their own (the stack is this test's)."""
    lines = ["unit,first_name,last_name,phone"]
    for n in range(count):
        lines.append(f"{n // 2 + 1},Res,Ident {n:03d},+1202234{n:04d}")
    return ("\n".join(lines) + "\n").encode()


def town_of(system, master, count):
    """A community of the demo organization with `count` residents, each a phone of their
    own, onboarded by one CSV import. Answers (community id, resident ids)."""
    run = int(uuid.uuid4().hex[:6], 16)
    office = system.demo["offices"][0]["id"]
    made = master.post(f"{system.url}/v1/communities", timeout=30, json={
        "name": f"Backlog Bay-{run:06x}", "office_id": office,
        "timezone": system.env["TOWNHALL_SEED__TIMEZONE"]})
    assert made.status_code == 201, made.text
    community = made.json()["id"]
    started = master.post(f"{system.url}/v1/communities/{community}/imports", timeout=30,
                          data=residents_csv(count),
                          headers={"Content-Type": "text/csv"})
    assert started.status_code == 202, started.text
    deadline = time.monotonic() + 60
    job = started.json()
    while job["status"] not in ("completed", "rejected", "failed"):
        assert time.monotonic() < deadline, f"import still {job['status']}"
        time.sleep(0.25)
        job = master.get(f"{system.url}{started.headers['Location']}", timeout=30).json()
    assert job["status"] == "completed", job
    residents = master.get(f"{system.url}/v1/residents", timeout=30, params={
        "community_id": community, "limit": 200}).json()["items"]
    assert len(residents) == count
    return community, [r["id"] for r in residents]


def sent_texts(system):
    """Every text the provider received, in the order it made them."""
    return requests.get(f"{system.twilio_url}/_sandbox/messages", timeout=10).json()


def send(system, master, body, **fields):
    answer = master.post(f"{system.url}/v1/communications", timeout=30, json={
        "kind": "announcement", "channels": ["sms"], "category_id": system.demo["category_id"],
        "body": body, **fields})
    assert answer.status_code == 202, answer.text
    return answer.json()["id"]


def test_an_emergency_overtakes_a_rate_limited_ordinary_backlog(slow):
    master = slow.staff(MASTER)
    community, residents = town_of(slow, master, ORDINARY)
    run = uuid.uuid4().hex[:6]
    ordinary_body = f"Pool schedule for the summer {run}"
    urgent_body = f"Gas leak in building B: leave now {run}"
    ordinary = send(slow, master, ordinary_body, recipients={"communities": [community]})
    deadline = time.monotonic() + 60
    while sum(ordinary_body in m["body"] for m in sent_texts(slow)) < 2 * SEGMENTS_PER_SECOND:
        assert time.monotonic() < deadline, "the ordinary send did not start"
        time.sleep(0.2)
    emergency = send(slow, master, urgent_body, recipients={"residents": residents[:URGENT]},
                     emergency=True, emergency_reason="Gas leak in building B")
    slow.wait_until_done(emergency, timeout=120)
    slow.wait_until_done(ordinary, timeout=120)

    kinds = [("urgent" if urgent_body in m["body"] else "ordinary")
             for m in sent_texts(slow) if run in m["body"]]
    assert kinds.count("urgent") == URGENT and kinds.count("ordinary") == ORDINARY
    first, last = kinds.index("urgent"), len(kinds) - 1 - kinds[::-1].index("urgent")
    # together: only what was granted before the emergency came may fall between them
    between = kinds[first:last + 1].count("ordinary")
    assert between <= SEGMENTS_PER_SECOND, (between, "".join(k[0] for k in kinds))
    # long before the backlog was done: most of it went after the emergency
    assert kinds[last + 1:].count("ordinary") >= ORDINARY // 2, "".join(k[0] for k in kinds)
