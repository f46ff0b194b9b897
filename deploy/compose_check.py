"""python -m deploy.compose_check [docker-compose.yml]: check the deployment files without Docker.

No Docker engine (nor `docker compose config`) is needed. The public specifications are checked
by the libraries made for them; what this module adds are Townhall's own rules and what those
libraries let through that would only break at run time.

docker-compose.yml
  compose-spec (the Rust compose_spec crate) parses the interpolated file against the Compose
  Specification: top-level and service keys, service names, restart words, depends_on
  conditions, healthchecks, durations, ports, volumes' long syntax, networks, secrets and
  configs declared. It stops at the first problem, which is reported with its key.
  Ours: interpolation (${VAR}, ${VAR:-default}, ...; compose-spec does not interpolate);
  what compose-spec accepts and compose would refuse or trip on: `image` or `build`,
  `depends_on` targets exist, no cycle, a healthcheck on every service_healthy target and no
  restart policy on a service_completed_successfully one, `env_file` and bind-mount sources
  exist, named volumes declared, environment names; no host port published twice (ports read
  by docker-py's parser); every `townhall` command names a real subcommand and service;
  every service of servicekit/topology.py has a compose service; TOWNHALL_* names are keys of
  config/townhall.yaml and their values parse to the type the YAML has; Townhall processes do
  not point at 127.0.0.1 for the broker, database, Twilio, SMTP or the payment sandbox (inside
  a container that is the container itself); the gateway listens on 0.0.0.0 and its port is
  published; a stop_grace_period that lets services finish their in-flight work; the Twilio
  sandbox accepts the credentials and the payment sandbox the secret key the services use;
  `docker compose up rabbitmq postgres` starts just those two; no development (made-up
  secrets) with a gateway beyond loopback; every secret comes from a required variable,
  `${NAME:?message}`, never a default. With an environment (--env-file, --environ) the file is
  interpolated as `docker compose up` would: a required variable left unset is a problem, as
  compose refuses to start.
deploy/Procfile
  line format, unique names, known services, every service present, no one-shot commands,
  sandbox credentials as the services' configuration has them, their secrets from the
  services' own required variables.
deploy/k8s/**.yaml (examples/ included)
  kubernetes-validate checks every manifest against the Kubernetes schemas of
  deploy/manifests.py K8S_VERSION in strict mode (unknown fields are errors); the first
  problem of each manifest is reported.
  Ours: metadata.name (the schema leaves it optional), a workload has a container with an
  image, one Deployment per known service, grace period, gateway readiness on /healthz,
  referenced ConfigMaps and Secrets exist, TOWNHALL_* keys, Service selectors, no secret in a
  ConfigMap or a literal env value, no development environment.
deploy/rabbitmq/definitions.json
  vhost, user and permissions `townhall`; the password is a placeholder.
deploy/postgres/init.sql
  creates townhall_<service> for every service that has a database.

Every problem is printed as `file: key: message`; the exit status is 1 when there is any.
The checks live beside this entry point: deploy/compose.py, deploy/procfile.py,
deploy/manifests.py and deploy/broker_and_database.py, with what they share in
deploy/project.py (the project's services and configuration), deploy/interpolation.py and
deploy/commands.py.
"""

import argparse
import os
import sys
from pathlib import Path

from deploy.broker_and_database import check_postgres_init, check_rabbitmq_definitions
from deploy.compose import check_compose
from deploy.manifests import check_k8s
from deploy.procfile import check_procfile
from deploy.project import ROOT, Project


def check_all(compose, procfile=None, k8s=None, rabbitmq=None, postgres_init=None,
              project_root=ROOT, environ=None):
    """Every problem of the compose file and of the deploy/ folder beside it; `environ`: the
    variables compose would interpolate with (None: the file as written)."""
    compose = Path(compose)
    deploy = compose.parent / "deploy"
    project = Project.load(project_root)
    problems = check_compose(compose, project, environ)
    problems += check_procfile(procfile or deploy / "Procfile", project)
    problems += check_k8s(k8s or deploy / "k8s", project)
    problems += check_rabbitmq_definitions(rabbitmq or deploy / "rabbitmq" / "definitions.json")
    problems += check_postgres_init(postgres_init or deploy / "postgres" / "init.sql", project)
    return problems


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m deploy.compose_check",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("compose", nargs="?", default="docker-compose.yml")
    parser.add_argument("--procfile", help="default: deploy/Procfile beside the compose file")
    parser.add_argument("--k8s", help="default: deploy/k8s beside the compose file")
    parser.add_argument("--rabbitmq", help="default: deploy/rabbitmq/definitions.json")
    parser.add_argument("--postgres-init", help="default: deploy/postgres/init.sql")
    parser.add_argument("--project-root", default=str(ROOT),
                        help="where servicekit/ and config/townhall.yaml are")
    parser.add_argument("--env-file", help="interpolate with this .env file, as compose would")
    parser.add_argument("--environ", action="store_true",
                        help="interpolate with this process's environment (over --env-file)")
    args = parser.parse_args(argv)
    environ = None
    if args.env_file or args.environ:
        from dotenv import dotenv_values

        environ = {k: v for k, v in dotenv_values(args.env_file).items() if v is not None} \
            if args.env_file else {}
        if args.environ:
            environ.update(os.environ)
    problems = check_all(args.compose, args.procfile, args.k8s, args.rabbitmq,
                         args.postgres_init, args.project_root, environ)
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} problem(s)", file=sys.stderr)
        return 1
    print(f"{args.compose} and deploy/: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
