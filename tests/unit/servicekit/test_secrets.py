"""Development secrets: made at random once per installation and kept under its var/, never a
fixed key; outside development, or beyond loopback, no secret is made up."""

import json
import re
import stat
import subprocess
import sys
import time

import jwt
import pytest
from twilio.request_validator import RequestValidator
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from contracts.errors import Forbidden, Unauthenticated
from gateway.webhooks import verify_twilio
from servicekit import config as configuration
from servicekit import tokens
from servicekit.config import ROOT
from services.consent import tokens as link_tokens

# what the code and config/townhall.yaml used to hold: anyone could sign or forge with them
OLD_JWT_KEY = "development-only-signing-key-not-for-production"  # noqa: S105
OLD_LINK_KEY = "development-only-link-signing-key-not-for-production"  # noqa: S105
OLD_TWILIO_TOKEN = "sandbox-token"  # noqa: S105


def installation(folder, **environ):
    """The configuration `make up` loads, for an installation whose var/ is `folder`."""
    return configuration.load(environ={"TOWNHALL_DATA_DIR": str(folder / "data"), **environ})


def resolved(folder, **environ):
    from servicekit import secrets

    return secrets.resolve(installation(folder, **environ))


def old_key_token(account_id="acc_victim"):
    now = int(time.time())
    claims = {"iss": tokens.ISSUER, "aud": tokens.AUDIENCE, "sub": account_id, "org": "org_1",
              "iat": now, "exp": now + 600, "jti": "x", "typ": "access"}
    return jwt.encode(claims, OLD_JWT_KEY, algorithm="HS256")


def test_a_token_signed_with_the_old_built_in_key_is_refused(tmp_path):
    with pytest.raises(Unauthenticated, match="(?i)signature"):
        tokens.verify_access_token(installation(tmp_path), old_key_token())


def test_the_old_link_key_is_not_the_development_link_key(tmp_path):
    assert link_tokens.link_secret(installation(tmp_path)) != OLD_LINK_KEY


def twilio_webhook(auth_token, public_url="http://127.0.0.1:8000"):
    params = {"MessageSid": "SM1", "MessageStatus": "delivered"}
    path = "/webhooks/twilio/status"
    signature = RequestValidator(auth_token).compute_signature(public_url + path, params)
    return Request(EnvironBuilder(method="POST", path=path, data=params,
                                  headers={"X-Twilio-Signature": signature}).get_environ())


def test_a_webhook_signed_with_the_old_sandbox_token_is_refused(tmp_path):
    config = resolved(tmp_path)
    with pytest.raises(Forbidden, match="does not match"):
        verify_twilio(twilio_webhook(OLD_TWILIO_TOKEN), config["twilio"]["auth_token"],
                      config["gateway"]["public_url"])
    # the installation's own token is what the sandbox signs with
    token = config["twilio"]["auth_token"]
    assert verify_twilio(twilio_webhook(token), token, config["gateway"]["public_url"])


def test_two_installations_get_different_secrets_and_each_keeps_its_own(tmp_path):
    first, second = resolved(tmp_path / "one"), resolved(tmp_path / "two")
    names = [("auth", "jwt_secret"), ("consent", "link_secret"), ("messaging", "link_secret"),
             ("twilio", "auth_token"), ("payments", "secret_key")]
    for section, key in names:
        assert len(first[section][key]) >= 43  # 32 random bytes at least
        assert first[section][key] != second[section][key]
    restarted = resolved(tmp_path / "one")
    assert [restarted[s][k] for s, k in names] == [first[s][k] for s, k in names]
    # a token issued before the restart still verifies; the other installation refuses it
    token, _ = tokens.issue_access_token(first, "acc_1", "org_1")
    assert tokens.verify_access_token(restarted, token) == "acc_1"
    with pytest.raises(Unauthenticated):
        tokens.verify_access_token(second, token)


def test_the_secrets_live_beside_the_data_folder_readable_by_the_owner_only(tmp_path):
    config = resolved(tmp_path)
    path = tmp_path / "secrets.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    kept = json.loads(path.read_text())
    assert kept["auth.jwt_secret"] == config["auth"]["jwt_secret"]
    other = resolved(tmp_path / "x", TOWNHALL_SECRETS_FILE=str(tmp_path / "elsewhere.json"))
    assert json.loads((tmp_path / "elsewhere.json").read_text())["consent.link_secret"] == \
        other["consent"]["link_secret"]


def test_a_secrets_file_others_can_read_is_refused(tmp_path):
    from servicekit import secrets

    resolved(tmp_path)
    (tmp_path / "secrets.json").chmod(0o644)
    with pytest.raises(secrets.ConfigurationError, match="chmod 600"):
        resolved(tmp_path)


def test_a_secret_added_later_joins_the_file_and_the_others_stay(tmp_path):
    first = resolved(tmp_path)
    path = tmp_path / "secrets.json"
    kept = json.loads(path.read_text())
    del kept["payments.secret_key"]
    path.write_text(json.dumps(kept))
    again = resolved(tmp_path)
    assert again["auth"]["jwt_secret"] == first["auth"]["jwt_secret"]
    assert again["payments"]["secret_key"] != first["payments"]["secret_key"]
    assert json.loads(path.read_text())["payments.secret_key"] == again["payments"]["secret_key"]


def test_processes_starting_together_agree_on_one_secret(tmp_path):
    script = ("import sys; from servicekit import config, secrets\n"
              "c = secrets.resolve(config.load(environ={'TOWNHALL_DATA_DIR': sys.argv[1]}))\n"
              "print(c['auth']['jwt_secret'])")
    starters = [subprocess.Popen([sys.executable, "-c", script, str(tmp_path / "data")],
                                 cwd=ROOT, stdout=subprocess.PIPE, text=True)
                for _ in range(6)]
    printed = {p.communicate(timeout=60)[0].strip() for p in starters}
    assert len(printed) == 1 and all(printed)
    assert [p.name for p in tmp_path.iterdir()] == ["secrets.json"]  # no temporary file left


def test_configured_secrets_win_and_nothing_is_written(tmp_path):
    config = resolved(tmp_path, TOWNHALL_AUTH__JWT_SECRET="j" * 32,
                      TOWNHALL_CONSENT__LINK_SECRET="l" * 32,
                      TOWNHALL_MESSAGING__LINK_SECRET="m" * 32,
                      TOWNHALL_TWILIO__AUTH_TOKEN="t" * 32,
                      TOWNHALL_PAYMENTS__SECRET_KEY="p" * 32)
    assert (config["auth"]["jwt_secret"], config["twilio"]["auth_token"]) == ("j" * 32, "t" * 32)
    assert not (tmp_path / "secrets.json").exists()


@pytest.mark.parametrize(("missing", "variable"), [
    ("TOWNHALL_AUTH__JWT_SECRET", "auth.jwt_secret (TOWNHALL_AUTH__JWT_SECRET)"),
    ("TOWNHALL_CONSENT__LINK_SECRET", "consent.link_secret (TOWNHALL_CONSENT__LINK_SECRET)"),
    ("TOWNHALL_MESSAGING__LINK_SECRET",
     "messaging.link_secret (TOWNHALL_MESSAGING__LINK_SECRET)"),
    ("TOWNHALL_TWILIO__AUTH_TOKEN", "twilio.auth_token (TOWNHALL_TWILIO__AUTH_TOKEN)"),
    ("TOWNHALL_PAYMENTS__SECRET_KEY", "payments.secret_key (TOWNHALL_PAYMENTS__SECRET_KEY)"),
])
def test_outside_development_a_missing_secret_stops_the_process(tmp_path, missing, variable):
    from servicekit import secrets

    environ = {"TOWNHALL_ENVIRONMENT": "production", "TOWNHALL_AUTH__JWT_SECRET": "j" * 32,
               "TOWNHALL_CONSENT__LINK_SECRET": "l" * 32,
               "TOWNHALL_MESSAGING__LINK_SECRET": "m" * 32, "TOWNHALL_TWILIO__AUTH_TOKEN": "t",
               "TOWNHALL_PAYMENTS__SECRET_KEY": "p"}
    del environ[missing]
    with pytest.raises(secrets.ConfigurationError, match=re.escape(f"{variable} must be set")):
        resolved(tmp_path, **environ)
    assert not (tmp_path / "secrets.json").exists()


def test_a_real_twilio_account_needs_its_own_token_even_in_development(tmp_path):
    from servicekit import secrets

    with pytest.raises(secrets.ConfigurationError, match=r"twilio.auth_token .* must be set"):
        resolved(tmp_path, TOWNHALL_TWILIO__ACCOUNT_SID="AC" + "1" * 32)


def test_invoices_need_no_payment_key(tmp_path):
    config = resolved(tmp_path, TOWNHALL_ENVIRONMENT="production",
                      TOWNHALL_AUTH__JWT_SECRET="j" * 32, TOWNHALL_CONSENT__LINK_SECRET="l" * 32,
                      TOWNHALL_MESSAGING__LINK_SECRET="m" * 32,
                      TOWNHALL_TWILIO__AUTH_TOKEN="t", TOWNHALL_PAYMENTS__PROVIDER="invoice")
    assert config["payments"]["secret_key"] is None


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "", "10.0.0.7", "townhall.example.com"])
def test_development_refuses_a_gateway_reachable_beyond_loopback(tmp_path, host):
    from servicekit import secrets

    config = installation(tmp_path, TOWNHALL_GATEWAY__HOST=host)
    with pytest.raises(secrets.ConfigurationError, match="gateway.host .* environment"):
        secrets.refuse_development_beyond_loopback(config)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.53", "::1", "[::1]", "localhost"])
def test_development_may_listen_on_loopback(tmp_path, host):
    from servicekit import secrets

    secrets.refuse_development_beyond_loopback(installation(tmp_path,
                                                            TOWNHALL_GATEWAY__HOST=host))


def test_outside_development_the_gateway_may_listen_anywhere(tmp_path):
    from servicekit import secrets

    secrets.refuse_development_beyond_loopback(installation(
        tmp_path, TOWNHALL_GATEWAY__HOST="0.0.0.0", TOWNHALL_ENVIRONMENT="production"))


def test_no_fixed_secret_is_left_in_the_code_or_the_configuration():
    sources = [p for folder in ("servicekit", "services", "gateway", "sandbox", "config",
                                "deploy") for p in (ROOT / folder).rglob("*") if p.is_file()
               and p.suffix in (".py", ".yaml", ".yml", ".json", "")]
    sources += [ROOT / "docker-compose.yml", ROOT / "Dockerfile"]
    for old in (OLD_JWT_KEY, OLD_LINK_KEY, OLD_TWILIO_TOKEN, "sandbox-secret"):
        holders = [str(p.relative_to(ROOT)) for p in sources
                   if old in p.read_text(errors="replace")]
        assert holders == [], (old, holders)


@pytest.mark.parametrize(("module", "flag", "variable"), [
    ("sandbox.twilio", "--auth-token", "TWILIO_SANDBOX_AUTH_TOKEN"),
    ("sandbox.payments", "--secret-key", "PAYMENTS_SANDBOX_SECRET_KEY"),
])
def test_the_sandboxes_have_no_default_secret(monkeypatch, module, flag, variable):
    import importlib

    monkeypatch.delenv(variable, raising=False)
    main = importlib.import_module(f"{module}.__main__")
    with pytest.raises(SystemExit, match=f"{flag} \\(or {variable}\\) is required"):
        main.settings_from(main.parse_args([]))
    assert main.settings_from(main.parse_args([flag, "given-by-the-supervisor"]))
