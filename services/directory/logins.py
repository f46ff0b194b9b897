"""Password login, refresh-token rotation and logout, with failed logins slowed per account
and per address, every outcome in the audit log, and one answer for "no such account",
"wrong password" and "disabled" so that none reveals whether or how an account exists.

A login starts a session; its refresh tokens rotate within it and every access token names
it. Logout ends the session, a spent refresh token presented again ends every session of
the account (it was stolen or replayed), disabling ends them all: directory.identity then
refuses their access tokens at the next request.

A refusal is *returned*, not raised, so that the attempt and its audit entry commit with the
transaction; the entrypoint raises it afterwards."""

from datetime import timedelta

from sqlalchemy import func, select

from contracts.errors import OrganizationChoice, TooManyAttempts, Unauthenticated
from servicekit import tokens
from servicekit.access import new_id
from servicekit.db import utcnow
from services.directory import identity, passwords
from services.directory.models import (
    AuditEvent,
    LoginAccount,
    LoginAttempt,
    LoginSession,
    Organization,
    RefreshToken,
)

WRONG = "the email or the password is wrong"
# passwords checked per login that names no organization: an email with logins in more
# organizations names the one it means
CANDIDATES = 2


def limits(config):
    auth = config.get("auth") or {}
    return (int(auth.get("login_failures_per_account", 5)),
            int(auth.get("login_failures_per_address", 20)),
            int(auth.get("login_window_seconds", 900)))


def audit(session, action, result, *, actor, organization_id=None, target=None, address=None,
          **details):
    session.add(AuditEvent(organization_id=organization_id, actor=actor, action=action,
                           target=target, address=address, result=result, details=details))


def login(session, config, email, password, address, organization_id=None):
    """An email may have a login in several organizations (one each). The password tells
    which: it is checked against the email's logins, CANDIDATES of them, or the one of
    `organization_id` when it is named — always as many checks, so the time taken says
    nothing of how many logins there are. A password good for several asks which
    organization (OrganizationChoice), only once it is proven."""
    email = (email or "").strip().lower()
    per_account, per_address, window = limits(config)
    since = utcnow() - timedelta(seconds=window)
    failures = {
        "account": _failures(session, LoginAttempt.email == email, since),
        "address": _failures(session, LoginAttempt.address == address, since),
    }
    query = select(LoginAccount).where(LoginAccount.email == email)
    if organization_id is not None:
        query = query.where(LoginAccount.organization_id == organization_id)
    budget = 1 if organization_id is not None else CANDIDATES
    accounts = session.scalars(query.order_by(LoginAccount.created_at, LoginAccount.id)
                               .limit(budget)).all()
    orgs = [a.organization_id for a in accounts] or [None]
    if failures["account"] >= per_account or failures["address"] >= per_address:
        # the account's masters see the attack in their audit log; the caller learns nothing
        for org in orgs:
            audit(session, "login", "throttled", actor=email, address=address,
                  organization_id=org)
        return TooManyAttempts(f"too many failed logins; try again in {window // 60} minutes",
                               "email")
    slots = accounts + [None] * (budget - len(accounts))
    proven = [a for a in slots
              if passwords.verify_password(a.password_hash if a else None, password or "")
              and a is not None]
    refused = {a.id: identity.refusal(session, a) for a in proven}
    usable = [a for a in proven if not refused[a.id]]
    session.add(LoginAttempt(email=email, address=address, succeeded=bool(usable)))
    for account in proven:
        if refused[account.id]:
            # a disabled login hears what a wrong password hears; only its masters learn more
            audit(session, "login", "refused", actor=email, address=address,
                  organization_id=account.organization_id, reason=refused[account.id])
    if not usable:
        for org in ([] if proven else orgs):
            audit(session, "login", "failed", actor=email, address=address,
                  organization_id=org)
        return Unauthenticated(WRONG, "email")
    if len(usable) > 1:
        names = dict(session.execute(select(Organization.id, Organization.name).where(
            Organization.id.in_([a.organization_id for a in usable]))).all())
        for account in usable:
            audit(session, "login", "organization_asked", actor=email, address=address,
                  organization_id=account.organization_id, target=account.id)
        return OrganizationChoice(
            "this email and password sign in to several organizations; send organization_id, "
            "one of those listed", "organization_id",
            [{"id": a.organization_id, "name": names.get(a.organization_id)} for a in usable])
    account = usable[0]
    who = identity.of_account(session, account)
    audit(session, "login", "succeeded", actor=email, address=address,
          organization_id=account.organization_id, target=account.id)
    started = LoginSession(id=new_id("ses"), account_id=account.id)
    session.add(started)
    return _issue(session, config, account, started.id, who)


def refresh(session, config, refresh_token, address):
    """Rotate: the presented token is spent; a spent token presented again revokes the
    whole family of the account's tokens (it was stolen or replayed)."""
    row = session.scalars(select(RefreshToken).where(
        RefreshToken.token_hash == tokens.hash_refresh_token(refresh_token or ""))).first()
    if row is None or row.expires_at < utcnow():
        return Unauthenticated("the refresh token is unknown or expired", "refresh_token")
    account = session.get(LoginAccount, row.account_id)
    live = session.get(LoginSession, row.session_id) if row.session_id else None
    if live is None or live.ended_at is not None:
        return Unauthenticated("this session has ended; sign in again", "refresh_token")
    if row.revoked_at is not None:
        end_sessions(session, account.id, "reuse")
        audit(session, "refresh", "reused", actor=account.email, address=address,
              organization_id=account.organization_id, target=account.id)
        return Unauthenticated("the refresh token was already used; sign in again",
                               "refresh_token")
    row.revoked_at = utcnow()
    if identity.refusal(session, account):
        return Unauthenticated(identity.ENDED, "refresh_token")
    who = identity.of_account(session, account)
    audit(session, "refresh", "succeeded", actor=account.email, address=address,
          organization_id=account.organization_id, target=account.id)
    return _issue(session, config, account, live.id, who)


def logout(session, refresh_token, address):
    row = session.scalars(select(RefreshToken).where(
        RefreshToken.token_hash == tokens.hash_refresh_token(refresh_token or ""))).first()
    if row is None:
        return False
    account = session.get(LoginAccount, row.account_id)
    if row.revoked_at is None:
        row.revoked_at = utcnow()
    live = session.get(LoginSession, row.session_id) if row.session_id else None
    if live is not None and live.ended_at is None:
        _end(session, live, "logout")
    audit(session, "token_revoked", "succeeded", actor=account.email, address=address,
          organization_id=account.organization_id, target=row.id, session_id=row.session_id)
    return True


def end_sessions(session, account_id, because):
    """End every live session of the account and spend its refresh tokens."""
    for row in session.scalars(select(LoginSession).where(
            LoginSession.account_id == account_id, LoginSession.ended_at.is_(None))):
        _end(session, row, because)
    for row in session.scalars(select(RefreshToken).where(
            RefreshToken.account_id == account_id, RefreshToken.revoked_at.is_(None))):
        row.revoked_at = utcnow()


def _end(session, row, because):
    row.ended_at, row.ended_because = utcnow(), because
    for token in session.scalars(select(RefreshToken).where(
            RefreshToken.session_id == row.id, RefreshToken.revoked_at.is_(None))):
        token.revoked_at = utcnow()


def _issue(session, config, account, session_id, who):
    access, ttl = tokens.issue_access_token(config, account.id, account.organization_id,
                                            session_id)
    refresh_token, token_hash = tokens.new_refresh_token()
    session.add(RefreshToken(id=f"rtk_{token_hash[:20]}", account_id=account.id,
                             session_id=session_id, token_hash=token_hash,
                             expires_at=utcnow() + timedelta(
                                 seconds=tokens.settings(config)["refresh_ttl"])))
    return {"access_token": access, "token_type": "Bearer", "expires_in": ttl,
            "refresh_token": refresh_token, "identity": who}


def _failures(session, condition, since):
    return session.scalar(select(func.count()).select_from(LoginAttempt).where(
        condition, LoginAttempt.succeeded.is_(False), LoginAttempt.at >= since))
