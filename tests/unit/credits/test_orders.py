"""Credit orders: totals in integer minor units, tax rounded half-up, errors naming the field."""

from dataclasses import replace
from decimal import Decimal

import pytest

from servicekit.config import load
from services.credits.orders import (
    MAX_QUANTITY,
    InvalidOrder,
    Party,
    PurchaseTerms,
    format_money,
    format_rate,
    new_order,
    order_number,
    parse_tax_rate,
    subtotal,
    tax,
    tax_on,
    terms_from_config,
    total,
)

SELLER = Party("Townhall Communications Inc.", "100 King Street West\nToronto, ON",
               tax_number="123456789 RT0001")
BUYER = Party("Maple Grove Property Management", "1 Maple Grove Ave\nToronto, ON",
              "ap@maplegrove.test", "BN 987654321")
TERMS = PurchaseTerms(SELLER, unit_price=5, currency="CAD", tax_rate_percent=Decimal("13"))


def order(**changes):
    fields = dict(number="TH-2026-000123", organization_id="org-1", buyer=BUYER,
                  target_kind="community", target_id="community-1",
                  target_label="Maple Grove Apartments", quantity=500, terms=TERMS,
                  payment_method="pm_card_visa")
    fields.update(changes)
    return new_order(**fields)


def test_totals_are_integers_in_minor_units():
    bought = order(quantity=500)
    assert (subtotal(bought), tax(bought), total(bought)) == (2500, 325, 2825)
    assert all(type(amount) is int for amount in (subtotal(bought), tax(bought), total(bought)))


@pytest.mark.parametrize(("amount", "rate", "expected"), [
    (50, "13", 7),          # 6.5 cents: half rounds up
    (10, "13", 1),          # 1.3 -> 1
    (15, "13", 2),          # 1.95 -> 2
    (5, "13", 1),           # 0.65 -> 1
    (3, "13", 0),           # 0.39 -> 0
    (100, "14.975", 15),    # 14.975 -> 15
    (1000, "14.975", 150),  # 149.75 -> 150
    (2000, "5", 100),
    (999, "0", 0),
])
def test_tax_rounds_half_up_to_the_minor_unit(amount, rate, expected):
    assert tax_on(amount, Decimal(rate)) == expected


def test_tax_is_computed_once_on_the_subtotal():
    # 3 credits at 5 cents: 15 cents, tax 1.95 -> 2; per credit it would be 3 x 1 = 3
    assert tax(order(quantity=3)) == 2
    assert total(order(quantity=3)) == 17


def test_the_largest_order_stays_exact():
    biggest = order(quantity=MAX_QUANTITY, terms=replace(TERMS, unit_price=9_999,
                                                          tax_rate_percent=Decimal("14.975")))
    assert subtotal(biggest) == 9_999_000_000
    assert tax(biggest) == 1_497_350_250  # 1,497,350,250.0 exactly
    assert total(biggest) == 11_496_350_250


@pytest.mark.parametrize("quantity", [0, -1, MAX_QUANTITY + 1, 1.5, 10.0, "10", True, None])
def test_invalid_quantities_name_the_field_and_the_rule(quantity):
    with pytest.raises(InvalidOrder) as raised:
        order(quantity=quantity)
    assert raised.value.field == "quantity"
    assert f"whole number of credits from 1 to {MAX_QUANTITY:,}" in str(raised.value)


@pytest.mark.parametrize("quantity", [1, MAX_QUANTITY])
def test_quantity_bounds_are_inclusive(quantity):
    assert order(quantity=quantity).quantity == quantity


@pytest.mark.parametrize(("changes", "field", "rule"), [
    ({"number": "123"}, "number", "TH-2026-000123"),
    ({"organization_id": ""}, "organization_id", "must not be empty"),
    ({"target_kind": "office"}, "target_kind", "community, pool, user"),
    ({"target_kind": "pool", "target_id": "x"}, "target_id", "empty for the pool"),
    ({"target_kind": "user", "target_id": None}, "target_id", "must not be empty"),
    ({"target_label": " "}, "target_label", "must not be empty"),
    ({"buyer": replace(BUYER, name="")}, "buyer.name", "must not be empty"),
    ({"buyer": replace(BUYER, address="")}, "buyer.address", "must not be empty"),
    ({"buyer": replace(BUYER, email="not-an-address")}, "buyer.email", "email address"),
    ({"terms": replace(TERMS, unit_price=0)}, "unit_price", ">= 1"),
    ({"terms": replace(TERMS, unit_price=0.05)}, "unit_price", "whole number"),
    ({"terms": replace(TERMS, currency="cad")}, "currency", "ISO 4217"),
    ({"terms": replace(TERMS, tax_rate_percent=13.0)}, "tax_rate_percent", "never a float"),
    ({"terms": replace(TERMS, tax_rate_percent=Decimal("100"))}, "tax_rate_percent", "below 100"),
    ({"payment_method": ""}, "payment_method", "must not be empty"),
])
def test_invalid_fields_name_the_field_and_the_rule(changes, field, rule):
    with pytest.raises(InvalidOrder) as raised:
        order(**changes)
    assert raised.value.field == field
    assert rule in str(raised.value)
    assert str(raised.value).startswith(f"{field}: ")


def test_the_pool_has_no_target_id_and_invoices_no_payment_method():
    pool = order(target_kind="pool", target_id=None, target_label="System credits",
                 payment_method=None)
    assert (pool.target_kind, pool.target_id, pool.payment_method) == ("pool", None, None)


def test_a_whole_number_rate_is_kept_as_a_decimal():
    bought = order(terms=replace(TERMS, tax_rate_percent=5))
    assert bought.tax_rate_percent == Decimal(5)
    assert isinstance(bought.tax_rate_percent, Decimal)


def test_an_order_copies_the_terms_it_was_sold_at():
    bought = order()
    assert (bought.unit_price, bought.currency, bought.tax_rate_percent) == (5, "CAD", 13)
    assert bought.seller == SELLER
    with pytest.raises(AttributeError):
        bought.quantity = 1  # frozen: an ordered order does not change


def test_order_numbers():
    assert order_number(2026, 123) == "TH-2026-000123"
    assert order_number(2026, 1_234_567) == "TH-2026-1234567"
    assert order(number=order_number(2026, 1_234_567)).number == "TH-2026-1234567"
    with pytest.raises(ValueError):
        order_number(2026, 0)


@pytest.mark.parametrize(("amount", "currency", "shown"), [
    (2825, "CAD", "CAD 28.25"),
    (5, "CAD", "CAD 0.05"),
    (0, "CAD", "CAD 0.00"),
    (123456789, "CAD", "CAD 1,234,567.89"),
    (-150, "USD", "USD -1.50"),
    (1500, "JPY", "JPY 1,500"),
])
def test_money_is_formatted_from_integers(amount, currency, shown):
    assert format_money(amount, currency) == shown


def test_rates_print_as_written():
    assert format_rate(Decimal("13")) == "13%"
    assert format_rate(Decimal("14.975")) == "14.975%"
    assert format_rate(Decimal("5.00")) == "5%"


@pytest.mark.parametrize(("value", "expected"), [
    (13, Decimal("13")), ("14.975", Decimal("14.975")), (14.975, Decimal("14.975")),
    (Decimal("0"), Decimal("0")),
])
def test_tax_rates_parse_without_float_error(value, expected):
    assert parse_tax_rate(value) == expected


@pytest.mark.parametrize("value", [-1, 100, "13%", True, None, "NaN", "1.23456"])
def test_bad_tax_rates_are_refused(value):
    with pytest.raises(InvalidOrder) as raised:
        parse_tax_rate(value)
    assert raised.value.field == "tax_rate_percent"


def test_terms_come_from_the_shipped_configuration():
    terms = terms_from_config(load(environ={}))
    assert (terms.unit_price, terms.currency, terms.tax_rate_percent) == (5, "CAD", Decimal(13))
    assert terms.seller.name and terms.seller.address and terms.seller.tax_number


def test_a_bad_configuration_names_the_key():
    config = load(environ={})
    config["payments"]["unit_price"] = 0.05
    with pytest.raises(InvalidOrder) as raised:
        terms_from_config(config)
    assert raised.value.field == "payments.unit_price"
    config = load(environ={"TOWNHALL_PAYMENTS__SELLER__TAX_NUMBER": ""})
    with pytest.raises(InvalidOrder) as raised:
        terms_from_config(config)
    assert raised.value.field == "payments.seller.tax_number"
    config = load(environ={"TOWNHALL_PAYMENTS__TAX_RATE_PERCENT": "14.975"})
    assert terms_from_config(config).tax_rate_percent == Decimal("14.975")
