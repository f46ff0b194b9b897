from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from servicekit.db import UtcDateTime, make_base, utcnow

Base = make_base()


class Communication(Base):
    __tablename__ = "communications"
    __table_args__ = (Index("ix_communications_scheduled", "status", "send_at"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    organization_id: Mapped[str] = mapped_column(String(40), index=True)
    community_id: Mapped[str] = mapped_column(String(40), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    channels: Mapped[list] = mapped_column(JSON)
    category_id: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str | None] = mapped_column(String(200), nullable=True)
    body: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(60))
    identity: Mapped[dict] = mapped_column(JSON)  # the sender, for the RPCs made on its behalf
    # the send request's correlation id: later steps (provider callbacks) log under it too
    correlation_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    # the audience as asked ({communities, units, residents, groups, occupancy}) and the
    # communities it touched when accepted; resolved page by page (`audience_after` is the
    # last resident id taken, `pages` how many pages are in), so a crash resumes it
    recipients: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    community_ids: Mapped[list | None] = mapped_column(JSON, nullable=True)
    pages: Mapped[int] = mapped_column(Integer, default=0)
    audience_after: Mapped[str | None] = mapped_column(String(40), nullable=True)
    audience_complete: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(20), default="accepted", index=True)
    # a scheduled send: it waits `scheduled` until then, and the scheduler hands it on once
    send_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    # residents the audience reached when it was accepted (or scheduled)
    audience_size: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # quiet hours: each community's time zone and the organization's window ({start, end},
    # local HH:MM) when it was accepted; an emergency waits for neither, with who and why
    timezones: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    quiet_hours: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    emergency: Mapped[bool] = mapped_column(Boolean, default=False)
    emergency_reason: Mapped[str | None] = mapped_column(String(300), nullable=True)
    # a document send: the document it carries (attached to emails, linked from texts)
    document_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    cancelled_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    cancelled_by: Mapped[str | None] = mapped_column(String(60), nullable=True)


class Delivery(Base):
    __tablename__ = "deliveries"
    __table_args__ = (
        # a page of the audience taken twice (a redelivered event) adds nobody twice
        UniqueConstraint("communication_id", "resident_id", "channel",
                         name="uq_deliveries_communication_resident_channel"),
        Index("ix_deliveries_communication_status", "communication_id", "status"),
        Index("ix_deliveries_due", "status", "next_attempt_at"),
    )
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    communication_id: Mapped[str] = mapped_column(ForeignKey("communications.id"), index=True)
    resident_id: Mapped[str] = mapped_column(String(40))
    community_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    batch: Mapped[int] = mapped_column(Integer, default=0)
    # Twilio segments of the text as sent (what the sender's rate limit counts)
    segments: Mapped[int] = mapped_column(Integer, default=0)
    channel: Mapped[str] = mapped_column(String(10))
    address: Mapped[str | None] = mapped_column(String(254), nullable=True)
    # the resident's language (directory's two-letter code): what a call is read in
    language: Mapped[str | None] = mapped_column(String(8), nullable=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    reason: Mapped[str | None] = mapped_column(String(300), nullable=True)
    error_code: Mapped[str | None] = mapped_column(String(20), nullable=True)
    credits: Mapped[int] = mapped_column(Integer, default=0)
    # a call: the rate card's seconds per credit when it was held; it is charged by the
    # same card, on its real duration
    seconds_per_credit: Mapped[int | None] = mapped_column(Integer, nullable=True)
    hold_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    # the signed unsubscribe link of an opt-out-enabled category, from consent
    unsubscribe_url: Mapped[str | None] = mapped_column(String(500), nullable=True)
    provider_id: Mapped[str | None] = mapped_column(String(255), nullable=True, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    sending_since: Mapped[datetime | None] = mapped_column(UtcDateTime(),
                                                           nullable=True)
    first_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    # a queued delivery waits until then (a retry's back-off, or the sender's rate limit);
    # null: its dispatch event is on its way
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    # a text or call waiting out its community's quiet hours: until when (else null)
    held_until: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    # the provider may have it already (an answer lost on the way back): look it up first
    look_up: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class ProviderCallback(Base):
    """Provider callbacks already applied, by (provider id, status)."""

    __tablename__ = "provider_callbacks"
    provider_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    status: Mapped[str] = mapped_column(String(20), primary_key=True)
    error_code: Mapped[str | None] = mapped_column(String(20), nullable=True)
    # a call's CallDuration on its final status: what it is charged for
    duration_seconds: Mapped[int | None] = mapped_column(Integer, nullable=True)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class Notice(Base):
    """A message Townhall sends on its own account and charges nobody for: the reply to an
    SMS keyword (STOP confirmation, HELP text), consent-request emails and work-order emails
    to staff. (kind, reference) is unique, so a redelivered event never sends a second one."""

    __tablename__ = "notices"
    __table_args__ = (UniqueConstraint("kind", "reference", name="uq_notices_kind_reference"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    organization_id: Mapped[str | None] = mapped_column(String(40), nullable=True, index=True)
    kind: Mapped[str] = mapped_column(String(30))        # keyword_reply, consent_request, ticket
    reference: Mapped[str] = mapped_column(String(120))  # inbound sid; request:resident; event:n
    channel: Mapped[str] = mapped_column(String(10))
    address: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str | None] = mapped_column(String(200), nullable=True)
    body: Mapped[str] = mapped_column(Text)
    headers: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(20))      # sending, sent, delivered, failed
    provider_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    error_code: Mapped[str | None] = mapped_column(String(20), nullable=True)
    reason: Mapped[str | None] = mapped_column(String(300), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class InboundMessage(Base):
    """A text a resident sent to one of our numbers: keywords and replies alike."""

    __tablename__ = "inbound_messages"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    provider_id: Mapped[str] = mapped_column(String(64), unique=True)
    from_number: Mapped[str] = mapped_column(String(20), index=True)
    to_number: Mapped[str] = mapped_column(String(20))
    body: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(10))        # reply, stop, start, help
    organization_id: Mapped[str | None] = mapped_column(String(40), nullable=True, index=True)
    resident_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    community_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class SenderBudget(Base):
    """A sender's segment budget (token bucket), shared by every messaging instance: taken
    per batch under a row lock, by rate_limit's rules."""

    __tablename__ = "sender_budgets"
    sender: Mapped[str] = mapped_column(String(40), primary_key=True)
    tokens: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)  # epoch seconds
    # epoch seconds until which ordinary batches take nothing: an emergency's batch waits
    # for the tokens (rate_limit rule 6); 0: none waits
    urgent_until: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")


class JobLease(Base):
    """A periodic job's lease: whoever moves `leased_until` forward runs it this period."""

    __tablename__ = "job_leases"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    owner: Mapped[str | None] = mapped_column(String(80), nullable=True)
    leased_until: Mapped[datetime] = mapped_column(UtcDateTime())


class CommunicationCommunity(Base):
    """Each community a communication's audience touches, to find it again by community."""

    __tablename__ = "communication_communities"
    communication_id: Mapped[str] = mapped_column(ForeignKey("communications.id"),
                                                  primary_key=True)
    community_id: Mapped[str] = mapped_column(String(40), primary_key=True, index=True)


class Document(Base):
    """A document uploaded to be sent: its bytes are in the shared store (servicekit.blobs)
    under their sha256; this row says whose it is and what it is."""

    __tablename__ = "documents"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    organization_id: Mapped[str] = mapped_column(String(40), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))   # as its content says
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
