"""What a new user sees when they sign in to the demo as each role — the issue's "done when":
the manager of the Toronto office, the Ottawa dispatcher, a resident, the master user."""

import pytest
import requests

pytestmark = pytest.mark.e2e


def sign_in(system, email):
    accounts = system.demo["accounts"] + system.demo["other_organization"]["accounts"]
    password = next(a["password"] for a in accounts if a["email"] == email)
    answer = requests.post(f"{system.url}/v1/auth/login", timeout=30,
                           json={"email": email, "password": password})
    assert answer.status_code == 200, answer.text
    return answer.json()["access_token"]


def every(system, token, path, **params):
    items, cursor = [], None
    while True:
        page = requests.get(system.url + path, timeout=30, params=dict(
            params, limit=200, **({"cursor": cursor} if cursor else {})),
            headers={"Authorization": f"Bearer {token}"})
        assert page.status_code == 200, page.text
        items += page.json()["items"]
        cursor = page.json()["next_cursor"]
        if not cursor:
            return items


def test_each_role_sees_exactly_its_share_of_the_demo(system):
    demo = system.demo
    community = {c["name"]: c["id"] for c in demo["communities"]}
    toronto = {community["Maple Grove Apartments"], community["Birch Court Condos"]}
    ottawa = {community["Cedar Ridge HOA"]}
    assert len(demo["offices"]) == 2 and len(community) == 3
    assert len(demo["residents"]) >= 300          # "a few hundred residents"

    # other tests add communities of their own (some to the Toronto office): the tour counts
    # the demo's residents
    def in_demo(residents):
        return [r for r in residents if r["community_id"] in toronto | ottawa]

    master = sign_in(system, "master@maplegrove.example")
    everyone = every(system, master, "/v1/residents")
    assert {r["community_id"] for r in in_demo(everyone)} == toronto | ottawa

    manager = sign_in(system, "manager@maplegrove.example")
    assert {c["id"] for c in every(system, manager, "/v1/communities")} >= toronto
    seen = in_demo(every(system, manager, "/v1/residents"))
    assert {r["community_id"] for r in seen} == toronto
    assert len(seen) == len([r for r in everyone if r["community_id"] in toronto])

    dispatcher = sign_in(system, "dispatcher@maplegrove.example")
    assert [c["id"] for c in every(system, dispatcher, "/v1/communities")] == list(ottawa)
    seen = every(system, dispatcher, "/v1/residents")
    assert {r["community_id"] for r in seen} == ottawa
    me = requests.get(f"{system.url}/v1/me", timeout=30,
                      headers={"Authorization": f"Bearer {dispatcher}"}).json()
    assert set(me["scopes"]) == {"manage_tickets"}

    ada = sign_in(system, "ada@example.com")
    unit = system.resident("Ada")["unit_id"]
    mine = every(system, ada, "/v1/residents")
    assert mine and {r["unit_id"] for r in mine} == {unit}
    assert [u["id"] for u in every(system, ada, f"/v1/communities/"
                                                f"{system.community_id}/units")] == [unit]
    other = next(r for r in everyone if r["unit_id"] != unit
                 and r["community_id"] == system.community_id)
    refused = requests.get(f"{system.url}/v1/residents/{other['id']}", timeout=30,
                           headers={"Authorization": f"Bearer {ada}"})
    assert refused.status_code == 403

    harbor = sign_in(system, "manager@harborview.example")
    assert not {r["id"] for r in every(system, harbor, "/v1/residents")} & {
        r["id"] for r in everyone}
