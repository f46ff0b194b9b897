"""HTTP schemas of credit orders: buying credits for a wallet, paying by card or invoice,
recording an invoice's payment, and the order as credits answers it.

They check shape; credits checks the rules (who may buy for which wallet, quantity limits,
a valid email) and answers each refusal naming the field.
"""

from marshmallow import RAISE, Schema, fields, validate

ORDER_STATUSES = ("payment_unknown", "paid", "failed", "awaiting_payment")


class Strict(Schema):
    class Meta:
        unknown = RAISE


class BuyerRequest(Strict):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    address = fields.String(required=True, validate=validate.Length(min=1, max=500),
                            metadata={"description": "lines separated by \\n"})
    email = fields.String(required=True, validate=validate.Length(min=3, max=254))
    tax_number = fields.String(allow_none=True, validate=validate.Length(max=60))


class OrderRequest(Strict):
    wallet = fields.String(required=True, validate=validate.Length(min=1, max=70),
                           metadata={"description": "community:<id>, user:<id> or pool, as "
                                                    "the organization's credit model uses"})
    quantity = fields.Integer(required=True, strict=True,
                              validate=validate.Range(min=1, max=1_000_000),
                              metadata={"description": "credits, 1 to 1,000,000"})
    buyer = fields.Nested(BuyerRequest, required=True,
                          metadata={"description": "who the tax invoice is made out to"})
    payment_method = fields.String(
        allow_none=True, validate=validate.Length(min=1, max=100),
        metadata={"description": "a card token (the payment sandbox: pm_card_visa); leave "
                                 "out, or \"invoice\", to be invoiced and pay later"})


class PaymentRecord(Strict):
    reference = fields.String(required=True, validate=validate.Length(min=1, max=200),
                              metadata={"description": "the bank transfer's reference or the "
                                                       "cheque number"})
    amount = fields.Integer(strict=True, validate=validate.Range(min=1, max=10 ** 12), metadata={
        "description": "minor units; when given it must be the order's total"})


class PartyView(Schema):
    name = fields.String()
    address = fields.String()
    email = fields.String(allow_none=True)
    tax_number = fields.String(allow_none=True)


class OrderLinks(Schema):
    self = fields.String()
    invoice = fields.String(metadata={"description": "the tax invoice / receipt (PDF) of a "
                                                     "paid or invoiced order"})


class OrderView(Schema):
    id = fields.String()
    number = fields.String(metadata={"description": "TH-<year>-<sequence>: the order and its "
                                                    "invoice"})
    wallet = fields.String()
    target_label = fields.String(metadata={"description": "what the invoice calls the wallet"})
    quantity = fields.Integer(metadata={"description": "credits"})
    unit_price = fields.Integer(metadata={"description": "minor units of currency per credit"})
    currency = fields.String()
    tax_rate = fields.String(metadata={"description": "percent, as decimal text: 13, 14.975"})
    subtotal = fields.Integer(metadata={"description": "minor units"})
    tax = fields.Integer(metadata={"description": "minor units"})
    total = fields.Integer(metadata={"description": "minor units"})
    buyer = fields.Nested(PartyView)
    seller = fields.Nested(PartyView)
    status = fields.String(validate=validate.OneOf(ORDER_STATUSES), metadata={
        "description": "paid (credits applied); failed (nothing charged or applied); "
                       "awaiting_payment (an invoice); payment_unknown (the provider's answer "
                       "is awaited: reconciled every minute)"})
    provider = fields.String(metadata={"description": "sandbox (card) or invoice"})
    payment_method = fields.String(allow_none=True)
    provider_reference = fields.String(allow_none=True)
    failure_code = fields.String(allow_none=True)
    failure_message = fields.String(allow_none=True)
    attempts = fields.Integer()
    created_by = fields.String()
    created_at = fields.String()
    paid_at = fields.String(allow_none=True)
    transaction_id = fields.String(allow_none=True, metadata={
        "description": "the ledger transaction that applied the credits"})
    links = fields.Nested(OrderLinks)


class OrderPage(Schema):
    items = fields.List(fields.Nested(OrderView))
    next_cursor = fields.String(allow_none=True)


class PaymentFailed(Schema):
    """402: the payment failed; the order (status failed) stays readable at its link."""

    type = fields.String()
    title = fields.String()
    status = fields.Integer()
    detail = fields.String(metadata={"description": "the provider's reason, e.g. the card "
                                                    "was declined (insufficient_funds)"})
    field = fields.String()
    failure_code = fields.String(allow_none=True)
    order = fields.Nested(OrderView)
