"""Declares every consumer's event queue (and its dead-letter queue) before anything runs.

An event published to an exchange with no bound queue is dropped. Every service process
declares the queues of *all* consumers at start, exactly as nameko would declare them, so
a consumer that starts late still finds its events waiting.
"""

import inspect
from importlib import import_module

from kombu import Connection, Queue
from nameko.events import EventHandler
from nameko.standalone.events import get_event_exchange

from servicekit.consumers import dead_letter_queue

SERVICE_CLASSES = {
    "directory": "services.directory.service:DirectoryService",
    "consent": "services.consent.service:ConsentService",
    "credits": "services.credits.service:CreditsService",
    "messaging": "services.messaging.service:MessagingService",
    "tickets": "services.tickets.service:TicketsService",
    "reports": "services.reports.service:ReportsService",
    "gateway": "gateway.service:GatewayService",
}


# services that run in another's process, beside it, with a worker pool of their own
COMPANIONS = {
    "messaging": {"messaging_dispatch": "services.messaging.dispatch_service:DispatchService",
                  "messaging_urgent": "services.messaging.urgent_service:UrgentService"},
}


# queues of consumers that are gone: still bound, they would collect a copy of every event
# for ever, so every start deletes them (their dead-letter queues are left to be read). What
# one held when it went is handed on again by its service's sweeper.
RETIRED_QUEUES = (
    # an emergency's batches are dispatched by messaging_urgent now
    "evt-messaging-urgent_deliveries_queued--messaging_dispatch.dispatch_urgent",
)


def load_service_class(name):
    return _load(SERVICE_CLASSES[name])


def load_companions(name):
    """{companion name: class} run in `name`'s process."""
    return {companion: _load(path) for companion, path in COMPANIONS.get(name, {}).items()}


def _load(path):
    module, attr = path.split(":")
    return getattr(import_module(module), attr)


def event_subscriptions(service_cls):
    """(source, event_type, queue_name) of every event handler of a service class."""
    for method_name, method in inspect.getmembers(service_cls, inspect.isfunction):
        for entrypoint in getattr(method, "nameko_entrypoints", ()):
            if isinstance(entrypoint, EventHandler):
                queue = (f"evt-{entrypoint.source_service}-{entrypoint.event_type}"
                         f"--{service_cls.name}.{method_name}")
                yield entrypoint.source_service, entrypoint.event_type, queue


def all_subscriptions():
    for name in SERVICE_CLASSES:
        yield from event_subscriptions(load_service_class(name))
        for companion in load_companions(name).values():
            yield from event_subscriptions(companion)


def declare_all(config, subscriptions=None):
    """Declare every event exchange, consumer queue and dead-letter queue, and delete the
    retired ones. Idempotent."""
    subscriptions = list(all_subscriptions() if subscriptions is None else subscriptions)
    with Connection(config["AMQP_URI"]) as conn:
        channel = conn.channel()
        for queue_name in RETIRED_QUEUES:
            channel.queue_delete(queue_name)      # none there: nothing happens
        for source, event_type, queue_name in subscriptions:
            exchange = get_event_exchange(source, config)
            queue = Queue(queue_name, exchange=exchange, routing_key=event_type,
                          durable=True, auto_delete=False, exclusive=False)
            queue(channel).declare()
            dead_letter_queue(queue_name)(channel).declare()
        channel.close()
    return subscriptions
