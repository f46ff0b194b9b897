from datetime import datetime

from sqlalchemy import JSON, Boolean, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from servicekit.db import UtcDateTime, make_base, utcnow

Base = make_base()


class Category(Base):
    """A communication category (Property Vista): what residents consent to. Townhall's own
    (the built-in "Work orders") carry a system key, one of each per organization."""

    __tablename__ = "categories"
    __table_args__ = (UniqueConstraint("organization_id", "system_key",
                                       name="uq_categories_organization_system_key"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    organization_id: Mapped[str] = mapped_column(String(40), index=True)
    system_key: Mapped[str | None] = mapped_column(String(40), nullable=True)
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


class KeywordEvent(Base):
    """Append-only: SMS keywords received from a phone to one of our sender numbers, and
    carrier opt-outs (Twilio error 21610 on a send). The latest stop or start of a
    (phone, sender) pair decides whether texts from that sender may reach that phone."""

    __tablename__ = "keyword_events"
    __table_args__ = (Index("ix_keyword_events_phone_sender", "phone", "sender"),)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(40), unique=True)
    phone: Mapped[str] = mapped_column(String(20))
    sender: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(10))      # stop, start, help
    keyword: Mapped[str] = mapped_column(String(20))   # as received, upper case; or "21610"
    source: Mapped[str] = mapped_column(String(20))    # inbound_sms, provider_error
    # the inbound message (or failed send) it came from: one event per message, however
    # often the provider retries its webhook
    message_sid: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    body: Mapped[str | None] = mapped_column(Text, nullable=True)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class Link(Base):
    """A signed link sent to a resident: `unsubscribe` (every message of an opt-out-enabled
    category) or `confirm` (a consent request). The token is the id and its signature."""

    __tablename__ = "links"
    __table_args__ = (Index("ix_links_lookup", "purpose", "resident_id", "category_id",
                            "channel"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(20))
    organization_id: Mapped[str] = mapped_column(String(40), index=True)
    resident_id: Mapped[str] = mapped_column(String(40))
    category_id: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(10))
    address: Mapped[str | None] = mapped_column(String(254), nullable=True)
    request_id: Mapped[str | None] = mapped_column(String(40), nullable=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class ConsentRequest(Base):
    """"Actions → Send consent request": one email per resident of the chosen communities."""

    __tablename__ = "consent_requests"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    organization_id: Mapped[str] = mapped_column(String(40), index=True)
    category_id: Mapped[str] = mapped_column(String(40), index=True)
    community_ids: Mapped[list] = mapped_column(JSON)
    requested_by: Mapped[str] = mapped_column(String(60))
    status: Mapped[str] = mapped_column(String(20))    # sending, done
    total: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class ConsentRequestRecipient(Base):
    """One resident of a consent request and where their email stands."""

    __tablename__ = "consent_request_recipients"
    request_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    resident_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    # skipped_answered, skipped_no_email, queued, sent, failed, confirmed
    status: Mapped[str] = mapped_column(String(20), index=True)
    reason: Mapped[str | None] = mapped_column(String(300), nullable=True)
    link_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class ConsentSettings(Base):
    """Per organization: the answer to HELP / INFO texts, and its quiet hours."""

    __tablename__ = "consent_settings"
    organization_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    sms_help_text: Mapped[str] = mapped_column(String(320))
    # quiet hours wider than the legal 21:00–08:00 (local "HH:MM"); null: the legal ones
    quiet_start: Mapped[str | None] = mapped_column(String(5), nullable=True)
    quiet_end: Mapped[str | None] = mapped_column(String(5), nullable=True)
    updated_by: Mapped[str] = mapped_column(String(60))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
