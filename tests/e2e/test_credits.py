"""Credits through the HTTP API, as their users meet them: Lakeside Realty runs on individual
user credits (seed 002) — the master allocates from the pool, an agent's text is paid from
the agent's own credits, team members give but never take, the office credit manager moves
credits inside the office, a user who loses send_sms is frozen — and Maple Grove's community
wallets keep sending below zero."""

import csv
import io
import time
import uuid

import pytest
import requests

from servicekit.testing import wait_until

pytestmark = pytest.mark.e2e


class Client:
    def __init__(self, system, token):
        self.url, self.headers = system.url, {"Authorization": f"Bearer {token}"}

    def get(self, path, **params):
        return requests.get(self.url + path, params=params, headers=self.headers, timeout=30)

    def post(self, path, body, key=None):
        headers = dict(self.headers, **({"Idempotency-Key": key} if key else {}))
        return requests.post(self.url + path, json=body, headers=headers, timeout=30)

    def delete(self, path):
        return requests.delete(self.url + path, headers=self.headers, timeout=30)

    def wallet(self, wallet):
        answer = self.get(f"/v1/credits/wallets/{wallet}")
        assert answer.status_code == 200, answer.text
        return answer.json()


@pytest.fixture(scope="module")
def lakeside(system):
    org = system.demo["user_credits_organization"]

    def client(email):
        password = next(a["password"] for a in org["accounts"] if a["email"] == email)
        answer = requests.post(f"{system.url}/v1/auth/login", timeout=30,
                               json={"email": email, "password": password})
        assert answer.status_code == 200, answer.text
        return Client(system, answer.json()["access_token"])

    staff = {a["email"].split("@")[0]: a["principal_id"] for a in org["accounts"]}
    return {"org": org, "master": client("master@lakeside.example"),
            "office": client("office@lakeside.example"), "ava": client("ava@lakeside.example"),
            "ben": client("ben@lakeside.example"),
            "wallet": {name: f"user:{staff_id}" for name, staff_id in staff.items()}}


def send(system, client, org, body="Open house on Saturday"):
    resident = org["residents"][0]
    answer = client.post("/v1/communications", {
        "kind": "message", "channels": ["sms"], "recipients": {"residents": [resident["id"]]},
        "category_id": org["category_id"], "body": body})
    assert answer.status_code == 202, answer.text
    return answer.json()


def wait_done(client, communication_id):
    def done():
        view = client.get(f"/v1/communications/{communication_id}").json()
        return view if view["status"] == "completed" and view["credits"]["held"] == 0 else None
    return wait_until(done, timeout=60, interval=0.2)


def test_the_master_allocates_and_an_agents_text_is_paid_from_their_own_credits(
        system, lakeside):
    master, ava, wallet = lakeside["master"], lakeside["ava"], lakeside["wallet"]
    assert master.get("/v1/credits/settings").json()["model"] == "user"
    listed = {w["wallet"] for w in master.get("/v1/credits/wallets").json()["items"]}
    assert {"pool", wallet["ava"], wallet["ben"]} <= listed
    pool_before = master.wallet("pool")["available"]
    moved = master.post("/v1/credits/transfers", {"source": "pool", "target": wallet["ava"],
                                                  "amount": 5, "reason": "weekend campaign"},
                        key=f"alloc-{uuid.uuid4()}")
    assert moved.status_code == 201, moved.text
    ava_before = ava.wallet(wallet["ava"])["available"]
    assert master.wallet("pool")["available"] == pool_before - 5

    accepted = send(system, ava, lakeside["org"])
    assert accepted["balance"]["wallet"] == wallet["ava"]
    assert accepted["links"]["order_credits"] == "/v1/credits/orders"
    view = wait_done(ava, accepted["id"])
    assert view["credits"]["charged"] == 1
    assert ava.wallet(wallet["ava"])["available"] == ava_before - 1
    assert master.wallet("pool")["available"] == pool_before - 5      # the pool never paid


def test_team_members_give_but_never_take_and_office_managers_move_inside_the_office(
        lakeside):
    ava, ben, office, wallet = (lakeside["ava"], lakeside["ben"], lakeside["office"],
                                lakeside["wallet"])
    taken = ben.post("/v1/credits/transfers", {"source": wallet["ava"], "target": wallet["ben"],
                                               "amount": 1, "reason": "mine now"})
    assert taken.status_code == 403
    assert "only your own credits" in taken.json()["detail"]
    given = ava.post("/v1/credits/transfers", {"source": wallet["ava"], "target": wallet["ben"],
                                               "amount": 1, "reason": "for your showing"})
    assert given.status_code == 201, given.text
    moved = office.post("/v1/credits/transfers", {"source": wallet["ben"],
                                                  "target": wallet["ava"], "amount": 1,
                                                  "reason": "rebalance"})
    assert moved.status_code == 201, moved.text
    pool = office.post("/v1/credits/transfers", {"source": "pool", "target": wallet["ava"],
                                                 "amount": 1, "reason": "help yourself"})
    assert pool.status_code == 403 and "master users" in pool.json()["detail"]
    # what each sees (seed 002): an agent their own and their team's, never the pool
    seen = {w["wallet"] for w in ben.get("/v1/credits/wallets").json()["items"]}
    assert seen == {wallet["ava"], wallet["ben"]}
    assert ben.get("/v1/credits/wallets/pool").status_code == 403


def test_the_30_day_log_reads_as_json_csv_and_a_printable_page(lakeside):
    ava, wallet = lakeside["ava"], lakeside["wallet"]["ava"]
    log = ava.get(f"/v1/credits/wallets/{wallet}/log").json()
    kinds = [i["kind"] for i in log["items"]]
    assert "transfer" in kinds and "settle" in kinds and log["days"] == 30
    assert log["closing_balance"] == ava.wallet(wallet)["balance"]
    assert all(i["actor"] and i["reason"] for i in log["items"])
    download = ava.get(f"/v1/credits/wallets/{wallet}/log", format="csv")
    assert download.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in download.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(download.text)))
    assert [r["kind"] for r in rows] == kinds
    assert any(r["reason"] == "weekend campaign" for r in rows)
    page = ava.get(f"/v1/credits/wallets/{wallet}/log", format="html")
    assert page.headers["Content-Type"].startswith("text/html")
    assert "<table>" in page.text and "weekend campaign" in page.text


def test_a_user_who_loses_send_sms_is_frozen_and_their_credits_are_moved_away(
        system, lakeside):
    master, ben, wallet = lakeside["master"], lakeside["ben"], lakeside["wallet"]["ben"]
    ben_id = wallet.split(":")[1]
    grants = master.get(f"/v1/staff/{ben_id}/grants").json()["items"]
    send_sms = next(g for g in grants if g["name"] == "send_sms")
    assert master.delete(f"/v1/grants/{send_sms['id']}").status_code == 204
    frozen = wait_until(lambda: master.wallet(wallet)["frozen"], timeout=20)
    assert frozen
    balance = master.wallet(wallet)["available"]
    assert balance > 0
    # sending needs send_sms, and the frozen credits could not pay anyway
    refused = ben.post("/v1/communications", {
        "kind": "message", "channels": ["sms"],
        "recipients": {"residents": [lakeside["org"]["residents"][0]["id"]]},
        "category_id": lakeside["org"]["category_id"], "body": "Still here?"})
    assert refused.status_code == 403
    to_ben = master.post("/v1/credits/transfers", {"source": "pool", "target": wallet,
                                                   "amount": 1, "reason": "top-up"})
    assert to_ben.status_code == 403 and "send_sms" in to_ben.json()["detail"]
    away = master.post("/v1/credits/transfers", {"source": wallet, "target": "pool",
                                                 "amount": balance, "reason": "ben left"})
    assert away.status_code == 201, away.text
    assert master.wallet(wallet)["available"] == 0


def test_an_api_key_cannot_send_where_users_pay_for_their_own_texts(system, lakeside):
    org = lakeside["org"]
    key = Client(system, org["api_key"])
    accepted = send(system, key, org)
    view = wait_done(key, accepted["id"])
    (delivery,) = view["deliveries"]
    assert delivery["status"] == "failed"
    assert "not an API key" in delivery["reason"]
    assert accepted["balance"] is None


def test_a_community_wallet_keeps_sending_below_zero_and_shows_it(system):
    master_password = next(a["password"] for a in system.demo["accounts"]
                           if a["email"] == "master@maplegrove.example")
    token = requests.post(f"{system.url}/v1/auth/login", timeout=30, json={
        "email": "master@maplegrove.example", "password": master_password}).json()[
        "access_token"]
    master = Client(system, token)
    birch = next(c for c in system.demo["communities"] if c["name"] == "Birch Court Condos")
    maple = f"community:{system.community_id}"
    wallet = f"community:{birch['id']}"
    resident = next(r for r in system.demo["residents"] if r["community_id"] == birch["id"])
    deadline = time.monotonic() + 30
    while master.wallet(wallet)["held"] and time.monotonic() < deadline:
        time.sleep(0.2)
    available = master.wallet(wallet)["available"]
    if available > 0:
        emptied = master.post("/v1/credits/transfers", {
            "source": wallet, "target": maple, "amount": available,
            "reason": "empty it to show a negative balance"})
        assert emptied.status_code == 201, emptied.text
    answer = master.post("/v1/communications", {
        "kind": "message", "channels": ["sms"], "recipients": {"residents": [resident["id"]]},
        "category_id": system.demo["category_id"], "body": "Pool closed today"})
    assert answer.status_code == 202, answer.text
    view = wait_done(master, answer.json()["id"])
    assert view["deliveries"][0]["status"] == "delivered"
    after = master.wallet(wallet)
    assert after["available"] < 0 and after["balance"] < 0
    restored = master.post("/v1/credits/transfers", {
        "source": maple, "target": wallet, "amount": available - after["available"],
        "reason": "put it back"})
    assert restored.status_code == 201
    assert master.wallet(wallet)["available"] == available


BUYER = {"name": "Lakeside Realty", "address": "1 Shore Rd, Kingston ON",
         "email": "billing@lakeside.example", "tax_number": "123456789RT0001"}


def order(client, wallet, quantity=10, key=None):
    return client.post("/v1/credits/orders", {"wallet": wallet, "quantity": quantity,
                                              "buyer": BUYER, "payment_method": "pm_card_visa"},
                       key=key)


def test_who_may_buy_individual_user_credits_for_whom(lakeside):
    master, office, ava, wallet = (lakeside["master"], lakeside["office"], lakeside["ava"],
                                   lakeside["wallet"])
    before = master.wallet("pool")["available"]
    bought = order(master, "pool", 100, key=f"pool-{uuid.uuid4()}")
    assert bought.status_code == 201, bought.text
    assert master.wallet("pool")["available"] == before + 100
    pdf = master.get(f"/v1/credits/orders/{bought.json()['id']}/invoice.pdf")
    assert pdf.headers["Content-Type"] == "application/pdf" and pdf.content[:5] == b"%PDF-"
    # the office credit manager buys for users of the office, never system credits
    assert order(office, wallet["ava"]).status_code == 201
    assert order(office, "pool").status_code == 403
    # a regular user buys for themselves and team members, not for others
    assert order(ava, wallet["ava"]).status_code == 201
    refused = order(ava, wallet["office"])
    assert refused.status_code == 403 and "team" in refused.json()["detail"]
    # and sees no system credits, which the office manager does not see either
    assert office.get("/v1/credits/wallets/pool").status_code == 403
    seen = {w["wallet"] for w in office.get("/v1/credits/wallets").json()["items"]}
    assert "pool" not in seen and wallet["ava"] in seen
