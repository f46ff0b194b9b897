"""Consent requests through every process: a master user of Maple Grove asks the residents of a
community of their own (made here, so no seeded resident is touched) whether they want the
emails of a `request`-mode category. The SMTP sink receives the emails; the public page
records consent only when its button is pressed — also in a real headless browser — and a
manager can export the proof."""

import csv
import io
import re
import uuid

import pytest
import requests
from nameko.standalone.rpc import ClusterRpcProxy
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy import create_engine, text

from servicekit.testing import eventually

pytestmark = pytest.mark.e2e

ORGANIZATION = "Maple Grove Property Management"
RUN = uuid.uuid4().hex[:8]
LINK = re.compile(r"(https?://\S+/c/[A-Za-z0-9_.-]+)")






@pytest.fixture(scope="module")
def world(system):
    master = system.staff("master@maplegrove.example")
    office_id = next(o["id"] for o in system.demo["offices"] if o["name"] == "Toronto office")

    def made(answer):
        assert answer.status_code < 300, answer.text
        return answer.json()

    community = made(master.post(f"{system.url}/v1/communities", timeout=30, json={
        "name": f"Requests e2e-{RUN}", "office_id": office_id}))
    unit = made(master.post(f"{system.url}/v1/communities/{community['id']}/units",
                            json={"label": "R1"}, timeout=30))
    residents = {}
    for n, name in enumerate(("Rosa", "Rui", "Esme", "Ansel", "Nell")):
        point = ({"kind": "phone", "value": f"+141655577{n:02}"} if name == "Nell" else
                 {"kind": "email", "value": f"{name.lower()}.{RUN}@example.com"})
        residents[name] = made(master.post(f"{system.url}/v1/residents", timeout=30, json={
            "community_id": community["id"], "unit_id": unit["id"],
            "name": f"{name} Requested", "contact_points": [point]}))
    category = made(master.post(f"{system.url}/v1/consent/categories", timeout=30, json={
        "name": f"Newsletter & events {RUN}", "mode": "request"}))
    # Ansel answered already (withdrew from the category on email, recorded on his behalf)
    with ClusterRpcProxy({"AMQP_URI": system.env["TOWNHALL_AMQP_URI"]}, timeout=10) as rpc:
        rpc.consent.record({"actor_type": "system", "actor_id": "e2e",
                            "organization_id": system.demo["organization_id"],
                            "scopes": {"*": "*"}},
                           residents["Ansel"]["id"], "email", "withdraw", "staff_on_behalf",
                           category_id=category["id"],
                           evidence={"wording": "No newsletter for me, thanks.",
                                     "address": residents["Ansel"]["email"]})
    return {"master": master, "community": community, "residents": residents,
            "category": category}


def progress(system, world, request_id):
    answer = world["master"].get(f"{system.url}/v1/consent/requests/{request_id}", timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()


def ask(system, world, key=None):
    headers = {"Idempotency-Key": key} if key else {}
    return world["master"].post(
        f"{system.url}/v1/consent/categories/{world['category']['id']}/requests",
        json={"community_ids": [world["community"]["id"]]}, headers=headers, timeout=30)


@pytest.fixture(scope="module")
def first_request(system, world):
    answer = ask(system, world, key=f"requests-e2e-{RUN}")
    assert answer.status_code == 202, answer.text
    made = answer.json()
    assert answer.headers["Location"] == f"/v1/consent/requests/{made['id']}"
    return made


def link_for(system, world, name):
    address = world["residents"][name]["email"]
    mails = eventually(lambda: system.emails_to(address), bool, timeout=30)
    return LINK.search(mails[0]["text"]).group(1)


def consents(system, world, name):
    resident_id = world["residents"][name]["id"]
    answer = world["master"].get(f"{system.url}/v1/residents/{resident_id}/consents",
                                 timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()


def category_state(system, world, name):
    return next(s for s in consents(system, world, name)["state"]
                if s["category_id"] == world["category"]["id"] and s["channel"] == "email")


def send_email(system, world, name):
    """A message of the category to one resident; its delivery once it is terminal."""
    master = world["master"]
    answer = master.post(f"{system.url}/v1/communications", timeout=30, json={
        "kind": "message", "channels": ["email"], "category_id": world["category"]["id"],
        "recipients": {"residents": [world["residents"][name]["id"]]},
        "subject": "Spring newsletter", "body": f"Our spring newsletter {uuid.uuid4().hex}"})
    assert answer.status_code == 202, answer.text
    url = f"{system.url}/v1/communications/{answer.json()['id']}"
    view = eventually(lambda: master.get(url, timeout=30).json(),
                    lambda v: v.get("status") == "completed")
    (delivery,) = view["deliveries"]
    return delivery


def test_progress_reaches_done_and_reports_who_was_skipped(system, world, first_request):
    assert first_request["status"] == "sending"
    view = eventually(lambda: progress(system, world, first_request["id"]),
                    lambda v: v["status"] == "done")
    assert view["counts"] == {"total": 5, "skipped_answered": 1, "skipped_no_email": 1,
                              "queued": 0, "sent": 3, "failed": 0, "confirmed": 0}
    assert view["finished_at"] and view["community_ids"] == [world["community"]["id"]]
    # the same Idempotency-Key answers the first request again and emails nobody twice
    again = ask(system, world, key=f"requests-e2e-{RUN}")
    assert again.status_code == 202 and again.json()["id"] == first_request["id"]
    listed = world["master"].get(
        f"{system.url}/v1/consent/categories/{world['category']['id']}/requests",
        timeout=30).json()
    assert [r["id"] for r in listed["items"]] == [first_request["id"]]


def test_each_queued_resident_gets_one_email_with_a_confirm_link(system, world,
                                                                 first_request):
    eventually(lambda: progress(system, world, first_request["id"]),
             lambda v: v["status"] == "done")
    for name in ("Rosa", "Rui", "Esme"):
        (mail,) = system.emails_to(world["residents"][name]["email"])
        assert mail["subject"] == (f"{ORGANIZATION}: may we email you "
                                   f"{world['category']['name']}?")
        assert mail["text"].startswith(f"Hello {name} Requested,")
        assert "If you do nothing, nothing changes" in mail["text"]
        assert LINK.search(mail["text"]).group(1).startswith(f"{system.url}/c/conf_")
    assert system.emails_to(world["residents"]["Ansel"]["email"]) == []


def test_opening_the_page_records_nothing(system, world, first_request):
    page = requests.get(link_for(system, world, "Rosa"), timeout=30)
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    html = page.text
    assert ORGANIZATION in html
    assert f"Yes, email me Newsletter &amp; events {RUN}" in html   # escaped
    assert "<form method=\"post\">" in html and "<script" not in html.lower()
    assert "checked" not in html   # nothing is ticked for them
    local = f"rosa.{RUN}"   # the address is shown masked, never whole
    assert f"r{'•' * (len(local) - 1)}@example.com" in html and local not in html
    assert consents(system, world, "Rosa")["events"] == []
    assert category_state(system, world, "Rosa") == {
        "category_id": world["category"]["id"], "category_name": world["category"]["name"],
        "channel": "email", "allowed": False, "reason": "no_consent"}
    delivery = send_email(system, world, "Rosa")
    assert (delivery["status"], delivery["reason"]) == ("suppressed", "no_consent")


def test_pressing_the_button_records_consent_and_the_proof(system, world, first_request):
    link = link_for(system, world, "Rosa")
    thanks = requests.post(link, timeout=30, data={},
                           headers={"X-Forwarded-For": "203.0.113.9",
                                    "User-Agent": "e2e-browser/1.0"})
    assert thanks.status_code == 200 and "Thank you" in thanks.text
    assert ORGANIZATION in thanks.text
    (event,) = consents(system, world, "Rosa")["events"]
    assert (event["channel"], event["action"], event["method"], event["recorded_by"]) == (
        "email", "grant", "confirm_link", f"resident:{world['residents']['Rosa']['id']}")
    assert event["evidence"]["ip"] == "203.0.113.9"
    assert event["evidence"]["user_agent"] == "e2e-browser/1.0"
    assert event["evidence"]["request_id"] == first_request["id"]
    assert category_state(system, world, "Rosa")["allowed"] is True
    # pressing again records nothing more
    again = requests.post(link, timeout=30)
    assert again.status_code == 200 and "already said yes" in again.text
    assert len(consents(system, world, "Rosa")["events"]) == 1
    # a message of the category now reaches her
    delivery = send_email(system, world, "Rosa")
    assert delivery["status"] == "delivered", delivery
    # the manager's proof: the row, the words shown and the address the link went to
    rosa = world["residents"]["Rosa"]
    answer = world["master"].get(f"{system.url}/v1/residents/{rosa['id']}/consents.csv",
                                 timeout=30)
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("text/csv")
    (row,) = [r for r in csv.DictReader(io.StringIO(answer.text))
              if r["method"] == "confirm_link"]
    assert (row["action"], row["channel"], row["address"], row["ip"]) == (
        "grant", "email", rosa["email"], "203.0.113.9")
    assert row["wording"].endswith(f"[Yes, email me {world['category']['name']}]")
    assert f"{ORGANIZATION} asks your permission" in row["wording"]
    view = progress(system, world, first_request["id"])
    assert (view["counts"]["confirmed"], view["counts"]["sent"]) == (1, 2)


def test_asking_again_skips_who_answered(system, world, first_request):
    eventually(lambda: consents(system, world, "Rosa")["events"], bool)
    answer = ask(system, world)
    assert answer.status_code == 202, answer.text
    view = eventually(lambda: progress(system, world, answer.json()["id"]),
                    lambda v: v["status"] == "done")
    # Rosa confirmed, Ansel withdrew: both answered; Rui and Esme are asked again
    assert view["counts"]["skipped_answered"] == 2 + (
        1 if category_state(system, world, "Rui")["allowed"] else 0)
    assert view["counts"]["skipped_no_email"] == 1
    assert system.emails_to(world["residents"]["Rosa"]["email"])[-1]["subject"] == \
        "Spring newsletter"   # no second request went to her


def tampered(link):
    return link[:-1] + ("A" if link[-1] != "A" else "B")


def test_changed_unknown_and_expired_links_record_nothing(system, world, first_request):
    link = link_for(system, world, "Esme")
    for bad in (tampered(link), link.rsplit(".", 1)[0], link[:-6]):
        for method in ("get", "post"):
            answer = requests.request(method, bad, timeout=30)
            assert answer.status_code == 400, (method, bad, answer.text)
            assert "This link is not valid" in answer.text and "Nothing was recorded" \
                in answer.text
            assert answer.headers["Content-Type"].startswith("text/html")
    link_id = link.rsplit("/c/", 1)[1].split(".")[0]
    url = system.env["TOWNHALL_DATABASE_URL"].replace("{service}", "consent")
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("UPDATE links SET expires_at = now() - interval '1 minute' "
                              "WHERE id = :id"), {"id": link_id})
    finally:
        engine.dispose()
    for method in ("get", "post"):
        answer = requests.request(method, link, timeout=30)
        assert answer.status_code == 410, answer.text
        assert "This link has expired" in answer.text
    assert consents(system, world, "Esme")["events"] == []
    assert category_state(system, world, "Esme")["reason"] == "no_consent"


def test_another_organization_sees_no_request(system, world, first_request):
    other = system.staff("manager@harborview.example")
    answer = other.get(f"{system.url}/v1/consent/requests/{first_request['id']}", timeout=30)
    assert answer.status_code == 404
    assert answer.headers["Content-Type"] == "application/problem+json"
    listed = other.get(
        f"{system.url}/v1/consent/categories/{world['category']['id']}/requests", timeout=30)
    assert listed.status_code == 404


def test_a_resident_confirms_in_a_real_browser(system, world, first_request, browser):
    browser.get(link_for(system, world, "Rui"))
    assert browser.title == f"May we email you about {world['category']['name']}?"
    assert browser.find_elements(By.TAG_NAME, "script") == []
    assert browser.find_elements(By.CSS_SELECTOR, "input[type=checkbox]") == []
    assert ORGANIZATION in browser.find_element(By.CSS_SELECTOR, ".org").text
    button = browser.find_element(By.CSS_SELECTOR, "form button[type=submit]")
    assert button.text == f"Yes, email me {world['category']['name']}"
    assert consents(system, world, "Rui")["events"] == []
    button.click()
    WebDriverWait(browser, 15).until(lambda b: b.title == "Thank you")
    assert ORGANIZATION in browser.find_element(By.CSS_SELECTOR, ".org").text
    assert "you said yes" in browser.find_element(By.CSS_SELECTOR, "[role=status]").text
    assert browser.find_elements(By.TAG_NAME, "script") == []
    (event,) = consents(system, world, "Rui")["events"]
    assert (event["method"], event["action"]) == ("confirm_link", "grant")
    assert event["evidence"]["user_agent"]   # the browser's own
