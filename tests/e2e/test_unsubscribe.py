"""Unsubscribe links through every process: the link in an email (body and RFC 8058 headers)
and in a text, the public page that records nothing on GET, the form and the one-click POST
that withdraw with their evidence before the next send is checked, changed and expired links
refused with nothing recorded — and the page in a real headless browser.

Everything here is this file's own: a resident with their own address and number and
categories made through the API in Maple Grove, so no other test's state changes. An expired
link is made by moving its `expires_at` into the past in the test system's consent database
(PostgreSQL, reachable from the test), the one thing no API may do."""

import re
import time
import uuid

import pytest
import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy import create_engine, text

pytestmark = pytest.mark.e2e

MASTER = {"email": "master@maplegrove.example", "password": "master-demo-password"}
LINK = re.compile(r"(http://[^\s>]+/u/[A-Za-z0-9_.-]+)")


class World:
    def __init__(self, system):
        self.system, self.tag = system, uuid.uuid4().hex[:6]
        token = requests.post(f"{system.url}/v1/auth/login", json=MASTER,
                              timeout=30).json()["access_token"]
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {token}"
        self.smtp_api = f"http://127.0.0.1:{system.env['TOWNHALL_SANDBOX__SMTP_API_PORT']}"

    def call(self, verb, path, body=None, status=200):
        answer = self.http.request(verb, self.system.url + path, json=body, timeout=30)
        assert answer.status_code == status, answer.text
        return answer

    def category(self, name, **options):
        return self.call("post", "/v1/consent/categories", {
            "name": f"{name} {self.tag}", "mode": "opt_in", **options}, 201).json()

    def resident(self, name):
        ada = self.system.resident("Ada")
        number = f"+1647555{uuid.uuid4().int % 10**4:04d}"  # valid, and no other file's
        return self.call("post", "/v1/residents", {
            "community_id": ada["community_id"], "unit_id": ada["unit_id"],
            "name": f"{name} Unsubscriber {self.tag}", "contact_points": [
                {"kind": "email", "value": f"{name.lower()}-{self.tag}@example.com"},
                {"kind": "phone", "value": number}]}, 201).json()

    def send(self, resident, category, channel="email"):
        body = f"Pool opens on Saturday [{uuid.uuid4().hex[:8]}]"
        answer = self.call("post", "/v1/communications", {
            "kind": "message", "channels": [channel], "category_id": category["id"],
            "recipients": {"residents": [resident["id"]]}, "body": body,
            "subject": f"{category['name']} news"}, 202)
        view = self.system.wait_until_done(answer.json()["id"])
        (delivery,) = view["deliveries"]
        return body, delivery

    def mail(self, body):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            found = [m for m in requests.get(f"{self.smtp_api}/messages", timeout=10).json()
                     if m["text"] and body in m["text"]]
            if found:
                (message,) = found
                return message
            time.sleep(0.2)
        raise AssertionError(f"no email with {body!r}")

    def emailed_link(self, resident, category):
        body, delivery = self.send(resident, category)
        assert delivery["status"] == "delivered", delivery
        return LINK.search(self.mail(body)["text"]).group(1)

    def history(self, resident):
        return self.call("get", f"/v1/residents/{resident['id']}/consents").json()["events"]


@pytest.fixture(scope="module")
def world(system):
    world = World(system)
    world.news = world.category("Newsletter")
    world.events = world.category("Social events")
    world.receipts = world.category("Payment receipts", transactional=True)
    world.quiet = world.category("Board notes", opt_out_enabled=False)
    return world


def consent_database(system):
    return create_engine(system.env["TOWNHALL_DATABASE_URL"].replace("{service}", "consent"))


def test_an_email_carries_the_link_in_its_body_and_both_headers(world):
    ada = world.resident("Ada")
    body, delivery = world.send(ada, world.news)
    assert (delivery["status"], delivery["credits"]) == ("delivered", 0)
    mail = world.mail(body)
    link = LINK.search(mail["text"]).group(1)
    assert link.startswith(f"{world.system.url}/u/unsub_")
    assert mail["headers"]["List-Unsubscribe"] == f"<{link}>"
    assert mail["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # as written on the wire: one line, not RFC 2047 encoded words
    assert f"List-Unsubscribe: <{link}>" in mail["raw"]
    # the next message of the category carries the same link (it has 60 days left)
    assert world.emailed_link(ada, world.news) == link


def test_a_text_ends_with_the_link_and_is_priced_with_it(world, system):
    grace = world.resident("Grace")
    body, delivery = world.send(grace, world.news, channel="sms")
    assert (delivery["status"], delivery["credits"]) == ("delivered", 1)
    (sent,) = [m for m in system.provider_messages(grace["phone"]) if body in m["body"]]
    assert re.fullmatch(re.escape(body) + rf"\nUnsubscribe: {re.escape(system.url)}"
                        r"/u/unsub_[\w-]+\.[\w-]+", sent["body"])


def test_categories_without_opt_out_carry_no_link(world):
    alan = world.resident("Alan")
    for category in (world.receipts, world.quiet):
        body, delivery = world.send(alan, category)
        assert delivery["status"] == "delivered"
        mail = world.mail(body)
        assert "/u/" not in mail["text"] and "List-Unsubscribe" not in mail["headers"]


def test_the_page_records_nothing_and_the_form_withdraws_the_category(world):
    dana = world.resident("Dana")
    link = world.emailed_link(dana, world.news)
    page = requests.get(link, timeout=30)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "Maple Grove" in page.text and world.news["name"] in page.text
    assert "d•••@example.com" in page.text and f"dana-{world.tag}" not in page.text
    assert page.headers["Cache-Control"] == "no-store" and "<script" not in page.text
    assert world.history(dana) == []            # GET never records (mail scanners follow links)

    done = requests.post(link, data={"scope": "category"}, timeout=30,
                         headers={"User-Agent": "e2e-browser/1.0",
                                  "X-Forwarded-For": "203.0.113.7"})
    assert done.status_code == 200 and "You are unsubscribed" in done.text
    (event,) = world.history(dana)
    assert (event["category_id"], event["channel"], event["action"], event["method"],
            event["recorded_by"]) == (world.news["id"], "email", "withdraw",
                                      "unsubscribe_link", f"resident:{dana['id']}")
    evidence = event["evidence"]
    assert evidence["address"] == f"dana-{world.tag}@example.com"
    assert evidence["wording"].startswith(f"Unsubscribe d•••@example.com from "
                                          f"{world.news['name']} emails")
    assert (evidence["ip"], evidence["user_agent"]) == ("203.0.113.7", "e2e-browser/1.0")

    # committed before the page answered: the very next send is suppressed
    _body, delivery = world.send(dana, world.news)
    assert (delivery["status"], delivery["reason"]) == ("suppressed", "opted_out")
    _body, other = world.send(dana, world.events)
    assert other["status"] == "delivered"

    # the proof a manager exports has the row with the address and the words shown
    proof = world.call("get", f"/v1/residents/{dana['id']}/consents.csv").text
    (row,) = [line for line in proof.splitlines() if "unsubscribe_link" in line]
    assert f"dana-{world.tag}@example.com" in row and "Unsubscribe d•••@example.com" in row

    # the link works again within its validity, and records nothing twice
    assert requests.post(link, data={"scope": "category"}, timeout=30).status_code == 200
    assert len(world.history(dana)) == 1


def test_one_click_from_the_mail_client_withdraws_the_category(world):
    edsger = world.resident("Edsger")
    body, _delivery = world.send(edsger, world.events)
    mail = world.mail(body)
    link = mail["headers"]["List-Unsubscribe"].strip("<>")
    # RFC 8058: the client POSTs exactly this body to the List-Unsubscribe address
    done = requests.post(link, data="List-Unsubscribe=One-Click", timeout=30, headers={
        "Content-Type": "application/x-www-form-urlencoded"})
    assert done.status_code == 200
    (event,) = world.history(edsger)
    assert (event["category_id"], event["method"], event["evidence"]["one_click"]) == (
        world.events["id"], "unsubscribe_link", True)
    assert "List-Unsubscribe-Post" in event["evidence"]["wording"]
    _body, delivery = world.send(edsger, world.events)
    assert (delivery["status"], delivery["reason"]) == ("suppressed", "opted_out")


def test_a_changed_link_is_refused_with_a_page_and_nothing_recorded(world):
    resident = world.resident("Barbara")
    link = world.emailed_link(resident, world.news)
    base, token = link.rsplit("/", 1)
    link_id, signature = token.split(".")
    flip = {"A": "B"}.get
    changed = [
        f"{base}/{link_id}.{signature[:-1]}{flip(signature[-1]) or 'A'}",   # the signature
        f"{base}/{link_id[:-1]}{flip(link_id[-1]) or 'A'}.{signature}",     # the id
        f"{base}/{link_id}",                                                # cut short
    ]
    for bad in changed:
        for answer in (requests.get(bad, timeout=30),
                       requests.post(bad, data={"scope": "all_commercial"}, timeout=30),
                       requests.post(bad, data="List-Unsubscribe=One-Click", timeout=30,
                                     headers={"Content-Type":
                                              "application/x-www-form-urlencoded"})):
            assert answer.status_code == 400, (bad, answer.text)
            assert answer.headers["Content-Type"].startswith("text/html")
            assert "This link is not valid" in answer.text
    assert world.history(resident) == []


def test_an_expired_link_is_gone_with_a_page_and_nothing_recorded(world, system):
    resident = world.resident("Ken")
    link = world.emailed_link(resident, world.events)
    link_id = link.rsplit("/", 1)[1].split(".")[0]
    engine = consent_database(system)
    try:
        with engine.begin() as db:
            moved = db.execute(text("update links set expires_at = now() - interval '1 minute' "
                                    "where id = :id"), {"id": link_id})
            assert moved.rowcount == 1
    finally:
        engine.dispose()
    for answer in (requests.get(link, timeout=30),
                   requests.post(link, data={"scope": "category"}, timeout=30)):
        assert answer.status_code == 410
        assert "This link has expired" in answer.text
    assert world.history(resident) == []
    # the next message carries a new link, which works
    fresh = world.emailed_link(resident, world.events)
    assert fresh != link and requests.get(fresh, timeout=30).status_code == 200


def test_a_resident_unsubscribes_from_every_commercial_category_in_a_browser(world, browser):
    resident = world.resident("Margaret")
    link = world.emailed_link(resident, world.news)
    browser.get(link)
    assert browser.title == "Unsubscribe"
    assert "<script" not in browser.page_source.lower()   # nothing needs JavaScript
    assert "Maple Grove" in browser.find_element(By.CSS_SELECTOR, ".org").text
    narrow = browser.find_element(By.CSS_SELECTOR, "input[value=category]")
    wide = browser.find_element(By.CSS_SELECTOR, "input[value=all_commercial]")
    assert narrow.is_selected() and not wide.is_selected()
    wide.click()
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    # the click returns before the answer to the form has loaded
    WebDriverWait(browser, 15).until(lambda b: b.title == "You are unsubscribed")
    status = browser.find_element(By.CSS_SELECTOR, "[role=status]").text
    assert "You are unsubscribed" in status and "Maple Grove" in status
    listed = browser.find_element(By.CSS_SELECTOR, "main ul").text
    assert world.news["name"] in listed and world.events["name"] in listed
    assert world.receipts["name"] not in listed
    withdrawn = {e["category_id"] for e in world.history(resident)}
    assert {world.news["id"], world.events["id"], world.quiet["id"]} <= withdrawn
    assert world.receipts["id"] not in withdrawn
    # transactional messages still reach them; commercial ones do not
    _body, receipt = world.send(resident, world.receipts)
    _body, event = world.send(resident, world.events)
    assert receipt["status"] == "delivered"
    assert (event["status"], event["reason"]) == ("suppressed", "opted_out")
