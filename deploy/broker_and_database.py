"""deploy/rabbitmq/definitions.json and deploy/postgres/init.sql: what the broker and the
database server are given before Townhall starts."""

import json
import re
from pathlib import Path

from deploy.project import Problem, relative_name

PLACEHOLDER = "CHANGE-ME"


def check_rabbitmq_definitions(path):
    path = Path(path)
    shown = relative_name(path)
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
    shown = relative_name(path)
    try:
        text = path.read_text()
    except OSError as exc:
        return [Problem(shown, "(file)", f"cannot be read: {exc}")]
    created = {m.lower() for m in re.findall(r"create\s+database\s+\"?(\w+)", text, re.I)}
    return [Problem(shown, "CREATE DATABASE", f"townhall_{svc} is not created")
            for svc in project.databases if f"townhall_{svc}" not in created]
