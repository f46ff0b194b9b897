"""Cursor pagination: pages in key order, and a cursor the API never gave out is a 422 on
`cursor`, never a query the database refuses (a 500)."""

import pytest
from sqlalchemy import Integer, String, create_engine, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from contracts.errors import InvalidRequest
from servicekit.pagination import encode_cursor, paginate


class Base(DeclarativeBase):
    pass


class Numbered(Base):
    __tablename__ = "numbered"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)


class Named(Base):
    __tablename__ = "named"
    id: Mapped[str] = mapped_column(String, primary_key=True)


@pytest.fixture
def session():
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        session.add_all([Numbered(seq=n) for n in range(1, 8)])
        session.add_all([Named(id=f"grp_{n}") for n in range(1, 8)])
        session.commit()
        yield session


def test_pages_follow_the_key_without_repeats(session):
    seen, cursor = [], None
    while True:
        rows, cursor = paginate(session, select(Numbered), Numbered.seq, cursor, 3)
        seen += [r.seq for r in rows]
        if cursor is None:
            break
    assert seen == list(range(1, 8))


@pytest.mark.parametrize("cursor", [
    "\x0e\U000e21f6^á",        # what the fuzzer sent: decodes to nothing at all
    encode_cursor("not-a-number"),
    "%%%",
])
def test_a_cursor_we_never_gave_out_names_the_field(session, cursor):
    with pytest.raises(InvalidRequest) as raised:
        paginate(session, select(Numbered), Numbered.seq, cursor, 3)
    assert raised.value.field == "cursor"


def test_a_text_key_takes_any_cursor_we_gave_out(session):
    rows, _ = paginate(session, select(Named), Named.id, encode_cursor("grp_5"), 10)
    assert [r.id for r in rows] == ["grp_6", "grp_7"]
