"""credits' entrypoints with worker_factory and an in-memory ledger."""

import pytest
from nameko.testing.services import worker_factory
from sqlalchemy import func, select

from contracts.errors import Forbidden, InvalidRequest, NotFound
from contracts.events import envelope
from contracts.footer import text_to_send
from contracts.pricing import delivery_credits
from servicekit.access import system_of
from servicekit.testing import memory_database, outbox_events
from services.consent import link_rules, tokens
from services.credits.models import Account, Base, Entry
from services.credits.service import CreditsService

ORG = "org_1"
ME = {"actor_type": "api_key", "actor_id": "key_1", "organization_id": ORG,
      "permissions": ["manage_credits", "send_communications"]}


@pytest.fixture
def credits():
    service = worker_factory(CreditsService, db=memory_database(Base), config={})
    service.grant(ME, ORG, "com_1", 10, "opening", "seed-1")
    return service


def finished(status, *holds):
    return envelope("deliveries_updated", {
        "communication_id": "cmm_1", "community_id": "com_1",
        "items": [{"delivery_id": h["delivery_id"], "resident_id": "res_1", "channel": "sms",
                   "status": status, "previous_status": "sent", "reason": None,
                   "error_code": None, "credits": h["amount"], "hold_id": h["hold_id"]}
                  for h in holds]}, organization_id=ORG)


def every_transaction_balances(service):
    with service.db.read() as session:
        sums = session.execute(select(Entry.transaction_id, func.sum(Entry.amount))
                               .group_by(Entry.transaction_id)).all()
    return all(total == 0 for _txn, total in sums)


def test_a_grant_replayed_with_its_key_adds_nothing(credits):
    again = credits.grant(ME, ORG, "com_1", 10, "opening", "seed-1")
    assert again["balance"] == 10


def test_grants_must_be_positive_whole_credits(credits):
    with pytest.raises(InvalidRequest) as refused:
        credits.grant(ME, ORG, "com_1", 0, "nothing", "k")
    assert refused.value.field == "amount"


def test_reserve_holds_a_batch_in_one_transaction_and_replays(credits):
    items = [{"delivery_id": "dlv_1", "amount": 2}, {"delivery_id": "dlv_2", "amount": 1}]
    first = credits.reserve(ME, "com_1", "cmm_1", items, "reserve:cmm_1")
    again = credits.reserve(ME, "com_1", "cmm_1", items, "reserve:cmm_1")
    assert again == first and first["total"] == 3
    assert credits.get_wallet(ME, "com_1") == {
        "community_id": "com_1", "balance": 10, "held": 3, "available": 7}
    assert len(outbox_events(credits.db, "credits_reserved")) == 1
    assert every_transaction_balances(credits)


def test_delivered_settles_and_failed_releases_exactly_once(credits):
    reserved = credits.reserve(ME, "com_1", "cmm_1", [
        {"delivery_id": "dlv_1", "amount": 2}, {"delivery_id": "dlv_2", "amount": 1}], "r1")
    ok, bad = reserved["holds"]
    credits.resolve_holds(finished("delivered", ok))
    credits.resolve_holds(finished("delivered", ok))        # another event, same delivery
    credits.resolve_holds(finished("failed", bad))
    credits.resolve_holds(finished("failed", ok))           # too late: already settled
    assert credits.get_wallet(ME, "com_1") == {
        "community_id": "com_1", "balance": 8, "held": 0, "available": 8}
    assert credits.get_holds(ME, "cmm_1") == {"held": 0, "charged": 2, "released": 1}
    assert len(outbox_events(credits.db, "credits_settled")) == 1
    assert len(outbox_events(credits.db, "credits_released")) == 1
    assert every_transaction_balances(credits)


def test_a_community_wallet_keeps_sending_below_zero(credits):
    reserved = credits.reserve(ME, "com_1", "cmm_1", [{"delivery_id": "d", "amount": 15}], "r")
    credits.resolve_holds(finished("delivered", *reserved["holds"]))
    assert credits.get_wallet(ME, "com_1")["balance"] == -5


def test_another_organizations_wallet_does_not_exist_for_the_caller(credits):
    stranger = dict(ME, organization_id="org_2")
    with pytest.raises(NotFound):
        credits.get_wallet(stranger, "com_1")


def test_a_wallet_is_read_only_by_those_who_send_manage_or_report_for_its_community(credits):
    elsewhere = {"actor_type": "staff", "actor_id": "usr_9", "organization_id": ORG,
                 "scopes": {"send_communications": ["com_2"], "manage_tickets": ["com_1"]}}
    with pytest.raises(Forbidden):
        credits.get_wallet(elsewhere, "com_1")
    reporter = dict(elsewhere, scopes={"view_reports": ["com_1"]})
    assert credits.get_wallet(reporter, "com_1")["balance"] == 10


def permission_event(event_type, holds_send_sms, occurred_at=None):
    env = envelope(event_type, {
        "grant_id": "grt_1", "staff_user_id": "usr_1", "name": "send_sms",
        "permissions": ["send_sms"], "scope_type": "organization", "scope_id": ORG,
        "holds_send_sms": holds_send_sms}, organization_id=ORG)
    if occurred_at:
        env["occurred_at"] = occurred_at
    return env


def test_a_user_who_loses_send_sms_has_their_credits_frozen(credits):
    credits.note_permission_granted(permission_event("permission_granted", True))
    assert credits.get_holder(ME, "usr_1")["frozen"] is False

    credits.note_permission_revoked(permission_event("permission_revoked", False))
    assert credits.get_holder(ME, "usr_1")["frozen"] is True

    # a grant that happened before the revocation but arrives after it changes nothing
    credits.note_permission_granted(permission_event("permission_granted", True,
                                                     "2000-01-01T00:00:00+00:00"))
    assert credits.get_holder(ME, "usr_1")["frozen"] is True


def test_a_holder_is_seen_by_credit_managers_and_the_user_only(credits):
    credits.note_permission_granted(permission_event("permission_granted", True))
    user = {"actor_type": "staff", "actor_id": "usr_1", "organization_id": ORG, "scopes": {}}
    stranger = dict(user, actor_id="usr_2")
    assert credits.get_holder(user, "usr_1")["holds_send_sms"] is True
    with pytest.raises(Forbidden):
        credits.get_holder(stranger, "usr_1")
    with pytest.raises(NotFound):
        credits.get_holder(dict(ME, organization_id="org_2"), "usr_1")


def test_a_quote_prices_like_messaging_with_the_organizations_rate_card(credits):
    quoted = credits.quote(ME, "ж" * 141, ["sms", "email"], 10)
    assert quoted["channels"] == {"sms": {"per_recipient": 2, "total": 20},
                                  "email": {"per_recipient": 0, "total": 0}}
    assert quoted["total"] == 20 and quoted["gsm7"] is False
    master = dict(ME, permissions=["manage_credits"], actor_type="staff")
    credits.change_settings(master, {"rates": {"unicode_text_chars": 70}})
    assert credits.quote(ME, "ж" * 141, ["sms"], 1)["total"] == 3
    assert credits.quote(ME, "", ["voice"], 4, call_seconds=61)["total"] == 8
    with pytest.raises(InvalidRequest) as bad:
        credits.change_settings(master, {"rates": {"text_chars": 0}})
    assert bad.value.field == "rates.text_chars"
    with pytest.raises(InvalidRequest, match="must be one or more of"):
        credits.quote(ME, "hi", ["fax"], 1)


def test_a_quote_with_the_unsubscribe_footer_is_what_messaging_holds(credits):
    body, public_url = "x" * 300, "https://townhall.example"   # GSM-7, 20 short of a credit
    bare = credits.quote(ME, body, ["sms", "email", "voice"], 3)
    assert bare["unsubscribe_footer"] is False
    assert bare["channels"]["sms"] == {"per_recipient": 1, "total": 3}
    quoted = credits.quote(ME, body, ["sms", "email", "voice"], 3, unsubscribe_footer=True,
                           public_url=public_url)
    assert quoted["unsubscribe_footer"] is True
    assert quoted["channels"] == {"sms": {"per_recipient": 2, "total": 6},
                                  "email": {"per_recipient": 0, "total": 0},
                                  "voice": {"per_recipient": 1, "total": 3}}
    # what messaging prices each delivery with, given the link consent issues
    settings = link_rules.link_settings({"gateway": {"public_url": public_url}})
    real = settings.url(tokens.new_link_id(link_rules.ID_PREFIX))
    assert delivery_credits("sms", text_to_send("sms", body, real)) == 2
    with pytest.raises(InvalidRequest) as bad:
        credits.quote(ME, body, ["sms"], 1, unsubscribe_footer=True)
    assert bad.value.field == "public_url"


@pytest.mark.parametrize("model, wallet", [("community", "community:com_1"),
                                           ("pool", "pool"), ("user", "pool")])
def test_townhalls_own_sends_for_an_organization_are_paid_as_any_send_or_by_the_pool(
        model, wallet):
    # work-order notices are sent by the organization's system identity, not by a user
    credits = worker_factory(CreditsService, db=memory_database(Base), config={})
    credits.open_wallet(ME, ORG, "com_1")            # as community_created opens it
    credits.change_settings(ME, {"model": model})
    credits.add_credits(ME, wallet, 5, "opening", "seed-1")
    tickets = system_of(ORG, "tickets")
    reserved = credits.reserve(tickets, "com_1", "cmm_1", [{"delivery_id": "d", "amount": 1}],
                               "reserve:cmm_1")
    assert reserved["total"] == 1
    assert credits.payer_wallet(tickets, "com_1")["wallet"] == wallet
    assert credits.wallet(ME, wallet)["held"] == 1



def test_a_grant_a_moment_after_the_community_is_made_opens_its_wallet():
    # directory answered 201; credits has not handled community_created yet
    credits = worker_factory(CreditsService, db=memory_database(Base), config={})
    credits.directory.get_community.return_value = {"id": "com_new"}
    granted = credits.add_credits(ME, "community:com_new", 7, "opening", "seed-new")
    assert granted["balance"] == 7
    (asked, community_id), _ = credits.directory.get_community.call_args
    assert community_id == "com_new" and asked["organization_id"] == ORG
    assert credits.get_wallet(ME, "com_new")["balance"] == 7


def test_a_community_directory_does_not_know_has_no_wallet():
    credits = worker_factory(CreditsService, db=memory_database(Base), config={})
    credits.directory.get_community.side_effect = NotFound("no community com_x", "community_id")
    with pytest.raises(NotFound) as refused:
        credits.add_credits(ME, "community:com_x", 7, "opening", "seed-x")
    assert refused.value.field == "wallet" and "com_x has no wallet" in refused.value.detail
    with credits.db.read() as session:
        assert session.scalar(select(func.count()).select_from(Account).where(
            Account.owner == "community:com_x")) == 0
