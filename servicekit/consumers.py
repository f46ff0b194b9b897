"""Reliable event consumers.

`on_event(source, event_type)` wraps nameko's event_handler so that a handler:
- runs inside one unit of work and is skipped when its event_id was already processed
  (the claim and the handler's changes commit together);
- is retried in-process with back-off when it raises;
- after the last retry is parked in `<queue>.dead` with the error, where an operator can
  see it and replay it (`townhall dlq replay`), instead of nameko's default of acking and
  forgetting it.
The message is acked only after the transaction committed or the message was parked.

`on_events(source, event_type)` is the same for a handler that takes a list: events that
arrive while the one before is being handled are handled together, in one transaction
(group commit), so a backlog costs one transaction per batch, not one per event, and an
event alone waits for nothing. If a batch fails, each of its events is tried alone, so one
bad event is parked by itself.
"""

import functools
import logging
import traceback

import eventlet
from kombu import Connection, Queue
from nameko.events import EventHandler
from sqlalchemy import select

from servicekit.batching import GroupCommit
from servicekit.db import utcnow

log = logging.getLogger("townhall.consumers")
DEAD_SUFFIX = ".dead"
GROUP_MAX_EVENTS = 100


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
            return _with_retries(self, handler_name, lambda: attempt_once(self, Event(payload)))

        return ReliableEventHandler.decorator(source_service, event_type)(consume)

    return decorate


def on_events(source_service, event_type, db_attr="db", max_events=GROUP_MAX_EVENTS):
    """Decorate `handler(self, events, uow)`; see the module docstring. `events` are the
    batch's events not processed before, in arrival order; all of them are recorded as
    processed in the same transaction as the handler's changes."""

    def decorate(fn):
        handler_name = f"{fn.__module__}.{fn.__qualname__}"

        def handle(self, events):
            db = getattr(self, db_attr)
            with db.unit_of_work() as uow:
                # one of each: a redelivered event may sit in the batch beside its first copy
                first = {}
                for e in events:
                    first.setdefault(e.event_id, e)
                fresh = uow.claim_events(list(first), handler_name)
                if len(fresh) < len(events):
                    log.info("skipped %d duplicate events", len(events) - len(fresh))
                if fresh:
                    fn(self, [first[i] for i in fresh], uow)

        @functools.wraps(fn)
        def consume(self, payload):
            event = Event(payload)
            group = GroupCommit.of(getattr(self, db_attr), handler_name, max_events)
            try:
                # the batch is handled with the dependencies of the worker that leads it
                return group.add(event, lambda events: handle(self, events))
            except Exception:
                log.warning("a batch of %s failed; each of its events is tried alone",
                            handler_name, exc_info=True)
            return _with_retries(self, handler_name, lambda: handle(self, [event]))

        return ReliableEventHandler.decorator(source_service, event_type)(consume)

    return decorate


def _with_retries(service, handler_name, attempt_once):
    """Run attempt_once, again after each delay of `consumers.retry_delays_seconds` while
    it raises; the last exception goes on (to be parked)."""
    config = getattr(service, "config", None) or {}
    delays = list(config.get("consumers", {}).get("retry_delays_seconds", [0.5, 2.0, 5.0]))
    for attempt in range(len(delays) + 1):
        try:
            return attempt_once()
        except Exception:
            if attempt == len(delays):
                raise
            log.warning("handler %s failed (attempt %d), retrying", handler_name,
                        attempt + 1, exc_info=True)
            eventlet.sleep(delays[attempt])
    return None


def is_processed(session, metadata, event_id, handler):
    table = metadata.tables["processed_events"]
    return session.execute(select(table.c.event_id).where(
        table.c.event_id == event_id, table.c.handler == handler)).first() is not None
