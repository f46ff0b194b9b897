"""Credit purchase orders: who buys what for whom, at which price — pure, standard library only.

Money is an integer number of minor units of the order's currency (cents for CAD); the tax
rate is a Decimal percent (13 for Ontario's HST, 14.975 is possible) so no float ever meets
money. Tax is rounded half-up to the minor unit once, on the subtotal, as a tax invoice shows it.
An `Order` cannot exist invalid: building one checks every field and raises `InvalidOrder`
naming the field and the rule.
"""

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

TARGET_KINDS = ("community", "pool", "user")  # the wallet owners of the ledger
MAX_QUANTITY = 1_000_000  # credits in one order; more is a typo or a contract, not a checkout
RATE_RULE = "must be a percent from 0 to below 100 with at most 4 decimals, such as 13 or 14.975"
ORDER_NUMBER = re.compile(r"^TH-\d{4}-\d{6,}$")
CURRENCY = re.compile(r"^[A-Z]{3}$")
# ISO 4217 currencies without minor units; every other one Townhall may sell in has cents
ZERO_DECIMAL_CURRENCIES = frozenset({"CLP", "ISK", "JPY", "KRW", "PYG", "UGX", "VND", "XAF", "XOF"})


class InvalidOrder(ValueError):
    """A purchase that cannot be ordered as asked; `field` names what to correct."""

    def __init__(self, field: str, rule: str) -> None:
        super().__init__(f"{field}: {rule}")
        self.field = field
        self.rule = rule


@dataclass(frozen=True)
class Party:
    """A seller or a buyer as the invoice names them; `address` may span lines."""

    name: str
    address: str
    email: str | None = None
    tax_number: str | None = None


@dataclass(frozen=True)
class PurchaseTerms:
    """What every order of this installation is sold at: config `payments:`."""

    seller: Party
    unit_price: int  # minor units per credit
    currency: str
    tax_rate_percent: Decimal


@dataclass(frozen=True)
class Order:
    number: str  # TH-2026-000123: the order, invoice and idempotency reference
    organization_id: str
    buyer: Party
    seller: Party  # as it was when ordered: an invoice never changes afterwards
    target_kind: str  # community | pool | user
    target_id: str | None  # None for the pool
    target_label: str  # "Maple Grove Apartments", "System credits", "Dana Reyes"
    quantity: int  # credits
    unit_price: int  # minor units per credit
    currency: str
    tax_rate_percent: Decimal  # a whole number is accepted and stored as a Decimal
    payment_method: str | None = None  # the provider's token (sandbox: pm_card_visa); None: invoice

    def __post_init__(self) -> None:
        _check_order(self)


def order_number(year: int, sequence: int) -> str:
    """TH-<year>-<sequence, at least six digits>."""
    if not 2000 <= year <= 9999 or sequence < 1:
        raise ValueError(f"no order number for year {year} and sequence {sequence}")
    return f"TH-{year:04d}-{sequence:06d}"


def subtotal(order: Order) -> int:
    return order.quantity * order.unit_price


def tax(order: Order) -> int:
    return tax_on(subtotal(order), order.tax_rate_percent)


def total(order: Order) -> int:
    return subtotal(order) + tax(order)


def tax_on(amount: int, rate_percent: Decimal) -> int:
    """`rate_percent` of `amount` minor units, half a minor unit rounded up."""
    exact = Decimal(amount) * Decimal(rate_percent) / 100
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def minor_unit_digits(currency: str) -> int:
    return 0 if currency in ZERO_DECIMAL_CURRENCIES else 2


def format_money(amount: int, currency: str) -> str:
    """`CAD 1,234.56` from 123456; integers only, never through a float."""
    digits = minor_unit_digits(currency)
    sign = "-" if amount < 0 else ""
    major, minor = divmod(abs(amount), 10**digits)
    cents = f".{minor:0{digits}d}" if digits else ""
    return f"{currency} {sign}{major:,}{cents}"


def format_rate(rate_percent: Decimal) -> str:
    """13 -> "13%", 14.975 -> "14.975%"."""
    text = format(Decimal(rate_percent).normalize(), "f")
    return f"{text}%"


def parse_tax_rate(value: Any, field: str = "tax_rate_percent") -> Decimal:
    """A percent from config or a request: 13, "14.975", Decimal; a YAML float through its text."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise InvalidOrder(field, RATE_RULE)
    try:
        rate = Decimal(str(value))
    except InvalidOperation:
        raise InvalidOrder(field, f"{value!r} is not a number") from None
    if not rate.is_finite() or not 0 <= rate < 100 or rate.as_tuple().exponent < -4:
        raise InvalidOrder(field, RATE_RULE)
    return rate


def terms_from_config(config: dict[str, Any]) -> PurchaseTerms:
    """config["payments"]: unit_price, currency, tax_rate_percent, seller {name, address,
    tax_number}. Raises InvalidOrder naming the key (payments.<key>) when one is wrong."""
    payments = config.get("payments") or {}
    seller = payments.get("seller") or {}
    try:
        seller_party = Party(
            name=_text(seller.get("name"), "name"),
            address=_text(seller.get("address"), "address"),
            email=seller.get("email") or None,
            tax_number=_text(seller.get("tax_number"), "tax_number"),
        )
        terms = PurchaseTerms(
            seller=seller_party,
            unit_price=_unit_price(payments.get("unit_price")),
            currency=_currency(payments.get("currency")),
            tax_rate_percent=parse_tax_rate(payments.get("tax_rate_percent")),
        )
    except InvalidOrder as exc:
        where = "payments.seller" if exc.field in ("name", "address", "tax_number") else "payments"
        raise InvalidOrder(f"{where}.{exc.field}", exc.rule) from None
    return terms


def new_order(
    number: str,
    organization_id: str,
    buyer: Party,
    target_kind: str,
    target_id: str | None,
    target_label: str,
    quantity: int,
    terms: PurchaseTerms,
    payment_method: str | None = None,
) -> Order:
    """An order at today's terms (price, currency, tax rate and seller copied into it)."""
    return Order(
        number=number,
        organization_id=organization_id,
        buyer=buyer,
        seller=terms.seller,
        target_kind=target_kind,
        target_id=target_id,
        target_label=target_label,
        quantity=quantity,
        unit_price=terms.unit_price,
        currency=terms.currency,
        tax_rate_percent=terms.tax_rate_percent,
        payment_method=payment_method,
    )


def _check_order(order: Order) -> None:
    if not isinstance(order.number, str) or not ORDER_NUMBER.match(order.number):
        raise InvalidOrder("number", "must look like TH-2026-000123")
    _text(order.organization_id, "organization_id")
    _check_buyer(order.buyer)
    if not isinstance(order.seller, Party):
        raise InvalidOrder("seller", "must be a Party")
    _check_target(order.target_kind, order.target_id)
    _text(order.target_label, "target_label")
    _quantity(order.quantity)
    _unit_price(order.unit_price)
    _currency(order.currency)
    rate = order.tax_rate_percent
    if isinstance(rate, bool) or not isinstance(rate, int | Decimal):
        raise InvalidOrder("tax_rate_percent", "must be a Decimal or a whole number, never a "
                           "float (parse_tax_rate reads one from text)")
    # frozen, but still being built: store the rate as the Decimal the arithmetic expects
    object.__setattr__(order, "tax_rate_percent", parse_tax_rate(rate))
    if order.payment_method is not None:
        _text(order.payment_method, "payment_method")


def _check_buyer(buyer: Party) -> None:
    if not isinstance(buyer, Party):
        raise InvalidOrder("buyer", "must be a Party with name, address and email")
    _text(buyer.name, "buyer.name")
    _text(buyer.address, "buyer.address")
    email = buyer.email
    if not isinstance(email, str) or not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
        raise InvalidOrder("buyer.email", "must be an email address such as billing@example.com")
    if buyer.tax_number is not None:
        _text(buyer.tax_number, "buyer.tax_number")


def _check_target(kind: Any, target_id: Any) -> None:
    if kind not in TARGET_KINDS:
        raise InvalidOrder("target_kind", f"must be one of {', '.join(TARGET_KINDS)}")
    if kind == "pool" and target_id is not None:
        raise InvalidOrder("target_id", "must be empty for the pool: an organization has one")
    if kind != "pool":
        _text(target_id, "target_id")


def _quantity(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_QUANTITY:
        rule = f"must be a whole number of credits from 1 to {MAX_QUANTITY:,}"
        raise InvalidOrder("quantity", rule)
    return value


def _unit_price(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidOrder("unit_price", "must be a whole number of minor units (cents) >= 1")
    return value


def _currency(value: Any) -> str:
    if not isinstance(value, str) or not CURRENCY.match(value):
        raise InvalidOrder("currency", "must be a three-letter ISO 4217 code such as CAD")
    return value


def _text(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidOrder(field, "must not be empty")
    return value
