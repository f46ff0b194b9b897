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
  `image` or `build`; `depends_on` targets exist, no cycle, a healthcheck on every
  service_healthy target and no restart policy on a service_completed_successfully one;
  `env_file` and bind-mount sources exist; named volumes declared; environment names (those
  four compose-spec accepts); no host port published twice (ports read by docker-py's parser);
  every `townhall` command names a real subcommand and service; every service of
  servicekit/topology.py has a compose service; TOWNHALL_* names are keys of
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
  kubernetes-validate checks every manifest against the Kubernetes K8S_VERSION schema in
  strict mode (unknown fields are errors), the first problem of each manifest reported.
  Ours: metadata.name (the schema leaves it optional), a workload has a container with an
  image, one Deployment per known service, grace period, gateway readiness on /healthz,
  referenced ConfigMaps and Secrets exist, TOWNHALL_* keys, Service selectors, no secret in a
  ConfigMap or a literal env value, no development environment.
deploy/rabbitmq/definitions.json
  vhost, user and permissions `townhall`; the password is a placeholder.
deploy/postgres/init.sql
  creates townhall_<service> for every service that has a database.

Every problem is printed as `file: key: message`; the exit status is 1 when there is any.
"""

import argparse
import ast
import json
import os
import re
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path

import kubernetes_validate
import yaml
from compose_spec import PyCompose, parse_duration
from docker.utils.ports import split_port

ROOT = Path(__file__).resolve().parent.parent

ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
PROCFILE_LINE_RE = re.compile(r"^([A-Za-z0-9_-]+):\s*(.+)$")

TOWNHALL_SUBCOMMANDS = {"up", "run", "migrate", "seed", "declare", "dlq", "makemigration"}
ONE_SHOT_SUBCOMMANDS = {"migrate", "seed", "declare", "makemigration", "dlq"}
# services stop within this many seconds of SIGTERM (servicekit.supervisor.STOP_GRACE_SECONDS)
STOP_GRACE_SECONDS = 25
K8S_MIN_GRACE_SECONDS = 30
# The Kubernetes whose schemas the manifests are validated against: the oldest minor release
# a managed cluster (EKS, GKE, AKS with their longer support) may still run while
# kubernetes-validate 1.37 is current. A field added after it would be refused by such a
# cluster; the manifests only use the stable v1, apps/v1 and batch/v1 APIs, valid in every
# version the package ships (1.25-1.37), so moving it later costs nothing but that warning.
K8S_VERSION = "1.33"
# DESIGN.md: "docker compose up rabbitmq postgres" gives just the broker and the database,
# published where the tests and `make up` expect them.
STANDALONE = {"rabbitmq": 5672, "postgres": 5432}
LOOPBACK = {"127.0.0.1", "localhost", "::1", "0.0.0.0"}  # noqa: S104 - compared, not bound
LISTEN_ALL = {"0.0.0.0", "::", ""}  # noqa: S104 - compared, not bound
# what the sandboxes accept when not told (python -m sandbox.twilio / sandbox.payments): their
# secrets have no default
TWILIO_SANDBOX_DEFAULTS = {"account_sid": "AC00000000000000000000000000000000",
                           "auth_token": None}
# the secrets of config/townhall.yaml (servicekit/secrets.py SECRETS): never a fixed value here
SECRET_SETTINGS = ("TOWNHALL_AUTH__JWT_SECRET", "TOWNHALL_CONSENT__LINK_SECRET",
                   "TOWNHALL_MESSAGING__LINK_SECRET", "TOWNHALL_TWILIO__AUTH_TOKEN",
                   "TOWNHALL_PAYMENTS__SECRET_KEY")
PLACEHOLDER = "CHANGE-ME"


@dataclass(frozen=True)
class Problem:
    file: str
    key: str
    message: str

    def __str__(self):
        return f"{self.file}: {self.key}: {self.message}"


@dataclass
class Project:
    """What the deployment files must agree with, read from the project's own sources."""

    services: tuple          # servicekit/topology.py SERVICE_CLASSES: every runnable service
    databases: tuple         # servicekit/cli.py SERVICES: those with a database
    upper_keys: tuple        # servicekit/config.py UPPER_KEYS
    config: dict = field(default_factory=dict)  # config/townhall.yaml

    @classmethod
    def load(cls, root=ROOT):
        root = Path(root)
        services = tuple(_literal(root / "servicekit" / "topology.py", "SERVICE_CLASSES"))
        databases = tuple(_literal(root / "servicekit" / "cli.py", "SERVICES"))
        upper = tuple(_literal(root / "servicekit" / "config.py", "UPPER_KEYS"))
        config = yaml.safe_load((root / "config" / "townhall.yaml").read_text()) or {}
        return cls(services, databases, upper, config)


def _literal(path, name):
    """The value of a module-level `NAME = <literal>` without importing the module."""
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == name for t in node.targets):
            return ast.literal_eval(node.value)
    raise LookupError(f"{path}: no {name}")


# ---------------------------------------------------------------- interpolation (compose, sh)

class InterpolationError(ValueError):
    pass


class RequiredVariable(InterpolationError):
    def __init__(self, name, message):
        super().__init__(f"required variable {name} is not set: {message or name}")
        self.name = name


def interpolate(text, env=None, strict=False):
    """Compose's (and sh's) ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?err}, ${VAR:+alt},
    $VAR and $$, nested defaults included. Unset variables read as the defaults would; a
    required one (${VAR:?err}, ${VAR?err}) reads as the placeholder "<VAR>", or, `strict`, is a
    RequiredVariable error carrying compose's message, as `docker compose up` refuses."""
    env = env or {}
    out, i = [], 0
    while i < len(text):
        char = text[i]
        if char != "$":
            out.append(char)
            i += 1
            continue
        nxt = text[i + 1] if i + 1 < len(text) else ""
        if nxt == "$":
            out.append("$")
            i += 2
        elif nxt == "{":
            end = _closing_brace(text, i + 2)
            out.append(_expand(text[i + 2:end], env, strict))
            i = end + 1
        else:
            match = re.match(r"[A-Za-z_][A-Za-z0-9_]*", text[i + 1:])
            if match:
                out.append(env.get(match.group(), ""))
                i += 1 + match.end()
            else:
                out.append("$")
                i += 1
    return "".join(out)


def _closing_brace(text, start):
    depth = 1
    for j in range(start, len(text)):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return j
    raise InterpolationError(f"unclosed '${{' in {text!r}")


def _expand(body, env, strict=False):
    match = re.match(r"^([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])(.*))?$", body, re.DOTALL)
    if not match:
        raise InterpolationError(f"invalid interpolation '${{{body}}}'")
    name, operator, word = match.groups()
    value = env.get(name)
    if operator is None:
        return value or ""
    unset = value is None or (operator.startswith(":") and value == "")
    if operator.endswith("-"):
        return interpolate(word, env, strict) if unset else value
    if operator.endswith("+"):
        return "" if unset else interpolate(word, env, strict)
    # ${VAR:?error}: compose refuses to start while VAR is unset; here it reads as a placeholder
    if unset and strict:
        raise RequiredVariable(name, word)
    return f"<{name}>" if unset else value


def _interpolate_tree(node, report, path, env=None, strict=False):
    if isinstance(node, str):
        try:
            return interpolate(node, env, strict)
        except InterpolationError as exc:
            report(path, str(exc))
            return node
    if isinstance(node, dict):
        return {k: _interpolate_tree(v, report, f"{path}.{k}" if path else str(k), env, strict)
                for k, v in node.items()}
    if isinstance(node, list):
        return [_interpolate_tree(v, report, f"{path}[{n}]", env, strict)
                for n, v in enumerate(node)]
    return node


# ---------------------------------------------------------------- commands

@dataclass(frozen=True)
class Invocation:
    """One command of a command line: `townhall run credits`, `python -m sandbox.twilio ...`."""

    program: str           # "townhall", "sandbox.twilio", "sandbox.smtp" or the raw argv[0]
    args: tuple


def invocations(command):
    """Every program a compose/Kubernetes/Procfile command runs (through `sh -c` too)."""
    if command is None:
        return []
    if isinstance(command, str):
        tokens = _split(command)
    else:
        tokens = [str(t) for t in command]
    if len(tokens) >= 3 and Path(tokens[0]).name in ("sh", "bash", "ash", "dash") \
            and "-c" in tokens[1:-1]:
        return invocations(tokens[tokens.index("-c") + 1])
    found, segment = [], []
    for token in tokens + [";"]:
        if token in ("&&", "||", ";", "|", "&", ";;"):
            if segment:
                found.append(_invocation(segment))
            segment = []
        else:
            segment.append(token)
    return found


def _split(text):
    lexer = shlex.shlex(text, posix=True, punctuation_chars=";&|")
    lexer.whitespace_split = True
    return list(lexer)


def _invocation(argv):
    while argv and (argv[0] == "exec" or re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", argv[0])):
        argv = argv[1:]
    if not argv:
        return Invocation("", ())
    program = Path(argv[0]).name
    if program == "townhall":
        return Invocation("townhall", tuple(argv[1:]))
    if re.match(r"^python(3(\.\d+)?)?$", program) and len(argv) >= 3 and argv[1] == "-m":
        module = argv[2]
        if module == "servicekit.cli":
            return Invocation("townhall", tuple(argv[3:]))
        return Invocation(module, tuple(argv[3:]))
    return Invocation(argv[0], tuple(argv[1:]))


def _townhall_problems(inv, project):
    """Problems of one `townhall ...` invocation (as the CLI's argparse would refuse it)."""
    if not inv.args:
        return ["`townhall` without a subcommand"]
    sub, rest = inv.args[0], [a for a in inv.args[1:] if not a.startswith("-")]
    if sub not in TOWNHALL_SUBCOMMANDS:
        known = ", ".join(sorted(TOWNHALL_SUBCOMMANDS))
        return [f"unknown townhall subcommand {sub!r} (known: {known})"]
    if sub == "run":
        if len(rest) != 1:
            return ["`townhall run` takes exactly one service"]
        if rest[0] not in project.services:
            return [f"`townhall run {rest[0]}`: unknown service (known: "
                    f"{', '.join(project.services)})"]
    if sub in ("migrate", "makemigration"):
        names = rest if sub == "migrate" else rest[:1]
        known = ", ".join(project.databases)
        return [f"`townhall {sub} {name}`: {name!r} has no database (known: {known})"
                for name in names if name not in project.databases]
    return []


def _flag(args, name):
    """The value of --name VALUE or --name=VALUE in an argv, else None."""
    for n, arg in enumerate(args):
        if arg == f"--{name}" and n + 1 < len(args):
            return args[n + 1]
        if arg.startswith(f"--{name}="):
            return arg.split("=", 1)[1]
    return None


# ---------------------------------------------------------------- configuration keys

def config_key_problem(name, project):
    """Why TOWNHALL_<NAME> is not a key path of config/townhall.yaml, or None."""
    if name == "TOWNHALL_CONFIG":
        return None
    parts = name[len("TOWNHALL_"):].split("__")
    if any(not part for part in parts):
        return "malformed: nested keys are joined by exactly two underscores"
    if parts[0].upper() in project.upper_keys and parts[0] == parts[0].upper():
        if parts[0] == "DATABASES":
            if len(parts) == 2 and parts[1].lower() in project.databases:
                return None
            if len(parts) == 1:
                return None
            return f"DATABASES takes one service with a database ({', '.join(project.databases)})"
        return None if len(parts) == 1 else f"{parts[0]} has no nested keys"
    node, walked = project.config, []
    for part in parts:
        key = _find_key(node, part)
        if key is None:
            where = ".".join(walked) or "the top level"
            return f"no key {part.lower()!r} under {where} of config/townhall.yaml"
        walked.append(key)
        node = node[key]
    return None


def _find_key(mapping, part):
    if not isinstance(mapping, dict):
        return None
    for key in mapping:
        if str(key).lower() == part.lower():
            return key
    return None


def config_default(name, project):
    node = project.config
    for part in name[len("TOWNHALL_"):].split("__"):
        key = _find_key(node, part)
        if key is None:
            return None
        node = node[key]
    return node


def value_problem(name, value, project):
    """TOWNHALL_* values replacing a string stay strings; others are read as YAML scalars:
    flag one whose type differs from the YAML's."""
    if value is None or config_key_problem(name, project) or "<" in str(value):
        return None
    default = config_default(name, project)
    if default is None or isinstance(default, dict | list | str):
        return None
    try:
        parsed = yaml.safe_load(str(value)) if str(value) != "" else None
    except yaml.YAMLError as exc:
        return f"value {value!r} is not a YAML scalar: {exc.problem}"
    if parsed is None:
        return None
    expected = type(default)
    if isinstance(parsed, bool) != isinstance(default, bool) or not (
            isinstance(parsed, expected) or (expected is float and isinstance(parsed, int))):
        return (f"value {value!r} is read as {type(parsed).__name__}, "
                f"config/townhall.yaml has {expected.__name__}")
    return None


def effective(name, env, project):
    """The value a Townhall process sees for one key: its environment, else the YAML."""
    if name in env and env[name] is not None:
        if isinstance(config_default(name, project), str):
            return str(env[name])
        try:
            return yaml.safe_load(str(env[name])) if str(env[name]) != "" else None
        except yaml.YAMLError:
            return env[name]
    return config_default(name, project)


def _host_of(url):
    match = re.match(r"^[a-z][a-z0-9+.-]*://(?:[^@/]*@)?(\[[^\]]*\]|[^:/?#]*)", str(url or ""))
    return match.group(1).strip("[]") if match else None


# ---------------------------------------------------------------- compose

def spec_problem(data):
    """The Compose Specification's verdict on the interpolated file, from compose-spec (the
    Rust compose_spec crate): None, or (key, message) of the first problem, as a parser stops
    at the first. `data` is dumped back to YAML because PyCompose.from_dict is broken in 0.2.1."""
    try:
        PyCompose.from_yaml(yaml.safe_dump(data, sort_keys=False)).validate()
    except ValueError as exc:
        # the line and column are of the re-dumped, interpolated text, not of the file
        message = re.sub(r" at line \d+ column \d+$", "", str(exc))
        match = re.match(r"^([^\s:]+): (.+)$", message, re.DOTALL)
        key, message = match.groups() if match else ("(file)", message)
        return key, f"{message} (Compose Specification)"
    return None


def _environment(service, report, path):
    """The environment a service's processes see (its shape is the Compose Specification's)."""
    env = service.get("environment")
    result = {}
    if isinstance(env, dict):
        for key, value in env.items():
            result[str(key)] = None if value is None else str(value)
    elif isinstance(env, list):
        for n, item in enumerate(env):
            key, sep, value = str(item).partition("=")
            if key in result:
                report(f"{path}.environment[{n}]", f"{key} is set twice")
            result[key] = value if sep else None
    # compose-spec takes any string as a name; a process could not read this one
    for key in result:
        if not ENV_NAME_RE.match(key):
            report(f"{path}.environment.{key}", "not a valid variable name")
    return result


def _seconds(duration):
    """A duration the Compose Specification allows (compose-spec parses it), else None."""
    if isinstance(duration, int | float) and not isinstance(duration, bool):
        return float(duration)
    try:
        return parse_duration(str(duration))
    except ValueError:
        return None


def _published(item):
    """(host_ip, [host ports], [container ports], protocol) of one ports entry, read by
    docker-py's own parser; ValueError when it is malformed (compose-spec reports that)."""
    if isinstance(item, dict):
        host_ip, protocol = str(item.get("host_ip") or ""), str(item.get("protocol") or "tcp")
        container = _port_numbers(item["target"]) if "target" in item else []
        host = _port_numbers(item["published"]) if item.get("published") else []
        return host_ip, host, container, protocol
    internal, external = split_port(str(item))
    container = [int(str(port).partition("/")[0]) for port in internal]
    protocol = str(internal[0]).partition("/")[2] or "tcp"
    host_ip, host = "", []
    for binding in external or []:
        ip, port = binding if isinstance(binding, tuple) else ("", binding)
        host_ip = ip or ""
        host += _port_numbers(port) if port else []
    return host_ip, host, container, protocol


def _port_numbers(port):
    """8000 -> [8000]; "9000-9001" -> [9000, 9001] (docker-py leaves a host range as text)."""
    low, _, high = str(port).partition("-")
    return list(range(int(low), int(high or low) + 1))


def check_compose(path, project, environ=None):
    """`environ`: the variables `docker compose up` would see; None checks the file as written
    (required variables as placeholders)."""
    path = Path(path)
    problems = []
    shown = _shown(path)

    def report(key, message):
        problems.append(Problem(shown, key, message))

    try:
        raw = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        return [Problem(shown, "(file)", f"cannot be read as YAML: {exc}")]
    if not isinstance(raw, dict):
        return [Problem(shown, "(file)", "must be a mapping")]
    data = _interpolate_tree(raw, report, "")
    if environ is not None:
        unset = []
        _interpolate_tree(raw, lambda key, message: unset.append((key, message)), "",
                          environ, strict=True)
        for key, message in unset:
            if "required variable" in message:
                report(key, f"{message}; `docker compose up` refuses to start")
    problem = spec_problem(data)
    if problem:
        report(*problem)
    services = data.get("services")
    if not isinstance(services, dict) or not services:
        report("services", "must be a non-empty mapping")
        return problems
    declared_volumes = set(data.get("volumes") or {}) if isinstance(data.get("volumes"),
                                                                    dict) else set()
    base = path.parent
    envs, runs, targets, host_ports = {}, {}, {}, {}

    for name, service in services.items():
        where = f"services.{name}"
        if not isinstance(service, dict):
            continue  # compose-spec has said so
        if not any(k in service for k in ("image", "build", "extends", "provider")):
            report(where, "has neither 'image' nor 'build'")
        _check_depends_on(name, service, services, report)
        _check_env_files(service, base, report, where)
        _check_volumes(service, base, declared_volumes, report, where)
        env = _environment(service, report, where)
        envs[name] = env
        for key, value in env.items():
            if key.startswith("TOWNHALL_"):
                problem = config_key_problem(key, project) or value_problem(key, value, project)
                if problem:
                    report(f"{where}.environment.{key}", problem)
        for n, item in enumerate(service.get("ports") or []):
            try:
                host_ip, ports, container_ports, protocol = _published(item)
            except (ValueError, TypeError):
                continue  # malformed: compose-spec has said so
            targets.setdefault(name, set()).update(container_ports)
            for port in ports:
                for other_name, other_ip in host_ports.get((port, protocol), []):
                    if host_ip == other_ip or not host_ip or not other_ip \
                            or "0.0.0.0" in (host_ip, other_ip):  # noqa: S104
                        report(f"{where}.ports[{n}]",
                               f"host port {port}/{protocol} is already published by "
                               f"services.{other_name}")
                host_ports.setdefault((port, protocol), []).append((name, host_ip))
        townhall = []
        for key in ("entrypoint", "command"):
            for inv in invocations(service.get(key)):
                if inv.program == "townhall":
                    townhall.append(inv)
                    for message in _townhall_problems(inv, project):
                        report(f"{where}.{key}", message)
                    if len(inv.args) >= 2 and inv.args[0] == "run":
                        runs.setdefault(inv.args[1], []).append(name)
        if townhall:
            _check_townhall_process(name, service, env, townhall, targets.get(name, set()),
                                    project, report)

    for svc in project.services:
        if svc not in runs:
            report("services", f"no service runs `townhall run {svc}`")
    _check_standalone(services, targets, report)
    _check_twilio_sandbox(services, envs, runs, project, report)
    _check_payment_sandbox(services, envs, runs, project, report)
    return _merge_per_service(problems)


def _merge_per_service(problems):
    """One line for a problem that services share (usually through a YAML anchor)."""
    groups = {}
    for problem in problems:
        match = re.match(r"^services\.([^.\[]+)(.*)$", problem.key)
        group = (match.group(2), problem.message) if match else (problem.key, problem.message)
        groups.setdefault(group, []).append((problem, match.group(1) if match else None))
    merged = []
    for (rest, message), members in groups.items():
        names = [name for _, name in members]
        if len(members) > 1 and all(names):
            merged.append(Problem(members[0][0].file, f"services.{{{','.join(names)}}}{rest}",
                                  message))
        else:
            merged += [problem for problem, _ in members]
    return merged


def _check_depends_on(name, service, services, report):
    """What compose-spec lets through and `docker compose up` then trips on: a target that is
    not a service, a cycle, waiting for the health of a service that has no healthcheck or
    for the completion of one that restarts forever."""
    where = f"services.{name}.depends_on"
    deps = service.get("depends_on")
    if isinstance(deps, list):
        deps = {str(d): {"condition": "service_started"} for d in deps}
    if not isinstance(deps, dict):
        return
    for target, spec in deps.items():
        if target not in services:
            report(f"{where}.{target}", f"unknown service {target!r}")
            continue
        condition = spec.get("condition") if isinstance(spec, dict) else None
        other = services[target] if isinstance(services[target], dict) else {}
        health = other.get("healthcheck") or {}
        if condition == "service_healthy" and (not health or health.get("disable")):
            report(f"{where}.{target}.condition",
                   f"service_healthy, but services.{target} has no healthcheck")
        if condition == "service_completed_successfully" and \
                str(other.get("restart", "no")) in ("always", "unless-stopped"):
            report(f"{where}.{target}.condition", f"service_completed_successfully, but "
                   f"services.{target} restarts '{other.get('restart')}' and never completes")
    cycle = _cycle(name, services)
    if cycle:
        report(where, "dependency cycle: " + " -> ".join(cycle))


def _deps(service):
    deps = service.get("depends_on") if isinstance(service, dict) else None
    return list(deps) if isinstance(deps, dict | list) else []


def _cycle(start, services):
    stack = [(start, [start])]
    while stack:
        node, trail = stack.pop()
        for dep in _deps(services.get(node)):
            if dep == start:
                return trail + [dep]
            if dep in services and dep not in trail:
                stack.append((dep, trail + [dep]))
    return None


def _check_env_files(service, base, report, where):
    files = service.get("env_file")
    if files is None:
        return
    for n, item in enumerate(files if isinstance(files, list) else [files]):
        required = True
        if isinstance(item, dict):
            required = item.get("required", True)
            item = item.get("path")
        if required and item and not (base / str(item)).is_file():
            report(f"{where}.env_file[{n}]", f"{item} does not exist")


def _check_volumes(service, base, named, report, where):
    """Bind sources exist and named volumes are declared (compose-spec checks neither)."""
    for n, item in enumerate(service.get("volumes") or []):
        key = f"{where}.volumes[{n}]"
        if isinstance(item, dict):
            kind, source = item.get("type", "volume"), item.get("source")
        else:
            parts = str(item).split(":")
            if len(parts) == 1:
                continue  # an anonymous volume
            source = parts[0]
            kind = "bind" if source.startswith((".", "/", "~")) else "volume"
        if kind == "bind" and source:
            if source.startswith("~") or not (base / source).exists():
                report(key, f"bind-mount source {source} does not exist")
        elif kind == "volume" and source and source not in named:
            report(key, f"named volume {source!r} is not declared under the top-level volumes")


def _check_townhall_process(name, service, env, townhall, targets, project, report):
    """A container running `townhall ...`: where it connects to, how it stops, what it serves."""
    where = f"services.{name}"
    endpoints = {
        "TOWNHALL_AMQP_URI": "the broker",
        "TOWNHALL_DATABASE_URL": "the database",
        "TOWNHALL_TWILIO__BASE_URL": "Twilio",
    }
    for key, what in endpoints.items():
        host = _host_of(effective(key, env, project))
        if host in LOOPBACK:
            report(f"{where}.environment.{key}",
                   f"{what} at {host}: inside a container that is the container itself")
    if effective("TOWNHALL_PAYMENTS__PROVIDER", env, project) in (None, "sandbox"):
        # an unset base_url is the payment sandbox on 127.0.0.1 (services/credits/payments.py)
        url = effective("TOWNHALL_PAYMENTS__BASE_URL", env, project) or "http://127.0.0.1"
        if _host_of(url) in LOOPBACK:
            report(f"{where}.environment.TOWNHALL_PAYMENTS__BASE_URL",
                   f"the payment sandbox at {_host_of(url)}: inside a container that is the "
                   "container itself")
    smtp_host = effective("TOWNHALL_SMTP__HOST", env, project)
    if str(smtp_host) in LOOPBACK:
        report(f"{where}.environment.TOWNHALL_SMTP__HOST",
               f"SMTP at {smtp_host}: inside a container that is the container itself")
    _check_secrets(where, env, project, report)
    served = [inv.args[1] for inv in townhall if inv.args[:1] == ("run",) and len(inv.args) > 1]
    if not served:
        return
    grace = service.get("stop_grace_period")
    seconds = _seconds(grace) if grace is not None else 10.0
    if seconds is not None and seconds < STOP_GRACE_SECONDS:  # None: compose-spec has said so
        report(f"{where}.stop_grace_period",
               f"{seconds:g}s: services need up to {STOP_GRACE_SECONDS}s after SIGTERM to finish "
               "in-flight work (compose's default is 10s)")
    if "gateway" in served:
        host = str(effective("TOWNHALL_GATEWAY__HOST", env, project) or "")
        if host not in LISTEN_ALL:
            report(f"{where}.environment.TOWNHALL_GATEWAY__HOST",
                   f"the gateway listens on {host}: unreachable from outside its container "
                   "(use 0.0.0.0)")
        elif effective("TOWNHALL_ENVIRONMENT", env, project) == "development":
            report(f"{where}.environment.TOWNHALL_ENVIRONMENT",
                   f"development, with the gateway on {host or 'every address'}: it refuses to "
                   "start (development's secrets are made up on the box); set production and "
                   "the secrets")
        port = effective("TOWNHALL_GATEWAY__PORT", env, project)
        if port not in targets:
            report(f"{where}.ports", f"the gateway listens on {port}, which is not published")


def _check_secrets(where, env, project, report):
    """Every secret a Townhall process needs comes from a required variable, ${NAME:?...}:
    a default or a literal would be a secret written in the repository."""
    for name in SECRET_SETTINGS:
        if name == "TOWNHALL_PAYMENTS__SECRET_KEY" and effective(
                "TOWNHALL_PAYMENTS__PROVIDER", env, project) not in (None, "sandbox"):
            continue
        value = effective(name, env, project)
        if value is None:
            report(f"{where}.environment.{name}", "not set: outside development the process "
                   "refuses to start without it; give it from a required variable, "
                   "${NAME:?set NAME}")
        elif not re.fullmatch(r"<[A-Za-z_][A-Za-z0-9_]*>", str(value)):
            report(f"{where}.environment.{name}", "a fixed secret (a literal or a default) "
                   "in the repository: use a required variable, ${NAME:?set NAME}")


def _check_standalone(services, targets, report):
    for name, port in STANDALONE.items():
        if name not in services:
            report("services", f"no service {name!r} (`docker compose up rabbitmq postgres`)")
            continue
        service = services[name] if isinstance(services[name], dict) else {}
        if service.get("profiles"):
            report(f"services.{name}.profiles", "must start without a profile")
        for dep in _deps(service):
            if dep not in STANDALONE:
                report(f"services.{name}.depends_on", f"{dep!r}: `docker compose up rabbitmq "
                       "postgres` would start more than the broker and the database")
        if port not in targets.get(name, set()):
            report(f"services.{name}.ports", f"container port {port} is not published")


def _check_twilio_sandbox(services, envs, runs, project, report):
    sandboxes = {}
    for name, service in services.items():
        if not isinstance(service, dict):
            continue
        for inv in invocations(service.get("command")):
            if inv.program == "sandbox.twilio":
                env = envs.get(name, {})
                sandboxes[name] = {
                    key: _flag(inv.args, key.replace("_", "-"))
                    or env.get(f"TWILIO_SANDBOX_{key.upper()}") or default
                    for key, default in TWILIO_SANDBOX_DEFAULTS.items()}
    for svc_names in runs.values():
        for name in svc_names:
            env = envs.get(name, {})
            host = _host_of(effective("TOWNHALL_TWILIO__BASE_URL", env, project))
            if host not in sandboxes:
                continue
            for key, accepted in sandboxes[host].items():
                used = effective(f"TOWNHALL_TWILIO__{key.upper()}", env, project)
                if used is None or accepted is None or str(used) != str(accepted):
                    report(f"services.{name}.environment.TOWNHALL_TWILIO__{key.upper()}",
                           f"{used!r}, but services.{host} accepts {accepted!r}: every call "
                           "and webhook signature would fail")


def _check_payment_sandbox(services, envs, runs, project, report):
    keys = {}
    for name, service in services.items():
        if not isinstance(service, dict):
            continue
        for inv in invocations(service.get("command")):
            if inv.program == "sandbox.payments":
                keys[name] = (_flag(inv.args, "secret-key")
                              or envs.get(name, {}).get("PAYMENTS_SANDBOX_SECRET_KEY"))
    for svc_names in runs.values():
        for name in svc_names:
            env = envs.get(name, {})
            if effective("TOWNHALL_PAYMENTS__PROVIDER", env, project) not in (None, "sandbox"):
                continue
            host = _host_of(effective("TOWNHALL_PAYMENTS__BASE_URL", env, project))
            if host not in keys:
                continue
            used = effective("TOWNHALL_PAYMENTS__SECRET_KEY", env, project)
            if used is None or keys[host] is None or str(used) != str(keys[host]):
                report(f"services.{name}.environment.TOWNHALL_PAYMENTS__SECRET_KEY",
                       f"{used!r}, but services.{host} accepts {keys[host]!r}: every charge "
                       "would be refused")


# ---------------------------------------------------------------- Procfile

def check_procfile(path, project):
    path = Path(path)
    shown = _shown(path)
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        return [Problem(shown, "(file)", f"cannot be read: {exc}")]
    problems, names, runs = [], set(), set()
    config_env = {}
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key = f"line {number}"
        match = PROCFILE_LINE_RE.match(line)
        if not match:
            problems.append(Problem(shown, key, "not `name: command`"))
            continue
        name, command = match.groups()
        key = f"{name} (line {number})"
        if name in names:
            problems.append(Problem(shown, key, "process name used twice"))
        names.add(name)
        try:
            found = invocations(interpolate(command, config_env))
        except (InterpolationError, ValueError) as exc:
            problems.append(Problem(shown, key, f"cannot parse the command: {exc}"))
            continue
        for inv in found:
            if inv.program == "townhall":
                problems += [Problem(shown, key, m) for m in _townhall_problems(inv, project)]
                if inv.args and inv.args[0] in ONE_SHOT_SUBCOMMANDS:
                    problems.append(Problem(shown, key, f"`townhall {inv.args[0]}` exits: honcho "
                                            "and foreman then stop every other process"))
                if inv.args[:1] == ("run",) and len(inv.args) > 1:
                    runs.add(inv.args[1])
            if inv.program == "sandbox.twilio":
                for flag, default in TWILIO_SANDBOX_DEFAULTS.items():
                    accepted = _flag(inv.args, flag.replace("_", "-")) or default
                    setting = f"TOWNHALL_TWILIO__{flag.upper()}"
                    used = (f"<{setting}>" if setting in SECRET_SETTINGS
                            else config_default(setting, project))
                    if str(accepted) != str(used):
                        problems.append(Problem(shown, key, f"the sandbox accepts {flag} "
                                                f"{accepted!r}, the services use {used!r}"
                                                + _secret_hint(setting)))
            if inv.program == "sandbox.payments":
                accepted = _flag(inv.args, "secret-key")
                used = "<TOWNHALL_PAYMENTS__SECRET_KEY>"
                if str(accepted) != used:
                    problems.append(Problem(shown, key, f"the payment sandbox accepts secret "
                                            f"key {accepted!r}, the services use {used!r}"
                                            + _secret_hint("TOWNHALL_PAYMENTS__SECRET_KEY")))
    for svc in project.services:
        if svc not in runs:
            problems.append(Problem(shown, "(file)", f"no line runs `townhall run {svc}`"))
    return problems


def _secret_hint(setting):
    if setting not in SECRET_SETTINGS:
        return ""
    return f" (give it \"${{{setting}:?set {setting}}}\", no default)"


# ---------------------------------------------------------------- Kubernetes

def check_k8s(folder, project):
    folder = Path(folder)
    if not folder.is_dir():
        return [Problem(_shown(folder), "(folder)", "does not exist")]
    problems, objects = [], []
    files = sorted(p for p in folder.rglob("*") if p.suffix in (".yaml", ".yml"))
    if not files:
        problems.append(Problem(_shown(folder), "(folder)", "no manifests"))
    for path in files:
        shown = _shown(path)
        try:
            docs = list(yaml.safe_load_all(path.read_text()))
        except yaml.YAMLError as exc:
            problems.append(Problem(shown, "(file)", f"not valid YAML: {exc}"))
            continue
        for n, doc in enumerate(docs):
            if doc is None:
                continue
            key = f"document {n}"
            if not isinstance(doc, dict):
                problems.append(Problem(shown, key, "not a mapping"))
                continue
            metadata = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
            name = metadata.get("name")
            # the schema leaves it optional (generateName); `kubectl apply` and envFrom need it
            if not isinstance(name, str) or not name:
                problems.append(Problem(shown, f"{key}.metadata.name", "missing: `kubectl "
                                        "apply` needs it, and references are by name"))
            elif isinstance(doc.get("kind"), str):
                key = f"{doc['kind']}/{name}"
            problem = schema_problem(doc)
            if problem:
                where, message = problem
                problems.append(Problem(shown, f"{key}.{where}" if where else key, message))
            objects.append((shown, key, doc, name))
    configmaps = {o[3] for o in objects if o[2].get("kind") == "ConfigMap"}
    secrets = {o[3] for o in objects if o[2].get("kind") == "Secret"}
    deployed, pod_labels = {}, []
    for shown, key, doc, _ in objects:
        kind = doc.get("kind")
        if kind in ("ConfigMap", "Secret"):
            for section in ("data", "stringData"):
                for env_name, value in (doc.get(section) or {}).items():
                    if kind == "ConfigMap":
                        problems += _k8s_plain_problems(shown, f"{key}.{section}", env_name,
                                                        value)
                    if str(env_name).startswith("TOWNHALL_"):
                        problem = config_key_problem(env_name, project) or (
                            value_problem(env_name, value, project) if section != "data"
                            or kind == "ConfigMap" else None)
                        if problem:
                            problems.append(Problem(shown, f"{key}.{section}.{env_name}", problem))
        if kind not in ("Deployment", "Job", "StatefulSet", "DaemonSet"):
            continue
        template = ((doc.get("spec") or {}).get("template") or {})
        pod = template.get("spec") or {}
        labels = (template.get("metadata") or {}).get("labels") or {}
        pod_labels.append(labels)
        containers = [c for c in pod.get("containers") or [] if isinstance(c, dict)]
        # the schema allows both (a Pod's API validation refuses them); the Townhall checks
        # below need a container running the image
        if not containers:
            problems.append(Problem(shown, key, "no containers"))
        runs = []
        for c in containers:
            ckey = f"{key}.containers.{c.get('name')}"
            if not c.get("image"):
                problems.append(Problem(shown, ckey, "no image"))
            command = list(c.get("command") or []) + list(c.get("args") or [])
            for inv in invocations(command or None):
                if inv.program == "townhall":
                    problems += [Problem(shown, ckey, m) for m in _townhall_problems(inv, project)]
                    if inv.args[:1] == ("run",) and len(inv.args) > 1:
                        runs.append(inv.args[1])
            for env in c.get("env") or []:
                env_name = str(env.get("name", ""))
                if "value" in env:
                    problems += _k8s_plain_problems(shown, f"{ckey}.env", env_name,
                                                    env.get("value"))
                if env_name.startswith("TOWNHALL_"):
                    problem = config_key_problem(env_name, project) or value_problem(
                        env_name, env.get("value"), project)
                    if problem:
                        problems.append(Problem(shown, f"{ckey}.env.{env_name}", problem))
            for source in c.get("envFrom") or []:
                ref = (source.get("configMapRef") or {}).get("name")
                if ref and ref not in configmaps:
                    problems.append(Problem(shown, f"{ckey}.envFrom",
                                            f"ConfigMap {ref!r} is not among the manifests"))
                ref = (source.get("secretRef") or {}).get("name")
                if ref and ref not in secrets:
                    problems.append(Problem(shown, f"{ckey}.envFrom", f"Secret {ref!r} has no "
                                            "manifest or template"))
        if kind != "Deployment":
            continue
        if not runs:
            problems.append(Problem(shown, key, "runs no `townhall run SERVICE`"))
        for svc in runs:
            if svc in project.services:
                deployed.setdefault(svc, []).append(key)
        grace = pod.get("terminationGracePeriodSeconds", 30)
        if isinstance(grace, int) and grace < K8S_MIN_GRACE_SECONDS:  # the type: the schema
            problems.append(Problem(shown, f"{key}.terminationGracePeriodSeconds",
                                    f"{grace!r}: services need {STOP_GRACE_SECONDS}s after "
                                    f"SIGTERM; use at least {K8S_MIN_GRACE_SECONDS}"))
        if "gateway" in runs:
            probe = (containers[0].get("readinessProbe") or {}).get("httpGet") or {}
            if probe.get("path") != "/healthz":
                problems.append(Problem(shown, f"{key}.readinessProbe",
                                        "the gateway's readiness is GET /healthz"))
    for svc in project.services:
        where = deployed.get(svc, [])
        if len(where) != 1:
            problems.append(Problem(_shown(folder), "(manifests)", f"{len(where)} Deployments "
                                    f"run `townhall run {svc}` (expected 1)"))
    for shown, key, doc, _ in objects:
        if doc.get("kind") == "Service":
            selector = (doc.get("spec") or {}).get("selector") or {}
            if selector and not any(all(labels.get(k) == v for k, v in selector.items())
                                    for labels in pod_labels):
                problems.append(Problem(shown, f"{key}.spec.selector", "selects no pods"))
    return problems


def schema_problem(doc):
    """The Kubernetes schema's verdict on one manifest, from kubernetes-validate in strict mode
    (an unknown field is an error, as `kubectl apply --validate=strict` has it): None, or
    (path, message) of the first problem, the path "" for the manifest itself."""
    for field_name in ("apiVersion", "kind"):
        if not isinstance(doc.get(field_name), str) or not doc[field_name]:
            return field_name, "missing: kubernetes-validate needs it to choose a schema"
    try:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in exc.absolute_path)
        return path.lstrip("."), f"{exc.message} (Kubernetes {K8S_VERSION} schema)"
    except kubernetes_validate.SchemaNotFoundError as exc:
        return "kind", exc.message
    return None


def _k8s_plain_problems(shown, key, env_name, value):
    """Plain (not Secret) settings: no secret, and not development, whose secrets are made up
    on one box."""
    if env_name in SECRET_SETTINGS:
        return [Problem(shown, f"{key}.{env_name}", "a secret in plain configuration: put it "
                        "in the townhall-secrets Secret")]
    if env_name == "TOWNHALL_ENVIRONMENT" and str(value) == "development":
        return [Problem(shown, f"{key}.{env_name}", "development makes up its secrets on one "
                        "box and refuses a gateway beyond loopback: use production")]
    return []


# ---------------------------------------------------------------- RabbitMQ, PostgreSQL

def check_rabbitmq_definitions(path):
    path = Path(path)
    shown = _shown(path)
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        return [Problem(shown, "(file)", f"cannot be read as JSON: {exc}")]
    problems = []
    if "townhall" not in {v.get("name") for v in data.get("vhosts") or []}:
        problems.append(Problem(shown, "vhosts", "no vhost 'townhall'"))
    users = {u.get("name"): u for u in data.get("users") or []}
    user = users.get("townhall")
    if user is None:
        problems.append(Problem(shown, "users", "no user 'townhall'"))
    elif "password" in user and PLACEHOLDER not in str(user["password"]):
        problems.append(Problem(shown, "users.townhall.password",
                                f"must stay a placeholder containing {PLACEHOLDER!r}"))
    elif "password" not in user and "password_hash" not in user:
        problems.append(Problem(shown, "users.townhall", "neither password nor password_hash"))
    granted = [p for p in data.get("permissions") or []
               if p.get("user") == "townhall" and p.get("vhost") == "townhall"]
    if not granted:
        problems.append(Problem(shown, "permissions", "user 'townhall' has no permissions on "
                                "vhost 'townhall'"))
    for perm in granted:
        for right in ("configure", "write", "read"):
            if perm.get(right) in (None, ""):
                problems.append(Problem(shown, f"permissions.{right}", "empty: services declare "
                                        "their own exchanges and queues"))
    return problems


def check_postgres_init(path, project):
    path = Path(path)
    shown = _shown(path)
    try:
        text = path.read_text()
    except OSError as exc:
        return [Problem(shown, "(file)", f"cannot be read: {exc}")]
    created = {m.lower() for m in re.findall(r"create\s+database\s+\"?(\w+)", text, re.I)}
    return [Problem(shown, "CREATE DATABASE", f"townhall_{svc} is not created")
            for svc in project.databases if f"townhall_{svc}" not in created]


# ---------------------------------------------------------------- entry point

def _shown(path):
    path = Path(path)
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


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
