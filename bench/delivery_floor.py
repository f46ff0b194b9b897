"""The delivery floor (issue 11, item 9): what this machine does for one text with no Townhall
in between — the official twilio client's creates against the Twilio sandbox, together with
the sandbox's two status callbacks per message to a receiver that only answers `204` — as
deliveries per second: floor = 1 / (1/creates + 2/callbacks).

Each term is measured alone, as the formula adds their costs: the sandbox holds the callbacks
(`hold_callbacks`) while the messages are created, then lets all 2N go, and the receiver times
them from the first to the last. The receiver runs in a process of its own
(`python -m bench.delivery_floor --port N`), as the gateway would, so its work does not share
an interpreter with the creating threads.
"""

import argparse
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import requests
from twilio.rest import Client

from bench.isolation import HOST
from bench.measure import Deadline, rate
from sandbox.launch import SandboxProcess, start_twilio_sandbox
from servicekit.testing import free_ports

THREADS = 8  # what one messaging instance hands the provider at once
FROM_NUMBER = "+15550000000"
BODY = "Water is off on Tuesday from 9 to 11 am while the main valve is replaced. - Maple Grove"
CALLBACKS_PER_MESSAGE = 2  # sent, then delivered


def measure(count, timeout, threads=THREADS):
    """{creates_per_s, callbacks_per_s, floor_per_s, threads} of `count` messages."""
    deadline = Deadline(timeout, "delivery floor")
    sandbox_port, receiver_port = free_ports(2)
    with (start_receiver(receiver_port) as receiver,
          start_twilio_sandbox(port=sandbox_port, callback_delay_ms=0,
                               hold_callbacks=True) as sandbox):
        creates_per_s = _create_all(sandbox, f"{receiver.url}/status", count, threads, deadline)
        sandbox.configure(hold_callbacks=False)
        counted = _wait_for_callbacks(receiver, sandbox, count, deadline)
        _check_each_callback_answered_once(sandbox, count, deadline)
    callbacks_per_s = rate(counted["received"], counted["last_at"] - counted["first_at"])
    return {
        "creates_per_s": creates_per_s,
        "callbacks_per_s": callbacks_per_s,
        "floor_per_s": floor(creates_per_s, callbacks_per_s),
        "threads": threads,
    }


def floor(creates_per_s, callbacks_per_s):
    """Deliveries per second when each costs one create and two callbacks."""
    return 1 / (1 / creates_per_s + CALLBACKS_PER_MESSAGE / callbacks_per_s)


def start_receiver(port):
    command = [sys.executable, "-m", "bench.delivery_floor", "--host", HOST, "--port", str(port)]
    url = f"http://{HOST}:{port}"
    return SandboxProcess(command, url, port, url)


def _create_all(sandbox, callback_url, count, threads, deadline):
    shares = [range(i, count, threads) for i in range(threads)]

    def create(numbers):
        client = Client(sandbox.account_sid, sandbox.auth_token)
        client.api.base_url = sandbox.url
        for made, number in enumerate(numbers):
            if deadline.expired():
                return made
            client.messages.create(to=f"+1555{number:07d}", from_=FROM_NUMBER, body=BODY,
                                   status_callback=callback_url)
        return len(numbers)

    started = time.perf_counter()
    with ThreadPoolExecutor(threads, thread_name_prefix="bench-floor") as pool:
        created = sum(pool.map(create, shares))
    seconds = time.perf_counter() - started
    deadline.check(f"{created} of {count} messages created")
    return rate(created, seconds)


def _wait_for_callbacks(receiver, sandbox, count, deadline):
    expected = CALLBACKS_PER_MESSAGE * count
    while True:
        counted = requests.get(f"{receiver.url}/count", timeout=5).json()
        if counted["received"] >= expected:
            return counted
        if deadline.expired():
            stats = requests.get(f"{sandbox.control_url}/stats", timeout=5).json()
            deadline.check(f"{counted['received']} of {expected} status callbacks received "
                           f"after they were let go; the sandbox made {stats['created']} "
                           "messages")
        time.sleep(0.02)


def _check_each_callback_answered_once(sandbox, count, deadline):
    """A floor only counts if every callback was taken at the first attempt, answered 204."""
    wanted = {("sent", 1, 204), ("delivered", 1, 204)}
    while True:
        attempts = [(c["status"], c["attempt"], c["http_status"], c["error"])
                    for message in sandbox.messages() for c in message["callbacks"]]
        # the receiver counts a post before it answers: the last answers may be on their way
        answering = sum(1 for *_, http_status, error in attempts
                        if http_status is None and error is None)
        if not answering:
            break
        deadline.check(f"{answering} status callbacks still waiting for the receiver's answer")
        time.sleep(0.02)
    wrong = [a for a in attempts if a[:3] not in wanted]
    if len(attempts) != CALLBACKS_PER_MESSAGE * count or wrong:
        raise RuntimeError(f"delivery floor: {len(attempts)} callback attempts for {count} "
                           f"messages; not answered 204 at once: {wrong[:5]}")


def serve_receiver(host, port):
    """The receiver that only answers: every POST is counted and answered 204, no body."""
    from aiohttp import web

    counted = {"received": 0, "first_at": None, "last_at": None}

    async def status(request):
        await request.read()
        now = time.monotonic()
        if counted["first_at"] is None:
            counted["first_at"] = now
        counted["last_at"] = now
        counted["received"] += 1
        return web.Response(status=204)

    async def count(_request):
        return web.json_response(counted)

    async def health(_request):
        return web.json_response({"status": "ok"})

    app = web.Application()
    app.router.add_post("/status", status)
    app.router.add_get("/count", count)
    app.router.add_get("/health", health)
    web.run_app(app, host=host, port=port, access_log=None, print=None)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.delivery_floor",
                                     description="the delivery floor's callback receiver")
    parser.add_argument("--host", default=HOST)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    serve_receiver(args.host, args.port)


if __name__ == "__main__":
    main()
