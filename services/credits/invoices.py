"""The tax invoice / receipt of a credit order, as a PDF (fpdf2, no system fonts needed).

One document serves both: "PAID" with the payment's reference once paid (a receipt), "Payment
due" while an invoice waits for its payment. Every amount comes from the order's integer minor
units through `format_money`. The PDF's built-in Helvetica covers Windows-1252 (Western European
names, €, curly quotes); any other character is written without its accent or as "?".
"""

from datetime import datetime

from fpdf import FPDF

from servicekit.pdf_text import a4_document
from servicekit.pdf_text import shown as _text
from services.credits.orders import (
    Order,
    Party,
    format_money,
    format_rate,
    subtotal,
    tax,
    total,
)
from services.credits.payments import PENDING, SUCCEEDED, PaymentResult

TITLE = "Tax invoice / Receipt"
TARGET_NAMES = {"community": "Community", "pool": "Organization pool", "user": "User"}
PAYMENT_NAMES = {"sandbox": "card", "invoice": "invoice payment"}
LINE_HEIGHT = 5.5
COLUMNS = (90, 25, 30, 35)  # description, quantity, unit price, amount (mm; page body is 180)


def render_invoice_pdf(order: Order, payment: PaymentResult, issued_at: datetime) -> bytes:
    """The PDF bytes. `payment` must be succeeded (receipt) or pending (invoice due);
    `issued_at` must be timezone-aware, and the PDF's creation date is set to it, so the
    same order, payment and time give the same document."""
    if payment.status not in (SUCCEEDED, PENDING):
        raise ValueError(f"payment: an invoice is issued for a paid or invoiced order, not a "
                         f"{payment.status} payment")
    if issued_at.tzinfo is None or issued_at.utcoffset() is None:
        raise ValueError("issued_at: must be timezone-aware")
    pdf = a4_document(f"{TITLE} {order.number}", issued_at)
    pdf.set_author(_text(order.seller.name))
    _heading(pdf, order, issued_at)
    _parties(pdf, order.seller, order.buyer)
    _lines(pdf, order)
    _totals(pdf, order)
    _payment(pdf, order, payment)
    return bytes(pdf.output())


def _heading(pdf: FPDF, order: Order, issued_at: datetime) -> None:
    pdf.set_font("Helvetica", "B", 18)
    pdf.cell(0, 10, TITLE, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    pdf.cell(0, LINE_HEIGHT, f"Order number: {order.number}", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, LINE_HEIGHT, f"Issue date: {issued_at.date().isoformat()}",
             new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)


def _parties(pdf: FPDF, seller: Party, buyer: Party) -> None:
    top = pdf.get_y()
    _party(pdf, "Seller", seller, x=15)
    seller_bottom = pdf.get_y()
    pdf.set_y(top)
    _party(pdf, "Buyer", buyer, x=110)
    pdf.set_y(max(seller_bottom, pdf.get_y()) + 4)


def _party(pdf: FPDF, heading: str, party: Party, x: float) -> None:
    lines = [party.name, *party.address.splitlines()]
    if party.email:
        lines.append(party.email)
    if party.tax_number:
        lines.append(f"Tax number: {party.tax_number}")
    pdf.set_x(x)
    pdf.set_font("Helvetica", "B", 10)
    pdf.cell(85, LINE_HEIGHT, heading, new_x="LEFT", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    for line in lines:
        pdf.set_x(x)
        pdf.multi_cell(85, LINE_HEIGHT, _text(line.strip()), new_x="LEFT", new_y="NEXT")


def _lines(pdf: FPDF, order: Order) -> None:
    pdf.set_x(15)
    target = f"{TARGET_NAMES[order.target_kind]}: {order.target_label}"
    pdf.multi_cell(0, LINE_HEIGHT, _text(f"Credits for {target}"), new_x="LMARGIN",
                   new_y="NEXT")
    pdf.ln(2)
    pdf.set_font("Helvetica", "B", 10)
    for width, heading, align in zip(COLUMNS, ("Description", "Quantity", "Unit price",
                                               "Amount"), "LRRR", strict=True):
        pdf.cell(width, 7, heading, border="B", align=align)
    pdf.ln()
    pdf.set_font("Helvetica", "", 10)
    cells = ("Communication credits", f"{order.quantity:,}",
             format_money(order.unit_price, order.currency),
             format_money(subtotal(order), order.currency))
    for width, text, align in zip(COLUMNS, cells, "LRRR", strict=True):
        pdf.cell(width, 7, text, align=align)
    pdf.ln(10)


def _totals(pdf: FPDF, order: Order) -> None:
    label_width, amount_width = sum(COLUMNS[:-1]), COLUMNS[-1]
    rows = (
        ("Subtotal", subtotal(order), ""),
        (f"Tax ({format_rate(order.tax_rate_percent)})", tax(order), ""),
        (f"Total ({order.currency})", total(order), "B"),
    )
    for label, amount, style in rows:
        pdf.set_font("Helvetica", style, 10)
        pdf.cell(label_width, 7, label, align="R")
        pdf.cell(amount_width, 7, format_money(amount, order.currency), align="R",
                 border="T" if style else "", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 9)
    pdf.cell(0, 7, f"All amounts in {order.currency}.", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)


def _payment(pdf: FPDF, order: Order, payment: PaymentResult) -> None:
    pdf.set_font("Helvetica", "B", 14)
    how = PAYMENT_NAMES.get(payment.provider, payment.provider)
    if payment.status == SUCCEEDED:
        pdf.cell(0, 9, "PAID", new_x="LMARGIN", new_y="NEXT")
        detail = f"Paid by {how}, payment reference {payment.reference}."
    else:
        pdf.cell(0, 9, "Payment due", new_x="LMARGIN", new_y="NEXT")
        detail = (f"Please pay {format_money(total(order), order.currency)} quoting "
                  f"{payment.reference or order.number}. Credits are applied when the payment "
                  "is recorded.")
    pdf.set_font("Helvetica", "", 10)
    pdf.multi_cell(0, LINE_HEIGHT, _text(detail), new_x="LMARGIN", new_y="NEXT")
