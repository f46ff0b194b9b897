"""B3 and B4, announcements at scale (issue 11), as phases of `python -m bench`.

B3: one SMS announcement to a community of 10,000 residents (quick: 500), on SQLite and on
PostgreSQL, each on a whole system of its own (bench/system.py): seconds from the `202`
until every delivery is final, the credits settled and the report exact; recipients per
second, its ratio to the same run's delivery floor (results.floors["delivery"], from the
`floor` phase), Townhall's CPU milliseconds per delivery, and the accept latency of small
sends posted every 100 ms meanwhile. The audience is imported through the API first
(bench/onboarding.py), timed apart from B3's clock.

B4: the same with the Twilio sandbox answering each create after 200 ms, with 1, 2 and 4
messaging instances, one after the other on one audience of 10,000 (quick: 200), on
PostgreSQL, the database a deployment running several instances uses.
"""

import json
import time

from bench.measure import Deadline

PHASES = ("b3", "b4")
SIZES = {
    # name: (full, quick)
    "b3_residents": (10_000, 500),
    "b4_residents": (10_000, 200),
}
SEED_TIMEOUT_SECONDS = 300
SEND_TIMEOUT_SECONDS = {False: 900, True: 180}  # by --quick
START_SECONDS = 240  # migrations, start, health and the demo seed: bounded in bench/system.py
B3_DATABASES = ("sqlite", "postgresql")
B4_DATABASE = "postgresql"
B4_INSTANCES = (1, 2, 4)
B4_CREATE_DELAY_MS = 200
INSTANCES_TIMEOUT_SECONDS = 90
TIMEOUTS = {
    "b3": len(B3_DATABASES) * (START_SECONDS + SEED_TIMEOUT_SECONDS + SEND_TIMEOUT_SECONDS[False]),
    "b4": START_SECONDS + SEED_TIMEOUT_SECONDS + len(B4_INSTANCES) * (
        INSTANCES_TIMEOUT_SECONDS + SEND_TIMEOUT_SECONDS[False]),
}
# one sender fast enough that the per-sender rate limit is not what the bench measures
SENDER_ENV = {"TOWNHALL_MESSAGING__SENDERS": json.dumps(
    [{"number": "+15550000000", "segments_per_second": 100_000}])}
# B4 asks whether instances add up when the provider is slow: each instance holds this many
# provider calls in flight (messaging.send_concurrency; 32 by default), so that one instance
# is bound by its calls and not by this 2-core machine, which 2 x 32 calls at 200 ms would be
B4_SEND_CONCURRENCY = 16
B4_ENV = dict(SENDER_ENV, TOWNHALL_MESSAGING__SEND_CONCURRENCY=str(B4_SEND_CONCURRENCY))
# the sampler's community pays for its small sends: enough for a long run
SAMPLER_CREDITS = 20_000
FLOOR_TARGET = 0.5       # recipients/s over the delivery floor, at least
CPU_TARGET_MS = 5.0      # Townhall CPU per delivery, at most
B4_TARGET = 1.8          # two instances over one, at least


def run_b3(args, results):
    from bench import announcement, onboarding, system

    count = args.sizes["b3_residents"]
    floor = results.floors.get("delivery")
    failures = []
    for database in B3_DATABASES:
        try:
            with system.running(database, "b3", env=SENDER_ENV,
                                credits_per_community=SAMPLER_CREDITS) as town:
                seeded = onboarding.seed_community(town, f"Bench B3 {count}", count,
                                                 credits=2 * count, timeout=SEED_TIMEOUT_SECONDS)
                found = announcement.announce(
                    town, seeded["community_id"], count, _phones(count),
                    Deadline(SEND_TIMEOUT_SECONDS[args.quick], f"B3 {database}"), sample=True)
        except Exception as exc:
            failures.append(f"{database}: {exc}".splitlines()[0])
            continue
        _b3_rows(results, database, count, seeded, found, floor)
        if found["problems"]:
            failures.append(f"{database}: {'; '.join(found['problems'])}")
    if failures:
        raise RuntimeError("B3 " + " | ".join(failures))


def _b3_rows(results, database, count, seeded, found, floor):
    rate = found["recipients_per_s"]
    results.add(f"B3 {database}: SMS announcement to {count:,} residents", rate, "rcpt/s")
    ratio = rate / floor if floor else None
    if ratio is not None:
        results.add("  ÷ delivery floor", ratio, "x")
    cpu_ms, net_ms = found["cpu_ms_per_delivery"], found["cpu_ms_per_delivery_net"]
    results.add("  Townhall CPU per delivery", cpu_ms, "ms")
    if net_ms is not None:
        results.add("  the same, the sampler's share out", net_ms, "ms")
    _cpu_rows(results, found)
    results.add("  202 → all final, settled, reported", found["seconds"], "s")
    for step in ("final", "settled"):
        if step in found["milestones"]:
            results.add(f"    of which 202 → {step}", found["milestones"][step], "s")
    sampled = found["sampler"]
    if sampled["p50_ms"] is not None:
        results.add(f"  accept p50 meanwhile ({sampled['sent']} sent, "
                    f"{sampled['skipped']} skipped)", sampled["p50_ms"], "ms",
                    {"broker": "rtt_p50"})
        results.add("  accept p99 meanwhile", sampled["p99_ms"], "ms", {"broker": "rtt_p99"})
    results.add(f"  seeding: CSV import of {count:,} (not timed in B3)", seeded["rows_per_s"],
                "row/s")
    floor_verdict = ("no floor (run the floor phase with it)" if ratio is None else
                     f"{ratio:.2f} -> {_verdict(ratio >= FLOOR_TARGET)}")
    cpu_verdict = f"{cpu_ms:.2f} ms -> {_verdict(cpu_ms <= CPU_TARGET_MS)}"
    if net_ms is not None:
        cpu_verdict += (f"; {net_ms:.2f} ms with the sampler's share out -> "
                        f"{_verdict(net_ms <= CPU_TARGET_MS)}")
    results.notes.append(
        f"B3 {database} targets: >= {FLOOR_TARGET} of the delivery floor: {floor_verdict}; "
        f"<= {CPU_TARGET_MS:g} ms Townhall CPU per delivery: {cpu_verdict}")
    per_sample = found["cpu_ms_per_sample"]
    results.notes.append(
        f"B3 {database}: {found['cpu_seconds']:.1f} CPU s of Townhall's processes over "
        f"{found['seconds']:.1f} s ({_by_process(found['cpu_by_process'])}) for "
        f"{found['cpu_deliveries']:,} deliveries: the announcement's {count:,} and the "
        f"sampler's {sampled['sent']} single sends"
        + (f" (measured alone first: {per_sample:.1f} CPU ms per small send, idle work "
           "included)" if per_sample is not None else "")
        + f"; counts {found['counts']}, credits {found['credits']}, report {found['report']}"
        + (f"; sampler errors: {sampled['errors']} ({sampled['first_error']})"
           if sampled["errors"] else ""))


def run_b4(args, results):
    from bench import announcement, onboarding, system

    count = args.sizes["b4_residents"]
    rates = {}
    with system.running(B4_DATABASE, "b4", env=B4_ENV) as town:
        seeded = onboarding.seed_community(town, f"Bench B4 {count}", count,
                                         credits=(len(B4_INSTANCES) + 1) * count,
                                         timeout=SEED_TIMEOUT_SECONDS)
        town.sandbox_config(create_delay_ms=B4_CREATE_DELAY_MS)
        for instances in B4_INSTANCES:
            messaging_instances(town, instances,
                                Deadline(INSTANCES_TIMEOUT_SECONDS, f"B4 {instances} instances"))
            found = announcement.announce(
                town, seeded["community_id"], count, _phones(count),
                Deadline(SEND_TIMEOUT_SECONDS[args.quick], f"B4 {instances} messaging"))
            if found["problems"]:
                raise RuntimeError(f"B4 {instances} instances: {'; '.join(found['problems'])}")
            rates[instances] = found["recipients_per_s"]
            results.add(f"B4 {B4_DATABASE}, {B4_CREATE_DELAY_MS} ms creates, {instances} "
                        f"messaging x {B4_SEND_CONCURRENCY} calls: {count:,}",
                        rates[instances], "rcpt/s")
            results.add("  Townhall CPU per delivery", found["cpu_ms_per_delivery"], "ms")
            _cpu_rows(results, found)
    speedups = {n: rates[n] / rates[1] for n in B4_INSTANCES}
    for n in B4_INSTANCES[1:]:
        results.add(f"B4 {n} instances ÷ 1", speedups[n], "x")
    two = speedups[2]
    results.notes.append(
        f"B4 target: 2 messaging instances >= {B4_TARGET}x one: {two:.2f}x -> "
        f"{_verdict(two >= B4_TARGET)} (4 instances: {speedups[4]:.2f}x; "
        f"audience {count:,}, the same community for all three)")


def messaging_instances(town, wanted, deadline):
    """Run `wanted` messaging processes (`messaging`, `messaging-2`, ...), each a plain
    `townhall run messaging`, and wait until every one consumes its RPC queue."""
    from bench import isolation
    from servicekit.supervisor import process_specs

    argv = dict(process_specs(town.stack.config))["messaging"]
    names = ["messaging"] + [f"messaging-{n}" for n in range(2, wanted + 1)]
    for name in names:
        if name not in town.stack.processes:
            town.stack.start_process(name, argv)
    for name in [n for n in town.stack.processes if n.startswith("messaging-")]:
        if name not in names:
            town.stack.stop_process(name)
    while True:
        consumers = isolation.queue_consumers(town.vhost).get("rpc-messaging", 0)
        if consumers == wanted:
            return
        town.check_running(f"{wanted} messaging instances were started")
        deadline.check(f"{consumers} of {wanted} messaging instances consume rpc-messaging")
        time.sleep(min(0.5, deadline.remaining()))


def _cpu_rows(results, found):
    """How busy Townhall kept the machine's cores, and how busy the machine was at all:
    near every core busy, a rate shows the machine's limit, not the design's."""
    results.add("  Townhall CPU, cores busy", found["townhall_cores"], "cores")
    results.add("  machine CPU busy (everyone)", 100 * found["machine_busy"], "%")


def _verdict(met):
    return "met" if met else "missed"


def _phones(count):
    from bench.onboarding import phone

    return [phone(n) for n in range(count)]


def _by_process(used):
    top = sorted(used.items(), key=lambda item: -item[1])
    return ", ".join(f"{name} {seconds:.1f}" for name, seconds in top)
