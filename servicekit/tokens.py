"""Access tokens (signed JWT, short-lived) and refresh tokens (opaque, stored hashed,
revocable). directory issues them; the gateway verifies an access token's signature itself
and asks directory whether its session (`sid`) is still live, so a signed-out or revoked
session stops at the next request on every gateway instance."""

import hashlib
import secrets
import time
import uuid

import jwt

from contracts.errors import Unauthenticated
from servicekit.signing_keys import signing_key

ALGORITHMS = ["HS256"]  # the allow-list: a token naming any other algorithm is refused
ISSUER = "townhall"
AUDIENCE = "townhall-api"


def settings(config):
    auth = config.get("auth") or {}
    secret = signing_key(config, "auth", "jwt_secret")
    return {"secret": secret,
            "access_ttl": int(auth.get("access_ttl_seconds", 900)),
            "refresh_ttl": int(auth.get("refresh_ttl_days", 30)) * 86400}


def issue_access_token(config, account_id, organization_id, session_id=None, now=None):
    """A signed access token; directory always names the session (`sid`) it belongs to."""
    s = settings(config)
    now = int(now or time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": account_id, "org": organization_id,
              "iat": now, "exp": now + s["access_ttl"], "jti": uuid.uuid4().hex,
              "typ": "access"}
    if session_id is not None:
        claims["sid"] = session_id
    return jwt.encode(claims, s["secret"], algorithm=ALGORITHMS[0]), s["access_ttl"]


def verify_session(config, token):
    """{account_id, session_id} of a valid access token naming its session, else
    Unauthenticated saying why: what the gateway asks directory about on every request."""
    claims = _decode(config, token, "sid")
    return {"account_id": claims["sub"], "session_id": claims["sid"]}


def verify_access_token(config, token):
    """The account id of a validly signed access token, else Unauthenticated saying why."""
    return _decode(config, token)["sub"]


def _decode(config, token, *required):
    try:
        claims = jwt.decode(token, settings(config)["secret"], algorithms=ALGORITHMS,
                            audience=AUDIENCE, issuer=ISSUER,
                            options={"require": ["exp", "iat", "sub", "iss", "aud",
                                                 *required]})
    except jwt.ExpiredSignatureError:
        raise Unauthenticated("the access token has expired; refresh it", "Authorization") \
            from None
    except jwt.InvalidTokenError as exc:
        raise Unauthenticated(f"the access token is not valid: {exc}", "Authorization") \
            from None
    if claims.get("typ") != "access":
        raise Unauthenticated("this is not an access token", "Authorization")
    return claims


def new_refresh_token():
    """(token shown once, hash to store)."""
    token = "rt_" + secrets.token_urlsafe(32)
    return token, hash_refresh_token(token)


def hash_refresh_token(token):
    return hashlib.sha256(token.encode()).hexdigest()
