"""Configuration: one YAML file, overridden by TOWNHALL_* environment variables."""

import os
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PATH = ROOT / "config" / "townhall.yaml"
ENV_PREFIX = "TOWNHALL_"
UPPER_KEYS = ("AMQP_URI", "DATABASE_URL", "DATABASES")


def load(path=None, environ=None):
    """Read the YAML file (TOWNHALL_CONFIG or the default) and apply environment overrides."""
    environ = os.environ if environ is None else environ
    path = Path(path or environ.get("TOWNHALL_CONFIG") or DEFAULT_PATH)
    with open(path, encoding="utf-8") as fh:
        config = yaml.safe_load(fh) or {}
    apply_overrides(config, environ)
    return config


def apply_overrides(config, environ):
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX) or name == "TOWNHALL_CONFIG":
            continue
        keys = name[len(ENV_PREFIX):].split("__")
        target = config
        for key in keys[:-1]:
            target = target.setdefault(_match_key(target, key), {})
        key = _match_key(target, keys[-1])
        target[key] = _parse(raw, target.get(key))
    return config


def _parse(raw, current):
    """A value replacing a string (or an unset value) stays a string, so a phone number or a
    secret like "+15551234567" or "yes" is taken as written; others are read as YAML."""
    if raw == "":
        return None
    if current is None or isinstance(current, str):
        return raw
    return yaml.safe_load(raw)


def _match_key(mapping, key):
    """Environment names are upper case; YAML keys may be either."""
    for existing in mapping:
        if existing.lower() == key.lower():
            return existing
    return key if key in UPPER_KEYS else key.lower()


def data_dir(config):
    path = Path(config.get("data_dir", "var/data"))
    return path if path.is_absolute() else ROOT / path


def database_url(config, service):
    """The database of one service: DATABASES[service], else DATABASE_URL with {service}."""
    databases = config.get("DATABASES")
    explicit = databases.get(service) if databases is not None else None
    template = explicit or config.get("DATABASE_URL") or "sqlite:///{data_dir}/{service}.sqlite3"
    url = template.replace("{service}", service).replace("{data_dir}", str(data_dir(config)))
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg2://" + url[len("postgresql://"):]
    return url


SANDBOX_ACCOUNT_SID = "AC" + "0" * 32
TWILIO_API = "https://api.twilio.com"


def twilio_base_url(config):
    """Where texts go: an explicit twilio.base_url; else the local sandbox while the
    sandbox's test account is configured; else real Twilio — so real credentials alone
    switch to Twilio, with no code change."""
    twilio = config.get("twilio") or {}
    if twilio.get("base_url"):
        return twilio["base_url"].rstrip("/")
    if twilio.get("account_sid") in (None, SANDBOX_ACCOUNT_SID):
        port = (config.get("sandbox") or {}).get("twilio_port", 8010)
        return f"http://127.0.0.1:{port}"
    return TWILIO_API


def uses_twilio_sandbox(config):
    return twilio_base_url(config) != TWILIO_API
