"""Onboarding a property from a CSV file through HTTP, as the Toronto manager: malformed files
are rejected with their line numbers and import nothing, the valid rows are imported when asked,
and uploading the same file again changes nothing."""

import time
import uuid

import pytest
import requests

pytestmark = pytest.mark.e2e

HEADER = "unit,first_name,last_name,email,phone,kind,move_in,language,external_id"
TERMINAL = {"completed", "rejected", "failed"}


def sign_in(system, email):
    password = next(a["password"] for a in system.demo["accounts"] if a["email"] == email)
    answer = requests.post(f"{system.url}/v1/auth/login", timeout=30,
                           json={"email": email, "password": password})
    assert answer.status_code == 200, answer.text
    return answer.json()["access_token"]


@pytest.fixture(scope="module")
def manager(system):
    """An HTTP session of Pat, manager of the Toronto office, and a surname nobody else has."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {sign_in(system, 'manager@maplegrove.example')}"
    session.surname = f"Imp{uuid.uuid4().hex[:6]}"
    session.community_id = next(c["id"] for c in system.demo["communities"]
                                if c["name"] == "Birch Court Condos")
    return session


def upload(system, manager, data, **params):
    """POST the file, check the 202, and follow the job to its end."""
    answer = manager.post(f"{system.url}/v1/communities/{manager.community_id}/imports",
                          data=data, params=params, timeout=30,
                          headers={"Content-Type": "text/csv"})
    assert answer.status_code == 202, answer.text
    assert answer.headers["Location"] == f"/v1/imports/{answer.json()['id']}"
    return follow(system, manager, answer.headers["Location"])


def follow(system, manager, location, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        view = manager.get(system.url + location, timeout=30)
        assert view.status_code == 200, view.text
        if view.json()["status"] in TERMINAL:
            return view.json()
        time.sleep(0.1)
    raise AssertionError(f"import not finished in {timeout}s: {view.json()}")


def found(system, manager):
    page = manager.get(f"{system.url}/v1/residents", timeout=30, params={
        "community_id": manager.community_id, "q": manager.surname, "limit": 200})
    assert page.status_code == 200, page.text
    return {r["name"]: r for r in page.json()["items"]}


def file_of(manager):
    s = manager.surname
    return "\n".join((
        HEADER,
        f"B-1,Ann,{s},ann.{s}@example.com,(202) 555-0141,owner,2024-03-01,,",
        f"B-1,Bob,{s},,202 555 0142,,,fr,",
        f"B-2,Cy,{s},cy.{s}@example.com,555-0143,,,,",          # 555 is no area code
        f"B-2,Di,{s},di@,,,,,",
        f" b-1 ,ANN,{s.upper()},,,,,,",                        # Ann again
        f"B-3,Eve,,eve.{s}@example.com,,,,,",
        f"B-3,Fay,{s},fay.{s}@example.com,+1 202 555 0146,tenant,2024-13-01,,",
        f"B-4,Gus,{s},gus.{s}@example.com,+1 202 555 0147,tenant,,en,{s}-7",
        "")).encode()


def test_a_malformed_file_is_rejected_with_line_numbers_and_imports_nothing(system, manager):
    view = upload(system, manager, file_of(manager))

    assert view["status"] == "rejected" and view["progress"] == 100
    assert [(e["line"], e["column"]) for e in view["errors"]] == [
        (4, "phone"), (5, "email"), (6, "unit/first_name/last_name"), (7, "last_name"),
        (8, "move_in")]
    assert "duplicate of line 2" in view["errors"][2]["message"]
    assert view["counts"]["rows_invalid"] == 5
    assert found(system, manager) == {}


@pytest.mark.parametrize("data, words", [
    ("unit,first_name,last_name\nB-9,Andr\u00e9,Lee\n".encode("latin-1"), "not UTF-8"),
    (b"unit,name,email\nB-9,Ann Lee,ann@example.com\n", "missing required columns"),
])
def test_an_unreadable_file_is_rejected_whole(system, manager, data, words):
    view = upload(system, manager, data, import_valid_rows="true")

    assert view["status"] == "rejected"
    assert words in view["file_errors"][0]["message"]


def test_the_valid_rows_are_imported_when_asked_and_a_second_upload_changes_nothing(
        system, manager):
    data = file_of(manager)
    view = upload(system, manager, data, import_valid_rows="true", filename="birch.csv")

    assert view["status"] == "completed" and view["filename"] == "birch.csv"
    assert view["counts"]["residents_created"] == 3 and view["counts"]["units_created"] == 2
    assert [e["line"] for e in view["errors"]] == [4, 5, 6, 7, 8]
    people = found(system, manager)
    s = manager.surname
    assert sorted(people) == [f"Ann {s}", f"Bob {s}", f"Gus {s}"]
    ann = people[f"Ann {s}"]
    assert (ann["unit"], ann["kind"], ann["phone"], ann["email"]) == (
        "B-1", "owner", "+12025550141", f"ann.{s}@example.com")
    assert people[f"Bob {s}"]["language"] == "fr"

    # the same file again, this time as a form upload: nothing new
    again = manager.post(f"{system.url}/v1/communities/{manager.community_id}/imports",
                         params={"import_valid_rows": "true"}, timeout=30,
                         files={"file": ("birch.csv", data, "text/csv")})
    assert again.status_code == 202, again.text
    view = follow(system, manager, again.headers["Location"])
    assert view["status"] == "completed" and view["filename"] == "birch.csv"
    assert view["counts"]["residents_unchanged"] == 3
    assert view["counts"]["residents_created"] == view["counts"]["units_created"] == 0
    assert found(system, manager) == people


def test_what_cannot_be_an_import_is_refused_at_once(system, manager):
    url = f"{system.url}/v1/communities/{manager.community_id}/imports"
    empty = manager.post(url, data=b"", headers={"Content-Type": "text/csv"}, timeout=30)
    json_body = manager.post(url, json={"rows": []}, timeout=30)
    bad_flag = manager.post(url, data=b"unit", params={"import_valid_rows": "maybe"},
                            headers={"Content-Type": "text/csv"}, timeout=30)

    assert (empty.status_code, empty.json()["field"]) == (422, "file")
    assert (json_body.status_code, json_body.json()["field"]) == (422, "Content-Type")
    assert bad_flag.status_code == 422 and "import_valid_rows" in bad_flag.json()["errors"]
    assert manager.get(f"{system.url}/v1/imports/imp_nothing", timeout=30).status_code == 404
