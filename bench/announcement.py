"""One SMS announcement to a whole community, followed from its `202` until it is done:
every delivery final, the credits settled (nothing held, the charge equal to the credits of
the delivered deliveries) and the delivery report exact (its counts equal messaging's).

What it measures: recipients per second over that span, Townhall's own CPU seconds per
delivery over it (bench/cpu.py), and — with a sampler — the accept latency of
`POST /v1/communications` for small sends made while the announcement runs. What it checks
after the clock stops: the deliveries' CSV agrees with the counts and the charge, and the
Twilio sandbox received exactly one create per phone.

The rules that say whether a send is done and whether its records agree are pure functions
(`unsettled`, `deliveries_problems`, `provider_problems`), tested without I/O.
"""

import csv
import io
import threading
import time
import uuid

from bench import cpu
from bench.measure import BenchTimeout, latency_figures, rate
from bench.system import HTTP_TIMEOUT_SECONDS
from contracts.vocabulary import CHARGED_STATUSES, TERMINAL_STATUSES

POLL_SECONDS = 0.25  # polling costs Townhall CPU too: often enough, not more
SAMPLE_EVERY_SECONDS = 0.1
SAMPLER_ALONE_SECONDS = 5    # the sampler's own CPU cost is measured first, alone
SAMPLER_SETTLE_SECONDS = 2   # for its last sends to be delivered, settled and counted
FINAL_COMMUNICATION = "completed"
NEVER_HANDED_OVER = frozenset({"suppressed", "cancelled"})
BODY = "Water shut-off on Tuesday 9:00-12:00 for boiler work. Thank you for your patience."


# --- the rules: is it done, do the records agree ------------------------------------------


def unsettled(view, report_counts, expected):
    """What is not yet true of a send of `expected` deliveries, as words (empty: done).

    view: GET /v1/communications/{id}; report_counts: the delivery report's counts for
    this send (the community's report, less what it counted before the send)."""
    waiting = []
    status = view.get("status")
    if status != FINAL_COMMUNICATION:
        waiting.append(f"status {status}")
    counts = {s: n for s, n in (view.get("counts") or {}).items() if n}
    total = sum(counts.values())
    if total != expected:
        waiting.append(f"{total:,} of {expected:,} deliveries made")
    open_ = {s: n for s, n in counts.items() if s not in TERMINAL_STATUSES}
    if open_:
        waiting.append("not final: " + ", ".join(f"{s} {n:,}" for s, n in sorted(open_.items())))
    held = (view.get("credits") or {}).get("held")
    if held:
        waiting.append(f"holds open: {held:,} credits held")
    report = {s: n for s, n in (report_counts or {}).items() if n}
    if report != counts:
        waiting.append(f"report counts {_counts(report)} != messaging {_counts(counts)}")
    return waiting


def milestones_reached(view, expected):
    """Which of the steps before a send is done its view shows reached: `final` (every
    delivery made and terminal) and `settled` (final, and no credit held)."""
    counts = view.get("counts") or {}
    final = (sum(counts.values()) == expected
             and all(s in TERMINAL_STATUSES for s, n in counts.items() if n))
    held = (view.get("credits") or {}).get("held")
    return {"final": final, "settled": final and not held}


def deliveries_problems(rows, view):
    """How the deliveries' CSV rows disagree with the send's view (empty: they agree):
    one row per delivery, the same counts by status, and the charge equal to the credits
    of the delivered ones (and of the unconfirmed: CHARGED_STATUSES)."""
    problems = []
    ids = [row.get("id") for row in rows]
    if len(set(ids)) != len(ids):
        problems.append(f"{len(ids) - len(set(ids))} delivery ids listed twice")
    counts = {}
    for row in rows:
        counts[row.get("status")] = counts.get(row.get("status"), 0) + 1
    expected = {s: n for s, n in (view.get("counts") or {}).items() if n}
    if counts != expected:
        problems.append(f"CSV counts {_counts(counts)} != messaging {_counts(expected)}")
    try:
        delivered = sum(int(row["credits"] or 0) for row in rows
                        if row["status"] in CHARGED_STATUSES)
    except (KeyError, ValueError) as exc:
        return [*problems, f"CSV credits unreadable: {exc!r}"]
    charged = (view.get("credits") or {}).get("charged")
    if charged != delivered:
        problems.append(f"charged {charged} != {delivered} credits of the delivered deliveries")
    return problems


def provider_problems(messages, phones, tag, counts):
    """How what the Twilio sandbox received disagrees with the send (empty: it agrees):
    each phone of the audience given at most one message of this send, and one create for
    every delivered delivery, none for those never handed over (suppressed, cancelled)."""
    phones = set(phones)
    created = {}
    for message in messages:
        if message.get("to") in phones and tag in (message.get("body") or ""):
            created[message["to"]] = created.get(message["to"], 0) + 1
    problems = []
    twice = sum(1 for n in created.values() if n > 1)
    if twice:
        problems.append(f"{twice:,} phones were sent this announcement more than once")
    handed = sum(n for s, n in counts.items() if s not in NEVER_HANDED_OVER)
    if not counts.get("delivered", 0) <= len(created) <= handed:
        problems.append(f"the provider received {len(created):,} creates for "
                        f"{counts.get('delivered', 0):,} delivered of {handed:,} handed over")
    return problems


def parse_csv(text):
    return list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))


def _counts(counts):
    return "{" + ", ".join(f"{s}: {n:,}" for s, n in sorted(counts.items())) + "}"


# --- the accept-latency sampler -------------------------------------------------------------


class Sampler:
    """Posts one small send (one resident, another community) every 100 ms, one at a time,
    and records how long each took to its `202`. A slot that comes while the last send
    still waits is skipped and counted: on this 2-core machine a small send costs Townhall
    about as much CPU as a hundred batched deliveries, so sends piling up would measure
    the sampler instead of the announcement."""

    def __init__(self, town, residents, every=SAMPLE_EVERY_SECONDS):
        self.town = town
        self.residents = residents
        self.every = every
        self.latencies = []
        self.errors = []
        self.skipped = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-accept-sampler",
                                        daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *_exc):
        self._stop.set()
        self._thread.join(HTTP_TIMEOUT_SECONDS + 5)

    def figures(self):
        """{sent, skipped, errors, p50_ms, p99_ms, first_error}"""
        p50, p99 = latency_figures(self.latencies) if self.latencies else (None, None)
        return {"sent": len(self.latencies), "skipped": self.skipped,
                "errors": len(self.errors), "p50_ms": p50, "p99_ms": p99,
                "first_error": self.errors[0] if self.errors else None}

    def _run(self):
        tag = uuid.uuid4().hex[:8]
        with self.town.key_session() as session:
            number = 0
            due = time.perf_counter()
            while not self._stop.is_set():
                self._send(session, tag, number)
                number += 1
                due += self.every
                late = time.perf_counter() - due
                if late > 0:  # the slots that passed while this send waited
                    missed = int(late // self.every) + 1
                    self.skipped += missed
                    due += missed * self.every
                self._stop.wait(max(0.0, due - time.perf_counter()))

    def _send(self, session, tag, number):
        resident = self.residents[number % len(self.residents)]
        started = time.perf_counter()
        try:
            answer = session.post(
                f"{self.town.gateway_url}/v1/communications", timeout=HTTP_TIMEOUT_SECONDS,
                headers={"Idempotency-Key": f"bench-sample-{tag}-{number}"},
                json={"kind": "message", "channels": ["sms"],
                      "recipients": {"residents": [resident]},
                      "category_id": self.town.demo["category_id"],
                      "body": f"Bench sample {number}"})
        except Exception as exc:  # a failed sample is a figure too
            self.errors.append(f"{type(exc).__name__}: {exc}")
            return
        if answer.status_code == 202:
            self.latencies.append(time.perf_counter() - started)
        else:
            self.errors.append(f"{answer.status_code} {answer.text[:200]}")


def sampler_cost(town, community_id):
    """Townhall CPU seconds per small send of the sampler, measured with the sampler alone
    (the processes' idle work in that span included), so that its share of an
    announcement's CPU can be taken out."""
    window = cpu.Window(cpu.townhall_processes(town.stack)).start()
    with Sampler(town, sampler_residents(town, community_id)) as alone:
        time.sleep(SAMPLER_ALONE_SECONDS)
    time.sleep(SAMPLER_SETTLE_SECONDS)
    window.stop()
    sent = len(alone.latencies)
    return window.total / sent if sent else None


def sampler_residents(town, community_id):
    """Residents of the demo outside the announced community who take texts."""
    return [r["id"] for r in town.demo["residents"]
            if r["community_id"] != community_id and "texts off" not in r["name"]
            and r.get("phone")]


# --- one announcement, measured -------------------------------------------------------------


def announce(town, community_id, expected, phones, deadline, sample=False):
    """Send one SMS announcement to every resident of `community_id` and follow it until
    done (`unsettled` is empty). Answers the figures; raises BenchTimeout naming what was
    still being waited for when `deadline` passes."""
    tag = uuid.uuid4().hex[:8]
    body = {"kind": "announcement", "channels": ["sms"],
            "recipients": {"communities": [community_id]},
            "category_id": town.demo["category_id"], "body": f"{BODY} [{tag}]"}
    url = town.gateway_url
    per_sample = sampler_cost(town, community_id) if sample else None
    with town.key_session() as session:
        baseline = _report(session, url, community_id)
        window = cpu.Window(cpu.townhall_processes(town.stack))
        sampler = Sampler(town, sampler_residents(town, community_id)) if sample else None
        with sampler or _Nothing():
            window.start()
            posted = time.perf_counter()
            answer = session.post(f"{url}/v1/communications", json=body,
                                  timeout=HTTP_TIMEOUT_SECONDS,
                                  headers={"Idempotency-Key": f"bench-announcement-{tag}"})
            accepted = time.perf_counter()
            if answer.status_code != 202:
                raise RuntimeError(f"announcement: {answer.status_code} {answer.text[:500]}")
            communication = answer.json()["id"]
            view, report, reached = _follow(town, session, communication, community_id,
                                            baseline, expected, deadline)
            done = time.perf_counter()
            window.stop()
        sampled = sampler.figures() if sampler else None
        problems = _verify(town, session, communication, view, phones, tag)
    deliveries = expected + (sampled["sent"] if sampled else 0)
    seconds = done - accepted
    net = None
    if per_sample is not None and window.total > per_sample * sampled["sent"]:
        # else the sampler's share as measured alone is all there is: nothing to tell apart
        net = cpu.per_delivery_ms(window.total - per_sample * sampled["sent"], expected)
    return {
        "communication_id": communication, "recipients": expected, "seconds": seconds,
        "recipients_per_s": rate(expected, seconds), "accept_ms": (accepted - posted) * 1000,
        "counts": view.get("counts"), "credits": view.get("credits"), "report": report,
        "cpu_seconds": window.total, "cpu_by_process": window.used,
        "townhall_cores": window.total / (done - posted), "machine_busy": window.machine_busy,
        "cpu_deliveries": deliveries, "cpu_ms_per_delivery": cpu.per_delivery_ms(
            window.total, deliveries),
        "cpu_ms_per_sample": None if per_sample is None else per_sample * 1000,
        "cpu_ms_per_delivery_net": net,
        "sampler": sampled, "problems": problems,
        # seconds after the 202 at which the follower first saw each step reached
        "milestones": {step: at - accepted for step, at in reached.items()},
        "pipeline": {k: view.get(k) for k in ("accepted_at", "started_at", "finished_at")},
    }


class _Nothing:
    def __enter__(self):
        return None

    def __exit__(self, *_exc):
        return False


def _follow(town, session, communication, community_id, baseline, expected, deadline):
    reached = {}
    while True:
        answer = session.get(f"{town.gateway_url}/v1/communications/{communication}",
                             timeout=HTTP_TIMEOUT_SECONDS)
        if answer.status_code != 200:
            raise RuntimeError(f"GET communication {communication}: {answer.status_code} "
                               f"{answer.text[:500]}")
        view = answer.json()
        for step, now in milestones_reached(view, expected).items():
            if now:
                reached.setdefault(step, time.perf_counter())
        # messaging's side first (its counts stand in for the report's); the report is
        # read once messaging is done, since polling costs Townhall CPU too
        waiting = unsettled(view, view.get("counts"), expected)
        if not waiting:
            report = _less(_report(session, town.gateway_url, community_id), baseline)
            waiting = unsettled(view, report, expected)
            if not waiting:
                reached["reported"] = time.perf_counter()
                return view, report, reached
        town.check_running(f"announcement {communication} was sent")
        if deadline.expired():
            report = _less(_report(session, town.gateway_url, community_id), baseline)
            raise BenchTimeout(f"{deadline.what}: gave up after {deadline.seconds:.0f}s "
                               f"waiting for announcement {communication}: "
                               f"{'; '.join(unsettled(view, report, expected))}")
        time.sleep(POLL_SECONDS)


def _report(session, url, community_id):
    answer = session.get(f"{url}/v1/reports/deliveries", params={"community_id": community_id},
                         timeout=HTTP_TIMEOUT_SECONDS)
    if answer.status_code != 200:
        raise RuntimeError(f"delivery report: {answer.status_code} {answer.text[:500]}")
    return answer.json().get("counts") or {}


def _less(counts, baseline):
    return {s: n - baseline.get(s, 0) for s, n in counts.items() if n - baseline.get(s, 0)}


def _verify(town, session, communication, view, phones, tag):
    answer = session.get(f"{town.gateway_url}/v1/communications/{communication}/deliveries",
                         params={"format": "csv"}, timeout=HTTP_TIMEOUT_SECONDS * 2)
    if answer.status_code != 200:
        return [f"deliveries CSV: {answer.status_code} {answer.text[:300]}"]
    problems = deliveries_problems(parse_csv(answer.text), view)
    sent = session.get(f"{town.twilio_url}/_sandbox/messages", timeout=HTTP_TIMEOUT_SECONDS * 2)
    sent.raise_for_status()
    return problems + provider_problems(sent.json(), phones, tag, view.get("counts") or {})
