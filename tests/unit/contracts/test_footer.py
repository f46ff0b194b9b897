"""The unsubscribe footer and headers, composed once (pure) and priced as sent; and the
placeholder link a quote prices with, as long as a real one."""

import string

import pytest

from contracts import footer
from contracts.pricing import delivery_credits, is_gsm7
from services.consent import link_rules, tokens

URL = "https://townhall.example/u/unsub_AbCdEfGhIjKlMnOpQrStUv.0123456789abcdefghijkl"


def test_a_text_ends_with_its_unsubscribe_link():
    assert footer.text_to_send("sms", "Water off at noon", URL) == (
        f"Water off at noon\nUnsubscribe: {URL}")


def test_an_email_ends_with_its_unsubscribe_link():
    text = footer.text_to_send("email", "Water off at noon.\n\n", URL)
    assert text.startswith("Water off at noon.\n\n--\n")
    assert text.rstrip().endswith(URL) and "no login" in text


def test_without_a_link_the_body_goes_as_written():
    for channel in ("sms", "email", "voice"):
        assert footer.text_to_send(channel, "Hello", None) == "Hello"
    assert footer.email_headers(None) == {}


def test_a_call_carries_no_link():
    assert footer.text_to_send("voice", "Hello", URL) == "Hello"


def test_email_headers_offer_one_click_unsubscribe():
    assert footer.email_headers(URL) == {
        "List-Unsubscribe": f"<{URL}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


@pytest.mark.parametrize("url", ["javascript:alert(1)", URL + "\r\nBcc: x@example.com",
                                 URL + ">, <mailto:x@example.com", "https://a b"])
def test_a_link_that_could_bend_a_header_is_refused(url):
    with pytest.raises(ValueError):
        footer.email_headers(url)
    with pytest.raises(ValueError):
        footer.text_to_send("sms", "Hi", url)


def test_the_footer_is_priced_as_sent():
    body = "x" * 300   # one credit alone; two with the footer
    assert delivery_credits("sms", body) == 1
    assert delivery_credits("sms", footer.text_to_send("sms", body, URL)) == 2


@pytest.mark.parametrize("opt_out_enabled, transactional, carries", [
    (True, False, True), (True, True, False), (False, False, False), (False, True, False)])
def test_only_opt_out_enabled_non_transactional_categories_carry_a_link(
        opt_out_enabled, transactional, carries):
    assert footer.carries_unsubscribe_link(opt_out_enabled, transactional) is carries


# --- the placeholder a quote prices with --------------------------------------------------

@pytest.mark.parametrize("public_url", ["http://127.0.0.1:8000", "https://townhall.example/",
                                        "https://pilera.example/townhall"])
def test_the_placeholder_is_exactly_as_long_as_a_real_link(public_url):
    # a real link as consent issues it: a fresh signed token under the configured address;
    # if the token format changes, this fails until PLACEHOLDER_TOKEN follows it
    settings = link_rules.link_settings({"gateway": {"public_url": public_url}})
    placeholder = footer.placeholder_unsubscribe_link(public_url)
    for _ in range(20):   # token_urlsafe(16) is always 22 characters; look at a few anyway
        link_id = tokens.new_link_id(link_rules.ID_PREFIX)
        real = settings.url(link_id)
        assert real.endswith("/u/" + tokens.sign(settings.secret, link_id))
        assert len(placeholder) == len(real)
        assert placeholder.rsplit("/u/", 1)[0] == real.rsplit("/u/", 1)[0]
        assert is_gsm7(placeholder) == is_gsm7(real)


def test_every_character_a_token_can_have_is_gsm7_like_the_placeholder():
    # so a body priced per 320 characters with the placeholder is not per 140 with a real link
    alphabet = string.ascii_letters + string.digits + "-_."
    assert is_gsm7(alphabet) and is_gsm7(footer.PLACEHOLDER_TOKEN)


@pytest.mark.parametrize("body", ["x" * 300, "x" * 241, "x" * 242, "ж" * 60, "ж" * 61, ""])
def test_a_body_with_the_placeholder_costs_what_it_costs_with_a_real_link(body):
    settings = link_rules.link_settings({"gateway": {"public_url": "https://t.example"}})
    real = settings.url(tokens.new_link_id(link_rules.ID_PREFIX))
    placeholder = footer.placeholder_unsubscribe_link("https://t.example")
    for channel in ("sms", "email"):
        assert (delivery_credits(channel, footer.text_to_send(channel, body, placeholder))
                == delivery_credits(channel, footer.text_to_send(channel, body, real)))
