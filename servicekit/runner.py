"""Runs one service as its own process: migrate, declare queues, serve, stop gracefully."""

import logging
import signal

import eventlet
from nameko.runners import ServiceRunner

from servicekit import migrate, topology
from servicekit.tracing import configure_logging

log = logging.getLogger("townhall.runner")


DISPATCH_WORKERS = 4
URGENT_WORKERS = 4


def nameko_config(config, service):
    config = dict(config)
    config.setdefault("max_workers", 10)
    # a service may want its own pool: nameko's prefetch equals it, for every queue at once
    own = (config.get(service) or {}).get("max_workers")
    if own:
        config["max_workers"] = int(own)
    if service == "messaging_dispatch":
        # batches dispatched at once by one process (each holds a worker while its calls
        # wait for a slot): enough to keep messaging.send_concurrency calls busy
        messaging = config.get("messaging") or {}
        config["max_workers"] = int(messaging.get("dispatch_workers") or DISPATCH_WORKERS)
    if service == "messaging_urgent":
        # an emergency's pages, batches and dispatches: rare, and never behind ordinary work
        messaging = config.get("messaging") or {}
        config["max_workers"] = int(messaging.get("urgent_workers") or URGENT_WORKERS)
    if service == "gateway":
        gw = config.get("gateway") or {}
        config["WEB_SERVER_ADDRESS"] = f"{gw.get('host', '127.0.0.1')}:{gw.get('port', 8000)}"
    return config


def run(service, config, grace_seconds=20):
    configure_logging(service, config.get("log_level", "INFO"))
    if migrate.has_migrations(service):
        url = migrate.upgrade(service, config)
        log.info("migrated", extra={"database": url.split("@")[-1]})
    topology.declare_all(config)
    # one runner per pool: a companion (messaging's dispatchers) has workers of its own
    runners = []
    for name, cls in [(service, topology.load_service_class(service)),
                      *topology.load_companions(service).items()]:
        runner = ServiceRunner(nameko_config(config, name))
        runner.add_service(cls)
        runners.append(runner)

    shut_down = Shutdown(runners, grace_seconds)
    signal.signal(signal.SIGTERM, shut_down)
    signal.signal(signal.SIGINT, shut_down)
    for runner in runners:
        runner.start()
    log.info("started %s", service)
    for runner in runners:
        runner.wait()


class Shutdown:
    """The signal handler: the first SIGTERM or SIGINT stops every runner, later ones only
    say so. Ctrl-C under `make up` sends both (the terminal's SIGINT to the whole group,
    then the supervisor's SIGTERM), and a second stop beside the first waited out the whole
    grace period and then killed the workers."""

    def __init__(self, runners, grace_seconds, spawn=eventlet.spawn_n):
        self.runners, self.grace_seconds, self.spawn = runners, grace_seconds, spawn
        self.stopping = False

    def __call__(self, signum, _frame=None):
        if self.stopping:
            log.info("already stopping; signal %s changes nothing", signum)
            return
        self.stopping = True
        log.info("stopping on signal %s", signum)
        for runner in self.runners:
            self.spawn(_stop, runner, self.grace_seconds)


def _stop(runner, grace_seconds):
    """Let in-flight workers finish; kill whatever still runs after the grace period."""
    try:
        with eventlet.Timeout(grace_seconds):
            runner.stop()
    except eventlet.Timeout:
        log.warning("workers still running after %ss; killing", grace_seconds)
        runner.kill()
