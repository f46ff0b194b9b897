"""Group commit (servicekit.batching) and the consumers built on it (on_events): events that
queue up while a batch is handled are handled together, once each, and a bad one is tried
alone. No broker: the handler is called as nameko's worker would call it."""

import eventlet
import pytest
from sqlalchemy import String, select
from sqlalchemy.orm import Mapped, mapped_column

from contracts.events import envelope
from servicekit.batching import GroupCommit
from servicekit.consumers import on_events
from servicekit.db import DatabaseHandle, create_db_engine, make_base


def test_an_item_alone_is_handled_at_once():
    batches = []
    group = GroupCommit(max_items=10)
    assert group.add("a", lambda items: batches.append(items) or len(items)) == 1
    assert batches == [["a"]]


def behind_a_slow_first(add, handle, rest):
    """Call add("first", ...) whose batch is held until `rest` have all been added
    meanwhile; answers the green threads (first, then rest's) once let go."""
    release = eventlet.event.Event()

    def held(items):
        if items == ["first"]:
            release.wait()
        return handle(items)

    threads = [eventlet.spawn(add, "first", held)]
    eventlet.sleep(0)
    threads += [eventlet.spawn(add, item, held) for item in rest]
    eventlet.sleep(0)
    release.send(True)
    return threads


def test_items_that_come_while_a_batch_is_handled_make_the_next_batch():
    batches = []
    first, *rest = behind_a_slow_first(GroupCommit(max_items=10).add,
                                       lambda items: batches.append(items) or len(items),
                                       range(5))
    assert first.wait() == 1
    assert [g.wait() for g in rest] == [5] * 5
    assert batches == [["first"], [0, 1, 2, 3, 4]]


def test_a_batch_holds_at_most_max_items():
    batches = []
    for thread in behind_a_slow_first(GroupCommit(max_items=2).add, batches.append, range(5)):
        thread.wait()
    assert batches == [["first"], [0, 1], [2, 3], [4]]


def test_every_member_of_a_failed_batch_gets_the_error():
    def handle(items):
        if items == ["first"]:
            return "ok"
        raise RuntimeError(f"bad batch of {len(items)}")

    first, *rest = behind_a_slow_first(GroupCommit(max_items=10).add, handle, range(3))
    assert first.wait() == "ok"
    for thread in rest:
        with pytest.raises(RuntimeError, match="bad batch of 3"):
            thread.wait()


def test_max_items_must_be_positive():
    with pytest.raises(ValueError, match="max_items"):
        GroupCommit(max_items=0)


Base = make_base()


class Seen(Base):
    __tablename__ = "seen"
    name: Mapped[str] = mapped_column(String(50), primary_key=True)


class Listener:
    config = {"consumers": {"retry_delays_seconds": []}}
    batches = []
    gate = None

    def __init__(self, db):
        self.db = db

    @on_events("directory", "community_created")
    def remember(self, events, uow):
        names = [e.data["name"] for e in events]
        type(self).batches.append(names)
        if type(self).gate is not None and names == ["first"]:
            type(self).gate.wait()
        if "poison" in names:
            raise RuntimeError("cannot digest poison")
        uow.session.add_all(Seen(name=n) for n in names)


def community(name):
    return envelope("community_created", {"community_id": f"com_{name}", "name": name,
                                          "organization_id": "org_1"},
                    organization_id="org_1")


@pytest.fixture
def db(tmp_path):
    handle = DatabaseHandle(create_db_engine(f"sqlite:///{tmp_path}/listener.sqlite3"),
                            Base.metadata)
    Base.metadata.create_all(handle.engine)
    Listener.batches, Listener.gate = [], None
    yield handle
    handle.engine.dispose()


def stored(db):
    with db.read() as session:
        return sorted(session.scalars(select(Seen.name)))


def test_events_that_queue_up_are_recorded_in_one_transaction_once_each(db):
    Listener.gate = eventlet.event.Event()
    first = community("first")
    later = [community(n) for n in ("b", "c", "d")]
    workers = [eventlet.spawn(Listener(db).remember, first)]
    eventlet.sleep(0)
    # the same event twice in a batch (a redelivery) is handled once
    workers += [eventlet.spawn(Listener(db).remember, e) for e in later + [later[0]]]
    eventlet.sleep(0)
    Listener.gate.send(True)
    for worker in workers:
        worker.wait()
    assert Listener.batches == [["first"], ["b", "c", "d"]]
    assert stored(db) == ["b", "c", "d", "first"]
    Listener(db).remember(later[1])            # redelivered later: no second effect
    assert Listener.batches[-1] == ["b", "c", "d"]


def test_a_bad_event_fails_alone_and_the_rest_of_its_batch_is_kept(db):
    Listener.gate = eventlet.event.Event()
    workers = [eventlet.spawn(Listener(db).remember, community("first"))]
    eventlet.sleep(0)
    named = ["b", "poison", "c"]
    workers += [eventlet.spawn(Listener(db).remember, community(n)) for n in named]
    eventlet.sleep(0)
    Listener.gate.send(True)
    outcomes = []
    for worker in workers:
        try:
            worker.wait()
            outcomes.append("ok")
        except RuntimeError as exc:
            outcomes.append(str(exc))
    assert outcomes == ["ok", "ok", "cannot digest poison", "ok"]
    assert stored(db) == ["b", "c", "first"]
    assert Listener.batches[1] == named          # tried together first, then each alone
