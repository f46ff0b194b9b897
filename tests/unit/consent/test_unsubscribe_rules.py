"""Unsubscribe links' pure rules: signed tokens, how long a link lives and when it is reused,
what a use withdraws, the masked address and the evidence. No I/O."""

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from services.consent import link_rules, tokens

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
SECRET = "x" * 32


def link(expires_in_days, address="ada@example.com", link_id="unsub_1"):
    return SimpleNamespace(id=link_id, address=address,
                           expires_at=NOW + timedelta(days=expires_in_days))


def test_a_token_is_the_link_id_and_its_signature():
    token = tokens.sign(SECRET, "unsub_abc")
    assert token.startswith("unsub_abc.")
    assert tokens.verify(SECRET, token) == "unsub_abc"


@pytest.mark.parametrize("change", [
    lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),          # one character of the signature
    lambda t: "unsub_abd" + t[len("unsub_abc"):],                # one character of the id
    lambda t: t.split(".")[0],                                    # cut short: no signature
    lambda t: t + ".x",                                           # an extra part
    lambda t: "",
    lambda t: t[:-1] + "é",                                       # outside ASCII (not a 500)
    lambda t: "unsub_ab\u00e7" + t[len("unsub_abc"):],
])
def test_a_changed_or_incomplete_token_is_refused(change):
    with pytest.raises(tokens.BadToken):
        tokens.verify(SECRET, change(tokens.sign(SECRET, "unsub_abc")))


def test_a_token_signed_with_another_key_is_refused():
    with pytest.raises(tokens.BadToken):
        tokens.verify(SECRET, tokens.sign("y" * 32, "unsub_abc"))


def test_settings_default_to_90_days_and_refuse_less_than_60():
    settings = link_rules.link_settings({"gateway": {"public_url": "https://t.example/"}})
    assert (settings.days, settings.public_url) == (90, "https://t.example")
    assert settings.url("unsub_1") == "https://t.example/u/" + tokens.sign(settings.secret,
                                                                           "unsub_1")
    assert link_rules.link_settings({"consent": {"unsubscribe_link_days": 60}}).days == 60
    for days in (59, 0, "90", None, True):
        with pytest.raises(RuntimeError, match="unsubscribe_link_days"):
            link_rules.link_settings({"consent": {"unsubscribe_link_days": days}})


def test_outside_development_a_signing_key_is_required():
    with pytest.raises(RuntimeError, match="link_secret"):
        link_rules.link_settings({"environment": "production"})


def test_a_link_is_reused_only_while_it_has_60_days_left():
    assert link_rules.reusable(NOW + timedelta(days=60), NOW)
    assert not link_rules.reusable(NOW + timedelta(days=60) - timedelta(seconds=1), NOW)
    assert link_rules.expires_at(NOW, 90) == NOW + timedelta(days=90)


def test_a_link_expires_at_its_expiry_time():
    assert not link_rules.expired(NOW + timedelta(seconds=1), NOW)
    assert link_rules.expired(NOW, NOW)
    assert link_rules.expired(NOW - timedelta(days=1), NOW)


def test_the_longest_lived_link_to_the_same_address_is_reused():
    old, newer = link(61, link_id="unsub_old"), link(89, link_id="unsub_new")
    other_address = link(90, address="ada@new.example", link_id="unsub_moved")
    short = link(59, link_id="unsub_short")
    assert link_rules.pick_reusable([old, newer, other_address, short], "ada@example.com",
                                    NOW) is newer
    assert link_rules.pick_reusable([short, other_address], "ada@example.com", NOW) is None
    assert link_rules.pick_reusable([], "ada@example.com", NOW) is None


def test_a_use_withdraws_its_category_or_every_commercial_one_but_never_twice():
    commercial = ["cat_news", "cat_events", "cat_offers"]
    assert link_rules.to_withdraw("cat_news", "category", commercial, {}) == ["cat_news"]
    assert link_rules.to_withdraw("cat_news", "all_commercial", commercial, {}) == [
        "cat_news", "cat_events", "cat_offers"]
    latest = {"cat_news": "withdraw", "cat_events": "grant", "cat_offers": "withdraw"}
    assert link_rules.to_withdraw("cat_news", "category", commercial, latest) == []
    assert link_rules.to_withdraw("cat_news", "all_commercial", commercial, latest) == [
        "cat_events"]
    with pytest.raises(ValueError):
        link_rules.to_withdraw("cat_news", "everything", commercial, {})


@pytest.mark.parametrize("address, shown", [
    ("ada@example.com", "a•••@example.com"),
    ("a@example.com", "a•••@example.com"),
    ("+15551230001", "•••0001"),
    ("123", "•••"),
    (None, ""),
])
def test_the_page_shows_a_masked_address(address, shown):
    assert link_rules.mask_address(address) == shown


def test_evidence_keeps_the_words_shown_where_the_link_went_and_who_used_it():
    used = link(90, address="ada@example.com", link_id="unsub_1")
    kept = link_rules.evidence({"wording": "Unsubscribe from News emails", "ip": "203.0.113.5",
                                "user_agent": "x" * 500, "address": "forged@example.com"},
                               used)
    assert kept == {"wording": "Unsubscribe from News emails", "address": "ada@example.com",
                    "link_id": "unsub_1", "ip": "203.0.113.5", "user_agent": "x" * 300,
                    "one_click": False}
    for wording in (None, "", "   ", "w" * 1001):
        with pytest.raises(ValueError, match="words shown"):
            link_rules.evidence({"wording": wording}, used)
