"""Signing keys from configuration (or, in development, the installation's own random ones:
servicekit.secrets), never shorter than 32 bytes."""

from servicekit import secrets

MIN_SECRET_BYTES = 32


def signing_key(config, section, key):
    """config[section][key], e.g. ("auth", "jwt_secret") — set from the environment as
    TOWNHALL_<SECTION>__<KEY>; required outside development."""
    secret = secrets.secret(config, section, key)
    if len(secret.encode()) < MIN_SECRET_BYTES:
        raise secrets.ConfigurationError(f"{section}.{key} must be at least "
                                         f"{MIN_SECRET_BYTES} bytes")
    return secret
