"""Issue 13's done-when, through HTTP as its people would: a resident of the demo signs in,
reports a unit work order with a photo and a common-area one, and sees both but not a
neighbour's unit ticket; management gets the email with Maple Grove's custom header; a
manager acknowledges, assigns and completes the ticket with a managers-only note the
resident never sees; the resident is told of each step and prints the ticket."""

import io

import pytest
import requests
from pypdf import PdfReader

from servicekit.seed import TICKET_SETTINGS
from servicekit.testing import eventually

pytestmark = pytest.mark.e2e

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08"
       b"\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05"
       b"\xfe\x02\xfe\xa75\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82")
HEADER = TICKET_SETTINGS["Maple Grove Apartments"]["email_header"]
SECRET = "Owner disputes the last repair bill; keep costs down."


def signed_in(system, email, password):
    answer = requests.post(f"{system.url}/v1/auth/login", timeout=30,
                           json={"email": email, "password": password})
    assert answer.status_code == 200, answer.text
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"
    return session


def ok(answer, status=200):
    assert answer.status_code == status, answer.text
    return answer.json() if answer.content else None




def test_done_when(system):
    url = system.url
    ada = signed_in(system, "ada@example.com", "ada-portal-password")
    grace = signed_in(system, "grace@example.com", "grace-portal-password")
    manager = signed_in(system, "manager@maplegrove.example", "manager-demo-password")
    neighbours = ok(grace.post(f"{url}/v1/tickets", timeout=30, json={
        "kind": "unit", "title": "Grace's squeaky door", "category": "doors_and_windows"}),
        201)

    # a unit work order with a photo, and a common-area one
    tap = ok(ada.post(f"{url}/v1/tickets", timeout=30, json={
        "kind": "unit", "title": "Kitchen tap leaks", "category": "plumbing",
        "description": "It drips all night.", "permission_to_enter": True,
        "entry_notes": "The cat is friendly.",
        "preferred_times": [{"days": ["mon", "tue"], "start": "09:00", "end": "12:00"}]}),
        201)
    photo = ok(ada.post(f"{url}/v1/tickets/{tap['id']}/attachments", timeout=30,
                        files={"file": ("tap.png", PNG, "image/png")}), 201)
    assert photo["content_type"] == "image/png"
    gate = ok(ada.post(f"{url}/v1/tickets", timeout=30, json={
        "kind": "common_area", "location": "Pool", "title": "Pool gate does not latch"}), 201)

    mine = {t["id"] for t in ok(ada.get(f"{url}/v1/tickets", timeout=30))["items"]}
    assert {tap["id"], gate["id"]} <= mine and neighbours["id"] not in mine
    assert ada.get(f"{url}/v1/tickets/{neighbours['id']}", timeout=30).status_code == 403
    board = ok(ada.get(f"{url}/v1/tickets/dashboard", timeout=30))
    assert tap["id"] in {t["id"] for t in board["unit"]["items"]}
    assert gate["id"] in {t["id"] for t in board["common_area"]["items"]}

    # management hears of it, in Maple Grove's words first
    told = eventually(lambda: system.emails_to("manager@maplegrove.example"),
                  lambda found: any(tap["number"] in (m["subject"] or "") for m in found))
    new = next(m for m in told if tap["number"] in m["subject"])
    assert new["text"].startswith(HEADER) and "Kitchen tap leaks" in new["text"]

    # acknowledged, assigned, a managers-only note, completed
    ok(manager.post(f"{url}/v1/tickets/{tap['id']}/move", timeout=30,
                    json={"status": "acknowledged", "note": "A plumber comes on Monday."}))
    ok(manager.post(f"{url}/v1/tickets/{tap['id']}/assign", timeout=30, json={
        "assignee": {"type": "vendor", "name": "AquaFix Plumbing",
                     "phone": "+14165550123"}}))
    ok(manager.post(f"{url}/v1/tickets/{tap['id']}/comments", timeout=30,
                    json={"body": SECRET, "visibility": "managers_only"}), 201)
    ok(manager.post(f"{url}/v1/tickets/{tap['id']}/move", timeout=30,
                    json={"status": "in_progress"}))
    done = ok(manager.post(f"{url}/v1/tickets/{tap['id']}/move", timeout=30, json={
        "status": "completed", "note": SECRET, "note_visibility": "managers_only"}))
    assert done["status"] == "completed" and done["time_to_complete_seconds"] is not None

    # the resident reads every step but never the note
    seen = ok(ada.get(f"{url}/v1/tickets/{tap['id']}", timeout=30))
    assert seen["status"] == "completed" and seen["assignee"]["name"] == "AquaFix Plumbing"
    assert seen["assignee"]["phone"] is None and SECRET not in str(seen)
    log = ok(ada.get(f"{url}/v1/tickets/{tap['id']}/activity", timeout=30))
    assert SECRET not in str(log)
    assert [e["details"]["to"] for e in log["items"] if e["action"] == "moved"] == [
        "acknowledged", "in_progress", "completed"]

    # told of each step by email, in the community's words, never the note
    steps = ("is now Acknowledged", "is now In progress", "is now Completed")
    inbox = eventually(lambda: system.emails_to("ada@example.com"),
                   lambda found: all(any(s in (m["text"] or "") and tap["number"] in
                                         m["text"] for m in found) for s in steps))
    mine = [m for m in inbox if tap["number"] in (m["text"] or "")]
    assert all(m["text"].startswith(HEADER) for m in mine)
    assert "A plumber comes on Monday." in "".join(m["text"] for m in mine)
    assert SECRET not in "".join(m["raw"] for m in inbox)

    # and prints it
    page = ada.get(f"{url}/v1/tickets/{tap['id']}/print", timeout=30)
    assert page.status_code == 200 and "Kitchen tap leaks" in page.text
    assert SECRET not in page.text
    pdf = ada.get(f"{url}/v1/tickets/{tap['id']}/pdf", timeout=30)
    assert pdf.headers["Content-Type"] == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert tap["number"] in text and "Kitchen tap leaks" in text and SECRET not in text
    staff_pdf = manager.get(f"{url}/v1/tickets/{tap['id']}/pdf", timeout=30)
    assert "keep costs down" in "".join(
        p.extract_text() for p in PdfReader(io.BytesIO(staff_pdf.content)).pages)


def test_a_file_that_is_not_what_it_says_or_too_big_is_refused_naming_the_rule(system):
    ada = signed_in(system, "ada@example.com", "ada-portal-password")
    made = ok(ada.post(f"{system.url}/v1/tickets", timeout=30, json={
        "kind": "unit", "title": "Window will not close", "category": "doors_and_windows"}),
        201)
    files = f"{system.url}/v1/tickets/{made['id']}/attachments"
    for name, data, declared, rule in [
            ("photo.jpg", PNG, "image/jpeg", "declared as image/jpeg but its content is "
                                             "image/png"),
            ("photo.png", b"MZ\x90\x00 a program", "image/png", "an attachment must be"),
    ]:
        answer = ada.post(files, timeout=30, files={"file": (name, data, declared)})
        assert answer.status_code == 422, answer.text
        problem = answer.json()
        assert answer.headers["Content-Type"] == "application/problem+json"
        assert problem["field"] == "file" and rule in problem["detail"]
    too_big = ada.post(files, timeout=60, data=PNG + b"\0" * (10 * 1024 * 1024),
                       headers={"Content-Type": "image/png"})
    assert too_big.status_code == 413, too_big.text
    assert "10 MB" in too_big.json()["detail"]
    assert ok(ada.get(f"{system.url}/v1/tickets/{made['id']}", timeout=30))[
        "attachments"] == []
