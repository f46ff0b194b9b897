"""POST /v1/credits/quote: with a category the gateway asks consent whether its messages carry
an unsubscribe link and tells credits to price the footer, with the configured public address;
without one the bare body is priced and the answer says so."""

import pytest
from nameko.testing.services import worker_factory
from werkzeug.test import EnvironBuilder

from contracts.errors import InvalidRequest, NotFound
from gateway.service import GatewayService

IDENTITY = {"actor_type": "api_key", "actor_id": "key_1", "organization_id": "org_1"}
CATEGORIES = {
    "cat_news": {"opt_out_enabled": True, "transactional": False, "archived": False},
    "cat_works": {"opt_out_enabled": True, "transactional": True, "archived": False},
    "cat_old": {"opt_out_enabled": True, "transactional": False, "archived": True},
}


class FakeDirectory:
    COMMUNITIES = {"com_1"}   # the caller's organization's; any other id is not found

    def authenticate(self, key):
        return IDENTITY

    def get_community(self, identity, community_id):
        if community_id not in self.COMMUNITIES:
            raise NotFound(f"community {community_id} does not exist", "community_id")
        return {"id": community_id}


class FakeConsent:
    def __init__(self):
        self.asked = []

    def get_category(self, identity, category_id):
        self.asked.append(category_id)
        return dict(CATEGORIES[category_id], id=category_id)


class FakeCredits:
    def __init__(self):
        self.quoted = []

    def payer_wallet(self, identity, community_id):
        return {"wallet": f"community:{community_id}", "owner_type": "community",
                "owner_id": community_id, "balance": 0, "held": 0, "available": 0,
                "frozen": False}

    def quote(self, identity, **request):
        self.quoted.append(request)
        footer = request.get("unsubscribe_footer", False)
        return {"channels": {}, "recipients": request["recipients"], "total": 0,
                "characters": len(request["body"]), "gsm7": True,
                "unsubscribe_footer": footer, "rates": {}}


@pytest.fixture
def gateway():
    return worker_factory(GatewayService, directory=FakeDirectory(), consent=FakeConsent(),
                          credits=FakeCredits(),
                          config={"gateway": {"public_url": "https://townhall.example"}})


def post(gateway, **body):
    request = EnvironBuilder(method="POST", path="/v1/credits/quote",
                             headers={"Authorization": "Bearer th_key"},
                             json={"body": "x" * 300, "channels": ["sms"], "recipients": 1,
                                   **body}).get_request()
    return gateway.quote(request)


def test_an_opt_out_enabled_category_is_quoted_with_its_footer(gateway):
    answer = post(gateway, category_id="cat_news")
    assert gateway.consent.asked == ["cat_news"]
    (asked,) = gateway.credits.quoted
    assert (asked["unsubscribe_footer"], asked["public_url"]) == (
        True, "https://townhall.example")
    assert answer["unsubscribe_footer"] is True


def test_a_transactional_category_is_quoted_bare(gateway):
    assert post(gateway, category_id="cat_works")["unsubscribe_footer"] is False
    assert gateway.credits.quoted[0]["unsubscribe_footer"] is False


def test_without_a_category_the_bare_body_is_quoted_and_consent_is_not_asked(gateway):
    answer = post(gateway)
    assert gateway.consent.asked == []
    assert "unsubscribe_footer" not in gateway.credits.quoted[0]
    assert answer["unsubscribe_footer"] is False


def test_an_archived_category_is_refused_as_a_send_would_be(gateway):
    with pytest.raises(InvalidRequest) as refused:
        post(gateway, category_id="cat_old")
    assert refused.value.field == "category_id" and "archived" in str(refused.value)
    assert gateway.credits.quoted == []


def test_a_quote_for_a_community_shows_the_balance_that_would_pay(gateway):
    assert post(gateway, community_id="com_1")["balance"]["wallet"] == "community:com_1"


@pytest.mark.parametrize("community_id", ["com_elsewhere", "com_made_up"])
def test_a_community_not_the_callers_is_not_found_and_not_quoted(gateway, community_id):
    with pytest.raises(NotFound) as missing:
        post(gateway, community_id=community_id)
    assert missing.value.field == "community_id"
    assert gateway.credits.quoted == []
