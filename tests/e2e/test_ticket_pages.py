"""A work order on paper, as its readers get it: the printable page opened in Chromium (signed
in with the reader's own token, sent by Chrome DevTools as the Authorization header) and
printed to PDF by the browser, and the PDF the API makes, read back with pypdf. Both show
the ticket's details and the comments everyone reads; a managers-only comment and a
managers-only note are on the manager's copy and never on the resident's."""

import base64
import io
import uuid

import pytest
import requests
from pypdf import PdfReader
from selenium.webdriver.common.by import By

pytestmark = pytest.mark.e2e

SHARED = "The plumber comes Tuesday at 10."
PRIVATE = "Vendor quote is 400 dollars, approve first."
PRIVATE_NOTE = "Check the warranty before booking."


def sign_in(system, email, password):
    answer = requests.post(f"{system.url}/v1/auth/login", timeout=30,
                           json={"email": email, "password": password})
    assert answer.status_code == 200, answer.text
    return answer.json()["access_token"]


def staff_token(system, email):
    account = next(a for a in system.demo["accounts"] if a["email"] == email)
    return sign_in(system, email, account["password"])


def call(system, token, verb, path, body=None):
    answer = requests.request(verb, system.url + path, json=body, timeout=30,
                              headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code < 300, answer.text
    return answer


@pytest.fixture(scope="module")
def ticket(system):
    """Ada's leak, acknowledged by the manager with a managers-only note, commented on
    for everyone and for managers only."""
    ada = sign_in(system, "ada@example.com", "ada-portal-password")
    manager = staff_token(system, "manager@maplegrove.example")
    word = uuid.uuid4().hex[:6]
    made = call(system, ada, "post", "/v1/tickets", {
        "kind": "unit", "title": f"Kitchen tap drips {word}", "category": "plumbing",
        "description": "It drips all night <b>loudly</b> & keeps us awake.",
        "permission_to_enter": True, "entry_notes": "The cat hides under the bed."}).json()
    path = f"/v1/tickets/{made['id']}"
    call(system, manager, "post", path + "/move", {
        "status": "acknowledged", "note": PRIVATE_NOTE, "note_visibility": "managers_only"})
    call(system, manager, "post", path + "/comments", {"body": SHARED})
    call(system, manager, "post", path + "/comments",
         {"body": PRIVATE, "visibility": "managers_only"})
    return {"path": path, "number": made["number"], "title": made["title"],
            "tokens": {"resident": ada, "manager": manager}}


def open_page(browser, url, token):
    """The page as the browser shows it to the holder of `token`."""
    browser.execute_cdp_cmd("Network.enable", {})
    browser.execute_cdp_cmd("Network.setExtraHTTPHeaders",
                            {"headers": {"Authorization": f"Bearer {token}"}})
    try:
        browser.get(url)
    finally:
        browser.execute_cdp_cmd("Network.setExtraHTTPHeaders", {"headers": {}})


def pdf_text(data):
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def flat(text):
    """Words as one line: a PDF wraps long lines where it must."""
    return " ".join(text.split())


def test_the_resident_reads_the_printable_page_without_what_is_for_managers(system, browser,
                                                                             ticket):
    open_page(browser, system.url + ticket["path"] + "/print", ticket["tokens"]["resident"])
    assert browser.title == f"Work order {ticket['number']}: {ticket['title']}"
    details = browser.find_element(By.ID, "details").text
    for line in ("Status Acknowledged", "Where Unit 101", "Category plumbing",
                 "Reported by Ada Lovelace", "Permission to enter yes",
                 "Entry notes The cat hides under the bed."):
        assert line in details, details
    assert browser.find_element(By.ID, "description").text == (
        "It drips all night <b>loudly</b> & keeps us awake.")
    comments = browser.find_element(By.ID, "comments").text
    assert SHARED in comments and "Pat Manager" in comments
    assert PRIVATE not in browser.page_source and "managers only" not in comments
    activity = browser.find_element(By.ID, "activity").text
    assert "Ada Lovelace reported" in activity
    assert "Pat Manager moved it from New to Acknowledged" in activity
    assert PRIVATE_NOTE not in browser.page_source
    assert "Maple Grove Apartments" in browser.find_element(By.CLASS_NAME, "org").text

    # printed, the page drops its hint and keeps everything else
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    try:
        assert not browser.find_element(By.CLASS_NAME, "hint").is_displayed()
        printed = browser.execute_cdp_cmd("Page.printToPDF", {"printBackground": False})
    finally:
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
    text = flat(pdf_text(base64.b64decode(printed["data"])))
    assert SHARED in text and ticket["number"] in text and PRIVATE not in text


def test_the_manager_reads_the_managers_only_comment_on_the_printable_page(system, browser,
                                                                           ticket):
    open_page(browser, system.url + ticket["path"] + "/print", ticket["tokens"]["manager"])
    comments = browser.find_element(By.ID, "comments").text
    assert SHARED in comments and PRIVATE in comments
    assert "[managers only]" in comments
    assert PRIVATE_NOTE in browser.find_element(By.ID, "activity").text


def test_the_pdf_says_the_same_and_keeps_managers_only_words_from_the_resident(system,
                                                                               ticket):
    def pdf(reader):
        answer = requests.get(system.url + ticket["path"] + "/pdf", timeout=30, headers={
            "Authorization": f"Bearer {ticket['tokens'][reader]}"})
        assert answer.status_code == 200, answer.text
        assert answer.headers["Content-Type"] == "application/pdf"
        assert answer.headers["Content-Disposition"] == (
            f'attachment; filename="{ticket["number"]}.pdf"')
        return flat(pdf_text(answer.content))

    resident, manager = pdf("resident"), pdf("manager")
    for text in (resident, manager):
        assert f"Work order {ticket['number']}: {ticket['title']}" in text
        for words in ("Acknowledged", "Unit 101", "Ada Lovelace", SHARED,
                      "moved it from New to Acknowledged"):
            assert words in text, words
    assert PRIVATE in manager and "[managers only]" in manager and PRIVATE_NOTE in manager
    assert PRIVATE not in resident and "managers only" not in resident
    assert PRIVATE_NOTE not in resident
