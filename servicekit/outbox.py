"""The outbox relay: publishes committed events with publisher confirms, then marks them sent.

A state change and its events are written in one transaction (UnitOfWork.emit); this relay
is the only thing that talks to the broker for them. An event is marked published only
after the broker confirmed it, so a crash in between publishes it again — consumers dedupe
by event_id. Several instances of a service may run one relay each: on PostgreSQL rows
are claimed with SKIP LOCKED; on SQLite the write lock serialises them.
"""

import json
import logging

from kombu import Connection
from nameko.standalone.events import get_event_exchange
from sqlalchemy import select, update

from servicekit.db import utcnow

log = logging.getLogger("townhall.outbox")


class OutboxRelay:
    def __init__(self, handle, amqp_uri, config=None, batch_size=200):
        self.handle = handle
        self.amqp_uri = amqp_uri
        self.config = config or {}
        self.batch_size = batch_size
        self.table = handle.metadata.tables["outbox"]
        self._connection = None
        self._producer = None

    def publish_pending(self):
        """Publish one batch of unpublished events; answer how many went out."""
        engine = self.handle.engine
        if engine.dialect.name == "postgresql":
            with engine.begin() as conn:
                return self._publish_batch(conn, conn, lock=True)
        # SQLite: read, publish, then mark in a short write transaction of its own, so the
        # relay never holds a read snapshot it would have to upgrade (SQLITE_BUSY_SNAPSHOT)
        with engine.connect() as reader, engine.begin() as writer:
            return self._publish_batch(reader, writer, lock=False)

    def _publish_batch(self, reader, writer, lock):
        table = self.table
        query = (select(table.c.id, table.c.envelope)
                 .where(table.c.published_at.is_(None))
                 .order_by(table.c.id).limit(self.batch_size))
        if lock:
            query = query.with_for_update(skip_locked=True)
        rows = reader.execute(query).all()
        if hasattr(reader, "rollback") and reader is not writer:
            reader.rollback()
        if not rows:
            return 0
        producer = self._ensure_producer()
        for row in rows:
            self._publish(producer, json.loads(row.envelope))
        writer.execute(update(table).where(table.c.id.in_([r.id for r in rows]))
                       .values(published_at=utcnow()))
        return len(rows)

    def _publish(self, producer, env):
        exchange = get_event_exchange(env["source"], self.config)
        headers = {"nameko.correlation_id": env.get("correlation_id") or env["event_id"]}
        producer.publish(
            env, exchange=exchange, routing_key=env["type"], headers=headers,
            serializer="json", delivery_mode=2, declare=[exchange],
            message_id=env["event_id"], retry=True,
            retry_policy={"max_retries": 3, "interval_start": 0.2, "interval_step": 0.5},
        )

    def _ensure_producer(self):
        if self._producer is None:
            self._connection = Connection(
                self.amqp_uri, transport_options={"confirm_publish": True}, heartbeat=0)
            self._producer = self._connection.Producer()
        return self._producer

    def close(self):
        if self._connection is not None:
            try:
                self._connection.release()
            except Exception:  # noqa: S110 - closing a broken connection
                pass
        self._connection = self._producer = None

    def on_error(self):
        """Drop the broker connection after a failure; the next batch reconnects."""
        log.warning("outbox relay failed; will retry", exc_info=True)
        self.close()

    def pending_count(self):
        with self.handle.read() as session:
            return session.query(self.table).filter(self.table.c.published_at.is_(None)).count()
