"""B1: nameko RPC echo — latency of sequential calls and calls per second with concurrent
callers, against `bench.echo_service` running in a subprocess."""

import collections
import subprocess
import sys
import threading
import time

from nameko.standalone.rpc import ClusterRpcProxy

from bench.measure import Deadline, latency_figures, rate

SERVICE_NAME = "bench_echo"
READY_TIMEOUT_SECONDS = 30
CALL_TIMEOUT_SECONDS = 10
STOP_GRACE_SECONDS = 10


def measure(uri, sequential, concurrent_calls, callers, timeout):
    deadline = Deadline(timeout, "B1 nameko RPC echo")
    service = _start_service(uri, max_workers=callers)
    try:
        with ClusterRpcProxy({"AMQP_URI": uri}, timeout=CALL_TIMEOUT_SECONDS) as cluster:
            proxy = getattr(cluster, SERVICE_NAME)
            proxy.echo("warm-up")
            p50, p99 = _sequential(proxy, sequential, deadline)
            per_second = _concurrent(proxy, concurrent_calls, callers, deadline)
    finally:
        _stop_service(service)
    return {"p50_ms": p50, "p99_ms": p99, "calls_per_s": per_second, "callers": callers}


def _sequential(proxy, count, deadline):
    samples = []
    for number in range(count):
        if number % 100 == 0:
            deadline.check(f"{number} of {count} sequential calls")
        started = time.perf_counter()
        proxy.echo(number)
        samples.append(time.perf_counter() - started)
    return latency_figures(samples)


def _concurrent(proxy, count, callers, deadline):
    """`callers` calls always in flight (call_async), until `count` have answered."""
    in_flight = collections.deque()
    answered = 0
    started = time.perf_counter()
    for number in range(count):
        if len(in_flight) == callers:
            in_flight.popleft().result()
            answered += 1
            if answered % 100 == 0:
                deadline.check(f"{answered} of {count} concurrent calls")
        in_flight.append(proxy.echo.call_async(number))
    while in_flight:
        in_flight.popleft().result()
        answered += 1
    return rate(answered, time.perf_counter() - started)


def _start_service(uri, max_workers):
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.echo_service", uri, str(max_workers)],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    first_line = []
    reader = threading.Thread(target=lambda: first_line.append(process.stdout.readline()),
                              daemon=True)
    reader.start()
    reader.join(READY_TIMEOUT_SECONDS)
    if not first_line or first_line[0].strip() != "ready":
        _stop_service(process)
        rest = process.stdout.read() if process.poll() is not None else ""
        said = (first_line[0] if first_line else "") + rest
        raise RuntimeError(f"echo service not ready after {READY_TIMEOUT_SECONDS}s: {said}")
    # drain its output so a chatty service never blocks on a full pipe
    threading.Thread(target=process.stdout.read, daemon=True).start()
    return process


def _stop_service(process):
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
