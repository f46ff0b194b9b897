"""Issue 5's "done when", in one community of its own, through HTTP only: a resident who texts
STOP gets one confirmation and no further text from that number; an email unsubscribe link
removes another from that category without login; a consent request moves a resident of a
`request` category to consented only when they click; and a manager exports the proof for
all of them — every row with its evidence."""

import csv
import io
import re
import time
import uuid

import pytest
import requests

from servicekit.testing import wait_until

pytestmark = pytest.mark.e2e

RUN = uuid.uuid4().hex[:8]
OURS = "+15550000000"   # config twilio.from_number: the number residents text
UNSUBSCRIBE = re.compile(r"(https?://\S+/u/[A-Za-z0-9_.-]+)")
CONFIRM = re.compile(r"(https?://\S+/c/[A-Za-z0-9_.-]+)")


def made(answer):
    assert answer.status_code < 300, answer.text
    return answer.json()


class Scene:
    def __init__(self, system):
        self.system, self.url = system, system.url
        self.master = system.staff("master@maplegrove.example")
        self.manager = system.staff("manager@maplegrove.example")
        own = system.own_community(f"Done-when Towers-{RUN}", ("Petra", "Quentin", "Rhea"),
                                   "555", RUN)
        self.community, self.residents = own["community"], own["residents"]
        self.news = made(self.master.post(f"{self.url}/v1/consent/categories", timeout=30, json={
            "name": f"Community news {RUN}", "mode": "opt_in", "opt_out_enabled": True}))
        self.survey = made(self.master.post(f"{self.url}/v1/consent/categories", timeout=30,
                                            json={"name": f"Resident surveys {RUN}",
                                                  "mode": "request"}))

    def phone(self, name):
        return next(p["value"] for p in self.residents[name]["contact_points"]
                    if p["kind"] == "phone")

    def email(self, name):
        return next(p["value"] for p in self.residents[name]["contact_points"]
                    if p["kind"] == "email")

    def send(self, name, category, channel):
        body = f"Lobby repainting on Monday [{uuid.uuid4().hex[:8]}]"
        answer = made(self.master.post(f"{self.url}/v1/communications", timeout=30, json={
            "kind": "message", "channels": [channel], "category_id": category["id"],
            "recipients": {"residents": [self.residents[name]["id"]]}, "body": body}))
        (delivery,) = self.system.wait_until_done(answer["id"])["deliveries"]
        return body, delivery

    def texts_to(self, name):
        return [m["body"] for m in self.system.provider_messages(to=self.phone(name))]

    def emails(self, name, containing=""):
        port = self.system.env["TOWNHALL_SANDBOX__SMTP_API_PORT"]
        found = requests.get(f"http://127.0.0.1:{port}/messages", timeout=10).json()
        return [m for m in found if self.email(name) in m["rcpt_tos"]
                and containing in (m["text"] or "")]

    def may_reach(self, name, category, channel):
        answer = made(self.master.get(
            f"{self.url}/v1/residents/{self.residents[name]['id']}/consents", timeout=30))
        (state,) = [s for s in answer["state"]
                    if s["category_id"] == category["id"] and s["channel"] == channel]
        return state["allowed"], state["reason"]


@pytest.fixture(scope="module")
def scene(system):
    return Scene(system)


def test_a_resident_who_texts_stop_gets_one_confirmation_and_no_further_text(scene):
    answer = requests.post(f"{scene.system.twilio_url}/_sandbox/inbound", timeout=30, json={
        "from": scene.phone("Petra"), "to": OURS, "body": "  Stop ",
        "url": f"{scene.url}/webhooks/twilio/inbound"})
    assert answer.status_code == 200, answer.text
    assert wait_until(lambda: scene.texts_to("Petra"), timeout=30)
    _body, delivery = scene.send("Petra", scene.news, "sms")
    assert (delivery["status"], delivery["reason"]) == ("suppressed", "keyword_stop")
    time.sleep(1.0)   # a second confirmation, if one were coming, would be here by now
    (confirmation,) = scene.texts_to("Petra")
    assert "unsubscribed" in confirmation and "START" in confirmation
    assert scene.may_reach("Petra", scene.news, "sms") == (False, "keyword_stop")
    # email is another channel: the STOP was about texts from our number
    _body, email = scene.send("Petra", scene.news, "email")
    assert email["status"] == "delivered"


def test_an_email_unsubscribe_link_removes_them_from_that_category_without_login(scene):
    body, delivery = scene.send("Quentin", scene.news, "email")
    assert delivery["status"] == "delivered"
    assert wait_until(lambda: scene.emails("Quentin", body), timeout=15)
    (mail,) = scene.emails("Quentin", body)
    link = UNSUBSCRIBE.search(mail["text"]).group(1)
    page = requests.get(link, timeout=30)           # no Authorization header at all
    assert page.status_code == 200 and scene.news["name"] in page.text
    assert scene.may_reach("Quentin", scene.news, "email") == (True, None)  # GET changes nothing
    done = requests.post(link, data={"scope": "category"}, timeout=30,
                         headers={"X-Forwarded-For": "198.51.100.23"})
    assert done.status_code == 200, done.text
    _body, after = scene.send("Quentin", scene.news, "email")
    assert (after["status"], after["reason"]) == ("suppressed", "opted_out")


def test_a_consent_request_consents_only_those_who_click(scene):
    request = made(scene.master.post(
        f"{scene.url}/v1/consent/categories/{scene.survey['id']}/requests", timeout=30,
        json={"community_ids": [scene.community["id"]]}))
    assert wait_until(lambda: made(scene.master.get(
        f"{scene.url}/v1/consent/requests/{request['id']}", timeout=30))["status"] == "done",
        timeout=30)
    for name in ("Petra", "Quentin", "Rhea"):
        assert scene.may_reach(name, scene.survey, "email") == (False, "no_consent")
    (mail,) = [m for m in scene.emails("Rhea") if CONFIRM.search(m["text"] or "")]
    link = CONFIRM.search(mail["text"]).group(1)
    assert requests.get(link, timeout=30).status_code == 200
    assert scene.may_reach("Rhea", scene.survey, "email") == (False, "no_consent")
    thanks = requests.post(link, timeout=30, headers={"X-Forwarded-For": "198.51.100.24"})
    assert thanks.status_code == 200, thanks.text
    assert scene.may_reach("Rhea", scene.survey, "email") == (True, None)
    assert scene.may_reach("Quentin", scene.survey, "email") == (False, "no_consent")
    _body, delivery = scene.send("Rhea", scene.survey, "email")
    assert delivery["status"] == "delivered"


def test_a_manager_exports_the_proof_for_all_of_them_with_evidence_on_every_row(scene):
    answer = scene.manager.get(
        f"{scene.url}/v1/communities/{scene.community['id']}/consents.csv", timeout=30)
    assert answer.status_code == 200, answer.text
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    ids = {scene.residents[n]["id"]: n for n in scene.residents}
    acts = {(ids[r["resident_id"]], r["method"], r["action"], r["channel"]) for r in rows}
    assert {("Petra", "sms_keyword", "withdraw", "sms"),
            ("Quentin", "unsubscribe_link", "withdraw", "email"),
            ("Rhea", "confirm_link", "grant", "email")} <= acts
    for row in rows:   # when, how, by whom, channel, the words, and where it came from
        assert row["occurred_at"] and row["method"] and row["recorded_by"], row
        assert row["channel"] and row["wording"], row
        assert row["address"] or row["ip"] or row["message_id"], row
    by_method = {r["method"]: r for r in rows}
    assert by_method["sms_keyword"]["message_id"].startswith("SM")
    assert by_method["unsubscribe_link"]["ip"] == "198.51.100.23"
    assert by_method["unsubscribe_link"]["address"] == scene.email("Quentin")
    assert by_method["confirm_link"]["ip"] == "198.51.100.24"
    assert by_method["confirm_link"]["address"] == scene.email("Rhea")
