"""Twilio segments, written out at every boundary: one part up to 160 septets or 70 code
units, then parts of 153 or 67, a character never split between two parts."""

import math

import pytest

from contracts import pricing
from contracts.segments import GSM7_EXTENSION, encoding, segments

EMOJI = "😀"   # one character, two UTF-16 code units


def short(value):
    """A readable test id for a long text: its first characters and its length."""
    if isinstance(value, str) and len(value) > 12:
        return f"{value[:3]}…{len(value)}"
    return None


@pytest.mark.parametrize("text, expected", [
    ("", "GSM-7"),
    ("Water shut-off at 10 am, Maple Grove", "GSM-7"),
    ("Pool {closed} [B] ~ €5 | ^ \\", "GSM-7"),   # the extension table is still GSM-7
    ("Hello @ £5, Ñandu! ¿Qué? ÄÖÜ äöü", "GSM-7"),
    ("Ñandú", "UCS-2"),                          # ú is not in GSM-7 (ù is)
    ("“quotes”", "UCS-2"),
    ("a" * 500 + "ł", "UCS-2"),                  # one character outside is enough
    ("fire drill " + EMOJI, "UCS-2"),
], ids=short)
def test_encoding(text, expected):
    assert encoding(text) == expected


@pytest.mark.parametrize("text, parts", [
    # GSM-7: one part of 160 septets, then parts of 153
    ("", 1),                    # Twilio bills "" as one part; nothing is free to the limit
    ("a", 1),
    ("a" * 160, 1),
    ("a" * 161, 2),
    ("a" * 153 * 2, 2),
    ("a" * (153 * 2 + 1), 3),
    ("a" * 153 * 3, 3),
    ("a" * (153 * 3 + 1), 4),
    # extension characters are two septets each
    ("{" * 80, 1),              # 160 septets
    ("a" * 159 + "€", 2),       # 161 septets
    ("a" * 158 + "€", 1),       # 160 septets
    ("€" * 152, 2),             # 304 septets: 76 pairs in each part of 153
    ("€" * 153, 3),             # 306 septets: the 77th pair does not fit 153, nor the 153rd
    # an escape pair never straddles two parts: 152 + pair does not fit in 153
    ("a" * 152 + "[" + "a" * 10, 2),   # 164 septets: [ starts part 2 → 152 | 12
    ("a" * 152 + "[" + "a" * 152, 3),  # 306 septets would be 2; [ moves → 152 | 154 > 153
    ("a" * 153 + "[" + "a" * 151, 2),  # 306 septets, the pair starts part 2 exactly
    # UCS-2: one part of 70 code units, then parts of 67
    ("ł", 1),
    ("ł" * 70, 1),
    ("ł" * 71, 2),
    ("ł" * 134, 2),
    ("ł" * 135, 3),
    ("é" * 160 + "ł", 3),       # é is GSM-7, but ł makes the whole text UCS-2: 161 units
    # an emoji is two code units
    (EMOJI * 35, 1),            # 70 units
    (EMOJI + "ł" * 69, 2),      # 71 units
    (EMOJI * 67, 3),            # 134 units, but 33 pairs fill 66 of each 67-unit part
    ("ł" * 65 + EMOJI + "ł" * 67, 2),   # 134 units, the pair ends part 1 exactly
    ("ł" * 66 + EMOJI + "ł" * 66, 3),   # 134 units, the pair straddles: 66 | 68 > 67
    ("ł" * 67 + EMOJI + "ł" * 65, 2),   # 134 units, the pair starts part 2
    ("ł" * 133 + EMOJI, 3),     # 135 units
], ids=short)
def test_segments(text, parts):
    assert segments(text) == parts


@pytest.mark.parametrize("length", range(0, 700, 7))
def test_plain_gsm7_text_follows_the_formula(length):
    text = "a" * length
    assert segments(text) == (1 if length <= 160 else math.ceil(length / 153))


def test_pricing_and_segments_share_one_alphabet():
    for ch in GSM7_EXTENSION:
        assert pricing.is_gsm7(ch) and encoding(ch) == "GSM-7"
    assert not pricing.is_gsm7("ł") and encoding("ł") == "UCS-2"
