"""`make seed`: a demo organization with one community of a few residents, a category and
an opening credit balance — created through the services' own RPCs, so each keeps owning
its data. Safe to run again; writes var/demo.json."""

import json
import time

from nameko.standalone.rpc import ClusterRpcProxy

from servicekit.config import ROOT

DEMO = {
    "slug": "demo",
    "name": "Maple Grove Property Management",
    "staff": [{"name": "Pat Manager", "email": "pat.manager@maplegrove.example"}],
    "communities": [{
        "name": "Maple Grove Apartments",
        "timezone": "America/Toronto",
        "residents": [
            {"name": "Ada Lovelace", "unit": "101", "phone": "+15551230001",
             "email": "ada@example.com"},
            {"name": "Grace Hopper", "unit": "102", "phone": "+15551230002",
             "email": "grace@example.com"},
            {"name": "Alan Turing", "unit": "201", "phone": "+15551230003",
             "email": "alan@example.com"},
            {"name": "Dana Quiet (texts off)", "unit": "202", "phone": "+15551230004",
             "email": "dana@example.com"},
        ],
    }],
}
CATEGORY = ("General announcements", "opt_in")
SERVICES = ("directory", "consent", "credits")


def main(config, out=None):
    out = out or ROOT / "var" / "demo.json"
    known_key = None
    if out.exists():
        known_key = json.loads(out.read_text()).get("api_key")
    with ClusterRpcProxy(config, timeout=30) as rpc:
        _wait_for(rpc)
        demo = rpc.directory.seed_demo(DEMO, known_key)
        org = demo["organization_id"]
        seeder = {"actor_type": "system", "actor_id": "seed", "organization_id": org,
                  "permissions": ["*"]}
        category = rpc.consent.create_category(seeder, org, *CATEGORY)
        opening = int((config.get("seed") or {}).get("community_credits", 500))
        for community in demo["communities"]:
            rpc.credits.grant(seeder, org, community["id"], opening, "opening balance (seed)",
                              f"seed:opening:{community['id']}")
        quiet = [r for r in demo["residents"] if "texts off" in r["name"]]
        for resident in quiet:
            decision = rpc.consent.check(seeder, category["id"], "sms",
                                         [{"resident_id": resident["id"]}])[0]
            if decision["allowed"]:
                rpc.consent.record(seeder, resident["id"], "sms", "withdraw", "seed",
                                   evidence={"note": "demo resident who turned texts off"})
    result = {"organization_id": org, "api_key": demo["api_key"], "category_id": category["id"],
              "communities": demo["communities"], "residents": demo["residents"]}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print_first_text(config, result, out)
    return result


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
    community = demo["communities"][0]["id"]
    rel = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    print(f"""
Seeded the demo organization; its API key and ids are in {rel}.

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
  curl -s {base}/v1/communities/{community}/credits -H "Authorization: Bearer $KEY"
  curl -s '{base}/v1/reports/deliveries?community_id={community}' -H "Authorization: Bearer $KEY"
""", flush=True)
