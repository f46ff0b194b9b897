"""The ledger: accounts, balanced transactions of entries, holds and their resolutions.
Everything is insert-only; balances and hold states are derived."""

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from servicekit.db import UtcDateTime, make_base, utcnow

Base = make_base()


class Account(Base):
    """One account of a wallet (`wallet`, `holds`) or of the organization (`purchases`,
    `usage`). `owner`: `community:<id>`, `user:<id>`, `pool`, or "" for the organization."""

    __tablename__ = "accounts"
    __table_args__ = (UniqueConstraint("organization_id", "kind", "owner"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    organization_id: Mapped[str] = mapped_column(String(40), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # wallet, holds, usage, purchases
    owner: Mapped[str] = mapped_column(String(60), default="", index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class LedgerTransaction(Base):
    __tablename__ = "transactions"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    organization_id: Mapped[str] = mapped_column(String(40), index=True)
    # grant, purchase, reserve, settle, release, expire, transfer
    kind: Mapped[str] = mapped_column(String(20))
    # the ledger's own keys only, `<org>:reserve:<communication id>` or `<org>:order:<order
    # id>` (store.transaction_by_key); clients' Idempotency-Keys live in idempotency_records
    idempotency_key: Mapped[str | None] = mapped_column(String(300), unique=True, nullable=True)
    actor: Mapped[str] = mapped_column(String(60))
    reason: Mapped[str] = mapped_column(String(300))
    communication_id: Mapped[str | None] = mapped_column(String(40), nullable=True, index=True)
    order_id: Mapped[str | None] = mapped_column(String(40), nullable=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class Entry(Base):
    __tablename__ = "entries"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    transaction_id: Mapped[str] = mapped_column(ForeignKey("transactions.id"), index=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    amount: Mapped[int] = mapped_column(Integer)


class Hold(Base):
    __tablename__ = "holds"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    organization_id: Mapped[str] = mapped_column(String(40), index=True)
    community_id: Mapped[str] = mapped_column(String(40), index=True)
    payer: Mapped[str] = mapped_column(String(60), index=True)   # the wallet that pays
    transaction_id: Mapped[str] = mapped_column(ForeignKey("transactions.id"))
    communication_id: Mapped[str] = mapped_column(String(40), index=True)
    delivery_id: Mapped[str] = mapped_column(String(40), unique=True)
    amount: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)


class HoldResolution(Base):
    """At most one per hold: the primary key is what makes settle/release exactly-once."""

    __tablename__ = "hold_resolutions"
    hold_id: Mapped[str] = mapped_column(ForeignKey("holds.id"), primary_key=True)
    transaction_id: Mapped[str] = mapped_column(ForeignKey("transactions.id"))
    outcome: Mapped[str] = mapped_column(String(10))  # settled, released, expired
    charged: Mapped[int] = mapped_column(Integer)
    resolved_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class CreditHolder(Base):
    """Whether a staff user may hold credits (holds send_sms somewhere), as directory's
    permission events last said. Without it, a user's credits are frozen: they can only be
    transferred away. Kept from events; directory's tables are never read."""

    __tablename__ = "credit_holders"
    staff_user_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    organization_id: Mapped[str] = mapped_column(String(40), index=True)
    holds_send_sms: Mapped[bool] = mapped_column(Boolean)
    as_of: Mapped[datetime] = mapped_column(UtcDateTime(),
                                            comment="occurred_at of the event applied")


class CreditSettings(Base):
    """An organization's credit model and its limits; changed only by master users, each
    change recorded as a transaction-less audit entry in `setting_changes`."""

    __tablename__ = "credit_settings"
    organization_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    model: Mapped[str] = mapped_column(String(10), default="community")
    floor: Mapped[int | None] = mapped_column(Integer, nullable=True,
                                              comment="community wallets: lowest balance")
    # the rate card; null: DESIGN's default (contracts/pricing.py)
    text_chars: Mapped[int | None] = mapped_column(Integer, nullable=True)
    unicode_text_chars: Mapped[int | None] = mapped_column(Integer, nullable=True)
    voice_seconds: Mapped[int | None] = mapped_column(Integer, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class SettingChange(Base):
    __tablename__ = "setting_changes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    organization_id: Mapped[str] = mapped_column(String(40), index=True)
    actor: Mapped[str] = mapped_column(String(60))
    setting: Mapped[str] = mapped_column(String(100))
    old: Mapped[str | None] = mapped_column(String(60), nullable=True)
    new: Mapped[str | None] = mapped_column(String(60), nullable=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class WalletState(Base):
    """Per wallet: its low-balance threshold and the last state announced (ok, low,
    negative), so wallet_balance_low / went_negative / recovered fire on crossings only."""

    __tablename__ = "wallet_states"
    organization_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    owner: Mapped[str] = mapped_column(String(60), primary_key=True)
    low_threshold: Mapped[int | None] = mapped_column(Integer, nullable=True)
    state: Mapped[str] = mapped_column(String(10), default="ok")


class CreditOrder(Base):
    """A purchase of credits for one wallet: what was sold at which terms (copied in, so an
    invoice never changes), to whom, and how its payment stands. Money is integer minor
    units of `currency`; `tax_rate` is the percent as decimal text ("13", "14.975").

    status: `payment_unknown` (stored before the provider is asked, or its answer was lost;
    reconciled), `paid` (credits applied by transaction `transaction_id`), `failed` (nothing
    charged, nothing applied), `awaiting_payment` (an invoice, until a payment is recorded)."""

    __tablename__ = "credit_orders"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    organization_id: Mapped[str] = mapped_column(String(40), index=True)
    wallet: Mapped[str] = mapped_column(String(60), index=True)
    target_label: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    tax_rate: Mapped[str] = mapped_column(String(12))
    subtotal: Mapped[int] = mapped_column(BigInteger)
    tax: Mapped[int] = mapped_column(BigInteger)
    total: Mapped[int] = mapped_column(BigInteger)
    buyer: Mapped[dict] = mapped_column(JSON)
    seller: Mapped[dict] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20), index=True)
    provider: Mapped[str] = mapped_column(String(20))
    payment_method: Mapped[str | None] = mapped_column(String(100), nullable=True)
    provider_reference: Mapped[str | None] = mapped_column(String(200), nullable=True)
    failure_code: Mapped[str | None] = mapped_column(String(60), nullable=True)
    failure_message: Mapped[str | None] = mapped_column(String(500), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    created_by: Mapped[str] = mapped_column(String(60), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    paid_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    transaction_id: Mapped[str | None] = mapped_column(ForeignKey("transactions.id"),
                                                       nullable=True)


class OrderCounter(Base):
    """The last order number given out in a year: its row is locked by the increment, so
    concurrent orders never share a number (TH-<year>-<last>)."""

    __tablename__ = "credit_order_counters"
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(Integer, default=0)
