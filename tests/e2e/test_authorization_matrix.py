"""Who may see and do what, for every endpoint that takes an object id, tried as every kind
of caller. The owning services decide; the gateway only authenticates. The matrix must name
every route the gateway serves, so an endpoint added later without an entry fails here."""

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import requests

from gateway.routes import routes
from gateway.service import GatewayService
from servicekit.testing import midday_timezone

pytestmark = pytest.mark.e2e

CALLERS = ("anonymous", "resident_of_unit", "resident_other_unit", "manager_with",
           "staff_without", "staff_nothing", "other_org", "key_without", "key_with", "master")

# expected HTTP status per caller; objects live in Maple Grove (Toronto office)
A, R, F, N, U = 200, 202, 403, 404, 401
MATRIX = {
    ("get", "/v1/communities/{community_id}"): dict(
        anonymous=U, resident_of_unit=A, resident_other_unit=A, manager_with=A,
        staff_without=F, staff_nothing=F, other_org=N, key_without=F, key_with=A, master=A),
    ("get", "/v1/communities/{community_id}/credits"): dict(
        anonymous=U, resident_of_unit=F, resident_other_unit=F, manager_with=A,
        staff_without=F, staff_nothing=F, other_org=N, key_without=F, key_with=A, master=A),
    ("get", "/v1/residents/{resident_id}"): dict(
        anonymous=U, resident_of_unit=A, resident_other_unit=F, manager_with=A,
        staff_without=F, staff_nothing=F, other_org=N, key_without=F, key_with=A, master=A),
    ("get", "/v1/communications/{communication_id}"): dict(
        anonymous=U, resident_of_unit=F, resident_other_unit=F, manager_with=A,
        staff_without=F, staff_nothing=F, other_org=N, key_without=F, key_with=A, master=A),
    ("post", "/v1/communications"): dict(
        anonymous=U, resident_of_unit=F, resident_other_unit=F, manager_with=R,
        staff_without=F, staff_nothing=F, other_org=N, key_without=F, key_with=R, master=R),
    ("get", "/v1/communications/{communication_id}/deliveries"): dict(
        anonymous=U, resident_of_unit=F, resident_other_unit=F, manager_with=A,
        staff_without=F, staff_nothing=F, other_org=N, key_without=F, key_with=A, master=A),
    ("post", "/v1/communications/{communication_id}/cancel"): dict(
        anonymous=U, resident_of_unit=F, resident_other_unit=F, manager_with=A,
        staff_without=F, staff_nothing=F, other_org=N, key_without=F, key_with=A, master=A),
    ("post", "/v1/communications/{communication_id}/reschedule"): dict(
        anonymous=U, resident_of_unit=F, resident_other_unit=F, manager_with=A,
        staff_without=F, staff_nothing=F, other_org=N, key_without=F, key_with=A, master=A),
    ("post", "/v1/communications/preview"): dict(
        anonymous=U, resident_of_unit=F, resident_other_unit=F, manager_with=A,
        staff_without=F, staff_nothing=F, other_org=N, key_without=F, key_with=A, master=A),
    # every caller who may send or read reports somewhere lists the sends of its own
    # organization it may read (another organization's staff: their own, none of these)
    ("get", "/v1/communications"): dict(
        anonymous=U, resident_of_unit=F, resident_other_unit=F, manager_with=A,
        staff_without=F, staff_nothing=F, other_org=A, key_without=F, key_with=A, master=A),
    ("get", "/v1/reports/deliveries"): dict(
        anonymous=U, resident_of_unit=F, resident_other_unit=F, manager_with=A,
        staff_without=F, staff_nothing=F, other_org=N, key_without=F, key_with=A, master=A),
    # view_reports or send_emergency for Maple Grove: the manager (view_reports there), the
    # demo key (view_reports) and the master user; residents of it see its page but hold
    # neither; another organization's staff do not find the community
    ("get", "/v1/reports/emergency-sends"): dict(
        anonymous=U, resident_of_unit=F, resident_other_unit=F, manager_with=A,
        staff_without=F, staff_nothing=F, other_org=N, key_without=F, key_with=A, master=A),
    ("get", "/v1/staff/{staff_user_id}/grants"): dict(
        anonymous=U, resident_of_unit=F, resident_other_unit=F, manager_with=F,
        staff_without=F, staff_nothing=F, other_org=N, key_without=F, key_with=F, master=A),
    ("post", "/v1/staff/{staff_user_id}/grants"): dict(
        anonymous=U, resident_of_unit=F, resident_other_unit=F, manager_with=F,
        staff_without=F, staff_nothing=F, other_org=N, key_without=F, key_with=F, master=201),
    ("delete", "/v1/grants/{grant_id}"): dict(
        anonymous=U, resident_of_unit=F, resident_other_unit=F, manager_with=F,
        staff_without=F, staff_nothing=F, other_org=N, key_without=F, key_with=F, master=204),
    ("get", "/v1/audit-log"): dict(
        anonymous=U, resident_of_unit=F, resident_other_unit=F, manager_with=F,
        staff_without=F, staff_nothing=F, other_org=A, key_without=F, key_with=F, master=A),
}


def expect(default=F, **allowed):
    """A row: `default` for every signed-in caller of the organization, 401 anonymous,
    404 for staff of another organization, and the exceptions named."""
    return {**{c: default for c in CALLERS}, "anonymous": U, "other_org": N, **allowed}


MANAGERS = dict(manager_with=A, master=A)          # manage_directory on Maple Grove
MATRIX.update({
    # an upload names no object: every sender may (another organization's, into its own)
    ("post", "/v1/documents"): expect(manager_with=201, key_with=201, master=201,
                                      other_org=201),
    ("get", "/v1/documents/{document_id}"): expect(manager_with=A, key_with=A, master=A),
    ("get", "/v1/organization"): expect(A, resident_of_unit=F, resident_other_unit=F,
                                        other_org=A),
    ("patch", "/v1/organization"): expect(master=A, other_org=A),
    ("post", "/v1/residents/{resident_id}/portal-account"): expect(manager_with=201,
                                                                   master=201),
    ("get", "/v1/offices/{office_id}"): expect(manager_with=A, key_with=A, master=A),
    ("patch", "/v1/offices/{office_id}"): expect(master=A),
    ("post", "/v1/offices"): expect(master=201, other_org=201),
    ("post", "/v1/communities"): expect(master=201),
    ("patch", "/v1/communities/{community_id}"): expect(**MANAGERS),
    ("get", "/v1/communities/{community_id}/units"): expect(
        resident_of_unit=A, resident_other_unit=A, manager_with=A, key_with=A, master=A),
    ("post", "/v1/communities/{community_id}/units"): expect(manager_with=201, master=201),
    ("get", "/v1/units/{unit_id}"): expect(resident_of_unit=A, manager_with=A, key_with=A,
                                           master=A),
    ("patch", "/v1/units/{unit_id}"): expect(**MANAGERS),
    ("post", "/v1/residents"): expect(manager_with=201, master=201),
    ("patch", "/v1/residents/{resident_id}"): expect(**MANAGERS),
    ("post", "/v1/residents/{resident_id}/move-out"): expect(**MANAGERS),
    ("post", "/v1/residents/{resident_id}/contact-points"): expect(manager_with=201,
                                                                   master=201),
    ("patch", "/v1/contact-points/{contact_point_id}"): expect(**MANAGERS),
    ("delete", "/v1/contact-points/{contact_point_id}"): expect(**MANAGERS),
    ("post", "/v1/staff"): expect(master=201, other_org=201),
    ("get", "/v1/staff/{staff_user_id}"): expect(master=A),
    ("patch", "/v1/staff/{staff_user_id}"): expect(master=A),
    ("post", "/v1/teams"): expect(master=201, other_org=201),
    ("get", "/v1/teams/{team_id}"): expect(master=A),
    ("patch", "/v1/teams/{team_id}"): expect(master=A),
    ("put", "/v1/teams/{team_id}/members/{staff_user_id}"): expect(master=A),
    ("delete", "/v1/teams/{team_id}/members/{staff_user_id}"): expect(master=A),
    ("post", "/v1/api-keys"): expect(master=201, other_org=201),
    ("delete", "/v1/api-keys/{api_key_id}"): expect(master=204),
    # --- resident imports
    ("post", "/v1/communities/{community_id}/imports"): expect(manager_with=R, master=R),
    ("get", "/v1/imports/{import_id}"): expect(**MANAGERS),
})
# --- credits (the demo uses community wallets; the demo API key holds manage_credits and
# the Harbor View manager is a master user of their own organization)
WALLET_READERS = dict(manager_with=A, key_with=A, master=A)
CREDIT_MASTERS = dict(key_with=A, master=A)
MATRIX.update({
    ("get", "/v1/credits/settings"): expect(A, resident_of_unit=F, resident_other_unit=F,
                                            other_org=A),
    ("patch", "/v1/credits/settings"): expect(key_with=A, master=A, other_org=F),
    ("get", "/v1/credits/wallets/{wallet}"): expect(**WALLET_READERS),
    ("get", "/v1/credits/wallets/{wallet}/log"): expect(**WALLET_READERS),
    ("post", "/v1/credits/wallets/{wallet}/grants"): expect(key_with=201, master=201),
    ("put", "/v1/credits/wallets/{wallet}/threshold"): expect(**CREDIT_MASTERS),
    ("post", "/v1/credits/transfers"): expect(key_with=201, master=201),
    ("post", "/v1/credits/quote"): expect(A, resident_of_unit=F, resident_other_unit=F,
                                          other_org=A),
})
# --- credit orders (for Maple Grove's wallet: bought by holders of manage_credits there —
# the master user and the demo API key; an order is seen by its buyer and those; payments
# of invoices are recorded by master users, which the key's org-wide manage_credits makes it)
MATRIX.update({
    ("post", "/v1/credits/orders"): expect(key_with=201, master=201),
    ("get", "/v1/credits/orders"): expect(A, other_org=A),
    ("get", "/v1/credits/orders/{order_id}"): expect(key_with=A, master=A),
    ("get", "/v1/credits/orders/{order_id}/invoice.pdf"): expect(key_with=A, master=A),
    ("post", "/v1/credits/orders/{order_id}/payments"): expect(key_with=A, master=A),
})
# --- consent categories (only master users hold manage_consent_categories in the demo;
# the Harbor View manager lacks it in their own organization too)
MATRIX.update({
    ("post", "/v1/consent/categories"): expect(master=201, other_org=F),
    ("get", "/v1/consent/categories/{category_id}"): expect(A),
    ("patch", "/v1/consent/categories/{category_id}"): expect(master=A, other_org=F),
    ("delete", "/v1/consent/categories/{category_id}"): expect(master=204, other_org=F),
    ("post", "/v1/consent/categories/{category_id}/archive"): expect(master=A, other_org=F),
    ("get", "/v1/consent/categories/{category_id}/changes"): expect(master=A, other_org=F),
})
# --- consent preferences (Edsger's: Ada shares his unit but reads and changes only her
# own; the Maple Grove manager and master hold manage_directory there, the demo key sees
# him but lacks it; a community's proof needs manage_directory or manage_consent_categories)
PREFERENCE_READERS = dict(manager_with=A, key_with=A, master=A)
MATRIX.update({
    ("get", "/v1/residents/{resident_id}/preferences"): expect(**PREFERENCE_READERS),
    ("put", "/v1/residents/{resident_id}/preferences"): expect(**MANAGERS),
    ("get", "/v1/residents/{resident_id}/consents"): expect(**PREFERENCE_READERS),
    ("get", "/v1/residents/{resident_id}/consents.csv"): expect(**PREFERENCE_READERS),
    ("get", "/v1/communities/{community_id}/consents.csv"): expect(**MANAGERS),
})
# --- consent settings (the caller's organization: staff and keys read them; only master
# users hold manage_consent_categories, the Harbor View manager not in their own either)
MATRIX.update({
    ("get", "/v1/consent/settings"): expect(A, resident_of_unit=F, resident_other_unit=F,
                                            other_org=A),
    ("put", "/v1/consent/settings"): expect(master=A, other_org=F),
})
# --- consent requests (sent and followed with manage_consent_categories: master users; a
# request-mode category and an empty community of Maple Grove, so nobody is emailed)
MATRIX.update({
    ("post", "/v1/consent/categories/{category_id}/requests"): expect(master=R),
    ("get", "/v1/consent/categories/{category_id}/requests"): expect(master=A),
    ("get", "/v1/consent/requests/{request_id}"): expect(master=A),
})
# --- consent imports (manage_consent_categories: master users; a header and no rows, so the
# demo category's consents stay as they are)
MATRIX.update({
    ("post", "/v1/consent/categories/{category_id}/consent-imports"): expect(master=A),
})
# --- groups (of Maple Grove: read by staff who see its residents — the manager, the master
# user and the demo key, whose send_communications is organization-wide — and changed with
# manage_directory there; residents see none; the list is each caller's own organization's)
MATRIX.update({
    ("get", "/v1/groups"): expect(A, resident_of_unit=F, resident_other_unit=F, other_org=A),
    ("post", "/v1/groups"): expect(manager_with=201, master=201),
    ("get", "/v1/groups/{group_id}"): expect(manager_with=A, key_with=A, master=A),
    ("patch", "/v1/groups/{group_id}"): expect(**MANAGERS),
    ("delete", "/v1/groups/{group_id}"): expect(manager_with=204, master=204),
})
# --- work orders (Ada's unit ticket of Maple Grove: Ada reads it, Grace in 102 does not;
# staff who see Maple Grove read it — the demo key too, with its organization-wide
# permissions — and holders of manage_tickets there change it, the Ottawa dispatcher not;
# Ada, who reported it, changes what she wrote while it is New, comments and attaches)
TICKET_READERS = dict(resident_of_unit=A, manager_with=A, key_with=A, master=A)
MATRIX.update({
    # a common-area ticket of Maple Grove: each resident reports for their own community
    ("post", "/v1/tickets"): expect(resident_of_unit=201, resident_other_unit=201,
                                    manager_with=201, master=201),
    ("get", "/v1/tickets"): expect(A, other_org=A),   # filtered: tested below
    ("get", "/v1/tickets/dashboard"): expect(resident_of_unit=A, resident_other_unit=A,
                                             other_org=F),
    ("get", "/v1/tickets/settings"): expect(A, other_org=A),
    # manage_tickets for the whole organization: master users (Harbor View's manager in
    # their own organization)
    ("put", "/v1/tickets/settings"): expect(master=A, other_org=A),
    ("get", "/v1/communities/{community_id}/ticket-settings"): expect(
        manager_with=A, key_with=A, master=A),
    ("put", "/v1/communities/{community_id}/ticket-settings"): expect(**MANAGERS),
    ("get", "/v1/tickets/{ticket_id}"): expect(**TICKET_READERS),
    ("patch", "/v1/tickets/{ticket_id}"): expect(resident_of_unit=A, **MANAGERS),
    ("post", "/v1/tickets/{ticket_id}/move"): expect(**MANAGERS),
    ("post", "/v1/tickets/{ticket_id}/assign"): expect(**MANAGERS),
    ("post", "/v1/tickets/{ticket_id}/comments"): expect(resident_of_unit=201,
                                                         manager_with=201, master=201),
    ("post", "/v1/tickets/{ticket_id}/attachments"): expect(resident_of_unit=201,
                                                            manager_with=201, master=201),
    ("get", "/v1/tickets/{ticket_id}/attachments/{attachment_id}"): expect(**TICKET_READERS),
    ("get", "/v1/tickets/{ticket_id}/attachments/{attachment_id}/content"): expect(
        **TICKET_READERS),
    ("get", "/v1/tickets/{ticket_id}/activity"): expect(**TICKET_READERS),
    ("get", "/v1/tickets/{ticket_id}/print"): expect(**TICKET_READERS),
    ("get", "/v1/tickets/{ticket_id}/pdf"): expect(**TICKET_READERS),
})
# routes that take no object id, or are not called by a signed-in caller
EXEMPT = {
    ("get", "/healthz"): "public health check",
    ("get", "/openapi.json"): "public document",
    ("post", "/webhooks/twilio/status"): "authenticated by the provider's signature",
    ("get", "/c/{token}"): "public confirm page: the signed token is the authority "
                           "(test_consent_requests.py)",
    ("post", "/c/{token}"): "public confirm button: the signed token is the authority "
                            "(test_consent_requests.py)",
    ("get", "/u/{token}"): "public unsubscribe page: the signed token is the authority "
                           "(test_unsubscribe.py)",
    ("post", "/u/{token}"): "public unsubscribe form and one-click POST: the signed token "
                            "is the authority (test_unsubscribe.py)",
    ("post", "/webhooks/twilio/inbound"): "authenticated by the provider's signature "
                                          "(test_sms_keywords.py)",
    ("post", "/webhooks/twilio/call-status"): "authenticated by the provider's signature "
                                              "(test_voice_calls.py)",
    ("post", "/webhooks/twilio/gather"): "authenticated by the provider's signature "
                                         "(test_voice_calls.py)",
    ("get", "/d/{token}"): "public document page: the signed token is the authority "
                           "(test_documents.py)",
    ("get", "/d/{token}/file"): "public document download: the signed token is the "
                                "authority (test_documents.py)",
    ("post", "/v1/auth/login"): "takes credentials, not an identity",
    ("post", "/v1/auth/refresh"): "takes a refresh token",
    ("post", "/v1/auth/logout"): "takes a refresh token",
    ("get", "/v1/me"): "the caller's own identity",
    ("get", "/v1/communities"): "a list filtered to what the caller may see (tested below)",
    ("get", "/v1/residents"): "a list filtered to what the caller may see (tested below)",
    ("get", "/v1/offices"): "a list filtered to what the caller may see (tested below)",
    ("get", "/v1/teams"): "a list filtered to the caller's teams (tested below)",
    ("get", "/v1/staff"): "master users only, no object id (tested below)",
    ("get", "/v1/api-keys"): "master users only, no object id (tested below)",
    ("get", "/v1/consent/categories"): "a list of the caller's own organization",
    ("get", "/v1/credits/wallets"): "a list filtered to what the caller may see "
                                    "(test_credits.py)",
}


def test_every_route_has_an_entry_in_the_matrix():
    served = {(verb, path) for verb, path, _ in routes(GatewayService)}
    missing = served - set(MATRIX) - set(EXEMPT)
    assert not missing, f"routes without an authorization entry: {sorted(missing)}"
    assert all(set(row) == set(CALLERS) for row in MATRIX.values())


def sign_in(system, email):
    account = next(a for a in system.demo["accounts"] + system.demo["other_organization"][
        "accounts"] if a["email"] == email)
    answer = requests.post(f"{system.url}/v1/auth/login", timeout=30,
                           json={"email": email, "password": account["password"]})
    assert answer.status_code == 200, answer.text
    return answer.json()["access_token"]


@pytest.fixture(scope="module")
def world(system):
    demo = system.demo
    staff = {a["email"]: a["principal_id"] for a in demo["accounts"]}
    tokens = {
        "resident_of_unit": sign_in(system, "ada@example.com"),
        "resident_other_unit": sign_in(system, "grace@example.com"),
        "manager_with": sign_in(system, "manager@maplegrove.example"),
        "staff_without": sign_in(system, "dispatcher@maplegrove.example"),
        "staff_nothing": sign_in(system, "newhire@maplegrove.example"),
        "other_org": sign_in(system, "manager@harborview.example"),
        "key_without": demo["limited_api_key"],
        "key_with": demo["api_key"],
        "master": sign_in(system, "master@maplegrove.example"),
    }
    sent = system.send(system.resident("Ada"), "Matrix check")
    assert sent.status_code == 202
    world = {"tokens": tokens, "community_id": system.community_id,
             "resident_id": system.resident("Edsger")["id"],
             "communication_id": sent.json()["id"],
             "staff_user_id": staff["senior@maplegrove.example"],
             "office_id": next(o["id"] for o in demo["offices"] if o["name"] == "Toronto office"),
             "unit_id": system.resident("Ada")["unit_id"],
             "birch_id": next(c["id"] for c in demo["communities"]
                              if c["name"] == "Birch Court Condos")}
    unit = as_master(system, world, "post", f"/v1/communities/{world['community_id']}/units",
                     {"label": "Matrix 1"})
    team = as_master(system, world, "post", "/v1/teams", {"name": "Matrix team"})
    edsger = as_master(system, world, "get", f"/v1/residents/{world['resident_id']}")
    group = as_master(system, world, "post", "/v1/groups", {
        "community_id": world["community_id"], "name": "Matrix group",
        "members": {"residents": [world["resident_id"]], "units": [unit["id"]]}})
    return dict(world, matrix_unit=unit["id"], team_id=team["id"], edsger=edsger,
                group_id=group["id"], ticket_run=uuid.uuid4().hex[:8])


def as_master(system, world, verb, path, body=None):
    answer = requests.request(verb, system.url + path, json=body, timeout=30, headers={
        "Authorization": f"Bearer {world['tokens']['master']}"})
    assert answer.status_code < 300, answer.text
    return answer.json() if answer.content else None


def unique(caller):
    return f"{caller}-{uuid.uuid4().hex[:8]}"


def new_resident(world, caller):
    return {"community_id": world["community_id"], "unit_id": world["matrix_unit"],
            "name": f"Matrix {unique(caller)}", "contact_points": [
                {"kind": "email", "value": f"{unique(caller)}@example.com"}]}


# a plain answer to HELP texts; test_sms_keywords.py sets its own right before it texts HELP
MAPLE_HELP_TEXT = "Maple Grove: community messages. Reply STOP to stop, START to resume."


# per route: (ids to add, JSON body, query) for one call by `caller`, made fresh when the
# call would use its object up (revoking, moving out, deleting)
def setup_grant(system, world, caller):
    made = as_master(system, world, "post", f"/v1/staff/{world['staff_user_id']}/grants",
                     {"name": "view_reports", "scope_type": "community",
                      "scope_id": world["community_id"]})
    return {"grant_id": made["id"]}, None, None


def setup_move_out(system, world, caller):
    made = as_master(system, world, "post", "/v1/residents",
                     new_resident(world, caller))
    return {"resident_id": made["id"]}, {"date": "2030-01-31"}, None


def setup_portal_account(system, world, caller):
    made = as_master(system, world, "post", "/v1/residents", new_resident(world, caller))
    return {"resident_id": made["id"]}, {"password": "a-first-portal-password"}, None


def setup_delete_contact_point(system, world, caller):
    made = as_master(system, world, "post",
                     f"/v1/residents/{world['resident_id']}/contact-points",
                     {"kind": "email", "value": f"{unique(caller)}@example.com"})
    point = next(cp for cp in made["contact_points"] if cp["value"].startswith(caller))
    return {"contact_point_id": point["id"]}, None, None


def setup_remove_member(system, world, caller):
    as_master(system, world, "put",
              f"/v1/teams/{world['team_id']}/members/{world['staff_user_id']}")
    return {}, None, None


def setup_revoke_key(system, world, caller):
    made = as_master(system, world, "post", "/v1/api-keys",
                     {"name": f"matrix {caller}", "permissions": []})
    return {"api_key_id": made["id"]}, None, None


# a header and no rows: the call is tried for who may make it, and imports nothing
EMPTY_IMPORT = b"unit,first_name,last_name\n"
EMPTY_CONSENT_IMPORT = b"resident_id,channel,action,obtained_at,wording\n"


def post_import(system, world, headers):
    return requests.post(f"{system.url}/v1/communities/{world['community_id']}/imports",
                         data=EMPTY_IMPORT, timeout=30,
                         headers=dict(headers, **{"Content-Type": "text/csv"}))


PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08"
       b"\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05"
       b"\xfe\x02\xfe\xa75\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82")


def post_document(system, headers):
    return requests.post(f"{system.url}/v1/documents", timeout=30, headers=headers,
                         files={"file": ("map.png", PNG, "image/png")})


def setup_document(system, world, caller):
    made = post_document(system, {"Authorization": f"Bearer {world['tokens']['master']}"})
    assert made.status_code == 201, made.text
    return {"document_id": made.json()["id"]}, None, None


def setup_import(system, world, caller):
    made = post_import(system, world,
                       {"Authorization": f"Bearer {world['tokens']['master']}"})
    assert made.status_code == 202, made.text
    return {"import_id": made.json()["id"]}, None, None


def setup_fresh_category(system, world, caller):
    made = as_master(system, world, "post", "/v1/consent/categories",
                     {"name": f"Matrix {unique(caller)}", "mode": "opt_in"})
    return {"category_id": made["id"]}, None, None


def primary_email(world):
    return next(cp["id"] for cp in world["edsger"]["contact_points"]
                if cp["kind"] == "email" and cp["primary"])


def credit_order(world, payment_method="pm_card_visa"):
    """One credit for Maple Grove, by card (the e2e stack's payment sandbox) or invoice."""
    body = {"wallet": f"community:{world['community_id']}", "quantity": 1, "buyer": {
        "name": "Matrix Buyer", "address": "1 Matrix Way", "email": "matrix@example.com"}}
    return dict(body, payment_method=payment_method) if payment_method else body


def setup_order(system, world, caller):
    made = as_master(system, world, "post", "/v1/credits/orders", credit_order(world))
    return {"order_id": made["id"]}, None, None


def setup_scheduled_send(system, world, caller):
    """A send of the matrix's own, scheduled a month ahead, for each caller to move."""
    made = as_master(system, world, "post", "/v1/communications", {
        "kind": "message", "channels": ["sms"],
        "recipients": {"residents": [system.resident("Ada")["id"]]},
        "category_id": system.demo["category_id"], "body": "Matrix check, later",
        "send_at": later(30)})
    assert made["status"] == "scheduled", made
    return {"communication_id": made["id"]}, {"send_at": later(31)}, None


def later(days):
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


def setup_invoice_payment(system, world, caller):
    made = as_master(system, world, "post", "/v1/credits/orders", credit_order(world, None))
    assert made["status"] == "awaiting_payment", made
    return {"order_id": made["id"]}, {"reference": f"EFT {unique(caller)}"}, None


def consent_request_world(system, world):
    """Once per module: a request-mode category, an empty community and one request."""
    if "consent_request_id" not in world:
        category = as_master(system, world, "post", "/v1/consent/categories",
                             {"name": f"Matrix {unique('requests')}", "mode": "request"})
        empty = as_master(system, world, "post", "/v1/communities",
                          {"name": f"Community {unique('requests')}",
                           "office_id": world["office_id"]})
        made = as_master(system, world, "post",
                         f"/v1/consent/categories/{category['id']}/requests",
                         {"community_ids": [empty["id"]]})
        world.update(request_category_id=category["id"], empty_community_id=empty["id"],
                     consent_request_id=made["id"])
    return world


def setup_consent_request(system, world, caller):
    made = consent_request_world(system, world)
    return ({"category_id": made["request_category_id"]},
            {"community_ids": [made["empty_community_id"]]}, None)


def setup_consent_request_id(system, world, caller):
    return {"request_id": consent_request_world(system, world)["consent_request_id"]}, None, None


def setup_delete_group(system, world, caller):
    made = as_master(system, world, "post", "/v1/groups", {
        "community_id": world["community_id"], "name": f"Group {unique(caller)}"})
    return {"group_id": made["id"]}, None, None


def as_caller(system, world, caller, verb, path, body=None, **options):
    answer = requests.request(verb, system.url + path, json=body, timeout=30, headers={
        "Authorization": f"Bearer {world['tokens'][caller]}"}, **options)
    assert answer.status_code < 300, answer.text
    return answer.json()


def ticket_world(system, world):
    """Once per module: Ada's unit ticket with a file everyone who reads it reads, and a
    common-area ticket of Maple Grove (the master user's), titled with this run's word."""
    if "ticket_id" not in world:
        run = world["ticket_run"]
        ada = as_caller(system, world, "resident_of_unit", "post", "/v1/tickets",
                        {"kind": "unit", "title": f"Matrix leak {run}"})
        photo = as_caller(system, world, "master", "post",
                          f"/v1/tickets/{ada['id']}/attachments",
                          files={"file": ("leak.png", PNG, "image/png")})
        lobby = as_master(system, world, "post", "/v1/tickets", {
            "kind": "common_area", "community_id": world["community_id"],
            "location": "Lobby", "title": f"Matrix lobby light {run}"})
        world.update(ticket_id=ada["id"], attachment_id=photo["id"],
                     common_ticket_id=lobby["id"])
    return world


def setup_ticket(system, world, caller):
    return {"ticket_id": ticket_world(system, world)["ticket_id"]}, None, None


def setup_attachment(system, world, caller):
    made = ticket_world(system, world)
    return {"ticket_id": made["ticket_id"], "attachment_id": made["attachment_id"]}, None, None


def setup_fresh_ticket(system, world, caller):
    """A new ticket of Ada's for each caller to move out of New."""
    made = as_caller(system, world, "resident_of_unit", "post", "/v1/tickets",
                     {"kind": "unit", "title": f"Matrix move {unique(caller)}"})
    return {"ticket_id": made["id"]}, None, None


def post_ticket_attachment(system, url, headers):
    return requests.post(url, timeout=30, headers=headers,
                         files={"file": ("leak.png", PNG, "image/png")})


SETUP = {
    **{(verb, path): setup_ticket for verb, path in MATRIX
       if path.startswith("/v1/tickets/{ticket_id}") and "attachment_id" not in path},
    ("get", "/v1/tickets/{ticket_id}/attachments/{attachment_id}"): setup_attachment,
    ("get", "/v1/tickets/{ticket_id}/attachments/{attachment_id}/content"): setup_attachment,
    ("post", "/v1/tickets/{ticket_id}/move"): setup_fresh_ticket,
    ("get", "/v1/documents/{document_id}"): setup_document,
    ("post", "/v1/communications/{communication_id}/reschedule"): setup_scheduled_send,
    ("delete", "/v1/groups/{group_id}"): setup_delete_group,
    ("delete", "/v1/grants/{grant_id}"): setup_grant,
    ("post", "/v1/residents/{resident_id}/move-out"): setup_move_out,
    ("delete", "/v1/consent/categories/{category_id}"): setup_fresh_category,
    ("post", "/v1/consent/categories/{category_id}/archive"): setup_fresh_category,
    ("post", "/v1/residents/{resident_id}/portal-account"): setup_portal_account,
    ("delete", "/v1/contact-points/{contact_point_id}"): setup_delete_contact_point,
    ("delete", "/v1/teams/{team_id}/members/{staff_user_id}"): setup_remove_member,
    ("delete", "/v1/api-keys/{api_key_id}"): setup_revoke_key,
    ("get", "/v1/imports/{import_id}"): setup_import,
    ("post", "/v1/consent/categories/{category_id}/requests"): setup_consent_request,
    ("get", "/v1/consent/requests/{request_id}"): setup_consent_request_id,
    ("get", "/v1/credits/orders/{order_id}"): setup_order,
    ("get", "/v1/credits/orders/{order_id}/invoice.pdf"): setup_order,
    ("post", "/v1/credits/orders/{order_id}/payments"): setup_invoice_payment,
}
BODIES = {
    ("post", "/v1/tickets"): lambda w, c: {
        "kind": "common_area", "community_id": w["community_id"], "location": "Pool",
        "title": f"Matrix pool {unique(c)}"},
    ("patch", "/v1/tickets/{ticket_id}"): lambda w, c: {"description": "Matrix check"},
    ("post", "/v1/tickets/{ticket_id}/move"): lambda w, c: {"status": "acknowledged"},
    ("post", "/v1/tickets/{ticket_id}/assign"): lambda w, c: {
        "assignee": {"type": "vendor", "name": "Matrix Plumbing"}},
    ("post", "/v1/tickets/{ticket_id}/comments"): lambda w, c: {"body": "Matrix check"},
    ("put", "/v1/tickets/settings"): lambda w, c: {"reopen_completed": "staff"},
    ("put", "/v1/communities/{community_id}/ticket-settings"): lambda w, c: {
        "residents_may_comment": True},
    ("post", "/v1/groups"): lambda w, c: {
        "community_id": w["community_id"], "name": f"Group {unique(c)}",
        "members": {"residents": [w["resident_id"]]}},
    ("patch", "/v1/groups/{group_id}"): lambda w, c: {"description": "Matrix check"},
    ("post", "/v1/credits/orders"): lambda w, c: credit_order(w),
    ("post", "/v1/staff/{staff_user_id}/grants"): lambda w, c: {
        "name": "view_reports", "scope_type": "community", "scope_id": w["community_id"]},
    ("post", "/v1/offices"): lambda w, c: {"name": f"Office {unique(c)}"},
    ("patch", "/v1/organization"): lambda w, c: {},
    ("patch", "/v1/offices/{office_id}"): lambda w, c: {"name": "Toronto office"},
    ("post", "/v1/communities"): lambda w, c: {"name": f"Community {unique(c)}",
                                               "office_id": w["office_id"]},
    # a zone where it is day: the demo's texts are never held by quiet hours
    ("patch", "/v1/communities/{community_id}"): lambda w, c: {
        "timezone": midday_timezone()},
    ("post", "/v1/communities/{community_id}/units"): lambda w, c: {"label": unique(c)},
    ("patch", "/v1/units/{unit_id}"): lambda w, c: {"label": "Matrix 1"},
    ("post", "/v1/residents"): lambda w, c: new_resident(w, c),
    ("patch", "/v1/residents/{resident_id}"): lambda w, c: {"language": "en"},
    ("post", "/v1/residents/{resident_id}/contact-points"): lambda w, c: {
        "kind": "email", "value": f"{unique(c)}@example.com"},
    ("patch", "/v1/contact-points/{contact_point_id}"): lambda w, c: {"primary": True},
    ("post", "/v1/staff"): lambda w, c: {"name": "Matrix staff",
                                         "email": f"{unique(c)}@example.com"},
    ("patch", "/v1/staff/{staff_user_id}"): lambda w, c: {"name": "Sam Senior"},
    ("post", "/v1/teams"): lambda w, c: {"name": f"Team {unique(c)}"},
    ("patch", "/v1/teams/{team_id}"): lambda w, c: {"name": "Matrix team"},
    ("patch", "/v1/credits/settings"): lambda w, c: {},
    ("put", "/v1/consent/settings"): lambda w, c: {"sms_help_text": MAPLE_HELP_TEXT},
    ("post", "/v1/consent/categories"): lambda w, c: {"name": f"Matrix {unique(c)}",
                                                      "mode": "opt_in"},
    ("patch", "/v1/consent/categories/{category_id}"): lambda w, c: {},
    ("post", "/v1/consent/categories/{category_id}/archive"): lambda w, c: {"archived": True},
    ("post", "/v1/credits/wallets/{wallet}/grants"): lambda w, c: {"amount": 1,
                                                                    "reason": "matrix"},
    ("put", "/v1/credits/wallets/{wallet}/threshold"): lambda w, c: {"low_threshold": None},
    ("post", "/v1/credits/transfers"): lambda w, c: {
        "source": f"community:{w['community_id']}", "target": f"community:{w['birch_id']}",
        "amount": 1, "reason": "matrix"},
    ("post", "/v1/credits/quote"): lambda w, c: {"body": "Water off at noon",
                                                 "channels": ["sms"], "recipients": 3},
    ("post", "/v1/api-keys"): lambda w, c: {"name": f"key {unique(c)}",
                                            "permissions": ["view_reports"]},
    # voice is on already (never set): the call is tried and changes nothing
    ("put", "/v1/residents/{resident_id}/preferences"): lambda w, c: {
        "channels": {"voice": True}, "wording": "Calls about my building: on"},
    ("post", "/v1/communications/preview"): lambda w, c: {
        "kind": "message", "channels": ["sms"], "recipients": {"residents": [w["resident_id"]]},
        "category_id": w["category_id"], "body": "Matrix check"},
    ("post", "/v1/communications"): lambda w, c: {
        "kind": "message", "channels": ["sms"], "recipients": {"residents": [w["resident_id"]]},
        "category_id": w["category_id"], "body": "Matrix check"},
}


def call(system, world, caller, verb, path):
    headers = {}
    if caller != "anonymous":
        headers["Authorization"] = f"Bearer {world['tokens'][caller]}"
    ids = dict(world, category_id=system.demo["category_id"],
               contact_point_id=primary_email(world))
    if path == "/v1/units/{unit_id}":   # read Ada's unit, relabel the matrix's own
        ids["unit_id"] = world["matrix_unit"] if verb == "patch" else world["unit_id"]
    body, params = None, None
    if (verb, path) in SETUP:
        more, body, params = SETUP[(verb, path)](system, world, caller)
        ids.update(more)
    if (verb, path) in BODIES:
        body = BODIES[(verb, path)](ids, caller)
    if path in ("/v1/reports/deliveries", "/v1/reports/emergency-sends"):
        params = {"community_id": world["community_id"]}
    if path.startswith("/v1/credits/wallets/{wallet}"):
        ids["wallet"] = f"community:{world['community_id']}"
    if (verb, path) == ("post", "/v1/credits/wallets/{wallet}/grants"):
        headers["Idempotency-Key"] = unique(caller)
    if path == "/v1/communities/{community_id}/imports":   # a CSV body, not JSON
        return post_import(system, world, headers)
    if (verb, path) == ("post", "/v1/documents"):           # a file, not JSON
        return post_document(system, headers)
    if (verb, path) == ("post", "/v1/tickets/{ticket_id}/attachments"):   # a file
        return post_ticket_attachment(system, system.url + path.format(**ids), headers)
    if path.endswith("/consent-imports"):
        return requests.post(system.url + path.format(**ids), data=EMPTY_CONSENT_IMPORT,
                             timeout=30, headers=dict(headers, **{"Content-Type": "text/csv"}))
    url = system.url + path.format(**ids)
    return requests.request(verb, url, headers=headers, json=body, params=params, timeout=30)


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("verb, path", sorted(MATRIX))
def test_authorization(system, world, verb, path, caller):
    answer = call(system, world, caller, verb, path)
    expected = MATRIX[(verb, path)][caller]
    assert answer.status_code == expected, f"{caller} {verb} {path}: {answer.text[:300]}"
    if expected >= 400:
        assert answer.headers["Content-Type"] == "application/problem+json"


def test_lists_show_only_what_each_caller_may_see(system, world):
    def names(caller, path, **params):
        headers = {"Authorization": f"Bearer {world['tokens'][caller]}"}
        answer = requests.get(system.url + path, headers=headers, params=params, timeout=30)
        assert answer.status_code == 200, answer.text
        # leave out what the matrix above made (names ending in unique())
        return [i for i in answer.json()["items"]
                if not re.search(r"-[0-9a-f]{8}$", i.get("name", ""))]

    assert sorted(c["name"] for c in names("manager_with", "/v1/communities")) == [
        "Birch Court Condos", "Maple Grove Apartments"]
    assert [c["name"] for c in names("staff_without", "/v1/communities")] == ["Cedar Ridge HOA"]
    assert names("staff_nothing", "/v1/communities") == []
    assert len(names("master", "/v1/communities")) == 3
    assert [c["name"] for c in names("other_org", "/v1/communities")] == ["Harbor View HOA"]
    unit_101 = names("resident_of_unit", "/v1/residents")
    assert sorted(r["name"] for r in unit_101) == ["Ada Lovelace", "Edsger Dijkstra"]
    ottawa = names("staff_without", "/v1/residents", limit=200)
    assert ottawa and {r["community_id"] for r in ottawa} != {world["community_id"]}
    found = names("manager_with", "/v1/residents", q="+15551230004")
    assert [r["name"] for r in found] == ["Dana Quiet (texts off)"]
    offices = names("manager_with", "/v1/offices")
    assert [o["name"] for o in offices] == ["Toronto office"]
    assert len(names("master", "/v1/offices")) == 2
    assert names("staff_nothing", "/v1/offices") == []
    assert [t["name"] for t in names("master", "/v1/teams", q="Matrix team")] == ["Matrix team"]
    assert names("manager_with", "/v1/teams") == []   # not a member of any
    assert {s["email"] for s in names("master", "/v1/staff", limit=200)} >= {
        "manager@maplegrove.example", "senior@maplegrove.example"}
    assert all("api_key" not in k for k in names("master", "/v1/api-keys"))
    maple = names("manager_with", "/v1/groups", community_id=world["community_id"])
    assert "Matrix group" in [g["name"] for g in maple]
    assert all(g["community_id"] == world["community_id"] for g in maple)
    assert "Matrix group" not in [g["name"] for g in names("staff_without", "/v1/groups")]
    assert names("other_org", "/v1/groups") == []
    for forbidden in ("/v1/staff", "/v1/api-keys"):
        answer = requests.get(system.url + forbidden, timeout=30, headers={
            "Authorization": f"Bearer {world['tokens']['manager_with']}"})
        assert answer.status_code == 403, forbidden
    # work orders: Grace never sees Ada's unit ticket; everyone who sees Maple Grove sees
    # its common-area ones; staff who do not, and Harbor View, see none of them (this
    # run's two, found by the word in their titles)
    made = ticket_world(system, world)
    ada, lobby = made["ticket_id"], made["common_ticket_id"]

    def tickets(caller, **params):
        return {t["id"] for t in names(caller, "/v1/tickets", limit=200, **params)}

    this_run = {"q": world["ticket_run"]}
    assert tickets("resident_of_unit", **this_run) == {ada, lobby}
    assert tickets("resident_other_unit", **this_run) == {lobby}
    for staff in ("manager_with", "key_with", "master"):
        assert tickets(staff, **this_run) == {ada, lobby}, staff
    for outsider in ("staff_without", "staff_nothing", "key_without", "other_org"):
        assert tickets(outsider, **this_run) == set(), outsider
    assert ada not in tickets("resident_other_unit", kind="unit")
    harbor = names("other_org", "/v1/tickets", limit=200)
    assert all(t["community_id"] != world["community_id"] for t in harbor)
