"""The programs a compose, Kubernetes or Procfile command runs, and what the `townhall` CLI
would refuse of them."""

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

TOWNHALL_SUBCOMMANDS = {"up", "run", "migrate", "seed", "declare", "dlq", "makemigration"}
ONE_SHOT_SUBCOMMANDS = {"migrate", "seed", "declare", "makemigration", "dlq"}
# what the sandboxes accept when not told (python -m sandbox.twilio / sandbox.payments): their
# secrets have no default
TWILIO_SANDBOX_DEFAULTS = {"account_sid": "AC00000000000000000000000000000000",
                           "auth_token": None}


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


def townhall_problems(inv, project):
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


def flag_value(args, name):
    """The value of --name VALUE or --name=VALUE in an argv, else None."""
    for n, arg in enumerate(args):
        if arg == f"--{name}" and n + 1 < len(args):
            return args[n + 1]
        if arg.startswith(f"--{name}="):
            return arg.split("=", 1)[1]
    return None
