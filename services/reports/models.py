"""Read models built only from events."""

from datetime import datetime

from sqlalchemy import JSON, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from servicekit.db import UtcDateTime, make_base, utcnow

Base = make_base()


class DeliveryState(Base):
    """The latest status of every delivery seen in events; counts are derived from it,
    so events arriving out of order or twice still give exact counts."""

    __tablename__ = "delivery_states"
    delivery_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    organization_id: Mapped[str] = mapped_column(String(40), index=True)
    community_id: Mapped[str] = mapped_column(String(40), index=True)
    communication_id: Mapped[str] = mapped_column(String(40), index=True)
    channel: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(20))
    rank: Mapped[int] = mapped_column(Integer)
    credits: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class EmergencySend(Base):
    """An emergency send as its `communication_accepted` told it: who sent it and why, where
    and on which channels. Its deliveries are counted from delivery_states and its end read
    from finished_communications, so whichever event comes first, nothing is lost."""

    __tablename__ = "emergency_sends"
    __table_args__ = (Index("ix_emergency_sends_organization_accepted", "organization_id",
                            "accepted_at"),)
    communication_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    organization_id: Mapped[str] = mapped_column(String(40))
    community_ids: Mapped[list] = mapped_column(JSON)
    kind: Mapped[str] = mapped_column(String(20))
    category_id: Mapped[str] = mapped_column(String(40))
    channels: Mapped[list] = mapped_column(JSON)
    reason: Mapped[str | None] = mapped_column(String(300), nullable=True)
    # who sent it (an event published before communication_accepted named its sender has none)
    sent_by_type: Mapped[str | None] = mapped_column(String(20), nullable=True)
    sent_by_id: Mapped[str | None] = mapped_column(String(60), nullable=True)
    sent_by_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    accepted_at: Mapped[datetime] = mapped_column(UtcDateTime())


class EmergencySendCommunity(Base):
    """Each community an emergency send reached, to find it again by community and to show
    it only to those who may read every one of them."""

    __tablename__ = "emergency_send_communities"
    communication_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    community_id: Mapped[str] = mapped_column(String(40), primary_key=True, index=True)


class FinishedCommunication(Base):
    """Every communication that ended (`communication_finished`), emergency or not: the
    event may come before the send's `communication_accepted` (a parked event replayed)."""

    __tablename__ = "finished_communications"
    communication_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    organization_id: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20))
    finished_at: Mapped[datetime] = mapped_column(UtcDateTime())
