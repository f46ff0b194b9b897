"""What `townhall` refuses to start, with one line naming the setting (no traceback)."""

import os
import subprocess
import sys

import pytest

from servicekit.config import ROOT


def townhall(tmp_path, *args, **environ):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOWNHALL_")}
    # a broker nobody answers on: whatever is refused must be refused before connecting
    env.update(TOWNHALL_DATA_DIR=str(tmp_path / "data"),
               TOWNHALL_AMQP_URI="amqp://guest:guest@127.0.0.1:9/", **environ)
    return subprocess.run([sys.executable, "-m", "servicekit.cli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("command", [["run", "gateway"], ["up", "--no-seed"]])
def test_development_with_a_gateway_beyond_loopback_refuses_to_start(tmp_path, command):
    done = townhall(tmp_path, *command, TOWNHALL_GATEWAY__HOST="0.0.0.0")
    assert done.returncode == 2, done.stderr
    assert "gateway.host '0.0.0.0' is not a loopback address" in done.stderr
    assert "environment is development" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "secrets.json").exists()


def test_outside_development_a_service_without_its_secrets_refuses_to_start(tmp_path):
    done = townhall(tmp_path, "run", "directory", TOWNHALL_ENVIRONMENT="production")
    assert done.returncode == 2, done.stderr
    assert "auth.jwt_secret (TOWNHALL_AUTH__JWT_SECRET) must be set outside development" in \
        done.stderr
    assert "Traceback" not in done.stderr
