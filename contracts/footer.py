"""What a delivery actually carries — pure, no I/O; shared by messaging (which sends it),
credits (which quotes it) and consent (which issues the links).

A message of an opt-out-enabled, non-transactional category carries its resident's
unsubscribe link: at the end of the text, and for email also in the `List-Unsubscribe` header
with `List-Unsubscribe-Post` (RFC 2369, RFC 8058 one-click), so mail clients show their own
unsubscribe button. Pricing, sending and reconciliation all take the text from
`text_to_send`, so the credits held are those of the text sent, and a send whose answer was
lost is found by the body the provider has. A quote, made before any link exists, prices the
footer with `placeholder_unsubscribe_link`, which is exactly as long as a real link.
"""

SMS_FOOTER = "\nUnsubscribe: {url}"
EMAIL_FOOTER = ("\n\n--\nYou receive this message from your community. To stop these "
                "emails, unsubscribe here (no login needed): {url}\n")
ONE_CLICK = "List-Unsubscribe=One-Click"

# Invariant: a real token (services/consent/tokens.py `sign(secret, new_link_id("unsub"))`)
# is `unsub_`, 22 URL-safe base64 characters (128 random bits), a dot and 22 more (a 128-bit
# HMAC) — 51 characters, all in GSM-7. The placeholder has the same length and alphabet, so a
# text priced with it costs what the text with a real link costs. A change to the token format
# must change this too: tests/unit/contracts/test_footer.py compares it with a real link.
PLACEHOLDER_TOKEN = "unsub_" + "0" * 22 + "." + "0" * 22


def carries_unsubscribe_link(opt_out_enabled, transactional):
    """Opt-out-enabled categories put a link in every message; transactional ones need none."""
    return bool(opt_out_enabled) and not transactional


def unsubscribe_link(public_url, token):
    """`<gateway.public_url>/u/<token>`, the address the public unsubscribe page answers."""
    return f"{public_url.rstrip('/')}/u/{token}"


def placeholder_unsubscribe_link(public_url):
    """A stand-in for a resident's link, to price a footer before any link is issued."""
    return unsubscribe_link(public_url, PLACEHOLDER_TOKEN)


def text_to_send(channel, body, unsubscribe_url=None):
    """The body with the channel's unsubscribe footer, or the body alone without a link."""
    if not unsubscribe_url:
        return body
    _check_url(unsubscribe_url)
    if channel == "sms":
        return body + SMS_FOOTER.format(url=unsubscribe_url)
    if channel == "email":
        return body.rstrip("\n") + EMAIL_FOOTER.format(url=unsubscribe_url)
    return body  # a call cannot carry a link: its opt-out is a keypress (voice_opt_out)


def email_headers(unsubscribe_url=None):
    """The headers that let a mail client unsubscribe in one click (RFC 8058): it POSTs
    `List-Unsubscribe=One-Click` to the link, which withdraws the category."""
    if not unsubscribe_url:
        return {}
    _check_url(unsubscribe_url)
    return {"List-Unsubscribe": f"<{unsubscribe_url}>", "List-Unsubscribe-Post": ONE_CLICK}


def _check_url(url):
    """A link goes into a header as it is: nothing that could end or bend the header."""
    if (not url.startswith(("https://", "http://"))
            or any(ch.isspace() or ch in "<>\"," for ch in url)):
        raise ValueError(f"not a usable unsubscribe link: {url!r}")
