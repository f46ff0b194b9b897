from datetime import datetime

from sqlalchemy import JSON, Boolean, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from servicekit.db import UtcDateTime, make_base, utcnow

Base = make_base()


class Category(Base):
    """A communication category (Property Vista): what residents consent to."""

    __tablename__ = "categories"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    organization_id: Mapped[str] = mapped_column(String(40), index=True)
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(20), default="message")  # message, broadcast
    mode: Mapped[str] = mapped_column(String(20))
    opt_out_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    transactional: Mapped[bool] = mapped_column(Boolean, default=False)
    # teams whose members see every communication of the category (access roles) and are
    # alerted on replies to it (response groups)
    access_team_ids: Mapped[list] = mapped_column(JSON, default=list)
    response_team_ids: Mapped[list] = mapped_column(JSON, default=list)
    used_count: Mapped[int] = mapped_column(Integer, default=0)
    archived_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class CategoryChange(Base):
    """Every change to a category: who, when, and the fields before and after."""

    __tablename__ = "category_changes"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    category_id: Mapped[str] = mapped_column(String(40), index=True)
    organization_id: Mapped[str] = mapped_column(String(40), index=True)
    actor: Mapped[str] = mapped_column(String(60))
    action: Mapped[str] = mapped_column(String(20))   # created, changed, archived, ...
    changes: Mapped[dict] = mapped_column(JSON)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class ConsentEvent(Base):
    """Append-only: every grant and withdrawal with its evidence. State is derived."""

    __tablename__ = "consent_events"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(40), unique=True)
    organization_id: Mapped[str] = mapped_column(String(40), index=True)
    resident_id: Mapped[str] = mapped_column(String(40), index=True)
    category_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    channel: Mapped[str] = mapped_column(String(10))
    action: Mapped[str] = mapped_column(String(10))
    method: Mapped[str] = mapped_column(String(40))
    recorded_by: Mapped[str] = mapped_column(String(60))
    evidence: Mapped[dict] = mapped_column(JSON)
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
