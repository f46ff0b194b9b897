"""Where the payment sandbox runs: `make up` (the supervisor), compose and the Procfile."""

import json
import shutil
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
if str(ROOT) not in sys.path:  # `deploy` is not an installed package
    sys.path.insert(0, str(ROOT))

from deploy.compose_check import check_all  # noqa: E402
from servicekit.config import load  # noqa: E402
from servicekit.supervisor import Stack, process_specs  # noqa: E402


@pytest.fixture
def specs(tmp_path):
    def of(environ):
        environ = {"TOWNHALL_DATA_DIR": str(tmp_path / "data"), **environ}
        return dict(process_specs(load(environ=environ)))

    return of


@pytest.fixture
def stack(tmp_path):
    def of(environ):
        environ = {"TOWNHALL_DATA_DIR": str(tmp_path / "data"), **environ}
        return Stack(load(environ=environ), env={})

    return of


def test_make_up_starts_the_payment_sandbox_with_the_services_key(specs, stack):
    argv = specs({"TOWNHALL_SANDBOX__PAYMENTS_PORT": "9031",
                  "TOWNHALL_PAYMENTS__SECRET_KEY": "dev-key"})["payments-sandbox"]
    assert argv[1:] == ["-m", "sandbox.payments", "--host", "127.0.0.1", "--port", "9031"]
    env = stack({"TOWNHALL_PAYMENTS__SECRET_KEY": "dev-key"}).env
    assert env["PAYMENTS_SANDBOX_SECRET_KEY"] == "dev-key"


def test_make_up_gives_the_sandboxes_the_installations_own_secrets_off_the_command_line(
        stack, tmp_path):
    started = stack({})
    kept = json.loads((tmp_path / "secrets.json").read_text())
    assert started.env["PAYMENTS_SANDBOX_SECRET_KEY"] == kept["payments.secret_key"]
    assert started.env["TWILIO_SANDBOX_AUTH_TOKEN"] == kept["twilio.auth_token"]
    # any local user can read a command line
    command_lines = " ".join(" ".join(argv) for _, argv in process_specs(started.config))
    assert not [name for name, value in kept.items() if value in command_lines]


@pytest.mark.parametrize("environ", [
    {"TOWNHALL_PAYMENTS__PROVIDER": "invoice"},
    {"TOWNHALL_PAYMENTS__BASE_URL": "http://payments.internal:8030",
     "TOWNHALL_PAYMENTS__SECRET_KEY": "its-own-key"},
])
def test_no_local_payment_sandbox_when_payments_go_elsewhere(specs, environ):
    assert "payments-sandbox" not in specs(environ)


@pytest.fixture
def copy(tmp_path):
    shutil.copy(ROOT / "docker-compose.yml", tmp_path / "docker-compose.yml")
    shutil.copytree(ROOT / "deploy", tmp_path / "deploy",
                    ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    return tmp_path / "docker-compose.yml"


def edit_compose(path, change):
    data = json.loads(json.dumps(yaml.safe_load(path.read_text())))
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def problems_of(compose):
    return [str(p) for p in check_all(compose, project_root=ROOT)]


def test_a_container_without_the_payment_sandbox_address_would_call_itself(copy):
    edit_compose(copy, lambda data: data["services"]["credits"]["environment"].pop(
        "TOWNHALL_PAYMENTS__BASE_URL"))
    assert any("services.credits.environment.TOWNHALL_PAYMENTS__BASE_URL" in p
               and "the payment sandbox at 127.0.0.1" in p for p in problems_of(copy))


def test_invoices_need_no_payment_sandbox_address(copy):
    def change(data):
        env = data["services"]["credits"]["environment"]
        env.pop("TOWNHALL_PAYMENTS__BASE_URL")
        env["TOWNHALL_PAYMENTS__PROVIDER"] = "invoice"

    edit_compose(copy, change)
    assert not any("TOWNHALL_PAYMENTS__BASE_URL" in p for p in problems_of(copy))


def test_the_payment_sandbox_must_accept_the_services_key(copy):
    def change(data):
        data["services"]["payments-sandbox"]["environment"] = {
            "PAYMENTS_SANDBOX_SECRET_KEY": "another-key"}

    edit_compose(copy, change)
    # every Townhall service shares the environment: one problem names them all
    assert any("credits" in p and ".environment.TOWNHALL_PAYMENTS__SECRET_KEY" in p
               and "accepts 'another-key'" in p for p in problems_of(copy))


def test_the_procfile_sandbox_must_accept_the_configured_key(copy):
    procfile = copy.parent / "deploy" / "Procfile"
    procfile.write_text(procfile.read_text().replace(
        '"${TOWNHALL_PAYMENTS__SECRET_KEY:?set TOWNHALL_PAYMENTS__SECRET_KEY in .env}"',
        "another-key"))
    assert any("deploy/Procfile: payments-sandbox" in p
               and "accepts secret key 'another-key'" in p for p in problems_of(copy))
