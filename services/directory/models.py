from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from servicekit.db import UtcDateTime, make_base, utcnow

Base = make_base()


class Organization(Base):
    __tablename__ = "organizations"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class Office(Base):
    __tablename__ = "offices"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))


class Community(Base):
    __tablename__ = "communities"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    office_id: Mapped[str | None] = mapped_column(ForeignKey("offices.id"), nullable=True,
                                                  index=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    address: Mapped[str | None] = mapped_column(String(300), nullable=True)


class Unit(Base):
    __tablename__ = "units"
    __table_args__ = (UniqueConstraint("community_id", "label"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    community_id: Mapped[str] = mapped_column(ForeignKey("communities.id"), index=True)
    label: Mapped[str] = mapped_column(String(40))


class Resident(Base):
    """An occupant of a unit: owner or tenant. Moving out keeps the record (history)."""

    __tablename__ = "residents"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    community_id: Mapped[str] = mapped_column(ForeignKey("communities.id"), index=True)
    unit_id: Mapped[str | None] = mapped_column(ForeignKey("units.id"), nullable=True,
                                                index=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    kind: Mapped[str] = mapped_column(String(10), default="tenant")
    language: Mapped[str] = mapped_column(String(8), default="en")
    move_in: Mapped[date | None] = mapped_column(Date, nullable=True)
    move_out: Mapped[date | None] = mapped_column(Date, nullable=True)
    external_id: Mapped[str | None] = mapped_column(String(100), nullable=True, index=True)


class ContactPoint(Base):
    """A phone (E.164) or email of a resident; one of each kind may be primary."""

    __tablename__ = "contact_points"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    resident_id: Mapped[str] = mapped_column(ForeignKey("residents.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # phone, email
    value: Mapped[str] = mapped_column(String(254), index=True)
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class StaffUser(Base):
    __tablename__ = "staff_users"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))
    disabled_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class Team(Base):
    __tablename__ = "teams"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    office_id: Mapped[str | None] = mapped_column(ForeignKey("offices.id"), nullable=True)
    name: Mapped[str] = mapped_column(String(200))


class TeamMember(Base):
    __tablename__ = "team_members"
    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id"), primary_key=True)
    staff_user_id: Mapped[str] = mapped_column(ForeignKey("staff_users.id"), primary_key=True)


class Grant(Base):
    """A permission or a role, held by a staff user for the organization, an office or a
    community. Revoking deletes the row; the audit log keeps the history."""

    __tablename__ = "grants"
    __table_args__ = (UniqueConstraint("staff_user_id", "name", "scope_type", "scope_id"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    staff_user_id: Mapped[str] = mapped_column(ForeignKey("staff_users.id"), index=True)
    name: Mapped[str] = mapped_column(String(40))          # a permission or a role
    scope_type: Mapped[str] = mapped_column(String(20))    # organization, office, community
    scope_id: Mapped[str] = mapped_column(String(40))
    granted_by: Mapped[str] = mapped_column(String(60))
    granted_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class ApiKey(Base):
    __tablename__ = "api_keys"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    permissions: Mapped[list] = mapped_column(JSON)          # organization-wide
    # [permission, scope_type, scope_id] for an office or a community
    grants: Mapped[list | None] = mapped_column(JSON, nullable=True)
    # the staff user who made it; the key holds only what they still hold (None: the seed)
    created_by: Mapped[str | None] = mapped_column(String(40), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class LoginAccount(Base):
    """Password login of a staff user or of a resident (portal account)."""

    __tablename__ = "login_accounts"
    # one login per email in each organization: a tenant neither sees nor blocks another's
    __table_args__ = (UniqueConstraint("organization_id", "email"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    principal_type: Mapped[str] = mapped_column(String(10))  # staff, resident
    principal_id: Mapped[str] = mapped_column(String(40), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    disabled_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class LoginSession(Base):
    """One sign-in and the refresh tokens rotated from it. Every access token names its
    session (`sid`), and directory refuses it once the session has ended: by logout, by the
    reuse of a spent refresh token (every session of the account), or by disabling."""

    __tablename__ = "login_sessions"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("login_accounts.id"), index=True)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    ended_because: Mapped[str | None] = mapped_column(String(20), nullable=True)


class RefreshToken(Base):
    __tablename__ = "refresh_tokens"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("login_accounts.id"), index=True)
    # null only for tokens issued before sessions existed; those are refused
    session_id: Mapped[str | None] = mapped_column(ForeignKey("login_sessions.id"),
                                                   nullable=True, index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class LoginAttempt(Base):
    __tablename__ = "login_attempts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    address: Mapped[str] = mapped_column(String(64), index=True)
    succeeded: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)


class AuditEvent(Base):
    """Security events: logins, tokens and keys, grants. Insert-only."""

    __tablename__ = "audit_events"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    organization_id: Mapped[str | None] = mapped_column(String(40), index=True, nullable=True)
    actor: Mapped[str] = mapped_column(String(254))
    action: Mapped[str] = mapped_column(String(60))
    target: Mapped[str | None] = mapped_column(String(254), nullable=True)
    address: Mapped[str | None] = mapped_column(String(64), nullable=True)
    result: Mapped[str] = mapped_column(String(20))
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class ResidentImport(Base):
    """A CSV import of residents and units into one community, run in the background.

    The uploaded file is kept until the job ends, so a service that stops or crashes halfway
    can start it again; it is dropped then, being personal data nobody needs any more.
    `attempts` counts claims: a runner works on a job only while the count is still its own
    and its lease has not run out, so two instances never both import one file.
    """

    __tablename__ = "resident_imports"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    community_id: Mapped[str] = mapped_column(ForeignKey("communities.id"), index=True)
    requested_by: Mapped[str] = mapped_column(String(60))
    filename: Mapped[str | None] = mapped_column(String(255), nullable=True)
    data: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True, deferred=True)
    import_valid_rows: Mapped[bool] = mapped_column(Boolean, default=False)
    default_region: Mapped[str] = mapped_column(String(2))
    # pending, validating, importing, completed, rejected, failed
    status: Mapped[str] = mapped_column(String(20), index=True, default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    rows_total: Mapped[int | None] = mapped_column(Integer, nullable=True)
    rows_checked: Mapped[int] = mapped_column(Integer, default=0)
    counts: Mapped[dict] = mapped_column(JSON, default=dict)
    errors: Mapped[list] = mapped_column(JSON, default=list)
    warnings: Mapped[list] = mapped_column(JSON, default=list)
    file_errors: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class ResidentImportKey(Base):
    """Which resident a CSV row stands for: its external_id, or unit and name when the file
    has none. Importing the same file again finds the same residents and changes nothing."""

    __tablename__ = "resident_import_keys"
    community_id: Mapped[str] = mapped_column(ForeignKey("communities.id"), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    resident_id: Mapped[str] = mapped_column(ForeignKey("residents.id"), index=True)


class StaffOffice(Base):
    """An office a staff user works in: one primary, any number of additional ones. Who
    manages the SMS credits of an office's users follows it (seed 002)."""

    __tablename__ = "staff_offices"
    staff_user_id: Mapped[str] = mapped_column(ForeignKey("staff_users.id"), primary_key=True)
    office_id: Mapped[str] = mapped_column(ForeignKey("offices.id"), primary_key=True,
                                           index=True)
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False)


class Group(Base):
    """A saved audience of one community: residents and units a manager names once and
    sends to again. Members are kept in group_residents and group_units."""

    __tablename__ = "groups"
    __table_args__ = (UniqueConstraint("community_id", "name"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    community_id: Mapped[str] = mapped_column(ForeignKey("communities.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class GroupResident(Base):
    __tablename__ = "group_residents"
    group_id: Mapped[str] = mapped_column(ForeignKey("groups.id"), primary_key=True)
    resident_id: Mapped[str] = mapped_column(ForeignKey("residents.id"), primary_key=True,
                                             index=True)


class GroupUnit(Base):
    __tablename__ = "group_units"
    group_id: Mapped[str] = mapped_column(ForeignKey("groups.id"), primary_key=True)
    unit_id: Mapped[str] = mapped_column(ForeignKey("units.id"), primary_key=True, index=True)
