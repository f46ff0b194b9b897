"""tickets' own tables: work orders, their comments, attachments and activity log, the
organization's work order numbers, and ticket settings per organization and community."""

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from servicekit.db import UtcDateTime, make_base, utcnow

Base = make_base()


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (
        Index("ix_tickets_community_status", "community_id", "status"),
        Index("ix_tickets_due", "status", "due_at"),
        Index("ix_tickets_number", "organization_id", "number", unique=True),
    )
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    organization_id: Mapped[str] = mapped_column(String(40))
    number: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))
    community_id: Mapped[str] = mapped_column(String(40))
    community_name: Mapped[str] = mapped_column(String(200))
    unit_id: Mapped[str | None] = mapped_column(String(40), nullable=True, index=True)
    unit_label: Mapped[str | None] = mapped_column(String(100), nullable=True)
    location: Mapped[str | None] = mapped_column(String(100), nullable=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(50))
    priority: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="new")
    permission_to_enter: Mapped[bool] = mapped_column(Boolean, default=False)
    entry_notes: Mapped[str | None] = mapped_column(Text, nullable=True)
    preferred_times: Mapped[list] = mapped_column(JSON, default=list)
    # who it is about (the reporter: a resident, or staff for a common area) and who typed it
    reporter_type: Mapped[str] = mapped_column(String(20))
    reporter_id: Mapped[str] = mapped_column(String(40), index=True)
    reporter_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_by_type: Mapped[str] = mapped_column(String(20))
    created_by_id: Mapped[str] = mapped_column(String(40))
    created_by_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    contact_email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    assignee_type: Mapped[str | None] = mapped_column(String(20), nullable=True)
    assignee_id: Mapped[str | None] = mapped_column(String(40), nullable=True, index=True)
    assignee_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    assignee_email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    assignee_phone: Mapped[str | None] = mapped_column(String(32), nullable=True)
    due_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    due_set_by_hand: Mapped[bool] = mapped_column(Boolean, default=False)
    # the sweeper's mark: set once per due date (cleared when the due date moves)
    overdue_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    first_response_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class TicketNumber(Base):
    """The last work order number given out in an organization: its row is locked by the
    increment, so two tickets never share a number."""

    __tablename__ = "ticket_numbers"
    organization_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=1000)


class TicketComment(Base):
    __tablename__ = "ticket_comments"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    ticket_id: Mapped[str] = mapped_column(String(40), index=True)
    body: Mapped[str] = mapped_column(Text)
    visibility: Mapped[str] = mapped_column(String(30))
    author_type: Mapped[str] = mapped_column(String(20))
    author_id: Mapped[str] = mapped_column(String(40))
    author_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class TicketAttachment(Base):
    """A file of a ticket (or of one of its comments, whose visibility it takes). Its bytes
    are in the blob store shared with messaging's documents, named by their sha256."""

    __tablename__ = "ticket_attachments"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    ticket_id: Mapped[str] = mapped_column(String(40), index=True)
    comment_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    visibility: Mapped[str] = mapped_column(String(30))
    uploaded_by_type: Mapped[str] = mapped_column(String(20))
    uploaded_by_id: Mapped[str] = mapped_column(String(40))
    uploaded_by_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class TicketActivity(Base):
    """The ticket's activity log: append-only, one row per change, each with who read it
    (a managers-only comment's entry is managers-only too)."""

    __tablename__ = "ticket_activity"
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                     primary_key=True, autoincrement=True)
    ticket_id: Mapped[str] = mapped_column(String(40), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    actor_type: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[str] = mapped_column(String(40))
    actor_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    action: Mapped[str] = mapped_column(String(30))
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    visibility: Mapped[str] = mapped_column(String(30))


class OrganizationTicketSettings(Base):
    __tablename__ = "ticket_settings"
    organization_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    categories: Mapped[list | None] = mapped_column(JSON, nullable=True)
    response_targets_hours: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    reopen_completed: Mapped[str] = mapped_column(String(30), default="staff")
    updated_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    updated_by: Mapped[str | None] = mapped_column(String(40), nullable=True)


class CommunityTicketSettings(Base):
    __tablename__ = "community_ticket_settings"
    community_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    organization_id: Mapped[str] = mapped_column(String(40), index=True)
    residents_may_comment: Mapped[bool] = mapped_column(Boolean, default=True)
    email_header: Mapped[str | None] = mapped_column(Text, nullable=True)
    notify: Mapped[dict] = mapped_column(JSON, default=dict)
    reporter_channels: Mapped[list] = mapped_column(JSON, default=lambda: ["email"])
    updated_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    updated_by: Mapped[str | None] = mapped_column(String(40), nullable=True)
