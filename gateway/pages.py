"""Public pages (unsubscribe, consent confirm): plain accessible HTML that works without
JavaScript or login, with the organization's name, styled simply. Every value put into a page
goes through `escape`; pages are never cached and never framed."""

import re
from html import escape

from werkzeug.wrappers import Response

from contracts.errors import Gone, InvalidRequest, ServiceUnavailable

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;line-height:1.5;
margin:0;background:#f6f7f9;color:#1b1f24}
main{max-width:36rem;margin:2rem auto;padding:1.5rem 2rem;background:#fff;
border:1px solid #d0d7de;border-radius:8px}
h1{font-size:1.4rem;margin-top:0}
.org{color:#57606a;font-size:.95rem;margin:0 0 1rem}
fieldset{border:1px solid #d0d7de;border-radius:6px;margin:1rem 0;padding:.75rem 1rem}
label{display:block;margin:.35rem 0}
button{font-size:1rem;padding:.55rem 1.2rem;border-radius:6px;border:1px solid #1f6feb;
background:#1f6feb;color:#fff;cursor:pointer}
button:focus,input:focus{outline:3px solid #f0b400;outline-offset:2px}
.notice{padding:.75rem 1rem;border-radius:6px;background:#eef6ee;border:1px solid #9ac79a}
.problem{padding:.75rem 1rem;border-radius:6px;background:#fff4f2;border:1px solid #e5a39a}
"""

# what consent signs: a link id and its HMAC, both URL-safe base64 words
TOKEN = re.compile(r"[A-Za-z0-9_-]{1,100}\.[A-Za-z0-9_-]{1,100}")

HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                               "form-action 'self'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


def page(title, body_html, organization_name=None, status=200, lang="en", style=""):
    """A whole page. `body_html` is trusted markup built with `escape` by the caller;
    `style`, the page's own CSS after the common one (a print stylesheet, say)."""
    org = (f'<p class="org">{escape(organization_name)}</p>' if organization_name else "")
    html = (f'<!doctype html>\n<html lang="{escape(lang)}"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(title)}</title><style>{STYLE}{style}</style></head>"
            f'<body><main>{org}<h1>{escape(title)}</h1>{body_html}</main></body></html>\n')
    return Response(html, status=status, mimetype="text/html", headers=HEADERS)


def problem_page(title, explanation, status, organization_name=None):
    """A clear page for a link that cannot be used (changed, expired, unknown)."""
    return page(title, f'<p class="problem" role="alert">{escape(explanation)}</p>',
                organization_name, status)


def well_formed(token):
    """The token of a link as consent signs it, or the "not valid" answer at once: anything
    else (other characters, a cut-off link) cannot be one of ours, so nobody is asked."""
    if not TOKEN.fullmatch(token):
        raise InvalidRequest("the link is not one we sent", "token")
    return token


def link_problem(exc, expired_advice):
    """A signed link that cannot be used says so plainly, in a page, never a JSON document:
    changed or unknown (400), expired (410, with the page's own advice), its category
    archived since (410), or our records out of reach (503). Nothing was recorded."""
    if isinstance(exc, Gone) and exc.field == "category_id":
        return problem_page("This request is closed",
                            "The sender no longer uses this kind of message, so there is "
                            "nothing to answer. Nothing was recorded.", 410)
    if isinstance(exc, Gone):
        return problem_page("This link has expired",
                            f"This link has expired. {expired_advice} Nothing was recorded.",
                            410)
    if isinstance(exc, InvalidRequest) and exc.field == "token":
        return problem_page("This link is not valid",
                            "This link is not valid: it may have been changed or cut short. "
                            "Copy the whole link from the message and try again. Nothing "
                            "was recorded.", 400)
    if isinstance(exc, ServiceUnavailable):
        return problem_page("Please try again in a moment",
                            "We could not reach our records just now. Nothing was "
                            "recorded; please try again in a few minutes.", 503)
    return problem_page("This did not work", exc.detail, exc.status)
