"""Groups through HTTP against the running system — saved, read, changed, listed and deleted
by a manager of the Toronto office, refused by name, hidden from residents and from another
organization — and the audience a group names, resolved by directory over the broker as
messaging asks for it."""

import uuid

import pytest
import requests
from nameko.standalone.rpc import ClusterRpcProxy

from contracts.errors import NotFound

pytestmark = pytest.mark.e2e
RUN = uuid.uuid4().hex[:6]
PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def court(system):
    """A community of the Toronto office of its own: Olga, Piet and Quinn in unit 1, and
    Rafa alone in unit 2."""
    own = system.own_community(f"Group Gardens-{RUN}", ("Olga", "Piet", "Quinn"), "562", RUN)
    master = system.staff("master@maplegrove.example")
    community_id = own["community"]["id"]
    unit = master.post(f"{system.url}/v1/communities/{community_id}/units", timeout=30,
                       json={"label": "2"}).json()
    rafa = master.post(f"{system.url}/v1/residents", timeout=30, json={
        "community_id": community_id, "unit_id": unit["id"], "name": f"Rafa {RUN}",
        "kind": "owner"}).json()
    return {"id": community_id, "residents": dict(own["residents"], Rafa=rafa),
            "unit_1": own["residents"]["Olga"]["unit_id"], "unit_2": unit["id"],
            "timezone": own["community"]["timezone"]}


def problem(answer, status):
    assert answer.status_code == status, answer.text[:500]
    assert answer.headers["Content-Type"] == PROBLEM
    return answer.json()


def test_a_manager_saves_changes_lists_and_deletes_a_group(system, court):
    manager = system.staff("manager@maplegrove.example")
    url = f"{system.url}/v1/groups"
    olga = court["residents"]["Olga"]["id"]
    made = manager.post(url, timeout=30, json={
        "community_id": court["id"], "name": "Pool committee", "description": "Meets Fridays",
        "members": {"residents": [olga]}})
    assert made.status_code == 201, made.text
    group = made.json()
    assert group["id"].startswith("grp_") and group["community_id"] == court["id"]
    assert group["members"] == {"residents": [olga], "units": []}
    assert manager.get(f"{url}/{group['id']}", timeout=30).json() == group

    taken = problem(manager.post(url, timeout=30, json={"community_id": court["id"],
                                                        "name": "POOL committee"}), 409)
    assert taken["field"] == "name"
    ada = system.resident("Ada")["id"]                   # of Maple Grove, not this community
    outside = problem(manager.post(url, timeout=30, json={
        "community_id": court["id"], "name": "Mixed", "members": {"residents": [olga, ada]}}),
        422)
    assert outside["field"] == "members.residents" and ada in outside["detail"]

    changed = manager.patch(f"{url}/{group['id']}", timeout=30, json={
        "name": "Pool committee 2027", "members": {"units": [court["unit_2"]]}})
    assert changed.status_code == 200, changed.text
    assert changed.json()["members"] == {"residents": [], "units": [court["unit_2"]]}
    assert changed.json()["description"] == "Meets Fridays"

    listed = manager.get(url, params={"community_id": court["id"]}, timeout=30).json()
    assert [(g["name"], g["member_counts"]) for g in listed["items"]] == [
        ("Pool committee 2027", {"residents": 0, "units": 1})]

    gone = manager.delete(f"{url}/{group['id']}", timeout=30)
    assert gone.status_code == 204 and gone.content == b""
    assert problem(manager.get(f"{url}/{group['id']}", timeout=30), 404)["field"] == "group_id"


@pytest.mark.parametrize("body, field", [
    ({"name": "No community"}, "community_id"),
    ({"community_id": "com_x", "name": "Board\r\nBcc: x@example.com"}, "name"),
    ({"community_id": "com_x", "name": "Board", "members": {"households": []}}, "members"),
    ({"community_id": "com_x", "name": "Board", "owner": "me"}, "owner")])
def test_a_badly_shaped_group_is_refused_naming_the_field(system, body, field):
    manager = system.staff("manager@maplegrove.example")
    answer = problem(manager.post(f"{system.url}/v1/groups", json=body, timeout=30), 422)
    assert field in answer["errors"]


def test_residents_see_no_groups_and_another_organization_none_of_ours(system, court):
    master = system.staff("master@maplegrove.example")
    group = master.post(f"{system.url}/v1/groups", timeout=30, json={
        "community_id": court["id"], "name": "Hidden"}).json()
    one = f"{system.url}/v1/groups/{group['id']}"
    ada = system.resident("Ada")
    ada_login = next(a for a in system.demo["accounts"] if a["email"] == "ada@example.com")
    token = requests.post(f"{system.url}/v1/auth/login", timeout=30, json={
        "email": ada_login["email"], "password": ada_login["password"]}).json()["access_token"]
    as_ada = {"Authorization": f"Bearer {token}"}
    assert ada["community_id"] != court["id"]
    problem(requests.get(f"{system.url}/v1/groups", headers=as_ada, timeout=30), 403)
    problem(requests.get(one, headers=as_ada, timeout=30), 403)
    harbor = system.staff("manager@harborview.example")
    problem(harbor.get(one, timeout=30), 404)
    problem(harbor.patch(one, json={"name": "Ours"}, timeout=30), 404)
    assert group["id"] not in {g["id"] for g in harbor.get(f"{system.url}/v1/groups",
                                                           timeout=30).json()["items"]}
    problem(system.staff("dispatcher@maplegrove.example").get(one, timeout=30), 403)
    assert system.session.get(one, timeout=30).status_code == 200   # the demo key: sends
    problem(system.session.delete(one, timeout=30), 403)            # but may not change


def test_the_same_idempotency_key_answers_the_first_group_again(system, court):
    manager = system.staff("manager@maplegrove.example")
    body = {"community_id": court["id"], "name": f"Keyed {RUN}"}
    key = {"Idempotency-Key": f"group-{RUN}"}
    first = manager.post(f"{system.url}/v1/groups", json=body, headers=key, timeout=30)
    again = manager.post(f"{system.url}/v1/groups", json=body, headers=key, timeout=30)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    other = manager.post(f"{system.url}/v1/groups", json=dict(body, name="Other"),
                         headers=key, timeout=30)
    assert problem(other, 422)["field"] == "Idempotency-Key"


def test_directory_resolves_a_groups_audience_page_by_page_over_the_broker(system, court):
    manager = system.staff("manager@maplegrove.example")
    residents = court["residents"]
    group = manager.post(f"{system.url}/v1/groups", timeout=30, json={
        "community_id": court["id"], "name": f"Unit 1 and Rafa {RUN}",
        "members": {"units": [court["unit_1"]], "residents": [residents["Rafa"]["id"]]}})
    assert group.status_code == 201, group.text
    # Olga is in the group's unit and named directly too: one recipient
    recipients = {"groups": [group.json()["id"]], "residents": [residents["Olga"]["id"]]}
    with ClusterRpcProxy({"AMQP_URI": system.env["TOWNHALL_AMQP_URI"]}, timeout=10) as rpc:
        sender = rpc.directory.authenticate(system.demo["api_key"])
        scope = rpc.directory.audience_scope(sender, recipients)
        first = rpc.directory.resolve_audience(sender, recipients, limit=3)
        last = rpc.directory.resolve_audience(sender, recipients, after=first["next"], limit=3)
        owners = rpc.directory.audience_scope(sender, dict(recipients, occupancy="owner"))
        harbor = system.demo["other_organization"]["communities"][0]["id"]
        with pytest.raises(NotFound) as missing:
            rpc.directory.audience_scope(sender, {"communities": [court["id"], harbor]})
    assert scope == {"communities": [court["id"]], "size": 4,
                     "timezones": {court["id"]: court["timezone"]}}
    assert (len(first["residents"]), len(last["residents"]), last["next"]) == (3, 1, None)
    found = {r["id"]: r for r in first["residents"] + last["residents"]}
    assert set(found) == {r["id"] for r in residents.values()}
    olga = found[residents["Olga"]["id"]]
    assert (olga["phone"], olga["email"]) == (residents["Olga"]["phone"],
                                              residents["Olga"]["email"])
    assert found[residents["Rafa"]["id"]]["kind"] == "owner"
    assert owners["size"] == 1                           # Rafa only; the others are tenants
    assert missing.value.field == "recipients.communities" and harbor in missing.value.detail
