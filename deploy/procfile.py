"""deploy/Procfile (honcho, foreman): every service runs once, nothing exits, and the sandboxes
accept what the services send."""

import re
from pathlib import Path

from deploy.commands import (
    ONE_SHOT_SUBCOMMANDS,
    TWILIO_SANDBOX_DEFAULTS,
    flag_value,
    invocations,
    townhall_problems,
)
from deploy.interpolation import InterpolationError, interpolate
from deploy.project import SECRET_SETTINGS, Problem, config_default, relative_name

PROCFILE_LINE_RE = re.compile(r"^([A-Za-z0-9_-]+):\s*(.+)$")


def check_procfile(path, project):
    path = Path(path)
    shown = relative_name(path)
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
                problems += [Problem(shown, key, m) for m in townhall_problems(inv, project)]
                if inv.args and inv.args[0] in ONE_SHOT_SUBCOMMANDS:
                    problems.append(Problem(shown, key, f"`townhall {inv.args[0]}` exits: honcho "
                                            "and foreman then stop every other process"))
                if inv.args[:1] == ("run",) and len(inv.args) > 1:
                    runs.add(inv.args[1])
            if inv.program == "sandbox.twilio":
                for flag, default in TWILIO_SANDBOX_DEFAULTS.items():
                    accepted = flag_value(inv.args, flag.replace("_", "-")) or default
                    setting = f"TOWNHALL_TWILIO__{flag.upper()}"
                    used = (f"<{setting}>" if setting in SECRET_SETTINGS
                            else config_default(setting, project))
                    if str(accepted) != str(used):
                        problems.append(Problem(shown, key, f"the sandbox accepts {flag} "
                                                f"{accepted!r}, the services use {used!r}"
                                                + _secret_hint(setting)))
            if inv.program == "sandbox.payments":
                accepted = flag_value(inv.args, "secret-key")
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
