"""The public unsubscribe page and the one-click List-Unsubscribe-Post answer.

Mixed into GatewayService. No login: the signed token in the address is the authority, and
consent checks it. GET only shows the choice (mail scanners follow links; nothing is ever
recorded on GET); a POST of the plain form records it; a POST whose body is
`List-Unsubscribe=One-Click` (RFC 8058, sent by mail clients) withdraws the link's category.
The words recorded as evidence are the words this page shows, built by the same functions.
"""

from html import escape

from contracts.errors import DomainError
from gateway.consent_request_routes import LINK_PROBLEMS
from gateway.declaration import HTML
from gateway.http import api, client_address
from gateway.pages import link_problem, page, well_formed

CHANNEL_NOUNS = {"email": "emails", "sms": "texts", "voice": "calls"}
BUTTON = "Unsubscribe"
ONE_CLICK_FIELD, ONE_CLICK_VALUE = "List-Unsubscribe", "One-Click"
EXPIRED_ADVICE = ("Use the link in the newest message you received, or contact the "
                  "management office.")
TOKEN = {"token": "the signed token from the message"}
FORM = {"type": "object", "properties": {
    "scope": {"type": "string", "enum": ["category", "all_commercial"]},
    ONE_CLICK_FIELD: {"type": "string", "enum": [ONE_CLICK_VALUE],
                      "description": "RFC 8058 one-click: withdraws the link's category"}}}


class UnsubscribePages:
    @api("GET", "/u/<string:token>", public=True, answer=HTML, answer_description="the page",
         answers=LINK_PROBLEMS, path_parameters=TOKEN)
    def unsubscribe_page(self, request, token):
        """Public unsubscribe page (no login): this category or every commercial category;
        records nothing."""
        try:
            view = self.consent.describe_unsubscribe(well_formed(token))
        except DomainError as exc:
            return link_problem(exc, EXPIRED_ADVICE)
        return form_page(view)

    @api("POST", "/u/<string:token>", body="form", public=True, request=FORM,
         request_required=False, answer=HTML, answer_description="confirmation page",
         answers=LINK_PROBLEMS, path_parameters=TOKEN)
    def unsubscribe_submit(self, request, token):
        """Unsubscribe (the page's form, or a mail client's one-click POST): records the
        withdrawal with the words shown, the address, the time and the client's IP."""
        one_click = request.form.get(ONE_CLICK_FIELD) == ONE_CLICK_VALUE
        scope = "category" if one_click else request.form.get("scope")
        try:
            view = self.consent.describe_unsubscribe(well_formed(token))
            if scope not in ("category", "all_commercial"):
                return form_page(view, problem="Choose what to unsubscribe from.", status=400)
            evidence = {"wording": one_click_wording(view) if one_click else
                        form_wording(view, scope),
                        "ip": client_address(request, self.config["gateway"].get(
                            "trusted_proxies") or ()),
                        "user_agent": request.headers.get("User-Agent"),
                        "one_click": one_click}
            done = self.consent.unsubscribe(token, scope, evidence)
        except DomainError as exc:
            return link_problem(exc, EXPIRED_ADVICE)
        return done_page(view, done)


def channel_noun(channel):
    return CHANNEL_NOUNS.get(channel, channel)


def options(view):
    """The two choices, narrowest first: (scope, label)."""
    noun = channel_noun(view["channel"])
    everything = [view["category_name"]] + [c["name"] for c in view["other_categories"]]
    return [("category", f"Only {view['category_name']} {noun}"),
            ("all_commercial", f"{noun.capitalize()} of every commercial category of "
                               f"{view['organization_name']}: {', '.join(everything)}")]


def legend(view):
    return (f"Unsubscribe {view['address']} from {view['category_name']} "
            f"{channel_noun(view['channel'])}")


def form_wording(view, scope):
    """The exact words the resident saw and chose: the question, their answer, the button."""
    label = dict(options(view))[scope]
    return f"{legend(view)}. Chosen: {label}. Button: {BUTTON}"


def one_click_wording(view):
    return (f"One-click unsubscribe from the mail client (RFC 8058 List-Unsubscribe-Post) "
            f"from {view['category_name']} {channel_noun(view['channel'])}")


def form_page(view, problem=None, status=200):
    """The choice, the narrowest option pre-selected; a plain form, no script."""
    choices = "".join(
        f'<label><input type="radio" name="scope" value="{escape(scope)}"'
        f'{" checked" if scope == "category" else ""}> {escape(label)}</label>'
        for scope, label in options(view))
    alert = f'<p class="problem" role="alert">{escape(problem)}</p>' if problem else ""
    body = (f"{alert}<p>This link was sent to {escape(view['address'])}. Choose what to "
            f"stop; it takes effect at once.</p>"
            f'<form method="post"><fieldset><legend>{escape(legend(view))}</legend>'
            f"{choices}</fieldset><button type=\"submit\">{escape(BUTTON)}</button></form>")
    return page("Unsubscribe", body, view["organization_name"], status)


def done_page(view, done):
    noun = channel_noun(view["channel"])
    names = [c["name"] for c in done["categories"]]
    items = "".join(f"<li>{escape(name)}</li>" for name in names)
    body = (f'<p class="notice" role="status">You are unsubscribed. '
            f"{escape(view['organization_name'])} will send no more {escape(noun)} to "
            f"{escape(view['address'])} about:</p><ul>{items}</ul>"
            "<p>You can change your mind in the resident portal.</p>")
    return page("You are unsubscribed", body, view["organization_name"])
