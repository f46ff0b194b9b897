"""A gateway started as `make up` starts it, with the default configuration: only its own
installation's secrets are believed, never a key that was once written in the code."""

import json
import os
import subprocess
import sys
import time

import jwt
import pytest
import requests
from twilio.request_validator import RequestValidator

from servicekit import testing, tokens
from servicekit.config import ROOT

OLD_JWT_KEY = "development-only-signing-key-not-for-production"  # noqa: S105
OLD_TWILIO_TOKEN = "sandbox-token"  # noqa: S105
STATUS_PATH = "/webhooks/twilio/status"


@pytest.fixture
def gateway(amqp_uri, tmp_path):
    """`townhall run gateway` with nothing configured but where it runs."""
    port = testing.free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOWNHALL_")}
    env.update(TOWNHALL_AMQP_URI=amqp_uri, TOWNHALL_DATA_DIR=str(tmp_path / "var" / "data"),
               TOWNHALL_GATEWAY__PORT=str(port),
               TOWNHALL_GATEWAY__PUBLIC_URL=f"http://127.0.0.1:{port}")
    with open(tmp_path / "gateway.log", "wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "servicekit.cli", "run", "gateway"],
                                   cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, (tmp_path / "gateway.log").read_text()
            try:
                if requests.get(f"{url}/openapi.json", timeout=2).ok:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, "the gateway did not start"
            time.sleep(0.2)
        yield url, tmp_path / "var" / "secrets.json"
    finally:
        process.terminate()
        process.wait(30)


def signed_status(url, auth_token):
    params = {"MessageSid": "SMforged", "MessageStatus": "delivered"}
    signature = RequestValidator(auth_token).compute_signature(url + STATUS_PATH, params)
    return requests.post(url + STATUS_PATH, data=params, timeout=10,
                         headers={"X-Twilio-Signature": signature})


def test_a_webhook_signed_with_the_old_sandbox_token_is_refused(gateway):
    url, secrets_file = gateway
    assert signed_status(url, OLD_TWILIO_TOKEN).status_code == 403
    installation_token = json.loads(secrets_file.read_text())["twilio.auth_token"]
    assert signed_status(url, installation_token).status_code == 204


def test_an_access_token_signed_with_the_old_built_in_key_is_refused(gateway):
    url, _ = gateway
    now = int(time.time())
    forged = jwt.encode({"iss": tokens.ISSUER, "aud": tokens.AUDIENCE, "sub": "acc_anyone",
                         "org": "org_any", "iat": now, "exp": now + 600, "typ": "access"},
                        OLD_JWT_KEY, algorithm="HS256")
    answer = requests.get(f"{url}/v1/me", headers={"Authorization": f"Bearer {forged}"},
                          timeout=30)
    assert answer.status_code == 401
    assert "Signature verification failed" in answer.text
