"""What the deployment files must agree with, read from the project's own sources, and how
a TOWNHALL_* setting reads: its key in config/townhall.yaml, its type, its effective value."""

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
# services stop within this many seconds of SIGTERM (servicekit.supervisor.STOP_GRACE_SECONDS)
STOP_GRACE_SECONDS = 25
# the secrets of config/townhall.yaml (servicekit/secrets.py SECRETS): never a fixed value here
SECRET_SETTINGS = ("TOWNHALL_AUTH__JWT_SECRET", "TOWNHALL_CONSENT__LINK_SECRET",
                   "TOWNHALL_MESSAGING__LINK_SECRET", "TOWNHALL_TWILIO__AUTH_TOKEN",
                   "TOWNHALL_PAYMENTS__SECRET_KEY")


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


def relative_name(path):
    path = Path(path)
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


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


def host_of(url):
    match = re.match(r"^[a-z][a-z0-9+.-]*://(?:[^@/]*@)?(\[[^\]]*\]|[^:/?#]*)", str(url or ""))
    return match.group(1).strip("[]") if match else None
