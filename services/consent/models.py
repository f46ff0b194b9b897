from datetime import datetime

from sqlalchemy import JSON, Boolean, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from servicekit.db import UtcDateTime, make_base, utcnow

Base = make_base()


class Category(Base):
    __tablename__ = "categories"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    organization_id: Mapped[str] = mapped_column(String(40), index=True)
    name: Mapped[str] = mapped_column(String(200))
    mode: Mapped[str] = mapped_column(String(20))
    transactional: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


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
