"""Consent requests over HTTP and the public confirm page.

Mixed into GatewayService; consent decides who may send or follow a request. The confirm
page takes no login: the signed token in its address is the only authority, checked by
consent. Opening the page records nothing; only pressing its button does.
"""

from html import escape

from contracts import consent_api as schemas
from contracts.errors import DomainError
from gateway.declaration import HTML, Answer
from gateway.http import api, client_address, idempotency_key, json_body, json_response
from gateway.pages import link_problem, page, well_formed

EXPIRED_ADVICE = "Ask the sender for a new one if you still want these emails."
# a signed link's page: what it answers when the link cannot be used (pages.link_problem)
LINK_PROBLEMS = {400: Answer("a changed or unknown link; nothing recorded", HTML),
                 410: Answer("an expired link; nothing recorded", HTML)}


class ConsentRequestRoutes:
    @api("POST", "/v1/consent/categories/<string:category_id>/requests",
         request=schemas.ConsentRequestCreate, answer=schemas.ConsentRequestView, status=202,
         location=True, errors=(403, 404, 422), idempotency_key="accepted",
         follow=(("GET", "/v1/consent/requests/{request_id}", "request_id"),))
    def create_consent_request(self, request, category_id):
        """Email every resident of the communities who has not answered yet a signed link to
        confirm the request-mode category (manage_consent_categories)."""
        identity = self._authenticate(request)
        body = schemas.ConsentRequestCreate().load(json_body(request))
        made = self.consent.create_consent_request(identity, category_id,
                                                   body["community_ids"],
                                                   idempotency_key=idempotency_key(request))
        return json_response(schemas.ConsentRequestView().dump(made), 202,
                             headers={"Location": made["links"]["self"]})

    @api("GET", "/v1/consent/categories/<string:category_id>/requests",
         query=schemas.ConsentRequestListQuery, answer=schemas.ConsentRequestPage,
         errors=(403, 404, 422))
    def list_consent_requests(self, request, category_id):
        """Consent requests of a category (manage_consent_categories)."""
        identity = self._authenticate(request)
        query = schemas.ConsentRequestListQuery().load(request.args.to_dict())
        return schemas.ConsentRequestPage().dump(
            self.consent.list_consent_requests(identity, category_id, **query))

    @api("GET", "/v1/consent/requests/<string:request_id>", answer=schemas.ConsentRequestView,
         errors=(403, 404))
    def get_consent_request(self, request, request_id):
        """A consent request's progress: counts by recipient status, skipped ones included."""
        identity = self._authenticate(request)
        return schemas.ConsentRequestView().dump(
            self.consent.get_consent_request(identity, request_id))

    @api("GET", "/c/<string:token>", public=True, answer=HTML, answer_description="the page",
         answers=LINK_PROBLEMS,
         path_parameters={"token": "the signed token from the email"})
    def confirm_page(self, request, token):
        """Public confirm page (no login): the question and one button; records nothing.

        Nothing is ticked and nothing is recorded here."""
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

    @api("POST", "/c/<string:token>", body="form", public=True, request={"type": "object"},
         request_required=False, answer=HTML, answer_description="thank-you page",
         answers=LINK_PROBLEMS, path_parameters={"token": "the signed token from the email"})
    def confirm_consent(self, request, token):
        """The button of the confirm page: records one express consent with the words shown,
        the address and the time.

        The button was pressed: one express grant, with the address it came from."""
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
