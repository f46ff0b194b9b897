"""The tax invoice / receipt PDF, read back with a PDF text extractor."""

import io
import re
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from pypdf import PdfReader

from services.credits.invoices import render_invoice_pdf
from services.credits.orders import Party, PurchaseTerms, new_order
from services.credits.payment_invoice import InvoicePaymentProvider
from services.credits.payments import FAILED, SUCCEEDED, UNKNOWN, PaymentResult

SELLER = Party("Townhall Communications Inc.", "100 King Street West\nToronto, ON M5X 1A9",
               tax_number="123456789 RT0001")
BUYER = Party("Maple Grove Property Management", "1 Maple Grove Ave\nToronto, ON M4E 2V3",
              "ap@maplegrove.test", "BN 987654321")
TERMS = PurchaseTerms(SELLER, unit_price=5, currency="CAD", tax_rate_percent=Decimal("13"))
ISSUED = datetime(2026, 11, 25, 14, 30, tzinfo=UTC)


def an_order(**changes):
    fields = dict(number="TH-2026-000123", organization_id="org-1", buyer=BUYER,
                  target_kind="community", target_id="community-1",
                  target_label="Maple Grove Apartments", quantity=500, terms=TERMS,
                  payment_method="pm_card_visa")
    fields.update(changes)
    return new_order(**fields)


def text_of(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    text = "\n".join(page.extract_text() for page in reader.pages)
    return re.sub(r"[ \t]+", " ", text)


def test_a_paid_order_is_a_receipt_with_every_required_field():
    pdf = render_invoice_pdf(an_order(), PaymentResult(SUCCEEDED, "sandbox", "pi_abc123"), ISSUED)

    assert pdf.startswith(b"%PDF-")
    text = text_of(pdf)
    for expected in (
        "Tax invoice / Receipt",
        "Order number: TH-2026-000123",
        "Issue date: 2026-11-25",
        # seller
        "Townhall Communications Inc.", "100 King Street West", "Toronto, ON M5X 1A9",
        "Tax number: 123456789 RT0001",
        # buyer
        "Maple Grove Property Management", "1 Maple Grove Ave", "Toronto, ON M4E 2V3",
        "ap@maplegrove.test", "Tax number: BN 987654321",
        # what was bought: quantity x unit price
        "Maple Grove Apartments", "Communication credits 500 CAD 0.05 CAD 25.00",
        "Subtotal CAD 25.00",
        "Tax (13%) CAD 3.25",
        "Total (CAD) CAD 28.25",
        "All amounts in CAD",
        "PAID", "pi_abc123",
    ):
        assert expected in text, (expected, text)
    assert "Payment due" not in text


def test_an_invoiced_order_says_payment_due_and_what_to_quote():
    order = an_order(payment_method=None, quantity=1_000)
    pending = InvoicePaymentProvider().charge(order)

    text = text_of(render_invoice_pdf(order, pending, ISSUED))

    assert "Payment due" in text
    assert "PAID" not in text
    assert "Please pay CAD 56.50 quoting TH-2026-000123" in text
    assert "Communication credits 1,000 CAD 0.05 CAD 50.00" in text
    assert "Tax (13%) CAD 6.50" in text


def test_a_recorded_invoice_payment_is_a_receipt_with_its_reference():
    order = an_order(payment_method=None)
    paid = InvoicePaymentProvider().record_payment(order, "EFT-2026-11-30-0042", 2825)

    text = text_of(render_invoice_pdf(order, paid, ISSUED))

    assert "PAID" in text
    assert "invoice payment, payment reference EFT-2026-11-30-0042" in text


def test_the_pool_and_a_user_are_named_as_what_the_credits_are_for():
    pool = an_order(target_kind="pool", target_id=None, target_label="System credits")
    user = an_order(target_kind="user", target_id="user-7", target_label="Dana Reyes")
    paid = PaymentResult(SUCCEEDED, "sandbox", "pi_1")
    assert "Organization pool: System credits" in text_of(render_invoice_pdf(pool, paid, ISSUED))
    assert "User: Dana Reyes" in text_of(render_invoice_pdf(user, paid, ISSUED))


def test_a_fractional_rate_and_half_up_rounding_show_as_computed():
    order = an_order(quantity=3, terms=PurchaseTerms(SELLER, 5, "CAD", Decimal("14.975")))
    text = text_of(render_invoice_pdf(order, PaymentResult(SUCCEEDED, "sandbox", "pi_1"), ISSUED))
    # 15 cents at 14.975%: 2.24625 cents, rounded to 2
    assert "Tax (14.975%) CAD 0.02" in text
    assert "Total (CAD) CAD 0.17" in text


def test_western_european_names_print_and_others_degrade_readably():
    buyer = Party("Société Hôtelière Zoë — “Les Érables”", "12 rue de l'Église\nQuébec, QC",
                  "compta@erables.test")
    order = an_order(buyer=buyer, target_label="Łódź Tower 東京")
    text = text_of(render_invoice_pdf(order, PaymentResult(SUCCEEDED, "sandbox", "pi_1"), ISSUED))
    assert "Société Hôtelière Zoë — “Les Érables”" in text
    assert "12 rue de l'Église" in text
    assert "Lódz Tower ??" in text  # ó is in Windows-1252, Ł and ź are not


def test_the_issue_date_is_the_one_given_and_the_document_is_reproducible():
    order = an_order()
    paid = PaymentResult(SUCCEEDED, "sandbox", "pi_1")
    toronto = timezone(timedelta(hours=-5))
    late_evening = datetime(2026, 12, 31, 22, 0, tzinfo=toronto)
    assert "Issue date: 2026-12-31" in text_of(render_invoice_pdf(order, paid, late_evening))
    assert render_invoice_pdf(order, paid, ISSUED) == render_invoice_pdf(order, paid, ISSUED)


@pytest.mark.parametrize("status", [FAILED, UNKNOWN])
def test_no_invoice_for_an_unpaid_unbilled_order(status):
    with pytest.raises(ValueError, match=f"payment: .* not a {status} payment"):
        render_invoice_pdf(an_order(), PaymentResult(status, "sandbox"), ISSUED)


def test_the_issue_time_must_be_timezone_aware():
    with pytest.raises(ValueError, match="issued_at: must be timezone-aware"):
        render_invoice_pdf(an_order(), PaymentResult(SUCCEEDED, "sandbox", "pi_1"),
                           datetime(2026, 11, 25, 14, 30))
