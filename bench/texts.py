"""Texts through the gateway: N single texts, each its own `POST /v1/communications` to one
resident, through the whole running system (every service, the gateway and the Twilio
sandbox as their own processes, started the way the project starts them: bench/system.py),
timed from the first POST until the delivery report counts every one `delivered`."""

import itertools
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import requests

from bench import system
from bench.measure import Deadline, latency_figures, rate
from contracts.vocabulary import TERMINAL_STATUSES

POLL_SECONDS = 0.1
HTTP_TIMEOUT_SECONDS = 30


def measure(count, senders, postgres, timeout):
    """{texts_per_s, accepted_per_s, post_p50_ms, post_p99_ms, database} for `count` texts."""
    database = "postgresql" if postgres else "sqlite"
    # a negative balance does not block sending, but keep the run far from it anyway
    with system.running(database, "texts", credits_per_community=max(500, 4 * count)) as town:
        result = _send_and_follow(town.stack, town.demo, count, senders,
                                  Deadline(timeout, "texts"))
    result["database"] = database
    return result


def _send_and_follow(stack, demo, count, senders, deadline):
    # the texts go to one community's residents, whose delivery report is what is followed
    community = demo["communities"][0]["id"]
    residents = [r["id"] for r in demo["residents"]
                 if r["community_id"] == community and "texts off" not in r["name"]]
    headers = {"Authorization": f"Bearer {demo['api_key']}"}
    bodies = [{"kind": "message", "channels": ["sms"],
               "recipients": {"residents": [resident]},
               "category_id": demo["category_id"], "body": f"Bench text {number}"}
              for number, resident in zip(range(count), itertools.cycle(residents))]
    numbers = iter(range(count))
    lock = threading.Lock()
    latencies = []

    def sender(_index):
        with requests.Session() as session:
            session.headers.update(headers)
            while not deadline.expired():
                with lock:
                    number = next(numbers, None)
                if number is None:
                    return
                started = time.perf_counter()
                answer = session.post(f"{stack.gateway_url}/v1/communications",
                                      json=bodies[number], timeout=HTTP_TIMEOUT_SECONDS,
                                      headers={"Idempotency-Key": f"bench-{number}"})
                if answer.status_code != 202:
                    raise RuntimeError(f"text {number}: {answer.status_code} {answer.text}")
                latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    with ThreadPoolExecutor(senders, thread_name_prefix="bench-texts") as pool:
        list(pool.map(sender, range(senders)))
    accepted_at = time.perf_counter()
    deadline.check(f"{len(latencies)} of {count} texts accepted")
    delivered_at = _wait_delivered(stack, community, headers, count, deadline)
    p50, p99 = latency_figures(latencies)
    return {"texts_per_s": rate(count, delivered_at - started),
            "accepted_per_s": rate(count, accepted_at - started),
            "post_p50_ms": p50, "post_p99_ms": p99, "seconds": delivered_at - started}


def _wait_delivered(stack, community, headers, count, deadline):
    url = f"{stack.gateway_url}/v1/reports/deliveries"
    counts = {}
    with requests.Session() as session:
        session.headers.update(headers)
        while True:
            answer = session.get(url, params={"community_id": community},
                                 timeout=HTTP_TIMEOUT_SECONDS)
            answer.raise_for_status()
            counts = answer.json().get("counts") or {}
            if counts.get("delivered", 0) >= count:
                if sum(counts.values()) != count:
                    raise RuntimeError(f"the report counts {counts} for {count} texts sent")
                return time.perf_counter()
            terminal = sum(counts.get(status, 0) for status in TERMINAL_STATUSES)
            if terminal >= count:
                raise RuntimeError(f"every text is terminal but not all delivered: {counts}")
            if stack.exited():
                raise RuntimeError(f"processes exited while texts were sent: {stack.exited()}")
            deadline.check(f"delivery report counts {counts}")
            time.sleep(POLL_SECONDS)
