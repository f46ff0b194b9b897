"""Periodic jobs that must run once per period however many instances run (the sweeper):
the instance that moves a job's lease forward runs it; the others find it taken."""

import os
import socket
from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from servicekit.db import insert_missing, utcnow
from services.messaging.models import JobLease

OWNER = f"{socket.gethostname()}:{os.getpid()}"
NEVER = datetime(1970, 1, 1, tzinfo=UTC)


def claim(db, name, period_seconds, owner=OWNER, now=None):
    """True when this caller holds the job's lease for the next period."""
    now = now or utcnow()
    with db.unit_of_work() as uow:
        insert_missing(uow.session, JobLease.__table__,
                       [{"name": name, "owner": None, "leased_until": NEVER}])
        won = uow.session.execute(update(JobLease).where(
            JobLease.name == name, JobLease.leased_until <= now)
            .values(owner=owner, leased_until=now + timedelta(seconds=period_seconds)))
        return won.rowcount == 1
