"""Password login, refresh-token rotation and logout, with failed logins slowed per account
and per address, every outcome in the audit log, and one answer for "no such account" and
"wrong password" so that neither reveals whether an account exists.

A refusal is *returned*, not raised, so that the attempt and its audit entry commit with the
transaction; the entrypoint raises it afterwards."""

from datetime import timedelta

from sqlalchemy import func, select

from contracts.errors import TooManyAttempts, Unauthenticated
from servicekit import tokens
from servicekit.db import utcnow
from services.directory import identity, passwords
from services.directory.models import AuditEvent, LoginAccount, LoginAttempt, RefreshToken

WRONG = "the email or the password is wrong"


def limits(config):
    auth = config.get("auth") or {}
    return (int(auth.get("login_failures_per_account", 5)),
            int(auth.get("login_failures_per_address", 20)),
            int(auth.get("login_window_seconds", 900)))


def audit(session, action, result, *, actor, organization_id=None, target=None, address=None,
          **details):
    session.add(AuditEvent(organization_id=organization_id, actor=actor, action=action,
                           target=target, address=address, result=result, details=details))


def login(session, config, email, password, address):
    email = (email or "").strip().lower()
    per_account, per_address, window = limits(config)
    since = utcnow() - timedelta(seconds=window)
    failures = {
        "account": _failures(session, LoginAttempt.email == email, since),
        "address": _failures(session, LoginAttempt.address == address, since),
    }
    account = session.scalars(select(LoginAccount).where(LoginAccount.email == email)).first()
    if failures["account"] >= per_account or failures["address"] >= per_address:
        # the account's masters see the attack in their audit log; the caller learns nothing
        audit(session, "login", "throttled", actor=email, address=address,
              organization_id=account.organization_id if account else None)
        return TooManyAttempts(f"too many failed logins; try again in {window // 60} minutes",
                               "email")
    ok = passwords.verify_password(account.password_hash if account else None, password or "")
    session.add(LoginAttempt(email=email, address=address, succeeded=ok))
    if not ok or account.disabled_at is not None:
        audit(session, "login", "failed", actor=email, address=address,
              organization_id=account.organization_id if account else None)
        return Unauthenticated(WRONG, "email")
    who = identity.of_account(session, account)
    audit(session, "login", "succeeded", actor=email, address=address,
          organization_id=account.organization_id, target=account.id)
    return _issue(session, config, account, who)


def refresh(session, config, refresh_token, address):
    """Rotate: the presented token is spent; a spent token presented again revokes the
    whole family of the account's tokens (it was stolen or replayed)."""
    row = session.scalars(select(RefreshToken).where(
        RefreshToken.token_hash == tokens.hash_refresh_token(refresh_token or ""))).first()
    if row is None or row.expires_at < utcnow():
        return Unauthenticated("the refresh token is unknown or expired", "refresh_token")
    account = session.get(LoginAccount, row.account_id)
    if row.revoked_at is not None:
        _revoke_all(session, account.id)
        audit(session, "refresh", "reused", actor=account.email, address=address,
              organization_id=account.organization_id, target=account.id)
        return Unauthenticated("the refresh token was already used; sign in again",
                               "refresh_token")
    row.revoked_at = utcnow()
    who = identity.of_account(session, account)
    audit(session, "refresh", "succeeded", actor=account.email, address=address,
          organization_id=account.organization_id, target=account.id)
    return _issue(session, config, account, who)


def logout(session, refresh_token, address):
    row = session.scalars(select(RefreshToken).where(
        RefreshToken.token_hash == tokens.hash_refresh_token(refresh_token or ""))).first()
    if row is None:
        return False
    account = session.get(LoginAccount, row.account_id)
    if row.revoked_at is None:
        row.revoked_at = utcnow()
    audit(session, "token_revoked", "succeeded", actor=account.email, address=address,
          organization_id=account.organization_id, target=row.id)
    return True


def _issue(session, config, account, who):
    access, ttl = tokens.issue_access_token(config, account.id, account.organization_id)
    refresh_token, token_hash = tokens.new_refresh_token()
    session.add(RefreshToken(id=f"rtk_{token_hash[:20]}", account_id=account.id,
                             token_hash=token_hash,
                             expires_at=utcnow() + timedelta(
                                 seconds=tokens.settings(config)["refresh_ttl"])))
    return {"access_token": access, "token_type": "Bearer", "expires_in": ttl,
            "refresh_token": refresh_token, "identity": who}


def _failures(session, condition, since):
    return session.scalar(select(func.count()).select_from(LoginAttempt).where(
        condition, LoginAttempt.succeeded.is_(False), LoginAttempt.at >= since))


def _revoke_all(session, account_id):
    for row in session.scalars(select(RefreshToken).where(
            RefreshToken.account_id == account_id, RefreshToken.revoked_at.is_(None))):
        row.revoked_at = utcnow()
