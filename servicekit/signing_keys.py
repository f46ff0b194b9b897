"""Signing keys from configuration: required outside development, a built-in one only in it,
and never shorter than 32 bytes."""

MIN_SECRET_BYTES = 32


def signing_key(config, section, key, development_key):
    """config[section][key], e.g. ("auth", "jwt_secret") — set from the environment as
    TOWNHALL_<SECTION>__<KEY>; `development_key` stands in only while `environment` is
    development (the default)."""
    secret = (config.get(section) or {}).get(key)
    name = f"{section}.{key}"
    if not secret:
        if config.get("environment", "development") != "development":
            raise RuntimeError(f"{name} must be set (TOWNHALL_{section.upper()}__"
                               f"{key.upper()}) outside development")
        secret = development_key
    if len(secret.encode()) < MIN_SECRET_BYTES:
        raise RuntimeError(f"{name} must be at least {MIN_SECRET_BYTES} bytes")
    return secret
