"""Passwords hashed with argon2id. Hashing is deliberately slow C code that would stall
every green thread of the process, so it runs in eventlet's thread pool."""

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from eventlet import tpool

MIN_LENGTH = 12
_hasher = PasswordHasher()
# verified when the account does not exist, so both answers take the same time
_DUMMY_HASH = _hasher.hash("not-a-real-password-0000")


def check_strength(password):
    """None, or what is wrong with a new password."""
    if len(password or "") < MIN_LENGTH:
        return f"must be at least {MIN_LENGTH} characters"
    return None


def hash_password(password):
    return tpool.execute(_hasher.hash, password)


def verify_password(stored_hash, password):
    try:
        return tpool.execute(_hasher.verify, stored_hash or _DUMMY_HASH, password) \
            and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False
