"""Text a PDF's built-in fonts can show (fpdf2's Helvetica: Windows-1252 — Western European
names, the euro sign, curly quotes): any other character is written without its accent, or
as "?". Used by every PDF Townhall makes (invoices, printed work orders)."""

import unicodedata

ENCODING = "windows-1252"
# letters that have no decomposition into a base letter and an accent
PLAIN_LETTERS = {"Ł": "L", "ł": "l", "Đ": "D", "đ": "d", "Ħ": "H", "ħ": "h", "ı": "i"}


def shown(text: str) -> str:
    """What Helvetica can show: the text itself, else without accents, else "?"."""
    try:
        text.encode(ENCODING)
        return text
    except UnicodeEncodeError:
        pass
    kept = []
    for char in text:
        try:
            char.encode(ENCODING)
            kept.append(char)
        except UnicodeEncodeError:
            bare = PLAIN_LETTERS.get(char) or "".join(
                c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
            kept.append(bare if bare and bare.isascii() else "?")
    return "".join(kept)
