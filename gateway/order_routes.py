"""Routes of credit orders: buy credits for a wallet (by card or invoice), follow an order,
download its tax invoice / receipt, record an invoice's payment. Mixed into GatewayService;
credits decides who may buy for, see or pay which order."""

import base64

from werkzeug.wrappers import Response

from contracts import api as schemas
from contracts import order_api as objects
from gateway.declaration import PDF, Answer
from gateway.directory_routes import PAGE_QUERY
from gateway.http import PROBLEM, api, idempotency_key, json_body, json_response

ORDERS = "/v1/credits/orders"
ORDER = ORDERS + "/{order_id}"


class OrderRoutes:
    @api("POST", ORDERS, request=objects.OrderRequest, answer=objects.OrderView, status=201,
         location=True, errors=(403, 404, 422, 503), idempotency_key="accepted",
         answers={402: Answer("the payment failed (a declined card): nothing was charged or "
                              "applied; the failed order is in the body and at Location",
                              objects.PaymentFailed, problem=True)},
         follow=(("GET", ORDER, "order_id"), ("GET", ORDER + "/invoice.pdf", "order_id"),
                 ("POST", ORDER + "/payments", "order_id")))
    def create_credit_order(self, request):
        """Order credits for a wallet the caller may buy for (seed 002) and pay: by card
        (payment_method) at once, or by invoice.

        201 with the order (paid, awaiting_payment or payment_unknown); 402 when the
        payment failed, with the failed order in the problem document."""
        identity = self._authenticate(request)
        body = objects.OrderRequest().load(json_body(request))
        order = _with_links(self.credits.purchase(
            identity, body["wallet"], body["quantity"], body["buyer"],
            payment_method=body.get("payment_method"),
            idempotency_key=idempotency_key(request)))
        headers = {"Location": order["links"]["self"]}
        if order["status"] == "failed":
            declined = objects.PaymentFailed().dump({
                "type": "about:blank", "title": "Payment failed", "status": 402,
                "detail": order["failure_message"] or "the payment failed",
                "field": "payment_method", "failure_code": order["failure_code"],
                "order": order})
            return json_response(declined, 402, PROBLEM, headers=headers)
        return json_response(objects.OrderView().dump(order), 201, headers=headers)

    @api("GET", ORDERS, query=PAGE_QUERY, answer=objects.OrderPage, errors=(422,))
    def list_credit_orders(self, request):
        """Orders the caller may see: their own, every order for master users, a community's
        for holders of manage_credits there."""
        identity = self._authenticate(request)
        query = schemas.ListQuery(only=("cursor", "limit")).load(request.args.to_dict())
        page = self.credits.list_orders(identity, **query)
        page["items"] = [_with_links(o) for o in page["items"]]
        return objects.OrderPage().dump(page)

    @api("GET", ORDERS + "/<string:order_id>", answer=objects.OrderView, errors=(403, 404))
    def get_credit_order(self, request, order_id):
        """An order: its status, amounts, parties and payment."""
        identity = self._authenticate(request)
        return objects.OrderView().dump(_with_links(self.credits.get_order(identity, order_id)))

    @api("GET", ORDERS + "/<string:order_id>/invoice.pdf", answer=PDF, errors=(403, 404, 409))
    def credit_order_invoice(self, request, order_id):
        """The tax invoice / receipt of a paid or invoiced order (PDF)."""
        identity = self._authenticate(request)
        invoice = self.credits.invoice_pdf(identity, order_id)
        return Response(base64.b64decode(invoice["content_base64"]), mimetype="application/pdf",
                        headers={"Content-Disposition":
                                 f'attachment; filename="{invoice["filename"]}"'})

    @api("POST", ORDERS + "/<string:order_id>/payments", request=objects.PaymentRecord,
         answer=objects.OrderView, errors=(403, 404, 409, 422))
    def record_order_payment(self, request, order_id):
        """Record the payment of an invoice (master users): its credits are applied once;
        recording it again answers the paid order."""
        identity = self._authenticate(request)
        body = objects.PaymentRecord().load(json_body(request))
        paid = self.credits.record_payment(identity, order_id, body["reference"],
                                           body.get("amount"))
        return objects.OrderView().dump(_with_links(paid))


def _with_links(order):
    own = f"{ORDERS}/{order['id']}"
    return dict(order, links={"self": own, "invoice": f"{own}/invoice.pdf"})
