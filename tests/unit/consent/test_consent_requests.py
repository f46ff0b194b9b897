"""Consent requests: the pure skip rule and words, then the service with worker_factory, an
in-memory database and a fake directory — who is asked, who is skipped, what the events
carry, and the confirm link (tampered, unknown, expired, pressed twice)."""

from datetime import timedelta

import pytest
from nameko.testing.services import worker_factory
from sqlalchemy import select, update

from contracts.errors import Forbidden, Gone, InvalidRequest, NotFound
from contracts.events import envelope
from servicekit.db import utcnow
from servicekit.testing import memory_database, outbox_events
from services.consent import tokens
from services.consent.models import Base, ConsentEvent, ConsentRequestRecipient, Link
from services.consent.requests import (
    confirm_wording,
    mask_email,
    recipient_status,
    request_body,
    request_subject,
)
from services.consent.service import ConsentService

ORG, OTHER_ORG = "org_1", "org_2"
MAPLE, BIRCH = "com_maple", "com_birch"
MASTER = {"actor_type": "staff", "actor_id": "usr_master", "organization_id": ORG,
          "scopes": {"*": "*"}}
MANAGER = {"actor_type": "staff", "actor_id": "usr_manager", "organization_id": ORG,
           "scopes": {"manage_directory": [MAPLE]}}
OUTSIDER = dict(MASTER, actor_id="usr_other", organization_id=OTHER_ORG)
SEEDER = {"actor_type": "system", "actor_id": "seed", "organization_id": ORG,
          "scopes": {"*": "*"}}
RESIDENTS = {
    MAPLE: [{"id": f"res_{n}", "name": f"Resident {n}", "email": f"r{n}@example.com"}
            for n in range(1, 6)] + [{"id": "res_noemail", "name": "No Email", "email": None}],
    BIRCH: [{"id": "res_b1", "name": "Birch One", "email": "b1@example.com"}],
}
SECRET = tokens.link_secret({})


class FakeDirectory:
    """Communities of org_1; pages of two residents so cursors must be followed."""

    def __init__(self):
        self.pages_asked = 0

    def get_community(self, identity, community_id):
        if community_id not in RESIDENTS or identity["organization_id"] != ORG:
            raise NotFound(f"community {community_id} does not exist", "community_id")
        return {"id": community_id, "organization_id": ORG}

    def list_residents(self, identity, community_id=None, cursor=None, limit=None, **_):
        self.pages_asked += 1
        start = int(cursor or 0)
        everyone = RESIDENTS[community_id]
        page = everyone[start:start + 2]
        more = start + 2 < len(everyone)
        return {"items": [dict(r, community_id=community_id, organization_id=ORG)
                          for r in page], "next_cursor": str(start + 2) if more else None}

    def get_organization(self, identity):
        assert identity["actor_type"] == "system"
        return {"id": identity["organization_id"], "name": "Maple Grove <Management>"}


@pytest.fixture
def consent():
    config = {"gateway": {"public_url": "https://th.example"},
              "consent": {"confirm_link_days": 30}}
    return worker_factory(ConsentService, db=memory_database(Base), config=config,
                          directory=FakeDirectory())


@pytest.fixture
def category(consent):
    return consent.create_category(SEEDER, ORG, "Newsletter", "request")


def issued(consent):
    return outbox_events(consent.db, "consent_requests_issued")


def token_of(item):
    return item["body"].split("https://th.example/c/", 1)[1].split()[0]


# --- pure rules and words --------------------------------------------------------------

@pytest.mark.parametrize("email, answered, status", [
    ("a@example.com", False, "queued"),
    (None, False, "skipped_no_email"),
    ("", False, "skipped_no_email"),
    ("a@example.com", True, "skipped_answered"),
    (None, True, "skipped_answered"),   # who answered is reported as such, email or not
])
def test_who_is_asked_and_who_is_skipped(email, answered, status):
    assert recipient_status(email, answered) == status


def test_the_email_says_who_asks_for_what_and_that_doing_nothing_changes_nothing():
    body = request_body("Maple Grove", "Newsletter", "Ada", "https://x/c/tok", 30)
    assert body.startswith("Hello Ada,")
    assert "Maple Grove would like to send you emails about \"Newsletter\"" in body
    assert "https://x/c/tok" in body
    assert "If you do nothing, nothing changes" in body and "30 days" in body
    assert request_subject("Maple Grove", "Newsletter") == \
        "Maple Grove: may we email you Newsletter?"
    assert "\n" not in request_subject("Maple\nGrove", "News")
    assert len(request_subject("M" * 300, "N")) == 200


def test_the_page_words_name_the_organization_the_category_and_the_button():
    words = confirm_wording("Maple Grove", "Newsletter", "a••@example.com")
    assert words["button"] == "Yes, email me Newsletter"
    assert "Maple Grove asks your permission" in words["statement"]
    assert "a••@example.com" in words["statement"]
    assert "Nothing changes unless you press the button" in words["statement"]
    assert mask_email("ada@example.com") == "a••@example.com"
    assert mask_email("a@example.com") == "a•@example.com"
    assert mask_email(None) == "your email address"


# --- creating a request ----------------------------------------------------------------

def test_a_request_asks_everyone_not_answered_and_reports_the_skipped(consent, category):
    consent.record(SEEDER, "res_1", "email", "withdraw", "unsubscribe_link",
                   category_id=category["id"], evidence={"wording": "Unsubscribe"})
    consent.record(SEEDER, "res_2", "sms", "grant", "portal", category_id=category["id"])
    answer = consent.create_consent_request(MASTER, category["id"], [MAPLE, BIRCH])
    assert answer["status"] == "sending"
    assert answer["links"]["self"] == f"/v1/consent/requests/{answer['id']}"
    assert answer["counts"] == {"total": 7, "skipped_answered": 1, "skipped_no_email": 1,
                                "queued": 5, "sent": 0, "failed": 0, "confirmed": 0}
    # one directory call per page of residents (2 per page here), never per resident
    assert consent.directory.pages_asked == 3 + 1
    (event,) = issued(consent)
    assert event["organization_id"] == ORG
    data = event["data"]
    assert data["subject"] == "Maple Grove <Management>: may we email you Newsletter?"
    assert sorted(i["resident_id"] for i in data["items"]) == [
        "res_2", "res_3", "res_4", "res_5", "res_b1"]   # a text grant is not an email answer
    for item in data["items"]:
        link_id = tokens.verify(SECRET, token_of(item))
        with consent.db.read() as session:
            link = session.get(Link, link_id)
        assert (link.purpose, link.resident_id, link.address, link.request_id) == (
            "confirm", item["resident_id"], item["email"], answer["id"])
        assert timedelta(days=29) < link.expires_at - utcnow() <= timedelta(days=30)


def test_emails_go_out_in_batches_of_one_hundred(consent, category, monkeypatch):
    many = [{"id": f"res_m{n:03}", "name": None, "email": f"m{n}@example.com"}
            for n in range(250)]
    monkeypatch.setitem(RESIDENTS, MAPLE, many)
    answer = consent.create_consent_request(MASTER, category["id"], [MAPLE])
    assert answer["counts"]["queued"] == 250
    assert [len(e["data"]["items"]) for e in issued(consent)] == [100, 100, 50]


def test_nobody_to_email_is_done_at_once(consent, category, monkeypatch):
    monkeypatch.setitem(RESIDENTS, BIRCH, [{"id": "res_x", "name": "X", "email": None}])
    answer = consent.create_consent_request(MASTER, category["id"], [BIRCH])
    assert answer["status"] == "done" and answer["finished_at"]
    assert issued(consent) == []


@pytest.mark.parametrize("mode", ["opt_in", "opt_out"])
def test_only_request_mode_categories_take_requests(consent, mode):
    other = consent.create_category(SEEDER, ORG, f"Cat {mode}", mode)
    with pytest.raises(InvalidRequest, match="request-mode") as refused:
        consent.create_consent_request(MASTER, other["id"], [MAPLE])
    assert refused.value.field == "category_id"
    assert issued(consent) == []


def test_an_archived_category_takes_no_request(consent, category):
    consent.archive_category(SEEDER, category["id"])
    with pytest.raises(InvalidRequest, match="archived"):
        consent.create_consent_request(MASTER, category["id"], [MAPLE])


@pytest.mark.parametrize("community_ids", [[], [MAPLE, MAPLE], [f"com_{n}" for n in range(51)],
                                           "com_maple"])
def test_one_to_fifty_distinct_communities(consent, category, community_ids):
    with pytest.raises(InvalidRequest) as refused:
        consent.create_consent_request(MASTER, category["id"], community_ids)
    assert refused.value.field == "community_ids"


def test_who_may_send_one(consent, category):
    with pytest.raises(Forbidden, match="manage_consent_categories"):
        consent.create_consent_request(MANAGER, category["id"], [MAPLE])
    with pytest.raises(NotFound):   # another organization's category does not exist
        consent.create_consent_request(OUTSIDER, category["id"], [MAPLE])
    with pytest.raises(NotFound, match="com_elsewhere"):
        consent.create_consent_request(MASTER, category["id"], [MAPLE, "com_elsewhere"])
    assert issued(consent) == []


def test_the_same_idempotency_key_answers_the_first_request_again(consent, category):
    first = consent.create_consent_request(MASTER, category["id"], [MAPLE],
                                           idempotency_key="k1")
    again = consent.create_consent_request(MASTER, category["id"], [MAPLE],
                                           idempotency_key="k1")
    assert again == first and len(issued(consent)) == 1


# --- progress --------------------------------------------------------------------------

def mailed(consent, request_id, items):
    consent.note_consent_requests_mailed(envelope(
        "consent_requests_mailed", {"request_id": request_id, "items": items},
        organization_id=ORG))


def test_the_request_is_done_when_no_email_is_queued(consent, category):
    made = consent.create_consent_request(MASTER, category["id"], [BIRCH, MAPLE])
    items = issued(consent)[0]["data"]["items"]
    mailed(consent, made["id"], [{"resident_id": i["resident_id"], "status": "sent",
                                  "reason": None} for i in items[:-1]])
    view = consent.get_consent_request(MASTER, made["id"])
    assert (view["status"], view["counts"]["sent"], view["counts"]["queued"]) == (
        "sending", 5, 1)
    mailed(consent, made["id"], [{"resident_id": items[-1]["resident_id"],
                                  "status": "failed", "reason": "550 mailbox unavailable"}])
    view = consent.get_consent_request(MASTER, made["id"])
    assert view["status"] == "done" and view["finished_at"]
    assert (view["counts"]["sent"], view["counts"]["failed"]) == (5, 1)
    with consent.db.read() as session:
        failed = session.scalars(select(ConsentRequestRecipient).where(
            ConsentRequestRecipient.status == "failed")).one()
    assert failed.reason == "550 mailbox unavailable"
    listed = consent.list_consent_requests(MASTER, category["id"])
    assert [r["id"] for r in listed["items"]] == [made["id"]]


def test_only_the_organizations_category_managers_follow_a_request(consent, category):
    made = consent.create_consent_request(MASTER, category["id"], [MAPLE])
    with pytest.raises(NotFound):
        consent.get_consent_request(OUTSIDER, made["id"])
    with pytest.raises(NotFound):
        consent.list_consent_requests(OUTSIDER, category["id"])
    with pytest.raises(Forbidden):
        consent.get_consent_request(MANAGER, made["id"])
    with pytest.raises(NotFound):
        consent.get_consent_request(MASTER, "crq_nope")


# --- the confirm link ------------------------------------------------------------------

@pytest.fixture
def link(consent, category):
    made = consent.create_consent_request(MASTER, category["id"], [BIRCH])
    (item,) = issued(consent)[0]["data"]["items"]
    return {"token": token_of(item), "request_id": made["id"], "category": category}


def grants(consent):
    with consent.db.read() as session:
        return session.scalars(select(ConsentEvent).where(
            ConsentEvent.method == "confirm_link")).all()


def test_opening_the_page_records_nothing(consent, link):
    view = consent.describe_confirm(link["token"])
    assert view["valid"] and not view["confirmed"]
    assert (view["organization_name"], view["category_name"], view["email"]) == (
        "Maple Grove <Management>", "Newsletter", "b•@example.com")
    assert view["wording"]["button"] == "Yes, email me Newsletter"
    assert grants(consent) == []


def test_pressing_the_button_records_one_express_grant_with_its_evidence(consent, link):
    done = consent.confirm(link["token"], {"ip": "203.0.113.7", "user_agent": "Firefox"})
    assert done["valid"] and done["confirmed"] and done["recorded"]
    (grant,) = grants(consent)
    assert (grant.resident_id, grant.category_id, grant.channel, grant.action,
            grant.recorded_by) == ("res_b1", link["category"]["id"], "email", "grant",
                                   "resident:res_b1")
    words = confirm_wording("Maple Grove <Management>", "Newsletter", "b•@example.com")
    assert grant.evidence["wording"] == (f"{words['question']} {words['statement']} "
                                         f"[{words['button']}]")
    assert grant.evidence["address"] == "b1@example.com"
    assert grant.evidence["ip"] == "203.0.113.7"
    assert grant.evidence["user_agent"] == "Firefox"
    assert grant.evidence["request_id"] == link["request_id"]
    (recorded,) = outbox_events(consent.db, "consent_recorded")[-1:]
    assert recorded["data"] == {"resident_id": "res_b1", "channel": "email",
                                "category_id": link["category"]["id"], "action": "grant",
                                "method": "confirm_link"}
    # the resident may now be emailed in the category
    (decision,) = consent.check(SEEDER, link["category"]["id"], "email",
                                [{"resident_id": "res_b1"}])
    assert decision["allowed"]
    view = consent.get_consent_request(MASTER, link["request_id"])
    assert view["counts"]["confirmed"] == 1 and view["status"] == "done"


def test_pressing_twice_records_once(consent, link):
    consent.confirm(link["token"], {"ip": "203.0.113.7"})
    again = consent.confirm(link["token"], {"ip": "203.0.113.7"})
    assert again["valid"] and again["confirmed"] and not again["recorded"]
    assert len(grants(consent)) == 1
    assert consent.describe_confirm(link["token"])["confirmed"]


def test_a_late_mailing_report_does_not_undo_a_confirmation(consent, link):
    consent.confirm(link["token"], {})
    mailed(consent, link["request_id"], [{"resident_id": "res_b1", "status": "sent",
                                          "reason": None}])
    assert consent.get_consent_request(MASTER, link["request_id"])["counts"]["confirmed"] == 1


def tampered(token):
    link_id, signature = token.split(".")
    return f"{link_id}.{'A' if signature[0] != 'A' else 'B'}{signature[1:]}"


def refused(call, error, field):
    with pytest.raises(error) as caught:
        call()
    assert caught.value.field == field
    return caught.value


@pytest.mark.parametrize("change", [
    tampered,
    lambda t: t[:-3],
    lambda t: t.split(".")[0],
    lambda t: tokens.sign(SECRET, "conf_unknown"),
])
def test_a_changed_or_unknown_link_records_nothing(consent, link, change):
    token = change(link["token"])
    refused(lambda: consent.describe_confirm(token), InvalidRequest, "token")
    refused(lambda: consent.confirm(token, {"ip": "203.0.113.7"}), InvalidRequest, "token")
    assert grants(consent) == []


def test_an_unsubscribe_link_is_no_confirm_link(consent, link):
    with consent.db.unit_of_work() as uow:
        uow.session.add(Link(id="unsub_x", purpose="unsubscribe", organization_id=ORG,
                             resident_id="res_b1", category_id=link["category"]["id"],
                             channel="email", expires_at=utcnow() + timedelta(days=90)))
    token = tokens.sign(SECRET, "unsub_x")
    refused(lambda: consent.confirm(token, {}), InvalidRequest, "token")
    assert grants(consent) == []


def test_an_expired_link_records_nothing(consent, link):
    with consent.db.unit_of_work() as uow:
        uow.session.execute(update(Link).values(expires_at=utcnow() - timedelta(seconds=1)))
    refused(lambda: consent.describe_confirm(link["token"]), Gone, "token")
    assert "expired" in refused(lambda: consent.confirm(link["token"], {}), Gone,
                                "token").detail
    assert grants(consent) == []


def test_a_link_to_a_category_archived_since_records_nothing(consent, link):
    consent.archive_category(MASTER, link["category"]["id"])
    refused(lambda: consent.describe_confirm(link["token"]), Gone, "category_id")
    refused(lambda: consent.confirm(link["token"], {}), Gone, "category_id")
    assert grants(consent) == []


def test_a_second_request_skips_who_confirmed_the_first(consent, link):
    consent.confirm(link["token"], {})
    again = consent.create_consent_request(MASTER, link["category"]["id"], [BIRCH])
    assert again["counts"]["skipped_answered"] == 1 and again["counts"]["queued"] == 0
    assert again["status"] == "done"
