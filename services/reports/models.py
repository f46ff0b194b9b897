"""Read models built only from events."""

from datetime import datetime

from sqlalchemy import Integer, String
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
