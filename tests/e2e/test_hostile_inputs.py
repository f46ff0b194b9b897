"""Hostile and careless inputs through HTTP against the running system: every one gets a
clear 4xx (problem+json, or a plain page on the public pages), never a 500, a hang or a
delivery stuck on the way; exports and answers carry the headers that keep them safe."""

import csv
import io
import re
import uuid

import pytest
import requests

from gateway.pages import HEADERS as PAGE_HEADERS

pytestmark = pytest.mark.e2e
PROBLEM = "application/problem+json"
RUN = uuid.uuid4().hex[:8]   # "-<8 hex>": what other tests know as test-made
MIB = 1024 * 1024


def problem(answer, status):
    assert answer.status_code == status, answer.text[:500]
    assert answer.headers["Content-Type"].startswith(PROBLEM), answer.headers
    return answer.json()


@pytest.fixture(scope="module")
def scene(system):
    master = system.staff("master@maplegrove.example")
    own = system.own_community(f"Hostile Heights-{RUN}", ("Mallory", "Trent"), "559", RUN)
    return {"master": master, "community": own["community"], "residents": own["residents"]}


# --- body size --------------------------------------------------------------------------

def test_a_20_mb_unauthenticated_json_body_is_refused_naming_the_limit(system):
    answer = requests.post(f"{system.url}/v1/communications", data=b"[" * (20 * MIB),
                           headers={"Content-Type": "application/json"}, timeout=60)
    body = problem(answer, 413)
    assert "1048576 bytes" in body["detail"]


def test_a_large_unsigned_webhook_form_is_refused_before_it_is_parsed(system):
    form = "Body=" + "x" * (20 * MIB)
    answer = requests.post(f"{system.url}/webhooks/twilio/inbound", data=form, timeout=60,
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    body = problem(answer, 413)
    assert "65536 bytes" in body["detail"]


def test_a_chunked_body_over_the_limit_stops_at_the_limit(system):
    def chunks():
        for _ in range(40):
            yield b" " * 65536   # 2.5 MiB of whitespace: valid JSON padding, too much of it

    answer = system.session.post(f"{system.url}/v1/communications", data=chunks(),
                                 headers={"Content-Type": "application/json"}, timeout=60)
    assert "1048576 bytes" in problem(answer, 413)["detail"]


def test_a_chunked_json_body_under_the_limit_is_read(system, scene):
    wallet = f"community:{scene['community']['id']}"

    def chunks():
        yield b'{"low_threshold": '
        yield b"25}"

    answer = scene["master"].put(f"{system.url}/v1/credits/wallets/{wallet}/threshold",
                                 data=chunks(), headers={"Content-Type": "application/json"},
                                 timeout=30)
    assert answer.status_code == 200, answer.text
    assert answer.json()["low_threshold"] == 25


# --- deep JSON and big integers ---------------------------------------------------------

def test_deeply_nested_json_is_a_clear_4xx_not_a_500(system):
    answer = system.session.post(f"{system.url}/v1/communications", data="[" * 100_000,
                                 headers={"Content-Type": "application/json"}, timeout=30)
    body = problem(answer, 422)
    assert body["field"] == "body" and "nested" in body["detail"]


def test_integers_beyond_64_bits_are_refused_naming_the_field(system, scene):
    master, wallet = scene["master"], f"community:{scene['community']['id']}"
    answer = master.put(f"{system.url}/v1/credits/wallets/{wallet}/threshold",
                        json={"low_threshold": 2 ** 70}, timeout=30)
    assert "low_threshold" in problem(answer, 422)["errors"]
    answer = master.patch(f"{system.url}/v1/credits/settings", json={"floor": -2 ** 70},
                          timeout=30)
    assert "floor" in problem(answer, 422)["errors"]
    answer = master.post(f"{system.url}/v1/credits/orders", timeout=30, json={
        "wallet": wallet, "quantity": 2 ** 70, "payment_method": "pm_card_visa",
        "buyer": {"name": "Mallory", "address": "1 Main St", "email": "m@example.com"}})
    assert "quantity" in problem(answer, 422)["errors"]


def test_the_openapi_document_states_the_bounds(system):
    document = requests.get(f"{system.url}/openapi.json", timeout=30).json()
    threshold = document["components"]["schemas"]["CreditThreshold"]["properties"]["low_threshold"]
    assert threshold["minimum"] == 0 and threshold["maximum"] < 2 ** 63


# --- public pages: tokens ---------------------------------------------------------------

@pytest.mark.parametrize("page", ["u", "c"])
@pytest.mark.parametrize("verb", ["get", "post"])
def test_a_token_with_non_ascii_characters_is_a_plain_400_page(system, page, verb):
    answer = requests.request(verb, f"{system.url}/{page}/unsub_é☃.ßig", timeout=30,
                              data={"scope": "category"})
    assert answer.status_code == 400, answer.text[:300]
    assert answer.headers["Content-Type"].startswith("text/html")
    assert "This link is not valid" in answer.text


# --- header injection and stuck deliveries ----------------------------------------------

@pytest.mark.parametrize("subject", ["Water\r\nBcc: everyone@example.com", "Bell\x07",
                                     "Line\u2028separator"])
def test_a_subject_with_control_characters_is_refused(system, scene, subject):
    resident = scene["residents"]["Mallory"]
    answer = system.send(resident, "Pool closed", channel="email", subject=subject)
    body = problem(answer, 422)
    assert "subject" in body["errors"]
    assert "control" in str(body["errors"]["subject"])


def test_a_category_name_with_a_line_break_is_refused(system, scene):
    answer = scene["master"].post(f"{system.url}/v1/consent/categories", timeout=30, json={
        "name": f"News {RUN}\r\nBcc: x@example.com", "mode": "opt_in"})
    assert "name" in problem(answer, 422)["errors"]


def test_an_organization_name_with_a_line_break_is_refused(system, scene):
    organization = f"{system.url}/v1/organization"
    name = scene["master"].get(organization, timeout=30).json()["name"]
    answer = scene["master"].patch(organization, timeout=30, json={"name": "Maple\nGrove"})
    if answer.status_code == 200:   # the name consent's emails are signed with: put it back
        scene["master"].patch(organization, timeout=30, json={"name": name})
    assert "name" in problem(answer, 422)["errors"]


# --- contact points ---------------------------------------------------------------------

def test_a_contact_point_value_cannot_be_patched_and_is_refused_not_ignored(system, scene):
    master, resident = scene["master"], scene["residents"]["Trent"]
    point = next(p for p in resident["contact_points"] if p["kind"] == "email")
    answer = master.patch(f"{system.url}/v1/contact-points/{point['id']}", timeout=30,
                          json={"value": "someone-else@example.com", "primary": True})
    body = problem(answer, 422)
    assert "value" in body["errors"]
    again = master.get(f"{system.url}/v1/residents/{resident['id']}", timeout=30).json()
    assert point["value"] in [p["value"] for p in again["contact_points"]]


# --- chunked uploads --------------------------------------------------------------------

def test_a_chunked_csv_upload_is_read(system, scene):
    community = scene["community"]

    def chunks():
        yield b"unit,first_name,last_name\n"
        yield f"9Z,Chunk,Upload{RUN}\n".encode()

    answer = scene["master"].post(f"{system.url}/v1/communities/{community['id']}/imports",
                                  data=chunks(), headers={"Content-Type": "text/csv"},
                                  timeout=30)
    assert answer.status_code == 202, answer.text
    job = answer.json()
    from servicekit.testing import wait_until

    def finished():
        view = scene["master"].get(f"{system.url}{job['links']['self']}", timeout=30).json()
        return view if view["status"] in ("completed", "rejected", "failed") else None

    view = wait_until(finished, timeout=60, interval=0.3)
    assert view["status"] == "completed", view
    assert view["counts"]["residents_created"] == 1


# --- exports and headers ----------------------------------------------------------------

QUOTED_LINE = re.compile(r'"(?:[^"]|"")*"(?:,"(?:[^"]|"")*")*')


def test_every_cell_of_the_credit_log_csv_is_quoted(system, scene):
    master, wallet = scene["master"], f"community:{scene['community']['id']}"
    added = master.post(f"{system.url}/v1/credits/wallets/{wallet}/grants", timeout=30,
                        json={"amount": 5, "reason": "top-up;=2+5"},
                        headers={"Idempotency-Key": f"hostile-{RUN}"})
    assert added.status_code == 201, added.text
    answer = master.get(f"{system.url}/v1/credits/wallets/{wallet}/log",
                        params={"format": "csv"}, timeout=30)
    assert answer.status_code == 200, answer.text
    lines = answer.text.splitlines()
    assert all(QUOTED_LINE.fullmatch(line) for line in lines), lines
    assert '"top-up;=2+5"' in answer.text
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert "top-up;=2+5" in [r["reason"] for r in rows]


def test_every_cell_of_the_consent_proof_csv_is_quoted(system, scene):
    resident = scene["residents"]["Mallory"]
    answer = scene["master"].get(f"{system.url}/v1/residents/{resident['id']}/consents.csv",
                                 timeout=30)
    assert answer.status_code == 200, answer.text
    assert all(QUOTED_LINE.fullmatch(line) for line in answer.text.splitlines())


def test_authenticated_answers_are_never_cached_or_sniffed(system, scene):
    master, wallet = scene["master"], f"community:{scene['community']['id']}"
    log = f"{system.url}/v1/credits/wallets/{wallet}/log"
    for answer in (master.get(log, timeout=30),
                   master.get(log, params={"format": "csv"}, timeout=30),
                   master.get(log, params={"format": "html"}, timeout=30),
                   requests.get(f"{system.url}/v1/me", timeout=30)):
        assert answer.headers["Cache-Control"] == "no-store", answer.headers
        assert answer.headers["X-Content-Type-Options"] == "nosniff", answer.headers


def test_the_printable_log_has_the_public_pages_framing_and_script_rules(system, scene):
    wallet = f"community:{scene['community']['id']}"
    answer = scene["master"].get(f"{system.url}/v1/credits/wallets/{wallet}/log",
                                 params={"format": "html"}, timeout=30)
    assert answer.headers["Content-Type"].startswith("text/html")
    for name in ("Content-Security-Policy", "X-Frame-Options", "Referrer-Policy"):
        assert answer.headers[name] == PAGE_HEADERS[name]


# --- methods ----------------------------------------------------------------------------

@pytest.mark.parametrize("verb", ["OPTIONS", "TRACE", "PROPFIND"])
def test_unanswered_methods_on_a_known_path_are_405_problems_with_allow(system, verb):
    answer = requests.request(verb, f"{system.url}/v1/communications", timeout=30)
    body = problem(answer, 405)
    assert verb in body["detail"]
    assert set(answer.headers["Allow"].replace(" ", "").split(",")) >= {"POST"}


@pytest.mark.parametrize("verb", ["OPTIONS", "TRACE", "GET", "DELETE"])
def test_any_method_on_an_unknown_path_is_a_404_problem(system, verb):
    answer = requests.request(verb, f"{system.url}/v1/no-such-thing", timeout=30)
    body = problem(answer, 404)
    assert "/v1/no-such-thing" in body["detail"]
