"""Every secret of an installation, resolved in one place, in this order:

1. the configured value (config/townhall.yaml or TOWNHALL_<SECTION>__<KEY>) when it is set;
2. else, only while `environment` is development and only for what runs on this box (the local
   Twilio and payment sandboxes, our own signing keys), a random value made once per
   installation and kept in `secrets_file` (default: secrets.json beside `data_dir`, so
   var/secrets.json), readable by its owner only: the processes of one installation agree,
   a restart keeps tokens and links valid, and no two installations share a key;
3. else the process stops, naming the setting and its environment variable.

No secret is written in the code or the configuration files. Development secrets are only as
safe as the box, so development refuses a gateway that listens beyond loopback.
"""

import fcntl
import ipaddress
import json
import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from secrets import token_urlsafe

from servicekit.config import ROOT, data_dir, uses_twilio_sandbox

RANDOM_BYTES = 48  # 64 characters, well over the 32 bytes signing keys need


class ConfigurationError(RuntimeError):
    """A setting the operator must fix before the process can start."""


def development(config):
    return config.get("environment", "development") == "development"


def _local_payment_sandbox(config):
    payments = config.get("payments") or {}
    return payments.get("provider", "sandbox") == "sandbox" and not payments.get("base_url")


def _card_payments(config):
    return (config.get("payments") or {}).get("provider", "sandbox") == "sandbox"


@dataclass(frozen=True)
class Secret:
    section: str
    key: str
    needed: object = None      # config -> bool; None: always
    generated: object = None   # config -> bool: may development make one up? None: always
    why_not: str = ""          # when it may not

    @property
    def name(self):
        return f"{self.section}.{self.key}"

    @property
    def variable(self):
        return f"TOWNHALL_{self.section.upper()}__{self.key.upper()}"


SECRETS = (
    Secret("auth", "jwt_secret"),
    Secret("consent", "link_secret"),
    Secret("messaging", "link_secret"),
    Secret("twilio", "auth_token", generated=uses_twilio_sandbox,
           why_not="a real Twilio account's token is Twilio's to give"),
    Secret("payments", "secret_key", needed=_card_payments, generated=_local_payment_sandbox,
           why_not="a payment sandbox at payments.base_url has a key of its own"),
)
BY_NAME = {(s.section, s.key): s for s in SECRETS}


def resolve(config):
    """Fill every secret `config` needs into it (in place, and answered): configured,
    generated for this installation, or a ConfigurationError naming the setting."""
    for spec in SECRETS:
        if spec.needed is None or spec.needed(config):
            if not isinstance(config.get(spec.section), dict):
                config[spec.section] = {}
            config[spec.section][spec.key] = secret(config, spec.section, spec.key)
    return config


def secret(config, section, key):
    """One secret, by the rules of the module docstring."""
    value = (config.get(section) or {}).get(key)
    if value:
        return str(value)
    spec = BY_NAME[(section, key)]
    where = f"{spec.name} ({spec.variable}) must be set"
    if not development(config):
        raise ConfigurationError(f"{where} outside development")
    if spec.generated is not None and not spec.generated(config):
        raise ConfigurationError(f"{where}: {spec.why_not}")
    return installation_secrets(secrets_file(config))[spec.name]


def secrets_file(config):
    configured = config.get("secrets_file")
    if configured:
        path = Path(configured)
        return path if path.is_absolute() else ROOT / path
    return data_dir(config).parent / "secrets.json"


def installation_secrets(path):
    """{name: value} of every development secret, made at the first call of an installation.

    Processes starting together agree: the file appears complete or not at all (written
    aside, then linked into place, which fails for all but the first creator), and a secret
    added by a later version joins it under an exclusive lock."""
    path = Path(path)
    values = _read(path)
    if values is None:
        _create(path)
        values = _read(path)
    missing = [s.name for s in SECRETS if not values.get(s.name)]
    return _add(path, missing) if missing else values


def _fresh(names):
    return {name: token_urlsafe(RANDOM_BYTES) for name in names}


def _create(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, aside = tempfile.mkstemp(dir=path.parent, prefix=".secrets-", suffix=".tmp")  # 0600
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(_fresh(s.name for s in SECRETS), fh, indent=2)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(aside, path)
        except FileExistsError:
            pass  # another process made it first: its values are the installation's
    finally:
        os.unlink(aside)


def _read(path):
    try:
        fh = open(path, encoding="utf-8")  # noqa: SIM115 - closed below, after the lock
    except FileNotFoundError:
        return None
    with fh:
        _check_private(path, fh)
        fcntl.flock(fh, fcntl.LOCK_SH)
        return _parsed(path, fh.read())


def _add(path, names):
    with open(path, "r+", encoding="utf-8") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        values = _parsed(path, fh.read())
        values.update({n: v for n, v in _fresh(names).items() if not values.get(n)})
        fh.seek(0)
        fh.truncate()
        json.dump(values, fh, indent=2)
        fh.flush()
        os.fsync(fh.fileno())
    return values


def _check_private(path, fh):
    mode = stat.S_IMODE(os.fstat(fh.fileno()).st_mode)
    if mode & 0o077:
        raise ConfigurationError(f"{path} holds this installation's secrets but others may "
                                 f"read it (mode {mode:o}): chmod 600 {path}")


def _parsed(path, text):
    try:
        values = json.loads(text)
    except ValueError:
        values = None
    if not isinstance(values, dict):
        raise ConfigurationError(f"{path} is not a JSON object of secrets: delete it to make "
                                 "new ones (tokens and links signed with the old ones stop "
                                 "working)")
    return values


def is_loopback(host):
    host = str(host).strip().strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def refuse_development_beyond_loopback(config):
    """Development's secrets live in a file on this box and its sandboxes accept anything
    signed with them: a gateway reachable from elsewhere must not run in development."""
    host = (config.get("gateway") or {}).get("host", "127.0.0.1")
    if development(config) and not is_loopback(host if host is not None else ""):
        raise ConfigurationError(
            f"gateway.host {host!r} is not a loopback address, but environment is "
            "development: listen on 127.0.0.1 (TOWNHALL_GATEWAY__HOST), or set environment "
            "(TOWNHALL_ENVIRONMENT=production) and every secret")
