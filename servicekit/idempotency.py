"""Idempotency keys, scoped to a caller: the same key with the same request answers the
first response again; the same key with another request is refused."""

import hashlib
import json

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from contracts.errors import IdempotencyKeyReused, InvalidRequest
from servicekit.db import utcnow

MAX_KEY_LENGTH = 255


def request_hash(request):
    canonical = json.dumps(request, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def check_key(key):
    if key is not None and (not key.strip() or len(key) > MAX_KEY_LENGTH):
        raise InvalidRequest(f"must be 1 to {MAX_KEY_LENGTH} characters",
                             "Idempotency-Key")


def replay(session, metadata, scope, key, digest):
    """The stored response for (scope, key), None when the key is new."""
    table = metadata.tables["idempotency_records"]
    row = session.execute(select(table.c.request_hash, table.c.response)
                          .where(table.c.scope == scope, table.c.key == key)).first()
    if row is None:
        return None
    if row.request_hash != digest:
        raise IdempotencyKeyReused(
            "this Idempotency-Key was already used with a different request body",
            "Idempotency-Key")
    return json.loads(row.response)


def remember(session, metadata, scope, key, digest, response):
    table = metadata.tables["idempotency_records"]
    session.execute(insert(table).values(scope=scope, key=key, request_hash=digest,
                                         response=json.dumps(response), created_at=utcnow()))


def once(db, scope, key, request, work):
    """Run `work(uow)` in one transaction and answer its result, once per (scope, key).

    The result is remembered in the same transaction as the change, so a crash can never
    leave a change without its record (which a retry would repeat) or the reverse. Without
    a key the work simply runs.
    """
    check_key(key)
    if not key:
        with db.unit_of_work() as uow:
            return work(uow)
    digest = request_hash(request)
    with db.read() as session:
        previous = replay(session, db.metadata, scope, key, digest)
    if previous is not None:
        return previous
    try:
        with db.unit_of_work() as uow:
            answer = work(uow)
            remember(uow.session, db.metadata, scope, key, digest, answer)
        return answer
    except IntegrityError:
        # a concurrent request with the same key won the race: answer what it answered
        with db.read() as session:
            previous = replay(session, db.metadata, scope, key, digest)
        if previous is None:
            raise
        return previous


def caller_scope(caller, organization_id=None):
    """Whose keys these are: one actor of one organization (a system caller acting for an
    organization names it). Two callers never see each other's keys."""
    return f"{organization_id or caller.organization_id}:{caller.actor_id}"
