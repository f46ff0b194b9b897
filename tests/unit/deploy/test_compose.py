"""deploy.compose_check on the real deployment files and on broken copies of them."""

import json
import shutil
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
if str(ROOT) not in sys.path:  # `deploy` is not an installed package
    sys.path.insert(0, str(ROOT))

from deploy import compose_check  # noqa: E402
from deploy.commands import invocations  # noqa: E402
from deploy.compose_check import check_all  # noqa: E402
from deploy.interpolation import interpolate  # noqa: E402


@pytest.fixture
def copy(tmp_path):
    """docker-compose.yml and deploy/ copied to tmp_path; answers the copied compose file."""
    shutil.copy(ROOT / "docker-compose.yml", tmp_path / "docker-compose.yml")
    shutil.copytree(ROOT / "deploy", tmp_path / "deploy",
                    ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    return tmp_path / "docker-compose.yml"


def edit_compose(path, change):
    # through JSON: services that share a YAML anchor get objects of their own
    data = json.loads(json.dumps(yaml.safe_load(path.read_text())))
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def problems_of(compose):
    return [str(p) for p in check_all(compose, project_root=ROOT)]


def test_the_real_files_pass():
    assert problems_of(ROOT / "docker-compose.yml") == []


def test_main_exits_zero_on_the_real_files(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    assert compose_check.main(["docker-compose.yml"]) == 0
    assert "ok" in capsys.readouterr().out


def test_an_unchanged_copy_passes(copy):
    edit_compose(copy, lambda data: None)  # anchors expanded, same meaning
    assert problems_of(copy) == []


def test_missing_depends_on_target(copy):
    def change(data):
        data["services"]["credits"]["depends_on"]["ledger-db"] = {"condition": "service_healthy"}

    edit_compose(copy, change)
    assert any("services.credits.depends_on.ledger-db" in p and "unknown service 'ledger-db'" in p
               for p in problems_of(copy))


def test_invalid_condition_word_is_the_specifications_finding(copy):
    def change(data):
        data["services"]["tickets"]["depends_on"]["migrate"]["condition"] = "service_done"

    edit_compose(copy, change)
    assert any("services.tickets.depends_on.migrate.condition: unknown variant `service_done`" in p
               and "(Compose Specification)" in p for p in problems_of(copy))


def test_bad_restart_word_is_the_specifications_finding_without_its_line(copy):
    edit_compose(copy, lambda data: data["services"]["gateway"].update(restart="sometimes"))
    found = [p for p in problems_of(copy) if "services.gateway.restart" in p]
    assert len(found) == 1 and "unknown variant `sometimes`" in found[0], found
    # compose-spec counts lines of the interpolated copy it was given, not of the file
    assert " at line " not in found[0]


def test_bad_duration_is_the_specifications_finding(copy):
    edit_compose(copy, lambda data: data["services"]["postgres"]["healthcheck"].update(
        interval="ten"))
    assert any("services.postgres.healthcheck.interval: duration `ten`" in p
               for p in problems_of(copy))


def test_undeclared_secret_is_the_specifications_finding(copy):
    edit_compose(copy, lambda data: data["services"]["gateway"].update(secrets=["jwt"]))
    assert any("docker-compose.yml: (file): secret `jwt` (used in the `gateway` service) is not "
               "defined" in p for p in problems_of(copy))


def test_our_checks_still_run_after_the_specifications_finding(copy):
    def change(data):
        data["services"]["gateway"]["restart"] = "sometimes"
        data["services"]["credits"]["depends_on"]["ledger-db"] = {"condition": "service_healthy"}

    edit_compose(copy, change)
    found = problems_of(copy)
    assert any("services.gateway.restart" in p for p in found)
    assert any("services.credits.depends_on.ledger-db: unknown service" in p for p in found)


def test_service_healthy_needs_a_healthcheck(copy):
    edit_compose(copy, lambda data: data["services"]["postgres"].pop("healthcheck"))
    assert any("service_healthy, but services.postgres has no healthcheck" in p
               for p in problems_of(copy))


def test_unknown_service_in_a_command(copy):
    def change(data):
        data["services"]["reports"]["command"] = ["townhall", "run", "report"]

    edit_compose(copy, change)
    found = problems_of(copy)
    assert any("services.reports.command" in p and "`townhall run report`: unknown service" in p
               for p in found)
    assert any("no service runs `townhall run reports`" in p for p in found)


def test_unknown_service_behind_sh_c(copy):
    def change(data):
        data["services"]["migrate"]["command"] = ["sh", "-c", "townhall migrate gateway && "
                                                  "townhall declare"]

    edit_compose(copy, change)
    assert any("services.migrate.command" in p and "'gateway' has no database" in p
               for p in problems_of(copy))


def test_duplicated_host_port(copy):
    def change(data):
        data["services"]["twilio-sandbox"]["ports"] = ["8000:8010"]

    edit_compose(copy, change)
    assert any("host port 8000/tcp is already published by services.twilio-sandbox" in p
               for p in problems_of(copy))


def test_malformed_port_is_the_specifications_finding(copy):
    edit_compose(copy, lambda data: data["services"]["gateway"].update(ports=["80a:8000"]))
    assert any("services.gateway.ports[0]: error parsing port" in p and "`80a`" in p
               for p in problems_of(copy))


def test_a_published_range_counts_every_host_port(copy):
    def change(data):
        data["services"]["twilio-sandbox"]["ports"] = ["7990-8010:8010"]

    edit_compose(copy, change)
    assert any("host port 8000/tcp is already published by services.twilio-sandbox" in p
               for p in problems_of(copy))


def test_unknown_townhall_key(copy):
    def change(data):
        data["services"]["credits"]["environment"]["TOWNHALL_GATEWAY__PUBLIC_URI"] = "http://x"

    edit_compose(copy, change)
    assert any("services.credits.environment.TOWNHALL_GATEWAY__PUBLIC_URI" in p
               and "no key 'public_uri' under gateway" in p for p in problems_of(copy))


def test_upper_case_keys_are_accepted_and_databases_takes_a_service(copy):
    def change(data):
        env = data["services"]["credits"]["environment"]
        env["TOWNHALL_DATABASES__CREDITS"] = "postgresql://postgres@postgres/credits"
        env["TOWNHALL_DATABASES__GATEWAY"] = "postgresql://postgres@postgres/gateway"

    edit_compose(copy, change)
    found = problems_of(copy)
    assert not any("TOWNHALL_DATABASES__CREDITS" in p for p in found)
    assert any("TOWNHALL_DATABASES__GATEWAY" in p for p in found)


def test_a_number_setting_must_be_a_number(copy):
    def change(data):
        data["services"]["messaging"]["environment"]["TOWNHALL_MAX_WORKERS"] = "plenty"

    edit_compose(copy, change)
    assert any("TOWNHALL_MAX_WORKERS" in p and "read as str" in p for p in problems_of(copy))


def test_a_phone_number_stays_a_string(copy):
    def change(data):
        data["services"]["messaging"]["environment"]["TOWNHALL_TWILIO__FROM_NUMBER"] = "+15551234"

    edit_compose(copy, change)
    assert not any("TOWNHALL_TWILIO__FROM_NUMBER" in p for p in problems_of(copy))


def test_loopback_broker_and_private_gateway(copy):
    def change(data):
        data["services"]["gateway"]["environment"].pop("TOWNHALL_AMQP_URI")
        data["services"]["gateway"]["environment"]["TOWNHALL_GATEWAY__HOST"] = "127.0.0.1"

    edit_compose(copy, change)
    found = problems_of(copy)
    assert any("services.gateway.environment.TOWNHALL_AMQP_URI" in p and "127.0.0.1" in p
               for p in found)
    assert any("TOWNHALL_GATEWAY__HOST" in p and "unreachable" in p for p in found)


def test_sandbox_credentials_must_match(copy):
    def change(data):
        data["services"]["twilio-sandbox"]["command"] = [
            "python", "-m", "sandbox.twilio", "--host=0.0.0.0", "--port=8010",
            "--auth-token=another-token"]

    edit_compose(copy, change)
    assert any("TOWNHALL_TWILIO__AUTH_TOKEN" in p and "accepts 'another-token'" in p
               for p in problems_of(copy))


def test_the_payment_sandbox_key_must_match(copy):
    def change(data):
        data["services"]["payments-sandbox"]["command"] = [
            "python", "-m", "sandbox.payments", "--host=0.0.0.0", "--port=8030",
            "--secret-key=another-key"]

    edit_compose(copy, change)
    assert any("TOWNHALL_PAYMENTS__SECRET_KEY" in p and "accepts 'another-key'" in p
               and "every charge would be refused" in p for p in problems_of(copy))


def test_short_stop_grace_period(copy):
    edit_compose(copy, lambda data: data["services"]["credits"].update(stop_grace_period="10s"))
    assert any("services.credits.stop_grace_period: 10s" in p for p in problems_of(copy))


def test_broker_and_database_start_alone(copy):
    def change(data):
        data["services"]["postgres"]["depends_on"] = ["migrate"]

    edit_compose(copy, change)
    assert any("services.postgres.depends_on" in p and "rabbitmq postgres" in p
               for p in problems_of(copy))


def test_unknown_top_level_key_is_the_specifications_finding(copy):
    edit_compose(copy, lambda data: data.update(service={}))
    assert any("docker-compose.yml: (file): extension key `service` does not start with" in p
               for p in problems_of(copy))


def test_unknown_service_key_is_the_specifications_finding(copy):
    edit_compose(copy, lambda data: data["services"]["postgres"].update(depend_on=["rabbitmq"]))
    assert any("services.postgres: extension key `depend_on` does not start with" in p
               for p in problems_of(copy))


def test_what_the_specification_lets_through(copy):
    def change(data):
        data["services"]["smtp-sandbox"].pop("image")
        data["services"]["smtp-sandbox"].pop("build")
        data["services"]["smtp-sandbox"]["env_file"] = "deploy/missing.env"
        data["services"]["postgres"]["volumes"].append("./deploy/missing.sql:/x.sql")
        data["services"]["postgres"]["volumes"].append("undeclared:/data")
        data["services"]["rabbitmq"]["environment"]["RABBITMQ DEFAULT VHOST"] = "townhall"

    edit_compose(copy, change)
    found = problems_of(copy)
    for expected in ("services.smtp-sandbox: has neither 'image' nor 'build'",
                     "services.smtp-sandbox.env_file[0]: deploy/missing.env does not exist",
                     "bind-mount source ./deploy/missing.sql does not exist",
                     "named volume 'undeclared' is not declared",
                     "environment.RABBITMQ DEFAULT VHOST: not a valid variable name"):
        assert any(expected in p for p in found), (expected, found)
    assert not any("(Compose Specification)" in p for p in found), found


def test_dependency_cycle_and_bad_interpolation(copy):
    def change(data):
        data["services"]["migrate"]["depends_on"]["gateway"] = {"condition": "service_started"}
        data["services"]["gateway"]["image"] = "townhall:${TAG"

    edit_compose(copy, change)
    found = problems_of(copy)
    assert any("dependency cycle" in p for p in found)
    assert any("services.gateway.image" in p and "unclosed" in p for p in found)


def test_procfile_problems(copy):
    procfile = copy.parent / "deploy" / "Procfile"
    text = procfile.read_text().replace("consent: townhall run consent",
                                        "consent: townhall run consnt\nrelease: townhall migrate")
    procfile.write_text(text + "not a process line\n")
    found = problems_of(copy)
    for expected in ("deploy/Procfile: consent (line", "`townhall run consnt`: unknown service",
                     "`townhall migrate` exits", "no line runs `townhall run consent`",
                     "not `name: command`"):
        assert any(expected in p for p in found), (expected, found)


def test_k8s_problems(copy):
    k8s = copy.parent / "deploy" / "k8s"
    (k8s / "broken.yaml").write_text("apiVersion: v1\nmetadata:\n  name: x\n")
    deployments = k8s / "deployments.yaml"
    deployments.write_text(deployments.read_text()
                           .replace('"run", "tickets"', '"run", "ticket"')
                           .replace("terminationGracePeriodSeconds: 30",
                                    "terminationGracePeriodSeconds: 10", 1))
    configmap = k8s / "configmap.yaml"
    configmap.write_text(configmap.read_text() + "  TOWNHALL_SMTP__TLS: \"true\"\n")
    found = problems_of(copy)
    for expected in ("broken.yaml: document 0.kind: missing",
                     "`townhall run ticket`: unknown service",
                     "0 Deployments run `townhall run tickets`",
                     "terminationGracePeriodSeconds: 10",
                     "TOWNHALL_SMTP__TLS: no key 'tls' under smtp"):
        assert any(expected in p for p in found), (expected, found)


@pytest.mark.parametrize(("old", "new", "expected"), [
    ("  replicas: 2\n", "  replicas: 2\n  replica: 3\n",
     "Deployment/townhall-gateway.spec: Additional properties are not allowed "
     "('replica' was unexpected)"),
    ("  replicas: 2\n", '  replicas: "two"\n',
     "Deployment/townhall-gateway.spec.replicas: 'two' is not of type 'integer'"),
    ("imagePullPolicy: IfNotPresent\n", "imagePullPolicy: IfNotPresent\n          pullPolicy: x\n",
     "Deployment/townhall-directory.spec.template.spec.containers[0]: Additional properties "
     "are not allowed ('pullPolicy' was unexpected)"),
    ("kind: Deployment\nmetadata:\n  name: townhall-directory",
     "kind: Deploymnet\nmetadata:\n  name: townhall-directory",
     "Deploymnet/townhall-directory.kind: Couldn't find schema for kind Deploymnet"),
])
def test_k8s_schema_findings(copy, old, new, expected):
    deployments = copy.parent / "deploy" / "k8s" / "deployments.yaml"
    text = deployments.read_text()
    assert old in text
    deployments.write_text(text.replace(old, new, 1))
    assert any("deployments.yaml: " in p and expected in p for p in problems_of(copy)), (
        expected, problems_of(copy))


def test_k8s_examples_are_validated_too(copy):
    secret = copy.parent / "deploy" / "k8s" / "examples" / "secret.yaml"
    secret.write_text(secret.read_text().replace("type: Opaque", "type: Opaque\nimmutible: true"))
    assert any("examples/secret.yaml: Secret/townhall-secrets: Additional properties are not "
               "allowed ('immutible' was unexpected)" in p for p in problems_of(copy))


def test_rabbitmq_and_postgres_files(copy):
    deploy = copy.parent / "deploy"
    definitions = deploy / "rabbitmq" / "definitions.json"
    definitions.write_text(definitions.read_text().replace("CHANGE-ME-townhall-rabbitmq-password",
                                                           "hunter2"))
    init = deploy / "postgres" / "init.sql"
    init.write_text(init.read_text().replace("CREATE DATABASE townhall_reports;", ""))
    found = problems_of(copy)
    assert any("definitions.json: users.townhall.password: must stay a placeholder" in p
               for p in found)
    assert any("init.sql: CREATE DATABASE: townhall_reports is not created" in p for p in found)


def test_main_reports_and_exits_non_zero(copy, capsys):
    edit_compose(copy, lambda data: data["services"]["gateway"]["depends_on"].update(
        nowhere={"condition": "service_started"}))
    assert compose_check.main([str(copy), "--project-root", str(ROOT)]) == 1
    out = capsys.readouterr().out
    assert "docker-compose.yml: services.gateway.depends_on.nowhere: unknown service" in out


@pytest.mark.parametrize(("text", "expected"), [
    ("${A:-x}", "x"), ("${A-x}", "x"), ("${A}", ""), ("$$A", "$A"), ("a${A:-${B:-c}}d", "acd"),
    ("${A:+x}", ""), ("%2F", "%2F"), ("{service}", "{service}"),
])
def test_interpolate(text, expected):
    assert interpolate(text) == expected


def test_interpolate_uses_the_environment():
    assert interpolate("${A:-x}/${B:?set B}", {"A": "a", "B": "b"}) == "a/b"


def test_invocations_of_shell_lines():
    found = invocations("sh -c 'FOO=1 townhall migrate credits && exec townhall declare'")
    assert [(i.program, i.args) for i in found] == [
        ("townhall", ("migrate", "credits")), ("townhall", ("declare",))]
    assert invocations(["python", "-m", "servicekit.cli", "run", "gateway"])[0].args == (
        "run", "gateway")


SECRET_VARIABLES = ("JWT_SECRET", "LINK_SECRET", "DOCUMENT_LINK_SECRET", "TWILIO_AUTH_TOKEN",
                    "PAYMENTS_SECRET_KEY")


def test_compose_without_the_secret_variables_is_refused():
    found = [str(p) for p in check_all(ROOT / "docker-compose.yml", project_root=ROOT,
                                       environ={})]
    for name in SECRET_VARIABLES:
        assert any(f"required variable {name} is not set: set {name}" in p
                   and "refuses to start" in p for p in found), (name, found)
    given = {name: f"{name.lower()}-" + "x" * 40 for name in SECRET_VARIABLES}
    assert [str(p) for p in check_all(ROOT / "docker-compose.yml", project_root=ROOT,
                                      environ=given)] == []


def test_main_reads_an_env_file_as_compose_does(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    env_file = tmp_path / ".env"
    env_file.write_text("JWT_SECRET=" + "j" * 40 + "\nLINK_SECRET=" + "l" * 40 + "\n")
    assert compose_check.main(["docker-compose.yml", "--env-file", str(env_file)]) == 1
    out = capsys.readouterr().out
    assert "required variable TWILIO_AUTH_TOKEN is not set" in out
    assert "JWT_SECRET is not set" not in out


@pytest.mark.parametrize("value", ["${JWT_SECRET:-a-default-anyone-can-read-0123456789}",
                                   "written-in-the-file-0123456789abcdef", "${JWT_SECRET}"])
def test_a_secret_with_a_default_or_written_in_the_file_is_a_problem(copy, value):
    def change(data):
        for service in data["services"].values():
            if "TOWNHALL_AUTH__JWT_SECRET" in (service.get("environment") or {}):
                service["environment"]["TOWNHALL_AUTH__JWT_SECRET"] = value

    edit_compose(copy, change)
    assert any(".environment.TOWNHALL_AUTH__JWT_SECRET" in p and "a required variable" in p
               for p in problems_of(copy))


def test_a_missing_secret_is_a_problem(copy):
    def change(data):
        for service in data["services"].values():
            (service.get("environment") or {}).pop("TOWNHALL_CONSENT__LINK_SECRET", None)

    edit_compose(copy, change)
    assert any("consent" in p and "TOWNHALL_CONSENT__LINK_SECRET: not set" in p
               for p in problems_of(copy))


def test_development_with_a_reachable_gateway_is_a_problem(copy):
    edit_compose(copy, lambda data: data["services"]["gateway"]["environment"].update(
        TOWNHALL_ENVIRONMENT="development"))
    assert any("services.gateway.environment.TOWNHALL_ENVIRONMENT" in p
               and "refuses to start" in p for p in problems_of(copy))


def test_the_twilio_sandbox_needs_the_services_token(copy):
    edit_compose(copy, lambda data: data["services"]["twilio-sandbox"].pop("environment"))
    assert any("TOWNHALL_TWILIO__AUTH_TOKEN" in p and "accepts None" in p
               for p in problems_of(copy))


def test_a_procfile_sandbox_with_a_default_token_is_a_problem(copy):
    procfile = copy.parent / "deploy" / "Procfile"
    text = procfile.read_text()
    start = text.index('"${TOWNHALL_TWILIO__AUTH_TOKEN')
    end = text.index('"', start + 1) + 1
    procfile.write_text(text[:start] + '"${TOWNHALL_TWILIO__AUTH_TOKEN:-sandbox-token}"'
                        + text[end:])
    assert any("deploy/Procfile: twilio-sandbox" in p and "accepts auth_token 'sandbox-token'"
               in p and "no default" in p for p in problems_of(copy))


def test_k8s_secrets_stay_out_of_config_maps_and_development_out_of_k8s(copy):
    configmap = copy.parent / "deploy" / "k8s" / "configmap.yaml"
    configmap.write_text(configmap.read_text().replace(
        "TOWNHALL_ENVIRONMENT: production", "TOWNHALL_ENVIRONMENT: development")
        + "  TOWNHALL_AUTH__JWT_SECRET: in-plain-sight-0123456789abcdef0123\n")
    found = problems_of(copy)
    assert any("configmap.yaml" in p and "TOWNHALL_AUTH__JWT_SECRET" in p
               and "townhall-secrets Secret" in p for p in found)
    assert any("configmap.yaml" in p and "TOWNHALL_ENVIRONMENT" in p and "use production" in p
               for p in found)
