"""Two first calls for an organization's built-in work-order category at once, on
PostgreSQL: while one has inserted it and not yet committed, the other finds none, and its
insert waits on the unique (organization, system key) — then fails, and it answers the row
the first made. One category, both answers the same."""

import eventlet
import pytest
from sqlalchemy import func, select

from servicekit import migrate
from servicekit.access import Caller, system_of
from servicekit.config import database_url
from servicekit.db import DatabaseHandle, create_db_engine
from services.consent import work_orders
from services.consent.categories import category_view
from services.consent.models import Base, Category


@pytest.mark.parametrize("backend", ["postgres"])
def test_racing_first_calls_make_one_category_and_answer_it_both(make_config):
    config = make_config()
    migrate.upgrade("consent", config)
    engine = create_db_engine(database_url(config, "consent"))
    db = DatabaseHandle(engine, Base.metadata)
    caller = Caller.of(system_of("org_race", "tickets"))
    inserted, release = eventlet.event.Event(), eventlet.event.Event()

    def first():
        with db.unit_of_work() as uow:
            row = work_orders._create(uow.session, caller)
            inserted.send()
            release.wait()                 # holds its insert, uncommitted
            return category_view(row)

    try:
        winner = eventlet.spawn(first)
        inserted.wait()
        second = eventlet.spawn(work_orders.find_or_create, db, caller, category_view)
        eventlet.sleep(0.5)                # the second has looked, found none, and waits
        assert not second.dead
        release.send()
        made, answered = winner.wait(), second.wait()
        assert answered == made and made["built_in"] is True
        with db.read() as session:
            assert session.scalar(select(func.count()).select_from(Category).where(
                Category.organization_id == "org_race")) == 1
    finally:
        engine.dispose()
