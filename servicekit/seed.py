"""`make seed`: a realistic demo — a management company with two offices, three communities
and a few hundred residents, staff in every role, resident portal logins, a category, credits
— plus a second organization to show tenant isolation. Everything is created through the
services' own RPCs, so each keeps owning its data. Safe to run again; writes var/demo.json
(development passwords included: they are demo data, not secrets)."""

import json
import time

from nameko.standalone.rpc import ClusterRpcProxy

from servicekit.config import ROOT

FIRST = ["Olivia", "Liam", "Emma", "Noah", "Amelia", "Oliver", "Sophia", "Elijah", "Mia",
         "James", "Isabella", "Lucas", "Charlotte", "Mateo", "Harper", "Wei", "Priya", "Kofi",
         "Fatima", "Yuki"]
LAST = ["Nguyen", "Smith", "Garcia", "Okafor", "Kowalski", "Haddad", "Tremblay", "Singh",
        "Rossi", "Dubois", "Kim", "Cohen", "Silva", "Murphy", "Ivanova"]
KEY_PERMISSIONS = ["send_communications", "send_sms", "view_reports", "manage_credits"]
CATEGORY = ("General announcements", "opt_in")
SERVICES = ("directory", "consent", "credits", "tickets")
# each community's work-order settings (Pilera's "Ticket Work Order Email Message": the text
# that opens every work order email of the community)
TICKET_SETTINGS = {
    "Maple Grove Apartments": {"email_header": (
        "Maple Grove Apartments maintenance: we answer every work order within one business "
        "day. For a flood, fire or gas smell call the 24-hour line, 416-555-0100.")},
    "Birch Court Condos": {"email_header": "Birch Court Condos: thank you for letting us "
                                           "know."},
}


def _residents(community_index, count, first_units):
    people = list(first_units)
    n = 0
    while len(people) < count:
        first, last = FIRST[n % len(FIRST)], LAST[(n // len(FIRST) + community_index) % len(LAST)]
        number = 2000 + community_index * 1000 + n
        people.append({"name": f"{first} {last}", "unit": f"{300 + n // 2}",
                       "kind": "owner" if n % 3 == 0 else "tenant",
                       "phone": f"+1555{number:07d}",
                       "email": f"{first}.{last}.{number}@example.com".lower()})
        n += 1
    return people


def demo_spec():
    maple = [
        {"name": "Ada Lovelace", "unit": "101", "phone": "+15551230001",
         "email": "ada@example.com", "kind": "owner", "portal_password": "ada-portal-password"},
        {"name": "Grace Hopper", "unit": "102", "phone": "+15551230002",
         "email": "grace@example.com", "portal_password": "grace-portal-password"},
        {"name": "Alan Turing", "unit": "201", "phone": "+15551230003",
         "email": "alan@example.com"},
        {"name": "Dana Quiet (texts off)", "unit": "202", "phone": "+15551230004",
         "email": "dana@example.com"},
        {"name": "Edsger Dijkstra", "unit": "101", "phone": "+15551230005",
         "email": "edsger@example.com", "portal_password": "edsger-portal-password"},
    ]
    return {
        "slug": "demo",
        "name": "Maple Grove Property Management",
        "api_key_permissions": KEY_PERMISSIONS,
        "offices": [
            {"name": "Toronto office", "communities": [
                {"name": "Maple Grove Apartments", "timezone": "America/Toronto",
                 "address": "12 Maple Grove Ave, Toronto ON", "residents": _residents(0, 120,
                                                                                     maple)},
                {"name": "Birch Court Condos", "timezone": "America/Toronto",
                 "address": "400 Birch Ct, Toronto ON", "residents": _residents(1, 90, [])},
            ]},
            {"name": "Ottawa office", "communities": [
                {"name": "Cedar Ridge HOA", "timezone": "America/Toronto",
                 "address": "7 Cedar Ridge Rd, Ottawa ON", "residents": _residents(2, 110, [])},
            ]},
        ],
        "staff": [
            {"name": "Morgan Master", "email": "master@maplegrove.example",
             "password": "master-demo-password",
             "offices": ["Toronto office", "Ottawa office"], "grants": [
                 {"name": "master", "scope": "organization"}]},
            {"name": "Pat Manager", "email": "manager@maplegrove.example",
             "password": "manager-demo-password", "offices": ["Toronto office"], "grants": [
                 {"name": "manager", "scope": "office:Toronto office"}]},
            {"name": "Dee Dispatcher", "email": "dispatcher@maplegrove.example",
             "password": "dispatcher-demo-password", "offices": ["Ottawa office"], "grants": [
                 {"name": "dispatcher", "scope": "office:Ottawa office"}]},
            {"name": "Sam Senior", "email": "senior@maplegrove.example",
             "password": "senior-demo-password",
             "offices": ["Toronto office", "Ottawa office"], "grants": [
                 {"name": "senior_management", "scope": "organization"}]},
            {"name": "Nora Newhire", "email": "newhire@maplegrove.example",
             "password": "newhire-demo-password", "offices": ["Toronto office"],
             "grants": []},
        ],
    }


def other_spec():
    return {
        "slug": "harbor",
        "name": "Harbor View Association Management",
        "api_key_permissions": KEY_PERMISSIONS,
        "offices": [{"name": "Harbor office", "communities": [
            {"name": "Harbor View HOA", "residents": _residents(5, 3, [])}]}],
        "staff": [{"name": "Hal Harbor", "email": "manager@harborview.example",
                   "password": "harbor-demo-password", "offices": ["Harbor office"],
                   "grants": [{"name": "manager", "scope": "organization"}]}],
    }


def user_credits_spec():
    """An organization on individual user credits (AgentBox): the pool, agents in a team
    who each pay for their own texts, and an office credit manager."""
    return {
        "slug": "lakeside",
        "name": "Lakeside Realty",
        "credit_model": "user",
        "api_key_permissions": KEY_PERMISSIONS,
        "offices": [{"name": "Lakeside office", "communities": [
            {"name": "Lakeside Towers", "timezone": "America/Toronto",
             "residents": _residents(4, 12, [])}]}],
        "staff": [
            {"name": "Lena Lakeside", "email": "master@lakeside.example",
             "password": "lakeside-master-password", "offices": ["Lakeside office"],
             "grants": [{"name": "master", "scope": "organization"}]},
            {"name": "Omar Office", "email": "office@lakeside.example",
             "password": "lakeside-office-password", "offices": ["Lakeside office"],
             "grants": [{"name": "manage_office_sms_credits", "scope": "office:Lakeside office"},
                        {"name": "manager", "scope": "office:Lakeside office"}]},
            {"name": "Ava Agent", "email": "ava@lakeside.example",
             "password": "lakeside-ava-password", "offices": ["Lakeside office"],
             "grants": [{"name": "send_communications", "scope": "office:Lakeside office"},
                        {"name": "send_sms", "scope": "office:Lakeside office"}]},
            {"name": "Ben Agent", "email": "ben@lakeside.example",
             "password": "lakeside-ben-password", "offices": ["Lakeside office"],
             "grants": [{"name": "send_communications", "scope": "office:Lakeside office"},
                        {"name": "send_sms", "scope": "office:Lakeside office"}]},
        ],
        "teams": [{"name": "Leasing team", "office": "Lakeside office",
                   "members": ["ava@lakeside.example", "ben@lakeside.example"]}],
        "pool_credits": 1000,
        "allocations": {"ava@lakeside.example": 20, "ben@lakeside.example": 20},
    }


def _passwords(spec):
    found = {s["email"]: s["password"] for s in spec.get("staff", [])}
    for office in spec["offices"]:
        for community in office["communities"]:
            found.update({r["email"]: r["portal_password"] for r in community["residents"]
                          if r.get("portal_password")})
    return found


def main(config, out=None):
    out = out or ROOT / "var" / "demo.json"
    previous = json.loads(out.read_text()) if out.exists() else {}
    with ClusterRpcProxy(config, timeout=60) as rpc:
        _wait_for(rpc)
        result = _seed_organization(rpc, config, demo_spec(), previous)
        other = previous.get("other_organization", {})
        result["other_organization"] = _seed_organization(rpc, config, other_spec(), other)
        result["user_credits_organization"] = _seed_organization(
            rpc, config, user_credits_spec(), previous.get("user_credits_organization", {}))
        result["limited_api_key"] = _limited_key(rpc, result, previous.get("limited_api_key"))
        quiet = [r for r in result["residents"] if "texts off" in r["name"]]
        seeder = _seeder(result["organization_id"])
        for resident in quiet:
            decision = rpc.consent.check(seeder, result["category_id"], "sms",
                                         [{"resident_id": resident["id"]}])[0]
            if decision["allowed"]:
                rpc.consent.record(seeder, resident["id"], "sms", "withdraw", "seed",
                                   evidence={"note": "demo resident who turned texts off"})
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print_first_text(config, result, out)
    return result


def _in_zone(spec, zone):
    return dict(spec, offices=[dict(office, communities=[
        dict(community, timezone=zone) for community in office["communities"]])
        for office in spec["offices"]])


def _seeder(organization_id):
    return {"actor_type": "system", "actor_id": "seed", "organization_id": organization_id,
            "scopes": {"*": "*"}}


def _seed_organization(rpc, config, spec, previous):
    zone = (config.get("seed") or {}).get("timezone")
    if zone:
        # tests and benches: a zone where it is day now, so that no quiet hours hold their
        # texts and calls back whenever they run
        spec = _in_zone(spec, zone)
    demo = rpc.directory.seed_demo(spec, previous.get("api_key"))
    org = demo["organization_id"]
    seeder = _seeder(org)
    category = rpc.consent.create_category(seeder, org, *CATEGORY)
    if spec.get("credit_model", "community") == "community":
        opening = int((config.get("seed") or {}).get("community_credits", 500))
        for community in demo["communities"]:
            rpc.credits.grant(seeder, org, community["id"], opening, "opening balance (seed)",
                              f"seed:opening:{community['id']}")
    else:
        _seed_user_credits(rpc, seeder, spec, demo)
    for community in demo["communities"]:
        if community["name"] in TICKET_SETTINGS:
            rpc.tickets.update_community_settings(seeder, community["id"],
                                                  TICKET_SETTINGS[community["name"]])
    passwords = _passwords(spec)
    for account in demo["accounts"]:
        account["password"] = passwords.get(account["email"])
    return dict(demo, category_id=category["id"])


def _seed_user_credits(rpc, seeder, spec, demo):
    """Switch to the organization's model, fill the pool, allocate to the agents (each once:
    the idempotency keys make re-seeding change nothing)."""
    rpc.credits.change_settings(seeder, {"model": spec["credit_model"]})
    rpc.credits.add_credits(seeder, "pool", spec["pool_credits"], "opening balance (seed)",
                            "seed:opening:pool")
    staff = {a["email"]: a["principal_id"] for a in demo["accounts"]}
    for email, amount in spec.get("allocations", {}).items():
        rpc.credits.transfer(seeder, "pool", f"user:{staff[email]}", amount,
                             "opening allocation (seed)", f"seed:allocation:{staff[email]}")


def _limited_key(rpc, demo, known):
    """An integration key that may do nothing (for trying authorization)."""
    if known:
        try:
            rpc.directory.authenticate(known)
            return known
        except Exception:  # noqa: S110 - an unknown or revoked key is replaced
            pass
    return rpc.directory.create_api_key(_seeder(demo["organization_id"]), "no permissions",
                                       [])["api_key"]


def _wait_for(rpc, timeout=60):
    deadline = time.monotonic() + timeout
    for service in SERVICES:
        while True:
            try:
                getattr(rpc, service).health()
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)


def print_first_text(config, demo, path):
    gateway = config["gateway"]
    base = f"http://{gateway.get('host', '127.0.0.1')}:{gateway.get('port', 8000)}"
    resident = demo["residents"][0]
    community = next(c for c in demo["communities"] if c["id"] == resident["community_id"])
    rel = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    logins = "\n".join(f"  {a['email']:<34} {a['password']}" for a in demo["accounts"]
                       if a["principal_type"] == "staff")
    portal = next(a for a in demo["accounts"] if a["principal_type"] == "resident")
    resident_logins = "\n".join(f"  {a['email']:<34} {a['password']}"
                                 for a in demo["accounts"] if a["principal_type"] == "resident")
    print(f"""
Seeded the demo organization; its API key, logins and ids are in {rel}.

Send the first text (to {resident['name']}, {resident['phone']}):

  KEY=$(python3 -c 'import json;print(json.load(open("{rel}"))["api_key"])')
  curl -s -X POST {base}/v1/communications \\
    -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \\
    -H "Idempotency-Key: first-text-1" \\
    -d '{{"kind": "message", "channels": ["sms"],
         "recipients": {{"residents": ["{resident['id']}"]}},
         "category_id": "{demo['category_id']}", "body": "Hello from Maple Grove!"}}'

Follow it (use the id from the answer), then see the credits and the report:

  curl -s {base}/v1/communications/<id> -H "Authorization: Bearer $KEY"
  curl -s {base}/v1/communities/{community['id']}/credits -H "Authorization: Bearer $KEY"
  curl -s '{base}/v1/reports/deliveries?community_id={community['id']}' \\
    -H "Authorization: Bearer $KEY"

Announce to everyone in {community['name']} by text and email: preview it, send it, follow
it, find it again and download its deliveries:

  BODY='{{"kind": "announcement", "channels": ["sms", "email"],
         "recipients": {{"communities": ["{community['id']}"]}},
         "category_id": "{demo['category_id']}", "subject": "Water shut-off",
         "body": "Water will be off Tuesday 9-12 for repairs."}}'
  curl -s -X POST {base}/v1/communications/preview -H "Authorization: Bearer $KEY" \\
    -H 'Content-Type: application/json' -d "$BODY"
  curl -s -X POST {base}/v1/communications -H "Authorization: Bearer $KEY" \\
    -H 'Content-Type: application/json' -H 'Idempotency-Key: water-1' -d "$BODY"
  curl -s "{base}/v1/communications?community_id={community['id']}" -H "Authorization: Bearer $KEY"
  curl -s -o deliveries.csv "{base}/v1/communications/<id>/deliveries?format=csv" \\
    -H "Authorization: Bearer $KEY"

Sign in as a person instead (POST {base}/v1/auth/login with {{"email": …, "password": …}}):
{logins}

Residents sign in the same way:
{resident_logins}

Report a work order as {portal['email']} and see it on the resident's dashboard (README,
"Work orders", has the rest: photos, common areas, what managers do, the printout):

  ADA=$(curl -s -X POST {base}/v1/auth/login -H 'Content-Type: application/json' \\
    -d '{{"email": "{portal['email']}", "password": "{portal['password']}"}}' \\
    | python3 -c 'import json,sys;print(json.load(sys.stdin)["access_token"])')
  curl -s -X POST {base}/v1/tickets -H "Authorization: Bearer $ADA" \\
    -H 'Content-Type: application/json' \\
    -d '{{"kind": "unit", "title": "Kitchen tap drips", "category": "plumbing"}}'
  curl -s {base}/v1/tickets/dashboard -H "Authorization: Bearer $ADA"
""", flush=True)
