"""An A4 page for Townhall's PDFs (invoices, printed work orders), and text their built-in
fonts can show (fpdf2's Helvetica: Windows-1252 — Western European names, the euro sign,
curly quotes): any other character is written without its accent, or as "?"."""

import unicodedata

from fpdf import FPDF

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


def a4_document(title, created_at):
    """An A4 PDF with 15 mm margins, its title and creation date set (to `created_at`,
    which must be timezone-aware, so the same inputs give the same bytes), on its first
    page."""
    if created_at.tzinfo is None or created_at.utcoffset() is None:
        raise ValueError("created_at: must be timezone-aware")
    pdf = FPDF(format="A4")
    pdf.core_fonts_encoding = ENCODING
    pdf.set_margins(15, 15, 15)
    pdf.set_auto_page_break(True, margin=15)
    pdf.set_creation_date(created_at)
    pdf.set_title(shown(title))
    pdf.add_page()
    return pdf
