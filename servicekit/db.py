"""Each service's own database: engine, unit of work, and the tables every service has
(outbox, processed events, idempotency records)."""

import hashlib
import json
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    create_engine,
    event,
    insert,
    make_url,
    select,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from contracts.events import envelope
from servicekit.tracing import current_correlation_id

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow():
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator):
    """Timezone-aware UTC on every database: SQLite keeps no offset, so it is put back."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given; Townhall stores UTC-aware times only")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


def make_base():
    """A declarative base for one service whose metadata already holds the kit tables."""
    metadata = MetaData(naming_convention=NAMING)
    _kit_tables(metadata)

    class Base(DeclarativeBase):
        pass

    Base.metadata = metadata
    return Base


def _kit_tables(metadata):
    Table(
        "outbox", metadata,
        Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
               autoincrement=True),
        Column("event_id", String(36), nullable=False, unique=True),
        Column("event_type", String(100), nullable=False),
        Column("envelope", Text, nullable=False),
        Column("created_at", UtcDateTime(), nullable=False),
        Column("published_at", UtcDateTime(), nullable=True, index=True),
    )
    Table(
        "processed_events", metadata,
        Column("event_id", String(36), primary_key=True),
        Column("handler", String(200), primary_key=True),
        Column("processed_at", UtcDateTime(), nullable=False),
    )
    Table(
        "idempotency_records", metadata,
        Column("scope", String(100), primary_key=True),
        Column("key", String(255), primary_key=True),
        Column("request_hash", String(64), nullable=False),
        Column("response", Text, nullable=False),
        Column("created_at", UtcDateTime(), nullable=False),
    )


IDLE_CONNECTIONS = 4


def create_db_engine(url, pool_size=10):
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    options = {}
    if make_url(url).get_driver_name() == "psycopg2":
        # a batch's UPDATEs (the ORM's flush of many rows) in pages of statements per round
        # trip, not one round trip per row; no step reads rowcount of such an executemany
        options["executemany_mode"] = "values_plus_batch"
    # at most IDLE_CONNECTIONS kept open between bursts (a server's connections are shared
    # by every process of every service); a burst may still open 2 x pool_size in all
    kept = min(pool_size, IDLE_CONNECTIONS)
    return create_engine(url, pool_size=kept, max_overflow=2 * pool_size - kept,
                         pool_pre_ping=True, **options)


def _sqlite_pragmas(dbapi_connection, _record):
    # WAL lets readers and the relay go on while a writer commits; several processes may
    # share one file when an operator runs more than one instance of a service
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def insert_missing(session, table, rows):
    """INSERT rows, skipping those that collide with a unique key — safe when another
    transaction inserts the same row at the same moment (it waits for it, then skips)."""
    if not rows:
        return
    name = session.get_bind().dialect.name
    if name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    elif name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    else:  # pragma: no cover - only the two databases above are supported
        raise NotImplementedError(name)
    # rows as parameters, not as VALUES of the statement: one compiled statement, cached,
    # whatever the number of rows (SQLAlchemy batches them as insertmanyvalues)
    session.execute(dialect_insert(table).on_conflict_do_nothing(), rows)


def serialize_on(session, names):
    """Until this transaction ends, another that names one of `names` waits for it: two
    transactions that each write what the other must read then never both miss it.
    PostgreSQL transaction-scoped advisory locks, taken in one order so that two never wait
    for each other; SQLite has one writer at a time already."""
    if not names or session.get_bind().dialect.name != "postgresql":
        return
    keys = sorted({_lock_key(name) for name in names})
    # a volatile function in the select list runs after the ORDER BY: in key order
    session.execute(_SERIALIZE, {"keys": keys})


_SERIALIZE = text("SELECT pg_advisory_xact_lock(k) FROM unnest(CAST(:keys AS bigint[])) AS k "
                  "ORDER BY k")


def _lock_key(name):
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big",
                          signed=True)


class UnitOfWork:
    """One database transaction: state changes, the events they cause, and which events
    it consumed. It commits only when the block ends without an exception."""

    def __init__(self, session, metadata):
        self.session = session
        self._tables = metadata.tables
        self.emitted = []

    def emit(self, event_type, data, *, organization_id=None):
        """Record an event in the outbox; it is published only if this transaction commits."""
        env = envelope(event_type, data, organization_id=organization_id,
                       correlation_id=current_correlation_id())
        self.session.execute(insert(self._tables["outbox"]).values(
            event_id=env["event_id"], event_type=event_type,
            envelope=json.dumps(env), created_at=utcnow()))
        self.emitted.append(env)
        return env

    def claim_event(self, event_id, handler):
        """Mark an event as consumed by this handler; False if it already was."""
        return bool(self.claim_events([event_id], handler))

    def claim_events(self, event_ids, handler):
        """claim_event for a batch in two statements: the ids newly claimed, in the order
        given (an id given twice is claimed once)."""
        table = self._tables["processed_events"]
        wanted = list(dict.fromkeys(event_ids))
        seen = set(self.session.scalars(select(table.c.event_id).where(
            table.c.event_id.in_(wanted), table.c.handler == handler)))
        fresh = [i for i in wanted if i not in seen]
        if fresh:
            now = utcnow()
            self.session.execute(insert(table), [
                {"event_id": i, "handler": handler, "processed_at": now} for i in fresh])
        return fresh


class DatabaseHandle:
    def __init__(self, engine, metadata, on_commit=None):
        self.engine = engine
        self.metadata = metadata
        self.sessions = sessionmaker(bind=engine, expire_on_commit=False)
        self._on_commit = on_commit

    @contextmanager
    def unit_of_work(self):
        session = self.sessions()
        uow = UnitOfWork(session, self.metadata)
        try:
            yield uow
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()
        if uow.emitted and self._on_commit:
            self._on_commit()

    @contextmanager
    def read(self):
        session: Session = self.sessions()
        try:
            yield session
        finally:
            session.close()  # releases the connection; loaded objects stay readable
