"""Reliable event consumers.

`on_event(source, event_type)` wraps nameko's event_handler so that a handler:
- runs inside one unit of work and is skipped when its event_id was already processed
  (the claim and the handler's changes commit together);
- is retried in-process with back-off when it raises;
- after the last retry is parked in `<queue>.dead` with the error, where an operator can
  see it and replay it (`townhall dlq replay`), instead of nameko's default of acking and
  forgetting it.
The message is acked only after the transaction committed or the message was parked.
"""

import functools
import logging
import traceback

import eventlet
from kombu import Connection, Queue
from nameko.events import EventHandler
from sqlalchemy import select

from servicekit.db import utcnow

log = logging.getLogger("townhall.consumers")
DEAD_SUFFIX = ".dead"


class Event:
    """An event as its consumer sees it: the envelope, with its data at hand."""

    def __init__(self, env):
        self.envelope = env
        self.event_id = env["event_id"]
        self.type = env["type"]
        self.version = env.get("version", 1)
        self.organization_id = env.get("organization_id")
        self.correlation_id = env.get("correlation_id")
        self.occurred_at = env.get("occurred_at")
        self.data = env["data"]


class ReliableEventHandler(EventHandler):
    def handle_result(self, message, worker_ctx, result=None, exc_info=None):
        if exc_info is not None:
            try:
                park(self.container.config["AMQP_URI"], self.queue.name, message.payload,
                     message.headers, exc_info)
            except Exception:
                # could not park: give it back to the broker rather than lose it
                log.exception("could not park a failed event; requeueing it")
                self.queue_consumer.requeue_message(message)
                return result, exc_info
        self.queue_consumer.ack_message(message)
        return result, exc_info


def park(amqp_uri, queue_name, payload, headers, exc_info):
    dead = dead_letter_queue(queue_name)
    error = "".join(traceback.format_exception_only(exc_info[0], exc_info[1])).strip()
    headers = dict(headers or {}, **{"x-townhall-error": error[:1000],
                                     "x-townhall-parked-at": utcnow().isoformat(),
                                     "x-townhall-queue": queue_name})
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as conn:
        conn.Producer().publish(payload, exchange="", routing_key=dead.name, headers=headers,
                                serializer="json", delivery_mode=2, declare=[dead])
    log.error("parked event in %s: %s", dead.name, error)


def dead_letter_queue(queue_name):
    return Queue(queue_name + DEAD_SUFFIX, exchange="", routing_key=queue_name + DEAD_SUFFIX,
                 durable=True, auto_delete=False)


def on_event(source_service, event_type, transactional=True, db_attr="db"):
    """Decorate an event handler; see the module docstring.

    transactional=True: `handler(self, event, uow)` runs in the unit of work that also
    records the event as processed. transactional=False: `handler(self, event)` manages its
    own transactions (for handlers that call other services or providers, which must not
    happen inside an open transaction) and must be idempotent by its own state; the event
    is recorded as processed after it returns, and skipped if it already was.
    """

    def decorate(fn):
        handler_name = f"{fn.__module__}.{fn.__qualname__}"

        def attempt_once(self, event):
            db = getattr(self, db_attr)
            if transactional:
                with db.unit_of_work() as uow:
                    if not uow.claim_event(event.event_id, handler_name):
                        log.info("skipped duplicate event %s", event.event_id)
                        return None
                    return fn(self, event, uow)
            with db.read() as session:
                if is_processed(session, db.metadata, event.event_id, handler_name):
                    log.info("skipped duplicate event %s", event.event_id)
                    return None
            result = fn(self, event)
            with db.unit_of_work() as uow:
                uow.claim_event(event.event_id, handler_name)
            return result

        @functools.wraps(fn)
        def consume(self, payload):
            event = Event(payload)
            config = getattr(self, "config", None) or {}
            delays = list(config.get("consumers", {}).get("retry_delays_seconds",
                                                          [0.5, 2.0, 5.0]))
            for attempt in range(len(delays) + 1):
                try:
                    return attempt_once(self, event)
                except Exception:
                    if attempt == len(delays):
                        raise
                    log.warning("handler %s failed (attempt %d), retrying", handler_name,
                                attempt + 1, exc_info=True)
                    eventlet.sleep(delays[attempt])
            return None

        return ReliableEventHandler.decorator(source_service, event_type)(consume)

    return decorate


def is_processed(session, metadata, event_id, handler):
    table = metadata.tables["processed_events"]
    return session.execute(select(table.c.event_id).where(
        table.c.event_id == event_id, table.c.handler == handler)).first() is not None
