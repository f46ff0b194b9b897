"""How many Twilio segments a text takes — what a sender's rate limit counts, not credits
(contracts/pricing.py prices a text by Pilera's rule, apart from these provider facts).

The rules, in the order they apply:

1. the encoding: GSM-7 when every character is in the GSM 03.38 basic set or its extension
   table, otherwise UCS-2 (one character outside is enough);
2. the width of each character: GSM-7 basic 1 septet, extension 2 (an escape septet and its
   own); UCS-2 its UTF-16 code units (1, or 2 for a character beyond the BMP such as an emoji);
3. a text whose whole width fits one part (160 septets, 70 code units) is one segment;
4. a longer text is split into parts of 153 septets or 67 code units (the rest is the
   concatenation header), and a character is never split between two parts: an escape pair
   or a surrogate pair that would straddle the boundary starts the next part, so such a text
   can take one segment more than ceil(width / 153). That is what handsets and carriers do,
   and counting high keeps a sender under its rate;
5. an empty text is one segment: Twilio refuses a text without a body, and whatever is
   handed over takes at least one part of the sender's capacity, so nothing is free to the
   rate limit.
"""

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# each costs an escape septet plus its own
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")

GSM7, UCS2 = "GSM-7", "UCS-2"
# encoding → (one part alone, each part of a longer text), in septets or code units
PART_SIZES = {GSM7: (160, 153), UCS2: (70, 67)}


def is_gsm7(text):
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text)


def encoding(text):
    return GSM7 if is_gsm7(text) else UCS2


def widths(text):
    """Each character's width in the text's encoding (septets or UTF-16 code units)."""
    if is_gsm7(text):
        return [2 if ch in GSM7_EXTENSION else 1 for ch in text]
    return [2 if ord(ch) > 0xFFFF else 1 for ch in text]


def segments(text):
    sizes = widths(text)
    single, part = PART_SIZES[encoding(text)]
    if sum(sizes) <= single:
        return 1
    count, used = 1, 0
    for size in sizes:
        if used + size > part:
            count, used = count + 1, 0
        used += size
    return count
