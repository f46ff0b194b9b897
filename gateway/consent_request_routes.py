"""Consent requests over HTTP and the public confirm page.

Mixed into GatewayService; consent decides who may send or follow a request. The confirm
page takes no login: the signed token in its address is the only authority, checked by
consent. Opening the page records nothing; only pressing its button does.
"""

from html import escape

from contracts import consent_api as schemas
from contracts.errors import DomainError
from gateway.http import api, client_address, idempotency_key, json_body, json_response
from gateway.pages import link_problem, page, well_formed

EXPIRED_ADVICE = "Ask the sender for a new one if you still want these emails."


class ConsentRequestRoutes:
    @api("POST", "/v1/consent/categories/<string:category_id>/requests")
    def create_consent_request(self, request, category_id):
        identity = self._authenticate(request)
        body = schemas.ConsentRequestCreate().load(json_body(request))
        made = self.consent.create_consent_request(identity, category_id,
                                                   body["community_ids"],
                                                   idempotency_key=idempotency_key(request))
        return json_response(schemas.ConsentRequestView().dump(made), 202,
                             headers={"Location": made["links"]["self"]})

    @api("GET", "/v1/consent/categories/<string:category_id>/requests")
    def list_consent_requests(self, request, category_id):
        identity = self._authenticate(request)
        query = schemas.ConsentRequestListQuery().load(request.args.to_dict())
        return schemas.ConsentRequestPage().dump(
            self.consent.list_consent_requests(identity, category_id, **query))

    @api("GET", "/v1/consent/requests/<string:request_id>")
    def get_consent_request(self, request, request_id):
        identity = self._authenticate(request)
        return schemas.ConsentRequestView().dump(
            self.consent.get_consent_request(identity, request_id))

    @api("GET", "/c/<string:token>")
    def confirm_page(self, request, token):
        """The question and one button; nothing is ticked and nothing is recorded here."""
        try:
            view = self.consent.describe_confirm(well_formed(token))
        except DomainError as exc:
            return link_problem(exc, EXPIRED_ADVICE)
        if view["confirmed"]:
            return _thanks(view, already=True)
        wording = view["wording"]
        form = (f'<p>{escape(wording["statement"])}</p>'
                '<form method="post">'
                f'<button type="submit">{escape(wording["button"])}</button></form>')
        return page(wording["question"], form, view["organization_name"])

    @api("POST", "/c/<string:token>", body="form")
    def confirm_consent(self, request, token):
        """The button was pressed: one express grant, with the address it came from."""
        trusted = self.config["gateway"].get("trusted_proxies") or ()
        evidence = {"ip": client_address(request, trusted),
                    "user_agent": request.headers.get("User-Agent", "")[:300]}
        try:
            view = self.consent.confirm(well_formed(token), evidence)
        except DomainError as exc:
            return link_problem(exc, EXPIRED_ADVICE)
        return _thanks(view, already=not view.get("recorded"))


def _thanks(view, already):
    category, email = escape(view["category_name"]), escape(view["email"])
    first = ("You already said yes" if already else "Thank you: you said yes")
    body = (f'<p class="notice" role="status">{first} to emails about “{category}” at '
            f"{email}.</p><p>{escape(view['organization_name'])} may now email you about "
            "this. You can withdraw at any time with the unsubscribe link in those "
            "emails.</p>")
    return page("Thank you" if not already else "Already confirmed", body,
                view["organization_name"])
