"""Unsubscribe links through consent's RPCs, with worker_factory, an in-memory database and a
fake directory: links issued for a whole batch and reused, the page's description, and a
withdrawal recorded once with its evidence — or refused, with nothing recorded."""

from datetime import timedelta

import pytest
from nameko.testing.services import worker_factory
from sqlalchemy import func, select, update

from contracts.errors import Gone, InvalidRequest, NotFound
from servicekit.db import utcnow
from servicekit.testing import memory_database, outbox_events
from services.consent import link_rules, tokens
from services.consent.models import Base, ConsentEvent, Link
from services.consent.service import ConsentService

ORG = "org_1"
MANAGER = {"actor_type": "staff", "actor_id": "usr_1", "organization_id": ORG,
           "scopes": {"manage_consent_categories": "*", "send_communications": "*"}}
STRANGER = dict(MANAGER, organization_id="org_2", actor_id="usr_9")
ADA = {"resident_id": "res_ada", "address": "ada@example.com"}
GRACE = {"resident_id": "res_grace", "address": "grace@example.com"}
SETTINGS = link_rules.LinkSettings(secret="s" * 32, days=90,
                                   public_url="https://townhall.example")
WORDS = {"wording": "Unsubscribe a•••@example.com from News emails", "ip": "203.0.113.5",
         "user_agent": "Firefox"}


class FakeDirectory:
    def __init__(self):
        self.asked = []

    def get_organization(self, identity):
        self.asked.append(identity)
        return {"id": identity["organization_id"], "name": "Maple Grove Property Management"}


@pytest.fixture
def consent():
    return worker_factory(ConsentService, db=memory_database(Base), config={},
                          directory=FakeDirectory(), link_settings=SETTINGS)


@pytest.fixture
def categories(consent):
    def make(name, mode="opt_in", **options):
        return consent.create_category(MANAGER, ORG, name, mode, **options)["id"]
    return {"news": make("News"), "events": make("Events"),
            "no_opt_out": make("Board minutes", opt_out_enabled=False),
            "work_orders": make("Work orders", transactional=True),
            "old": make("Old offers")}


def token_of(url):
    assert url.startswith("https://townhall.example/u/")
    return url.rsplit("/", 1)[1]


def links_count(consent):
    with consent.db.read() as session:
        return session.scalar(select(func.count()).select_from(Link))


def log(consent):
    with consent.db.read() as session:
        return session.scalars(select(ConsentEvent).order_by(ConsentEvent.seq)).all()


def test_links_are_issued_for_the_whole_batch_and_reused(consent, categories):
    urls = consent.unsubscribe_links(MANAGER, categories["news"], "email", [ADA, GRACE])
    assert set(urls) == {"res_ada", "res_grace"} and len(set(urls.values())) == 2
    with consent.db.read() as session:
        link = session.get(Link, tokens.verify(SETTINGS.secret, token_of(urls["res_ada"])))
    assert (link.purpose, link.resident_id, link.category_id, link.channel, link.address) == (
        "unsubscribe", "res_ada", categories["news"], "email", "ada@example.com")
    assert timedelta(days=89) < link.expires_at - utcnow() <= timedelta(days=90)

    again = consent.unsubscribe_links(MANAGER, categories["news"], "email", [ADA, GRACE])
    assert again == urls and links_count(consent) == 2
    # another channel, or another address, is another link
    texts = consent.unsubscribe_links(MANAGER, categories["news"], "sms",
                                      [{"resident_id": "res_ada", "address": "+15551230001"}])
    moved = consent.unsubscribe_links(MANAGER, categories["news"], "email",
                                      [dict(ADA, address="ada@new.example")])
    assert texts["res_ada"] != urls["res_ada"] != moved["res_ada"]
    assert links_count(consent) == 4


def test_a_link_with_less_than_60_days_left_is_replaced(consent, categories):
    first = consent.unsubscribe_links(MANAGER, categories["news"], "email", [ADA])
    with consent.db.unit_of_work() as uow:
        uow.session.execute(update(Link).values(expires_at=utcnow() + timedelta(days=59)))
    second = consent.unsubscribe_links(MANAGER, categories["news"], "email", [ADA])
    assert second != first and links_count(consent) == 2


def test_categories_without_opt_out_get_no_links(consent, categories):
    for name in ("no_opt_out", "work_orders"):
        assert consent.unsubscribe_links(MANAGER, categories[name], "email", [ADA]) == {}
    assert links_count(consent) == 0


def test_only_the_categorys_organization_gets_links(consent, categories):
    with pytest.raises(NotFound):
        consent.unsubscribe_links(STRANGER, categories["news"], "email", [ADA])
    with pytest.raises(NotFound):
        consent.unsubscribe_links(MANAGER, "cat_nope", "email", [ADA])
    with pytest.raises(InvalidRequest) as refused:
        consent.unsubscribe_links(MANAGER, categories["news"], "fax", [ADA])
    assert refused.value.field == "channel"


def test_the_page_is_described_without_login(consent, categories):
    consent.archive_category(MANAGER, categories["old"])
    token = token_of(consent.unsubscribe_links(MANAGER, categories["news"], "email",
                                               [ADA])["res_ada"])
    view = consent.describe_unsubscribe(token)
    assert view["organization_name"] == "Maple Grove Property Management"
    assert (view["category_name"], view["channel"], view["address"]) == (
        "News", "email", "a•••@example.com")
    # the other commercial categories: not transactional, not archived
    assert [c["name"] for c in view["other_categories"]] == ["Board minutes", "Events"]
    assert view["used_at"] is None
    (asked,) = consent.directory.asked
    assert asked["organization_id"] == ORG
    assert log(consent) == []   # describing records nothing


def test_unsubscribing_withdraws_the_category_once_with_its_evidence(consent, categories):
    token = token_of(consent.unsubscribe_links(MANAGER, categories["news"], "email",
                                               [ADA])["res_ada"])
    done = consent.unsubscribe(token, "category", WORDS)
    assert done["categories"] == [{"id": categories["news"], "name": "News",
                                   "withdrawn_now": True}]
    (event,) = log(consent)
    assert (event.resident_id, event.category_id, event.channel, event.action, event.method,
            event.recorded_by) == ("res_ada", categories["news"], "email", "withdraw",
                                   "unsubscribe_link", "resident:res_ada")
    assert event.evidence["wording"] == WORDS["wording"]
    assert event.evidence["address"] == "ada@example.com"
    assert (event.evidence["ip"], event.evidence["user_agent"]) == ("203.0.113.5", "Firefox")
    assert event.evidence["link_id"] == tokens.verify(SETTINGS.secret, token)
    (recorded,) = outbox_events(consent.db, "consent_recorded")
    assert recorded["data"] == {"resident_id": "res_ada", "channel": "email",
                                "category_id": categories["news"], "action": "withdraw",
                                "method": "unsubscribe_link"}
    # the very next check sees it
    (decision,) = consent.check(MANAGER, categories["news"], "email",
                                [{"resident_id": "res_ada", "has_contact_point": True}])
    assert (decision["allowed"], decision["reason"]) == (False, "opted_out")
    (other,) = consent.check(MANAGER, categories["events"], "email",
                             [{"resident_id": "res_ada", "has_contact_point": True}])
    assert other["allowed"]
    # the link still works, and records nothing twice
    assert consent.unsubscribe(token, "category", WORDS)["categories"][0][
        "withdrawn_now"] is False
    assert len(log(consent)) == 1
    assert consent.describe_unsubscribe(token)["used_at"] is not None


def test_every_commercial_category_is_withdrawn_on_that_channel_only(consent, categories):
    token = token_of(consent.unsubscribe_links(MANAGER, categories["news"], "email",
                                               [ADA])["res_ada"])
    consent.unsubscribe(token, "category", WORDS)
    done = consent.unsubscribe(token, "all_commercial", WORDS)
    assert [(c["name"], c["withdrawn_now"]) for c in done["categories"]] == [
        ("News", False), ("Board minutes", True), ("Events", True), ("Old offers", True)]
    events = log(consent)
    assert {e.category_id for e in events} == {categories[n] for n in (
        "news", "no_opt_out", "events", "old")}
    assert {e.channel for e in events} == {"email"}
    assert categories["work_orders"] not in {e.category_id for e in events}


@pytest.mark.parametrize("change", [
    lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),
    lambda t: t[:8] + ("x" if t[8] != "x" else "y") + t[9:],
    lambda t: t.split(".")[0],
    lambda t: tokens.sign(SETTINGS.secret, "unsub_unknown"),
    lambda t: tokens.sign("o" * 32, t.split(".")[0]),
])
def test_a_changed_or_unknown_token_is_refused_and_nothing_recorded(consent, categories,
                                                                    change):
    token = token_of(consent.unsubscribe_links(MANAGER, categories["news"], "email",
                                               [ADA])["res_ada"])
    for call in (lambda t: consent.describe_unsubscribe(t),
                 lambda t: consent.unsubscribe(t, "all_commercial", WORDS)):
        with pytest.raises(InvalidRequest) as refused:
            call(change(token))
        assert refused.value.field == "token" and "not valid" in refused.value.detail
    assert log(consent) == [] and outbox_events(consent.db, "consent_recorded") == []


def test_a_confirm_link_is_not_an_unsubscribe_link(consent, categories):
    with consent.db.unit_of_work() as uow:
        uow.session.add(Link(id="conf_1", purpose="confirm", organization_id=ORG,
                             resident_id="res_ada", category_id=categories["news"],
                             channel="email", address="ada@example.com",
                             expires_at=utcnow() + timedelta(days=30)))
    with pytest.raises(InvalidRequest):
        consent.unsubscribe(tokens.sign(SETTINGS.secret, "conf_1"), "category", WORDS)
    assert log(consent) == []


def test_an_expired_link_is_gone_and_nothing_recorded(consent, categories):
    token = token_of(consent.unsubscribe_links(MANAGER, categories["news"], "email",
                                               [ADA])["res_ada"])
    with consent.db.unit_of_work() as uow:
        uow.session.execute(update(Link).values(expires_at=utcnow() - timedelta(seconds=1)))
    with pytest.raises(Gone) as gone:
        consent.describe_unsubscribe(token)
    assert gone.value.status == 410 and gone.value.field == "token"
    with pytest.raises(Gone):
        consent.unsubscribe(token, "category", WORDS)
    assert log(consent) == []


@pytest.mark.parametrize("scope, evidence, field", [
    ("everything", WORDS, "scope"),
    ("category", {"ip": "203.0.113.5"}, "wording"),
])
def test_a_use_without_scope_or_wording_is_refused(consent, categories, scope, evidence,
                                                   field):
    token = token_of(consent.unsubscribe_links(MANAGER, categories["news"], "email",
                                               [ADA])["res_ada"])
    with pytest.raises(InvalidRequest) as refused:
        consent.unsubscribe(token, scope, evidence)
    assert refused.value.field == field
    assert log(consent) == []
