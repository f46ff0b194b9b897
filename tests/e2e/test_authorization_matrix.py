"""Who may see and do what, for every endpoint that takes an object id, tried as every kind
of caller. The owning services decide; the gateway only authenticates. The matrix must name
every route the gateway serves, so an endpoint added later without an entry fails here."""

import pytest
import requests

from gateway.routes import routes
from gateway.service import GatewayService

pytestmark = pytest.mark.e2e

CALLERS = ("anonymous", "resident_of_unit", "resident_other_unit", "manager_with",
           "staff_without", "staff_nothing", "other_org", "key_without", "key_with", "master")

# expected HTTP status per caller; objects live in Maple Grove (Toronto office)
A, R, F, N, U = 200, 202, 403, 404, 401
MATRIX = {
    ("get", "/v1/communities/{community_id}"): dict(
        anonymous=U, resident_of_unit=A, resident_other_unit=A, manager_with=A,
        staff_without=F, staff_nothing=F, other_org=N, key_without=F, key_with=A, master=A),
    ("get", "/v1/communities/{community_id}/credits"): dict(
        anonymous=U, resident_of_unit=F, resident_other_unit=F, manager_with=A,
        staff_without=F, staff_nothing=F, other_org=N, key_without=F, key_with=A, master=A),
    ("get", "/v1/residents/{resident_id}"): dict(
        anonymous=U, resident_of_unit=A, resident_other_unit=F, manager_with=A,
        staff_without=F, staff_nothing=F, other_org=N, key_without=F, key_with=A, master=A),
    ("get", "/v1/communications/{communication_id}"): dict(
        anonymous=U, resident_of_unit=F, resident_other_unit=F, manager_with=A,
        staff_without=F, staff_nothing=F, other_org=N, key_without=F, key_with=A, master=A),
    ("post", "/v1/communications"): dict(
        anonymous=U, resident_of_unit=F, resident_other_unit=F, manager_with=R,
        staff_without=F, staff_nothing=F, other_org=N, key_without=F, key_with=R, master=R),
    ("get", "/v1/reports/deliveries"): dict(
        anonymous=U, resident_of_unit=F, resident_other_unit=F, manager_with=A,
        staff_without=F, staff_nothing=F, other_org=N, key_without=F, key_with=A, master=A),
    ("get", "/v1/staff/{staff_user_id}/grants"): dict(
        anonymous=U, resident_of_unit=F, resident_other_unit=F, manager_with=F,
        staff_without=F, staff_nothing=F, other_org=N, key_without=F, key_with=F, master=A),
    ("post", "/v1/staff/{staff_user_id}/grants"): dict(
        anonymous=U, resident_of_unit=F, resident_other_unit=F, manager_with=F,
        staff_without=F, staff_nothing=F, other_org=N, key_without=F, key_with=F, master=201),
    ("delete", "/v1/grants/{grant_id}"): dict(
        anonymous=U, resident_of_unit=F, resident_other_unit=F, manager_with=F,
        staff_without=F, staff_nothing=F, other_org=N, key_without=F, key_with=F, master=204),
    ("get", "/v1/audit-log"): dict(
        anonymous=U, resident_of_unit=F, resident_other_unit=F, manager_with=F,
        staff_without=F, staff_nothing=F, other_org=A, key_without=F, key_with=F, master=A),
}
# routes that take no object id, or are not called by a signed-in caller
EXEMPT = {
    ("get", "/healthz"): "public health check",
    ("get", "/openapi.json"): "public document",
    ("post", "/webhooks/twilio/status"): "authenticated by the provider's signature",
    ("post", "/v1/auth/login"): "takes credentials, not an identity",
    ("post", "/v1/auth/refresh"): "takes a refresh token",
    ("post", "/v1/auth/logout"): "takes a refresh token",
    ("get", "/v1/me"): "the caller's own identity",
    ("get", "/v1/communities"): "a list filtered to what the caller may see (tested below)",
    ("get", "/v1/residents"): "a list filtered to what the caller may see (tested below)",
}


def test_every_route_has_an_entry_in_the_matrix():
    served = {(verb, path) for verb, path, _ in routes(GatewayService)}
    missing = served - set(MATRIX) - set(EXEMPT)
    assert not missing, f"routes without an authorization entry: {sorted(missing)}"
    assert all(set(row) == set(CALLERS) for row in MATRIX.values())


def sign_in(system, email):
    account = next(a for a in system.demo["accounts"] + system.demo["other_organization"][
        "accounts"] if a["email"] == email)
    answer = requests.post(f"{system.url}/v1/auth/login", timeout=30,
                           json={"email": email, "password": account["password"]})
    assert answer.status_code == 200, answer.text
    return answer.json()["access_token"]


@pytest.fixture(scope="module")
def world(system):
    demo = system.demo
    staff = {a["email"]: a["principal_id"] for a in demo["accounts"]}
    tokens = {
        "resident_of_unit": sign_in(system, "ada@example.com"),
        "resident_other_unit": sign_in(system, "grace@example.com"),
        "manager_with": sign_in(system, "manager@maplegrove.example"),
        "staff_without": sign_in(system, "dispatcher@maplegrove.example"),
        "staff_nothing": sign_in(system, "newhire@maplegrove.example"),
        "other_org": sign_in(system, "manager@harborview.example"),
        "key_without": demo["limited_api_key"],
        "key_with": demo["api_key"],
        "master": sign_in(system, "master@maplegrove.example"),
    }
    sent = system.send(system.resident("Ada"), "Matrix check")
    assert sent.status_code == 202
    return {"tokens": tokens, "community_id": system.community_id,
            "resident_id": system.resident("Edsger")["id"],
            "communication_id": sent.json()["id"],
            "staff_user_id": staff["senior@maplegrove.example"]}


def call(system, world, caller, verb, path):
    headers = {}
    if caller != "anonymous":
        headers["Authorization"] = f"Bearer {world['tokens'][caller]}"
    ids = dict(world)
    body, params = None, None
    if path == "/v1/grants/{grant_id}":
        master = {"Authorization": f"Bearer {world['tokens']['master']}"}
        made = requests.post(f"{system.url}/v1/staff/{world['staff_user_id']}/grants",
                             headers=master, timeout=30,
                             json={"name": "view_reports", "scope_type": "community",
                                   "scope_id": world["community_id"]})
        ids["grant_id"] = made.json()["id"]
    if path.endswith("/grants") and verb == "post":
        body = {"name": "view_reports", "scope_type": "community",
                "scope_id": world["community_id"]}
    if path == "/v1/communications":
        body = {"kind": "message", "channels": ["sms"],
                "recipients": {"residents": [world["resident_id"]]},
                "category_id": system.demo["category_id"], "body": "Matrix check"}
    if path == "/v1/reports/deliveries":
        params = {"community_id": world["community_id"]}
    url = system.url + path.format(**ids)
    return requests.request(verb, url, headers=headers, json=body, params=params, timeout=30)


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("verb, path", sorted(MATRIX))
def test_authorization(system, world, verb, path, caller):
    answer = call(system, world, caller, verb, path)
    expected = MATRIX[(verb, path)][caller]
    assert answer.status_code == expected, f"{caller} {verb} {path}: {answer.text[:300]}"
    if expected >= 400:
        assert answer.headers["Content-Type"] == "application/problem+json"


def test_lists_show_only_what_each_caller_may_see(system, world):
    def names(caller, path, **params):
        headers = {"Authorization": f"Bearer {world['tokens'][caller]}"}
        answer = requests.get(system.url + path, headers=headers, params=params, timeout=30)
        assert answer.status_code == 200, answer.text
        return answer.json()["items"]

    assert sorted(c["name"] for c in names("manager_with", "/v1/communities")) == [
        "Birch Court Condos", "Maple Grove Apartments"]
    assert [c["name"] for c in names("staff_without", "/v1/communities")] == ["Cedar Ridge HOA"]
    assert names("staff_nothing", "/v1/communities") == []
    assert len(names("master", "/v1/communities")) == 3
    assert [c["name"] for c in names("other_org", "/v1/communities")] == ["Harbor View HOA"]
    unit_101 = names("resident_of_unit", "/v1/residents")
    assert sorted(r["name"] for r in unit_101) == ["Ada Lovelace", "Edsger Dijkstra"]
    ottawa = names("staff_without", "/v1/residents", limit=200)
    assert ottawa and {r["community_id"] for r in ottawa} != {world["community_id"]}
    found = names("manager_with", "/v1/residents", q="+15551230004")
    assert [r["name"] for r in found] == ["Dana Quiet (texts off)"]
