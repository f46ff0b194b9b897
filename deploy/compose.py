"""docker-compose.yml: the Compose Specification by compose-spec, then Townhall's rules (listed in
deploy/compose_check.py)."""

import re
from pathlib import Path

import yaml
from compose_spec import PyCompose, parse_duration
from docker.utils.ports import split_port

from deploy.commands import TWILIO_SANDBOX_DEFAULTS, flag_value, invocations, townhall_problems
from deploy.interpolation import interpolate_tree
from deploy.project import (
    SECRET_SETTINGS,
    STOP_GRACE_SECONDS,
    Problem,
    config_key_problem,
    effective,
    host_of,
    relative_name,
    value_problem,
)

ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
# DESIGN.md: "docker compose up rabbitmq postgres" gives just the broker and the database,
# published where the tests and `make up` expect them.
STANDALONE = {"rabbitmq": 5672, "postgres": 5432}
LOOPBACK = {"127.0.0.1", "localhost", "::1", "0.0.0.0"}  # noqa: S104 - compared, not bound
LISTEN_ALL = {"0.0.0.0", "::", ""}  # noqa: S104 - compared, not bound


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
    shown = relative_name(path)

    def report(key, message):
        problems.append(Problem(shown, key, message))

    try:
        raw = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        return [Problem(shown, "(file)", f"cannot be read as YAML: {exc}")]
    if not isinstance(raw, dict):
        return [Problem(shown, "(file)", "must be a mapping")]
    data = interpolate_tree(raw, report, "")
    if environ is not None:
        unset = []
        interpolate_tree(raw, lambda key, message: unset.append((key, message)), "",
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
                    for message in townhall_problems(inv, project):
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
        host = host_of(effective(key, env, project))
        if host in LOOPBACK:
            report(f"{where}.environment.{key}",
                   f"{what} at {host}: inside a container that is the container itself")
    if effective("TOWNHALL_PAYMENTS__PROVIDER", env, project) in (None, "sandbox"):
        # an unset base_url is the payment sandbox on 127.0.0.1 (services/credits/payments.py)
        url = effective("TOWNHALL_PAYMENTS__BASE_URL", env, project) or "http://127.0.0.1"
        if host_of(url) in LOOPBACK:
            report(f"{where}.environment.TOWNHALL_PAYMENTS__BASE_URL",
                   f"the payment sandbox at {host_of(url)}: inside a container that is the "
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


def _sandbox_invocations(services, program):
    """(service name, invocation) of every command line that runs the sandbox `program`."""
    for name, service in services.items():
        if isinstance(service, dict):
            for inv in invocations(service.get("command")):
                if inv.program == program:
                    yield name, inv


def _check_twilio_sandbox(services, envs, runs, project, report):
    sandboxes = {}
    for name, inv in _sandbox_invocations(services, "sandbox.twilio"):
        env = envs.get(name, {})
        sandboxes[name] = {
            key: flag_value(inv.args, key.replace("_", "-"))
            or env.get(f"TWILIO_SANDBOX_{key.upper()}") or default
            for key, default in TWILIO_SANDBOX_DEFAULTS.items()}
    for svc_names in runs.values():
        for name in svc_names:
            env = envs.get(name, {})
            host = host_of(effective("TOWNHALL_TWILIO__BASE_URL", env, project))
            if host not in sandboxes:
                continue
            for key, accepted in sandboxes[host].items():
                used = effective(f"TOWNHALL_TWILIO__{key.upper()}", env, project)
                if used is None or accepted is None or str(used) != str(accepted):
                    report(f"services.{name}.environment.TOWNHALL_TWILIO__{key.upper()}",
                           f"{used!r}, but services.{host} accepts {accepted!r}: every call "
                           "and webhook signature would fail")


def _check_payment_sandbox(services, envs, runs, project, report):
    keys = {name: (flag_value(inv.args, "secret-key")
                   or envs.get(name, {}).get("PAYMENTS_SANDBOX_SECRET_KEY"))
            for name, inv in _sandbox_invocations(services, "sandbox.payments")}
    for svc_names in runs.values():
        for name in svc_names:
            env = envs.get(name, {})
            if effective("TOWNHALL_PAYMENTS__PROVIDER", env, project) not in (None, "sandbox"):
                continue
            host = host_of(effective("TOWNHALL_PAYMENTS__BASE_URL", env, project))
            if host not in keys:
                continue
            used = effective("TOWNHALL_PAYMENTS__SECRET_KEY", env, project)
            if used is None or keys[host] is None or str(used) != str(keys[host]):
                report(f"services.{name}.environment.TOWNHALL_PAYMENTS__SECRET_KEY",
                       f"{used!r}, but services.{host} accepts {keys[host]!r}: every charge "
                       "would be refused")
