"""Signing in through the gateway, tried the way an attacker would: guessing passwords for
one account from many addresses, for many accounts from one address, replaying refresh
tokens, forging access tokens — and the audit log that shows it. Each client address is
set with X-Forwarded-For, which the test gateway believes from 127.0.0.1 only."""

import base64
import json
import uuid

import jwt
import pytest
import requests

pytestmark = pytest.mark.e2e


def post(system, path, body, address=None, token=None):
    headers = {}
    if address:
        headers["X-Forwarded-For"] = address
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return requests.post(system.url + path, json=body, headers=headers, timeout=30)


def get(system, path, token, **params):
    return requests.get(system.url + path, params=params, timeout=30,
                        headers={"Authorization": f"Bearer {token}"})


@pytest.fixture(scope="module")
def master(system):
    password = next(a["password"] for a in system.demo["accounts"]
                    if a["email"] == "master@maplegrove.example")
    answer = post(system, "/v1/auth/login", {"email": "master@maplegrove.example",
                                             "password": password}, address="198.51.100.1")
    assert answer.status_code == 200, answer.text
    return answer.json()["access_token"]


@pytest.fixture
def new_staff(system, master):
    """A staff user of Maple Grove with a login of their own, for guessing at."""
    email = f"target-{uuid.uuid4().hex[:8]}@maplegrove.example"
    password = "a-long-enough-password"
    made = post(system, "/v1/staff", {"name": "Target", "email": email, "password": password},
                token=master)
    assert made.status_code == 201, made.text
    return {"id": made.json()["id"], "email": email, "password": password}


def login(system, email, password, address):
    return post(system, "/v1/auth/login", {"email": email, "password": password},
                address=address)


def test_a_wrong_password_and_an_unknown_account_get_the_same_answer(system, new_staff):
    wrong = login(system, new_staff["email"], "not-the-password", "192.0.2.10")
    unknown = login(system, f"nobody-{uuid.uuid4().hex}@example.com", "x", "192.0.2.10")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["detail"] == unknown.json()["detail"]
    assert wrong.headers["Content-Type"] == "application/problem+json"


def test_guessing_one_account_from_many_addresses_is_stopped(system, master, new_staff):
    for n in range(5):   # login_failures_per_account
        assert login(system, new_staff["email"], f"guess-{n}",
                     f"192.0.2.{20 + n}").status_code == 401
    right = login(system, new_staff["email"], new_staff["password"], "192.0.2.99")
    assert right.status_code == 429
    assert "too many failed logins" in right.json()["detail"]
    throttled = [e for e in audit_events(system, master) if e["actor"] == new_staff["email"]
                 and (e["action"], e["result"]) == ("login", "throttled")]
    assert throttled and throttled[-1]["address"] == "192.0.2.99"
    # an account that was never guessed at is not affected
    fresh = login(system, "manager@maplegrove.example", "manager-demo-password", "192.0.2.98")
    assert fresh.status_code == 200


def test_guessing_many_accounts_from_one_address_is_stopped(system, new_staff):
    address = f"203.0.113.{uuid.uuid4().int % 200 + 1}"
    for n in range(20):   # login_failures_per_address
        assert login(system, f"spray-{n}@example.com", "Winter2026!",
                     address).status_code == 401
    from_there = login(system, new_staff["email"], new_staff["password"], address)
    assert from_there.status_code == 429
    elsewhere = login(system, new_staff["email"], new_staff["password"], "198.51.100.77")
    assert elsewhere.status_code == 200


def test_a_replayed_refresh_token_revokes_the_whole_family(system, master, new_staff):
    first = login(system, new_staff["email"], new_staff["password"], "198.51.100.2").json()
    second = post(system, "/v1/auth/refresh", {"refresh_token": first["refresh_token"]})
    assert second.status_code == 200
    replayed = post(system, "/v1/auth/refresh", {"refresh_token": first["refresh_token"]})
    assert replayed.status_code == 401 and "already used" in replayed.json()["detail"]
    stolen = post(system, "/v1/auth/refresh", {"refresh_token": second.json()["refresh_token"]})
    assert stolen.status_code == 401
    for tokens in (first, second.json()):   # README: reuse revokes every token
        assert get(system, "/v1/me", tokens["access_token"]).status_code == 401
    reused = [e for e in audit_events(system, master)
              if (e["action"], e["result"]) == ("refresh", "reused")
              and e["actor"] == new_staff["email"]]
    assert reused


def test_logout_ends_the_refresh_token_and_the_access_token(system, new_staff):
    tokens = login(system, new_staff["email"], new_staff["password"], "198.51.100.3").json()
    assert get(system, "/v1/me", tokens["access_token"]).status_code == 200
    assert post(system, "/v1/auth/logout",
                {"refresh_token": tokens["refresh_token"]}).status_code == 204
    again = post(system, "/v1/auth/refresh", {"refresh_token": tokens["refresh_token"]})
    assert again.status_code == 401
    ended = get(system, "/v1/me", tokens["access_token"])
    assert ended.status_code == 401 and "session has ended" in ended.json()["detail"]


def test_forged_access_tokens_are_refused(system, new_staff):
    token = login(system, new_staff["email"], new_staff["password"],
                  "198.51.100.4").json()["access_token"]
    header, payload, _ = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    unsigned = jwt.encode(claims, key=None, algorithm="none")
    other_key = jwt.encode(claims, "somebody-elses-signing-key-0123456789", algorithm="HS256")
    tampered = f"{header}.{payload[:-2]}xx.{token.split('.')[2]}"
    for forged in (unsigned, other_key, tampered, "not-a-token"):
        assert get(system, "/v1/me", forged).status_code == 401, forged
    assert get(system, "/v1/me", token).status_code == 200


def test_disabling_a_staff_user_stops_their_token_at_once(system, master, new_staff):
    token = login(system, new_staff["email"], new_staff["password"],
                  "198.51.100.5").json()["access_token"]
    assert get(system, "/v1/me", token).status_code == 200
    changed = requests.patch(f"{system.url}/v1/staff/{new_staff['id']}", timeout=30,
                             json={"disabled": True},
                             headers={"Authorization": f"Bearer {master}"})
    assert changed.status_code == 200 and changed.json()["disabled"] is True
    assert get(system, "/v1/me", token).status_code == 401
    right = login(system, new_staff["email"], new_staff["password"], "198.51.100.6")
    wrong = login(system, new_staff["email"], "not-the-password", "198.51.100.6")
    assert right.status_code == wrong.status_code == 401
    assert right.json()["detail"] == wrong.json()["detail"]
    refused = [e for e in audit_events(system, master) if e["actor"] == new_staff["email"]
               and (e["action"], e["result"]) == ("login", "refused")]
    assert refused and refused[-1]["address"] == "198.51.100.6"


def test_an_api_key_is_shown_once_and_stops_working_when_revoked(system, master):
    made = post(system, "/v1/api-keys", {"name": "partner crm", "permissions": ["view_reports"]},
                token=master)
    assert made.status_code == 201
    key = made.json()["api_key"]
    assert get(system, "/v1/me", key).json()["scopes"] == {"view_reports": "*"}
    listed = get(system, "/v1/api-keys", master).json()["items"]
    assert key not in json.dumps(listed)
    gone = requests.delete(f"{system.url}/v1/api-keys/{made.json()['id']}", timeout=30,
                           headers={"Authorization": f"Bearer {master}"})
    assert gone.status_code == 204
    assert get(system, "/v1/me", key).status_code == 401
    prefix = made.json()["prefix"]
    assert {e["action"] for e in audit_events(system, master) if e["target"] == prefix} == {
        "api_key_created", "api_key_revoked"}


def test_a_key_holds_only_what_its_creator_holds(system, master):
    """Issue 10: a manager made a key with all eight permissions; now only their own."""
    me = get(system, "/v1/me", master).json()
    email = f"org-manager-{uuid.uuid4().hex[:8]}@maplegrove.example"
    made = post(system, "/v1/staff", {"name": "Org Manager", "email": email,
                                      "password": "a-long-enough-password"}, token=master)
    granted = post(system, f"/v1/staff/{made.json()['id']}/grants",
                   {"name": "manager", "scope_type": "organization",
                    "scope_id": me["organization_id"]}, token=master)
    assert granted.status_code == 201, granted.text
    manager = login(system, email, "a-long-enough-password",
                    "198.51.100.8").json()["access_token"]
    everything = ["send_communications", "send_sms", "manage_office_sms_credits",
                  "manage_credits", "manage_consent_categories", "manage_tickets",
                  "view_reports", "manage_directory"]
    escalation = post(system, "/v1/api-keys", {"name": "all", "permissions": everything},
                      token=manager)
    assert escalation.status_code == 403
    problem = escalation.json()
    assert problem["field"] == "permissions" and "manage_credits" in problem["detail"]
    community = system.demo["communities"][0]["id"]
    within = post(system, "/v1/api-keys", {
        "name": "reports of one community", "permissions": ["send_communications"],
        "grants": [{"name": "view_reports", "scope_type": "community",
                    "scope_id": community}]}, token=manager)
    assert within.status_code == 201, within.text
    key = within.json()["api_key"]
    assert get(system, "/v1/me", key).json()["scopes"] == {
        "send_communications": "*", "view_reports": [community]}
    assert get(system, f"/v1/communities/{community}", key).status_code == 200


def test_one_email_signs_into_each_of_two_organizations_and_neither_learns_of_the_other(
        system, master):
    lakeside = login(system, "master@lakeside.example", "lakeside-master-password",
                     "198.51.100.9").json()["access_token"]
    email = f"both-{uuid.uuid4().hex[:8]}@example.com"
    for token, password in ((master, "maple-grove-password"), (lakeside, "lakeside-password")):
        made = post(system, "/v1/staff", {"name": "Both", "email": email,
                                          "password": password}, token=token)
        assert made.status_code == 201, made.text   # no 409 across organizations
    again = post(system, "/v1/staff", {"name": "Both", "email": email,
                                       "password": "maple-grove-password"}, token=master)
    assert again.status_code == 409   # within one organization it is taken

    def organization(password, **extra):
        answer = post(system, "/v1/auth/login", {"email": email, "password": password,
                                                 **extra}, address="198.51.100.10")
        assert answer.status_code == 200, answer.text
        return answer.json()["identity"]["organization_id"]

    maple = get(system, "/v1/me", master).json()["organization_id"]
    lake = get(system, "/v1/me", lakeside).json()["organization_id"]
    assert organization("maple-grove-password") == maple
    assert organization("lakeside-password") == lake

    shared = f"shared-{uuid.uuid4().hex[:8]}@example.com"
    for token in (master, lakeside):
        assert post(system, "/v1/staff", {"name": "Shared", "email": shared,
                                          "password": "one-password-for-both"},
                    token=token).status_code == 201
    wrong = login(system, shared, "not-the-password", "198.51.100.11")
    assert wrong.status_code == 401 and "organizations" not in wrong.json()
    choose = login(system, shared, "one-password-for-both", "198.51.100.11")
    assert choose.status_code == 409 and choose.json()["field"] == "organization_id"
    assert sorted(o["id"] for o in choose.json()["organizations"]) == sorted([maple, lake])
    chosen = post(system, "/v1/auth/login", {"email": shared, "password": "one-password-for-both",
                                             "organization_id": lake})
    assert chosen.status_code == 200 and chosen.json()["identity"]["organization_id"] == lake


def audit_events(system, master):
    events, cursor = [], None
    while True:
        page = get(system, "/v1/audit-log", master, limit=200,
                   **({"cursor": cursor} if cursor else {})).json()
        events += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return events


def test_the_audit_log_shows_who_did_what_from_where_and_how_it_ended(system, master,
                                                                       new_staff):
    login(system, new_staff["email"], "wrong-password", "192.0.2.200")
    events = audit_events(system, master)
    failed = [e for e in events if e["action"] == "login" and e["result"] == "failed"
              and e["actor"] == new_staff["email"]]
    assert failed[-1]["address"] == "192.0.2.200" and failed[-1]["at"]
    created = [e for e in events if e["action"] == "staff_created"
               and e["target"] == new_staff["id"]]
    assert created and created[0]["result"] == "succeeded" and created[0]["actor"]
