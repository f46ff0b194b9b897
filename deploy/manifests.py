"""deploy/k8s/**.yaml: each manifest against the Kubernetes schemas by kubernetes-validate,
then Townhall's rules (listed in deploy/compose_check.py)."""

from pathlib import Path

import kubernetes_validate
import yaml

from deploy.commands import invocations, townhall_problems
from deploy.project import (
    SECRET_SETTINGS,
    STOP_GRACE_SECONDS,
    Problem,
    config_key_problem,
    relative_name,
    value_problem,
)

K8S_MIN_GRACE_SECONDS = 30
# The Kubernetes release whose schemas the manifests are validated against: four minors behind
# the newest kubernetes-validate 1.37 ships, as clusters (managed ones with long support above
# all) run a few releases behind. A field added after 1.33 would be refused by such a cluster,
# so it is refused here; the manifests use only the stable v1, apps/v1 and batch/v1 APIs, so
# the day the oldest cluster to support moves on, this one line moves with it.
K8S_VERSION = "1.33"


def check_k8s(folder, project):
    folder = Path(folder)
    if not folder.is_dir():
        return [Problem(relative_name(folder), "(folder)", "does not exist")]
    problems, objects = [], []
    files = sorted(p for p in folder.rglob("*") if p.suffix in (".yaml", ".yml"))
    if not files:
        problems.append(Problem(relative_name(folder), "(folder)", "no manifests"))
    for path in files:
        shown = relative_name(path)
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
                    problems += [Problem(shown, ckey, m) for m in townhall_problems(inv, project)]
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
            problems.append(Problem(relative_name(folder), "(manifests)",
                                    f"{len(where)} Deployments run `townhall run {svc}` "
                                    "(expected 1)"))
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
