"""Routes of credits: the organization's credit settings and rate card, wallets, additions,
thresholds, transfers, the 30-day log (JSON, CSV download or printable page) and quotes.
Mixed into GatewayService; credits decides who may see or move what."""

import html

from werkzeug.wrappers import Response

from contracts import credits_api as schemas
from contracts.errors import InvalidRequest
from contracts.footer import carries_unsubscribe_link
from gateway.declaration import CSV, HTML
from gateway.http import api, csv_download, idempotency_key, json_body
from gateway.pages import HEADERS as PAGE_HEADERS
from servicekit.spreadsheets import to_csv

ORDER_LINK = "/v1/credits/orders"
LOG_COLUMNS = ("at", "kind", "available", "held", "balance", "actor", "reason",
               "communication_id", "order_id", "transaction_id")
CHANGE = (403, 404, 409, 422)


class CreditsRoutes:
    @api("GET", "/v1/credits/settings", answer=schemas.SettingsView, errors=(403,))
    def get_credit_settings(self, request):
        """The organization's credit model, floor and rate card."""
        identity = self._authenticate(request)
        return schemas.SettingsView().dump(self.credits.get_settings(identity))

    @api("PATCH", "/v1/credits/settings", request=schemas.SettingsChange,
         answer=schemas.SettingsView, errors=(403, 422))
    def change_credit_settings(self, request):
        """Switch the credit model (refused while it would strand credits), set the floor or
        the rate card (master users)."""
        identity = self._authenticate(request)
        changes = schemas.SettingsChange().load(json_body(request))
        return schemas.SettingsView().dump(self.credits.change_settings(identity, changes))

    @api("GET", "/v1/credits/wallets", answer=schemas.WalletList)
    def list_wallets(self, request):
        """Wallets the caller may see (seed 002) and where to order credits."""
        identity = self._authenticate(request)
        found = self.credits.list_wallets(identity)
        return schemas.WalletList().dump(dict(found, links={"order_credits": ORDER_LINK}))

    @api("GET", "/v1/credits/wallets/<string:wallet>", answer=schemas.WalletView,
         errors=(403, 404, 422))
    def get_credit_wallet(self, request, wallet):
        """A wallet: community:<id>, user:<id> or pool."""
        identity = self._authenticate(request)
        return schemas.WalletView().dump(self.credits.wallet(identity, wallet))

    @api("POST", "/v1/credits/wallets/<string:wallet>/grants", request=schemas.AddCredits,
         answer=schemas.WalletView, status=201, errors=CHANGE, idempotency_key="required")
    def add_credits(self, request, wallet):
        """Add credits from outside the ledger: support grants and corrections (master
        users; Idempotency-Key required)."""
        identity = self._authenticate(request)
        body = schemas.AddCredits().load(json_body(request))
        key = idempotency_key(request)
        if not key:
            # without a key a retried request would add the credits twice
            raise InvalidRequest("adding credits needs an Idempotency-Key header",
                                 "Idempotency-Key")
        added = self.credits.add_credits(identity, wallet, body["amount"], body["reason"], key)
        return 201, schemas.WalletView().dump(added)

    @api("PUT", "/v1/credits/wallets/<string:wallet>/threshold", request=schemas.Threshold,
         answer=schemas.ThresholdView, errors=CHANGE)
    def set_low_threshold(self, request, wallet):
        """Set the balance below which wallet_balance_low is announced."""
        identity = self._authenticate(request)
        body = schemas.Threshold().load(json_body(request))
        return schemas.ThresholdView().dump(
            self.credits.set_low_threshold(identity, wallet, body["low_threshold"]))

    @api("GET", "/v1/credits/wallets/<string:wallet>/log", query=schemas.LogQuery,
         answer=(schemas.LogView, CSV, HTML), errors=(403, 404, 422))
    def credit_log(self, request, wallet):
        """Every change of the last days (30 by default): JSON, a CSV download (format=csv)
        or a printable page (format=html)."""
        identity = self._authenticate(request)
        query = schemas.LogQuery().load(request.args.to_dict())
        found = schemas.LogView().dump(self.credits.log(identity, wallet, query["days"]))
        if query["format"] == "csv":
            return csv_download(to_csv(LOG_COLUMNS, found["items"]), "credits", wallet,
                                f'{query["days"]}-days')
        if query["format"] == "html":
            # a page of the caller's own data: the public pages' rules (no script, no
            # framing, never cached)
            return Response(_log_page(found), mimetype="text/html", headers=PAGE_HEADERS)
        return found

    @api("POST", "/v1/credits/transfers", request=schemas.TransferRequest,
         answer=schemas.TransferView, status=201, errors=(402, 403, 404, 422),
         idempotency_key="accepted")
    def transfer_credits(self, request):
        """Move credits between wallets under the organization's rules (seed 002)."""
        identity = self._authenticate(request)
        body = schemas.TransferRequest().load(json_body(request))
        moved = self.credits.transfer(identity, body["source"], body["target"], body["amount"],
                                      body["reason"], idempotency_key(request))
        return 201, schemas.TransferView().dump(moved)

    @api("POST", "/v1/credits/quote", request=schemas.QuoteRequest, answer=schemas.QuoteView,
         errors=(403, 404, 422))
    def quote(self, request):
        """Price a body for a number of recipients per channel before sending."""
        identity = self._authenticate(request)
        body = schemas.QuoteRequest().load(json_body(request))
        community_id = body.pop("community_id", None)
        category_id = body.pop("category_id", None)
        if community_id:
            # another organization's community, or none, is not found: no made-up wallet
            self.directory.get_community(identity, community_id)
        if category_id:
            category = self.consent.get_category(identity, category_id)
            if category.get("archived"):
                # the refusal messaging.create gives: a quote for a send that cannot be made
                raise InvalidRequest(f"category {category_id} is archived; it takes no new "
                                     "communications", "category_id")
            body["unsubscribe_footer"] = carries_unsubscribe_link(
                category["opt_out_enabled"], category["transactional"])
            body["public_url"] = self.config["gateway"]["public_url"]
        quoted = self.credits.quote(identity, **body)
        quoted["balance"] = (self.credits.payer_wallet(identity, community_id)
                             if community_id else None)
        quoted["links"] = {"order_credits": ORDER_LINK}
        return schemas.QuoteView().dump(quoted)


def _log_page(log):
    rows = "\n".join(
        "<tr>" + "".join(f"<td>{html.escape(str(item.get(c) if item.get(c) is not None else ''))}"
                         "</td>" for c in LOG_COLUMNS[:-1]) + "</tr>"
        for item in log["items"])
    head = "".join(f"<th scope=\"col\">{html.escape(c.replace('_', ' '))}</th>"
                   for c in LOG_COLUMNS[:-1])
    wallet = html.escape(log["wallet"])
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Credit log: {wallet}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; }}
table {{ border-collapse: collapse; width: 100%; font-size: 0.9rem; }}
th, td {{ border: 1px solid #999; padding: 0.3rem 0.5rem; text-align: left; }}
@media print {{ body {{ margin: 0; }} .no-print {{ display: none; }} }}
</style></head>
<body>
<h1>Credit log: {wallet}</h1>
<p>The last {log["days"]} days, since {html.escape(log["since"])}.
Opening balance {log["opening_balance"]}, closing balance {log["closing_balance"]}.</p>
<p class="no-print">Print this page with your browser's print command.</p>
<table><thead><tr>{head}</tr></thead>
<tbody>
{rows}
</tbody></table>
</body></html>
"""
