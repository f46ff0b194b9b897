"""nameko dependency providers shared by the services: the database (with its outbox
relay) and RPC proxies that time out."""

import logging

import eventlet
from eventlet.event import Event
from nameko.extensions import DependencyProvider
from nameko.rpc import RpcProxy

from contracts.errors import ServiceUnavailable
from servicekit.config import database_url
from servicekit.db import DatabaseHandle, create_db_engine
from servicekit.outbox import OutboxRelay

log = logging.getLogger("townhall.providers")


# the handles of this process's services by database URL: a companion (a service that runs
# in another's process on its database) shares its host's engine and outbox relay
_HANDLES = {}


class Database(DependencyProvider):
    """The service's own database, plus the relay that publishes its outbox. With `service`,
    another service's database, in that service's process: its handle (one pool of
    connections) and its relay are shared, so a companion opens no pool of its own."""

    def __init__(self, base, relay=True, service=None):
        self.base = base
        self.relay_enabled = relay
        self.service = service
        self.handle = None
        self._wakeup = None
        self._running = False

    def setup(self):
        config = self.container.config
        url = database_url(config, self.service or self.container.service_name)
        shared = _HANDLES.get(url) if self.service else None
        if shared is not None:
            self.handle, self.relay_enabled = shared, False
            return
        pool = int(config.get("max_workers", 10)) + 2
        self.handle = DatabaseHandle(create_db_engine(url, pool_size=pool), self.base.metadata,
                                     on_commit=self._notify)
        self._wakeup = Event()
        if not self.service:
            self._shared_as = url
            _HANDLES[url] = self.handle

    def start(self):
        if self.relay_enabled:
            self._running = True
            self.container.spawn_managed_thread(self._relay_loop, identifier="outbox-relay")

    def stop(self):
        self._running = False
        self._notify()
        self._unshare()

    def kill(self):
        self._running = False
        self._unshare()

    def _unshare(self):
        url = getattr(self, "_shared_as", None)
        if url and _HANDLES.get(url) is self.handle:
            del _HANDLES[url]

    def get_dependency(self, worker_ctx):
        return self.handle

    def _notify(self):
        if self._wakeup is not None and not self._wakeup.ready():
            self._wakeup.send(True)

    def _relay_loop(self):
        config = self.container.config
        outbox = config.get("outbox") or {}
        interval = float(outbox.get("poll_interval_seconds", 0.2))
        relay = OutboxRelay(self.handle, config["AMQP_URI"], config,
                            batch_size=int(outbox.get("batch_size", 200)))
        failures = 0
        try:
            while self._running:
                try:
                    published = relay.publish_pending()
                    failures = 0
                except Exception:
                    relay.on_error()
                    failures += 1
                    eventlet.sleep(min(0.5 * 2 ** failures, 10))
                    continue
                if published:
                    continue  # drain a backlog without waiting
                with eventlet.Timeout(interval, False):
                    self._wakeup.wait()
                self._wakeup = Event()
        finally:
            relay.close()


class Rpc(RpcProxy):
    """An RPC proxy whose calls give up after a timeout (nameko 2's in-service proxies
    wait forever) with ServiceUnavailable naming the service and method."""

    def __init__(self, target_service, timeout=None, setting="rpc_timeout_seconds", **options):
        super().__init__(target_service, **options)
        self.timeout, self.setting = timeout, setting

    def get_dependency(self, worker_ctx):
        proxy = super().get_dependency(worker_ctx)
        config = self.container.config
        timeout = self.timeout or float(config.get(self.setting)
                                        or config.get("rpc_timeout_seconds", 10))
        return TimedProxy(proxy, self.target_service, timeout)


class TimedProxy:
    def __init__(self, proxy, service, timeout):
        self._proxy = proxy
        self._service = service
        self._timeout = timeout

    def __getattr__(self, method):
        target = getattr(self._proxy, method)

        def call(*args, **kwargs):
            return call_with_timeout(target, f"{self._service}.{method}", self._timeout,
                                     *args, **kwargs)
        return call


def call_with_timeout(method_proxy, name, timeout, *args, **kwargs):
    reply = method_proxy.call_async(*args, **kwargs)
    try:
        with eventlet.Timeout(timeout):
            return reply.result()
    except eventlet.Timeout:
        raise ServiceUnavailable(f"{name} did not answer within {timeout:g} s") from None
