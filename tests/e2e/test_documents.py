"""Documents through the whole system: a PDF uploaded through the API, sent to a community by
email (attached, read back from the SMTP sink) and by text (each resident's own signed link
to a public download page), fetched from that link with no login, and refused when the link
is changed; a file that is not a PDF or an image is refused whatever its name, and one over
10 MB too; an upload sent again under its Idempotency-Key is the same document. The download
page is also opened in Chromium, as a resident would."""

import email
import email.policy
import hashlib
import re
import uuid

import pytest
import requests
from fpdf import FPDF

from contracts.pricing import text_credits

pytestmark = pytest.mark.e2e

LINK = re.compile(r"Document: (\S+/d/\S+)")
# a body that is one credit alone and two with the resident's link and unsubscribe footer:
# a text priced without what it carries would be charged one credit too few
BODY = ("The board meets on Thursday at 7 pm in the community room; the agenda is attached. "
        "Please read it before the meeting and bring your questions about the budget, the "
        "roof repairs, the parking rules and the garden plan for next spring. Thank you, "
        "the board.")


def agenda_pdf(title):
    document = FPDF()
    document.add_page()
    document.set_font("Helvetica", size=14)
    document.cell(text=title)
    return bytes(document.output())


@pytest.fixture(scope="module")
def town(system):
    run = uuid.uuid4().hex[:8]   # "-<8 hex>": what other tests know as test-made
    return system.own_community(f"Paper Place-{run}", ["Mia", "Ned"], "574", run)


@pytest.fixture(scope="module")
def sent(system, town):
    """One document announcement by email and text to the town, done."""
    data = agenda_pdf(f"Board agenda {uuid.uuid4().hex[:6]}")
    uploaded = system.session.post(f"{system.url}/v1/documents", timeout=30,
                                   files={"file": ("agenda.pdf", data, "application/pdf")})
    assert uploaded.status_code == 201, uploaded.text
    document = uploaded.json()
    assert document["sha256"] == hashlib.sha256(data).hexdigest()
    assert (document["size"], document["content_type"]) == (len(data), "application/pdf")
    answer = system.session.post(f"{system.url}/v1/communications", timeout=30, json={
        "kind": "document", "document_id": document["id"], "channels": ["email", "sms"],
        "recipients": {"communities": [town["community"]["id"]]},
        "category_id": system.demo["category_id"], "subject": "Board meeting agenda",
        "body": BODY})
    assert answer.status_code == 202, answer.text
    view = system.wait_until_done(answer.json()["id"], timeout=60)
    return {"data": data, "document": document, "view": view}


def phone_of(resident):
    return next(c["value"] for c in resident["contact_points"] if c["kind"] == "phone")


def email_of(resident):
    return next(c["value"] for c in resident["contact_points"] if c["kind"] == "email")




def link_of(system, resident):
    (text,) = [m for m in system.provider_messages(to=phone_of(resident))
               if "Document: " in m["body"]]
    return LINK.search(text["body"]).group(1)


def test_the_document_is_attached_to_every_email(system, town, sent):
    for resident in town["residents"].values():
        (message,) = [m for m in system.emails_to(email_of(resident))
                      if "Board meeting agenda" in (m.get("subject") or "")]
        parsed = email.message_from_string(message["raw"], policy=email.policy.default)
        (part,) = list(parsed.iter_attachments())
        assert part.get_filename() == "agenda.pdf"
        assert part.get_content_type() == "application/pdf"
        assert part.get_content() == sent["data"]


def test_each_text_carries_the_residents_own_link_which_opens_it_without_login(system, town,
                                                                              sent):
    links = {name: link_of(system, r) for name, r in town["residents"].items()}
    assert len(set(links.values())) == len(links)            # each their own
    for link in links.values():
        path = "/d/" + link.rsplit("/d/", 1)[1]
        page = requests.get(system.url + path, timeout=10)
        assert page.status_code == 200 and "agenda.pdf" in page.text
        assert page.headers["Cache-Control"] == "no-store"
        file = requests.get(system.url + path + "/file", timeout=10)
        assert file.status_code == 200 and file.content == sent["data"]
        assert file.headers["Content-Type"] == "application/pdf"
        assert 'filename="agenda.pdf"' in file.headers["Content-Disposition"]
    # each text was charged the price of the text the provider received: body, link, footer
    texts = [d for d in sent["view"]["deliveries"] if d["channel"] == "sms"]
    assert len(texts) == len(links)
    for d in texts:
        (received,) = [m for m in system.provider_messages(to=d["address"])
                       if "Document: " in m["body"]]
        assert d["status"] == "delivered"
        assert d["credits"] == text_credits(received["body"]) > text_credits(BODY)


def test_a_changed_link_opens_nothing(system, town, sent):
    link = link_of(system, town["residents"]["Mia"])
    path = "/d/" + link.rsplit("/d/", 1)[1]
    changed = path[:-2] + ("AA" if not path.endswith("AA") else "BB")
    answer = requests.get(system.url + changed, timeout=10)
    assert answer.status_code == 400 and "not valid" in answer.text.lower()
    assert requests.get(system.url + changed + "/file", timeout=10).status_code == 400


@pytest.mark.parametrize("name, data, declared, status, rule", [
    ("agenda.pdf", b"MZ\x90\x00" + b"\x00" * 200, "application/pdf", 422, "by its content"),
    ("notes.txt", b"just some words, not a document", "text/plain", 422, "PDF or an image"),
    ("huge.pdf", b"%PDF-1.4\n" + b"0" * (10 * 1024 * 1024), "application/pdf", 413, "10 MB"),
])
def test_a_file_that_is_not_a_document_is_refused_naming_the_rule(system, name, data,
                                                                  declared, status, rule):
    answer = system.session.post(f"{system.url}/v1/documents", timeout=60,
                                 files={"file": (name, data, declared)})
    assert answer.status_code == status, answer.text
    assert answer.json()["field"] == "file" and rule in answer.json()["detail"]


def test_an_upload_under_an_idempotency_key_is_one_document(system):
    key = {"Idempotency-Key": f"agenda-{uuid.uuid4().hex[:8]}"}
    data = agenda_pdf(f"Keyed agenda {uuid.uuid4().hex[:6]}")

    def upload(content, name="agenda.pdf"):
        return system.session.post(f"{system.url}/v1/documents", timeout=30, headers=key,
                                   files={"file": (name, content, "application/pdf")})

    first, again = upload(data), upload(data)
    assert first.status_code == again.status_code == 201, (first.text, again.text)
    assert again.json() == first.json()
    for other in (upload(agenda_pdf("Another agenda")), upload(data, "minutes.pdf")):
        assert other.status_code == 422, other.text
        assert other.json()["field"] == "Idempotency-Key"


def test_the_download_page_in_chromium(system, town, sent, browser):
    link = link_of(system, town["residents"]["Ned"])
    browser.get(system.url + "/d/" + link.rsplit("/d/", 1)[1])
    assert browser.title == "Your document"
    assert browser.find_element("id", "filename").text == "agenda.pdf"
    download = browser.find_element("id", "download")
    assert download.text == "Download agenda.pdf"
    assert download.get_attribute("href").endswith("/file")
    # what the button fetches is the document itself
    answer = requests.get(download.get_attribute("href"), timeout=10)
    assert answer.content == sent["data"]
