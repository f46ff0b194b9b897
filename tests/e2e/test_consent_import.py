"""Importing consent collected before Townhall, through HTTP only, in a community, residents
and category of its own: a good CSV is appended with its evidence and the proof export shows
it (method import, the words agreed to); sending the same file again with its Idempotency-Key
changes nothing; a file with one bad line imports nothing and names the line; and a send in
the category to a resident whose withdrawal was imported is suppressed `opted_out`."""

import csv
import io
import uuid

import pytest

pytestmark = pytest.mark.e2e

RUN = uuid.uuid4().hex[:8]
AGREED = "I agree to receive building news from Maple Grove by email."
TEXTS = "Texts about building news: yes."
STOP = "Please stop texting me building news."


def made(answer):
    assert answer.status_code < 300, answer.text
    return answer.json()


class Scene:
    def __init__(self, system):
        self.system, self.url = system, system.url
        self.master = system.staff("master@maplegrove.example")
        self.actor_id = made(self.master.get(f"{self.url}/v1/me", timeout=30))["actor_id"]
        # "-<8 hex>" at the end of the name: lists of other tests leave it out whatever
        # runs first
        own = system.own_community(f"Import Court-{RUN}", ("Uma", "Victor", "Wanda"), "556",
                                   RUN)
        self.community, self.residents = own["community"], own["residents"]
        # opt-out mode: nobody is reached until they consent, so an imported grant matters
        self.category = made(self.master.post(f"{self.url}/v1/consent/categories", timeout=30,
                                              json={"name": f"Paper consents {RUN}",
                                                    "mode": "opt_out"}))

    def id(self, name):
        return self.residents[name]["id"]

    def contact(self, name, kind):
        return next(p["value"] for p in self.residents[name]["contact_points"]
                    if p["kind"] == kind)

    def upload(self, text, key=None, filename="forms-2024.csv"):
        headers = {"Content-Type": "text/csv"}
        if key:
            headers["Idempotency-Key"] = key
        return self.master.post(
            f"{self.url}/v1/consent/categories/{self.category['id']}/consent-imports",
            params={"filename": filename}, data=text.encode(), headers=headers, timeout=60)

    def imported_rows(self):
        answer = self.master.get(
            f"{self.url}/v1/communities/{self.community['id']}/consents.csv", timeout=30)
        assert answer.status_code == 200, answer.text
        return [r for r in csv.DictReader(io.StringIO(answer.text)) if r["method"] == "import"]

    def send(self, name, channel):
        answer = made(self.master.post(f"{self.url}/v1/communications", timeout=30, json={
            "kind": "message", "channels": [channel], "category_id": self.category["id"],
            "recipients": {"residents": [self.id(name)]},
            "body": f"Building news [{uuid.uuid4().hex[:8]}]"}))
        (delivery,) = self.system.wait_until_done(answer["id"])["deliveries"]
        return delivery


@pytest.fixture(scope="module")
def scene(system):
    return Scene(system)


@pytest.fixture(scope="module")
def good_file(scene):
    return ("\ufeffresident_id,channel,action,obtained_at,wording,address,source\n"
            f"{scene.id('Uma')},email,grant,2024-03-01,{AGREED},"
            f"{scene.contact('Uma', 'email')},paper form 2024\n"
            f"{scene.id('Victor')},sms,grant,2024-02-01,{TEXTS},,previous system\n"
            f"{scene.id('Victor')},sms,withdraw,2024-05-01T16:30:00-04:00,{STOP},"
            f"{scene.contact('Victor', 'phone')},previous system\n"
            f"{scene.id('Wanda')},email,withdraw,2024-04-01,\"No more emails, thanks.\",,"
            "paper form 2024\n")


def test_a_good_file_is_imported_with_its_evidence_and_shown_in_the_proof(scene, good_file):
    key = f"consent-import-{RUN}"
    answer = scene.upload(good_file, key=key)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"imported": 4, "category_id": scene.category["id"],
                             "filename": "forms-2024.csv"}
    again = scene.upload(good_file, key=key)      # a retry of the same upload
    assert (again.status_code, again.json()) == (200, answer.json())
    rows = scene.imported_rows()
    names = {scene.id(n): n for n in scene.residents}
    assert [(names[r["resident_id"]], r["channel"], r["action"], r["wording"])
            for r in rows] == [("Uma", "email", "grant", AGREED),
                               ("Victor", "sms", "grant", TEXTS),
                               ("Victor", "sms", "withdraw", STOP),
                               ("Wanda", "email", "withdraw", "No more emails, thanks.")]
    for row in rows:
        assert row["category_id"] == scene.category["id"], row
        assert row["category_name"] == scene.category["name"], row
        assert row["recorded_by"] == scene.actor_id and row["occurred_at"], row
    assert rows[0]["address"] == scene.contact("Uma", "email")
    assert rows[2]["address"] == "'" + scene.contact("Victor", "phone")  # formula-safe
    assert (rows[1]["obtained_at"], rows[1]["source"]) == ("2024-02-01", "previous system")
    history = made(scene.master.get(f"{scene.url}/v1/residents/{scene.id('Victor')}/consents",
                                    timeout=30))
    evidence = [e["evidence"] for e in history["events"] if e["method"] == "import"]
    assert [(e["obtained_at"], e["source"], e["file"], e["line"]) for e in evidence] == [
        ("2024-02-01", "previous system", "forms-2024.csv", 3),
        ("2024-05-01T20:30:00+00:00", "previous system", "forms-2024.csv", 4)]


def test_a_file_with_one_bad_line_imports_nothing_and_names_it(scene, good_file):
    before = len(scene.imported_rows())
    bad = good_file.replace(",sms,grant,", ",fax,grant,")
    answer = scene.upload(bad)
    assert answer.status_code == 422, answer.text
    assert answer.headers["Content-Type"] == "application/problem+json"
    problem = answer.json()
    assert problem["field"] == "file"
    assert problem["detail"] == ("the file has 1 error, so nothing was imported: line 3, "
                                 "channel: must be one of sms, email, voice")
    assert len(scene.imported_rows()) == before


def test_a_send_follows_the_imported_acts(scene):
    victor = scene.send("Victor", "sms")        # granted, then withdrew: the later line wins
    assert (victor["status"], victor["reason"]) == ("suppressed", "opted_out")
    wanda = scene.send("Wanda", "email")
    assert (wanda["status"], wanda["reason"]) == ("suppressed", "opted_out")
    uma = scene.send("Uma", "email")            # opt-out mode: reached only because she agreed
    assert uma["status"] == "delivered", uma
