"""Starting the sandboxes from tests and benches: random secrets must always be accepted."""

import pytest
import requests

from sandbox.launch import start_payment_sandbox, start_twilio_sandbox


@pytest.mark.parametrize("secret", ["-starts-with-a-dash", "--looks-like-a-flag"])
def test_a_twilio_sandbox_starts_with_a_token_that_begins_with_a_dash(secret):
    # token_urlsafe begins with "-" one time in 64; CI once lost a whole module to it
    with start_twilio_sandbox(auth_token=secret, callback_delay_ms=20) as sandbox:
        assert sandbox.auth_token == secret
        assert secret not in " ".join(sandbox.process.args)   # any local user reads argv
        answer = requests.get(f"{sandbox.url}/2010-04-01/Accounts/{sandbox.account_sid}"
                              "/Messages.json", auth=(sandbox.account_sid, secret), timeout=5)
        assert answer.status_code == 200


@pytest.mark.parametrize("secret", ["-starts-with-a-dash"])
def test_a_payment_sandbox_starts_with_a_key_that_begins_with_a_dash(secret):
    with start_payment_sandbox(secret_key=secret) as sandbox:
        assert sandbox.secret_key == secret
        assert secret not in " ".join(sandbox.process.args)
        unknown = f"{sandbox.url}/v1/payment_intents/pi_unknown"
        assert requests.get(unknown, headers={"Authorization": f"Bearer {secret}"},
                            timeout=5).status_code == 404
        assert requests.get(unknown, headers={"Authorization": "Bearer another"},
                            timeout=5).status_code == 401
