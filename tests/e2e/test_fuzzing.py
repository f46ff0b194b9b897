"""Schemathesis against the running system's /openapi.json, once per role (master user,
manager, resident), with the checks the API promises: no 5xx, every answer's body and content
type as documented, and credentials never ignored; the stateful phase follows the document's
links (a created object's id into its other routes).

The fuzzer works in an organization of its own, seeded here through the same RPCs as the
demo, so whatever it creates, renames or switches (the credit model, the HELP answer, new
staff and keys) touches nothing another test relies on; the services' tenant checks keep it
there. It signs in once per role before fuzzing, and every request it makes carries an
X-Forwarded-For of its own (the e2e gateway trusts 127.0.0.1 as a proxy), so the failed
logins it provokes are throttled against that address, never against the one the other
tests log in from.

Beyond the webhooks and SESSION_ENDING nothing is left out: the fuzzer holds no refresh token
(logout and refresh only see made-up ones) and signs in with access tokens (revoking an API
key cannot end its session); what it creates it may change and delete, following the links.

Runs are reproducible yet varied: the seed is fixed per day (FUZZ_SEED overrides it, and
every report names the seed it used) and Hypothesis's example database is off, so a failure
seen today is seen again by re-running today, and tomorrow explores other inputs.
FUZZ_MAX_EXAMPLES (default 8) raises the examples per operation for a longer hunt.
"""

import datetime
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from servicekit.config import ROOT
from servicekit.testing import midday_timezone

pytestmark = pytest.mark.e2e

CHECKS = ("not_a_server_error", "response_schema_conformance", "content_type_conformance",
          "ignored_auth")
# Operations left out, each because fuzzing it cannot tell anything true:
EXCLUDED_PATHS = (
    # Twilio's webhooks: every request without Twilio's signature is refused with 403
    # before anything is read; the e2e tests sign real callbacks instead
    r"^/webhooks/",
)
# The roles fuzz at the same time, and schemathesis reuses ids it reads in answers (/v1/me,
# lists): these would let the master user revoke its own or the manager's grants, disable
# either, or move the signed-in resident out, ending the sessions under test mid-run
SESSION_ENDING = ("DELETE /v1/grants/{grant_id}", "PATCH /v1/staff/{staff_user_id}",
                  "POST /v1/residents/{resident_id}/move-out")
FUZZ_ADDRESS = "198.51.100.77"   # TEST-NET-2: the address the fuzzer's logins count against
GRACE = 90                       # seconds a run may take beyond its --max-time before it is killed
MAX_TIME = 50                    # seconds of fuzzing per role, all roles at once
PASSWORD = "fuzz-demo-password"


def fuzz_organization_spec():
    """Like the demo, small: two offices with a community each, a master user, a manager of
    one office, and a resident with a portal login."""
    def resident(n, portal=False):
        person = {"name": f"Fuzz Resident {n}", "unit": f"{100 + n}",
                  "phone": f"+1555777{n:04d}", "email": f"resident{n}@fuzz.example"}
        return dict(person, portal_password=PASSWORD) if portal else person

    return {
        "slug": "fuzz",
        "name": "Fuzz Lane Property Management",
        "api_key_permissions": ["send_communications", "send_sms", "view_reports"],
        "offices": [
            {"name": "North office", "communities": [
                {"name": "Fuzz North Apartments", "timezone": midday_timezone(),
                 "address": "1 Fuzz Lane, Toronto ON",
                 "residents": [resident(1, portal=True), resident(2), resident(3)]}]},
            {"name": "South office", "communities": [
                {"name": "Fuzz South Condos", "timezone": midday_timezone(),
                 "residents": [resident(4)]}]},
        ],
        "staff": [
            {"name": "Fay Master", "email": "master@fuzz.example", "password": PASSWORD,
             "offices": ["North office", "South office"],
             "grants": [{"name": "master", "scope": "organization"}]},
            {"name": "Finn Manager", "email": "manager@fuzz.example", "password": PASSWORD,
             "offices": ["North office"],
             "grants": [{"name": "manager", "scope": "office:North office"}]},
        ],
    }


ROLES = {"master": "master@fuzz.example", "manager": "manager@fuzz.example",
         "resident": "resident1@fuzz.example"}
# The fuzz organization's own ids, offered to the generator for these parameters half of the
# time, so generated requests also reach real objects (and not only 404s)
KNOWN_IDS = {"community": ("path.community_id", "query.community_id", "body.community_id"),
             "office": ("path.office_id", "body.office_id"),
             "unit": ("path.unit_id", "body.unit_id"),
             "resident": ("path.resident_id",),
             "category": ("path.category_id", "body.category_id")}


@pytest.fixture(scope="module")
def fuzz_organization(system, tmp_path_factory):
    """The fuzz organization, seeded once: its ids and an access token per role."""
    folder = tmp_path_factory.mktemp("fuzz")
    (folder / "spec.json").write_text(json.dumps(fuzz_organization_spec()))
    seeded = subprocess.run([sys.executable, "-c",
                             "import eventlet; eventlet.monkey_patch()\n"
                             "import json, sys\n"
                             "from nameko.standalone.rpc import ClusterRpcProxy\n"
                             "from servicekit import config, seed\n"
                             "spec = json.load(open(sys.argv[1]))\n"
                             "conf = config.load()\n"
                             "with ClusterRpcProxy(conf, timeout=60) as rpc:\n"
                             "    made = seed._seed_organization(rpc, conf, spec, {})\n"
                             "json.dump(made, open(sys.argv[2], 'w'))\n",
                             str(folder / "spec.json"), str(folder / "made.json")],
                            cwd=ROOT, env=system.env, capture_output=True, text=True,
                            timeout=120)
    assert seeded.returncode == 0, f"seed failed:\n{seeded.stdout}\n{seeded.stderr}"
    made = json.loads((folder / "made.json").read_text())
    tokens = {}
    for role, email in ROLES.items():
        answer = requests.post(f"{system.url}/v1/auth/login", timeout=30,
                               json={"email": email, "password": PASSWORD},
                               headers={"X-Forwarded-For": FUZZ_ADDRESS})
        assert answer.status_code == 200, answer.text
        tokens[role] = answer.json()["access_token"]
    ids = {"community": [c["id"] for c in made["communities"]],
           "office": [o["id"] for o in made["offices"]],
           "unit": sorted({r["unit_id"] for r in made["residents"]}),
           # not the signed-in resident, whom a master user's move-out would sign out
           "resident": [r["id"] for r in made["residents"] if r.get("email") != ROLES["resident"]],
           "category": [made["category_id"]]}
    return {"tokens": tokens, "ids": ids}


def schemathesis_config(ids):
    """schemathesis.toml: the known ids as dictionaries, and the stateful phase following only
    the links the document declares (not ones schemathesis would guess from names)."""
    lines = ["[phases.stateful]", "inference.algorithms = []", ""]
    for kind, values in ids.items():
        lines += [f"[dictionaries.{kind}]", f"values = {json.dumps(values)}", ""]
    lines.append("[parameters]")
    for kind, parameters in KNOWN_IDS.items():
        lines += [f'"{p}" = {{ dictionary = "{kind}", probability = 0.5 }}' for p in parameters]
    return "\n".join(lines) + "\n"


def fuzz_seed():
    return int(os.environ.get("FUZZ_SEED") or datetime.date.today().strftime("%Y%m%d"))


def schemathesis_command(url, token, folder, phases, max_time):
    command = [str(Path(sys.executable).parent / "schemathesis"), "--no-color",
               "--config-file", str(folder / "schemathesis.toml"), "run",
               f"{url}/openapi.json",
               "--checks", ",".join(CHECKS),
               "--phases", phases,
               "--max-examples", os.environ.get("FUZZ_MAX_EXAMPLES", "8"),
               "--max-time", str(max_time),
               "--seed", str(fuzz_seed()),
               "--generation-database", "none",
               "--request-timeout", "20",   # generous: the machine may be busy
               "--header", f"Authorization: Bearer {token}",
               "--header", f"X-Forwarded-For: {FUZZ_ADDRESS}"]
    for pattern in EXCLUDED_PATHS:
        command += ["--exclude-path-regex", pattern]
    for name in SESSION_ENDING:
        command += ["--exclude-name", name]
    return command


@pytest.fixture(scope="module")
def fuzz_reports(system, fuzz_organization, tmp_path_factory):
    """Every role fuzzed at the same time (the gateway serves them concurrently, so the wall
    time is that of one role): first generated requests (the examples and fuzzing phases; the
    systematic coverage phase is too slow for the suite's budget: FUZZ_PHASES adds it), then
    the stateful phase along the links. {role: (exit codes, report)}."""
    runs = {role: tmp_path_factory.mktemp(f"fuzz-{role}") for role in ROLES}
    for folder in runs.values():
        (folder / "schemathesis.toml").write_text(
            schemathesis_config(fuzz_organization["ids"]))
    env = dict(os.environ, HYPOTHESIS_NO_PLUGINS="1")
    results = {role: ([], []) for role in ROLES}
    budget = int(os.environ.get("FUZZ_MAX_TIME", MAX_TIME))
    generated = os.environ.get("FUZZ_PHASES", "examples,fuzzing")
    for phases, share in ((generated, 0.6), ("stateful", 0.4)):
        max_time = max(1, round(budget * share))
        started = {role: subprocess.Popen(
            schemathesis_command(system.url, fuzz_organization["tokens"][role], folder,
                                 phases, max_time),
            cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            for role, folder in runs.items()}
        for role, process in started.items():
            try:
                output, _ = process.communicate(timeout=max_time + GRACE)
            except Exception as exc:
                # under eventlet the Popen in use raises its own module's TimeoutExpired
                if type(exc).__name__ != "TimeoutExpired":
                    raise
                process.kill()
                output, _ = process.communicate()
                output += f"\n(killed {GRACE} s after its time budget of {max_time} s)"
            results[role][0].append(process.returncode)
            results[role][1].append(output)
    return {role: (codes, "\n".join(outputs)) for role, (codes, outputs) in results.items()}


@pytest.mark.parametrize("role", list(ROLES))
def test_schemathesis_finds_nothing(fuzz_reports, role):
    codes, report = fuzz_reports[role]
    print(report)
    assert codes == [0, 0], (f"schemathesis found problems as the {role} "
                             f"(seed {fuzz_seed()}):\n{report}")


# What the fuzzer found, kept as plain tests so each stays fixed whatever the seed explores.

@pytest.mark.parametrize("path, params, field", [
    ("/v1/consent/categories", {"q": "a\x00b"}, "q"),
    ("/v1/residents", {"q": "\x00"}, "q"),
    ("/v1/units/unit\x00", {}, "path"),
])
def test_a_nul_character_in_the_address_is_refused_naming_where(system, path, params, field):
    answer = system.session.get(f"{system.url}{path}", params=params, timeout=30)
    assert answer.status_code == 422, answer.text
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert answer.json()["field"] == field
    assert "NUL" in answer.json()["detail"]


def test_a_nul_character_in_a_body_or_a_header_is_refused_naming_where(system):
    master = system.staff("master@maplegrove.example")
    answer = master.post(f"{system.url}/v1/offices", json={"name": "North\x00"}, timeout=30)
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == "name"
    answer = master.post(f"{system.url}/v1/offices", json={"name": "Fuzzed office"},
                         headers={"Idempotency-Key": "key\x00"}, timeout=30)
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == "Idempotency-Key"


def test_a_lone_surrogate_in_a_password_is_refused_naming_the_field(system):
    """Found as the manager: a portal password holding JSON's "\\udc80" was a 500 (argon2
    cannot encode it)."""
    master = system.staff("master@maplegrove.example")
    alan = system.resident("Alan")
    answer = master.post(f"{system.url}/v1/residents/{alan['id']}/portal-account",
                         data='{"password": "\\udc80 long enough password"}',
                         headers={"Content-Type": "application/json"}, timeout=30)
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == "password"
    assert "surrogate" in answer.json()["detail"]


@pytest.mark.parametrize("path", ["/v1/audit-log", "/v1/credits/orders"])
def test_a_cursor_that_decodes_to_nothing_is_refused_naming_it(system, path):
    """Found as the master user (seed 20261206): a cursor of characters outside base64
    decoded to "" and PostgreSQL refused it as the audit log's number: a 500."""
    master = system.staff("master@maplegrove.example")
    answer = master.get(f"{system.url}{path}", timeout=30,
                        params={"cursor": "\x0e\U000e21f6^\u00e1"})
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == "cursor"


@pytest.mark.parametrize("path", ["/v1/communications", "/v1/reports/emergency-sends",
                                  "/v1/tickets"])
def test_a_moment_that_overflows_in_utc_is_refused_naming_it(system, path):
    """0001-01-01T00:00:00+05:00 passed the schema and overflowed once moved to UTC: a
    500 on /v1/communications (found while building the emergency report)."""
    master = system.staff("master@maplegrove.example")
    answer = master.get(f"{system.url}{path}", timeout=30,
                        params={"created_after": "0001-01-01T00:00:00+05:00"})
    assert answer.status_code == 422, answer.text
    assert "created_after" in answer.json()["errors"]
