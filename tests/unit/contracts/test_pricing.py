import pytest

from contracts.pricing import RateCard, delivery_credits, is_gsm7, text_credits, voice_credits


@pytest.mark.parametrize("body, credits", [
    ("", 0),
    ("a", 1),
    ("a" * 320, 1),
    ("a" * 321, 2),
    ("a" * 640, 2),
    ("a" * 641, 3),
    ("Pool closed {today} [B] ~ €5 | ^", 1),   # extension table still counts as GSM-7
])
def test_gsm7_text_costs_one_credit_per_320_characters(body, credits):
    assert text_credits(body) == credits


@pytest.mark.parametrize("body, credits", [
    ("é" * 10 + "ł", 1),          # ł is outside GSM-7
    ("ł" * 140, 1),
    ("ł" * 141, 2),
    ("a" * 139 + "😀", 1),
    ("a" * 300 + "ł", 3),          # would be 1 credit without the ł
])
def test_any_non_gsm7_character_prices_per_140(body, credits):
    assert text_credits(body) == credits


def test_the_gsm7_alphabet():
    assert is_gsm7("Hello @ £5, Ñandu! ¿Qué? ÄÖÜ äöü")
    assert not is_gsm7("Ñandú")      # ú is not in GSM-7 (ù is)
    assert not is_gsm7("naïve")      # ï is not in GSM-7
    assert not is_gsm7("“quotes”")


@pytest.mark.parametrize("seconds, credits", [(0, 0), (1, 1), (60, 1), (61, 2), (125, 3)])
def test_voice_is_priced_per_started_minute_and_unanswered_is_free(seconds, credits):
    assert voice_credits(seconds) == credits


def test_email_is_free_and_rate_card_is_respected():
    assert delivery_credits("email", "x" * 5000) == 0
    assert delivery_credits("sms", "x" * 200, RateCard(text_chars=160)) == 2
    with pytest.raises(ValueError, match="voice"):
        delivery_credits("voice", "hello")
