"""What an SMS keyword does and what it is answered with — pure, no I/O.

A keyword is about a phone and one of our sender numbers, not about a category: STOP stops
every text from that number (CTIA), START resumes them, HELP asks who we are. Several
residents, even of several organizations, may share a phone; each gets the act in their
consent log as proof, and the one reply names the organization only when there is exactly
one (otherwise the platform's name).
"""

from dataclasses import dataclass

# methods of keyword acts in the consent log: proof of what a handset asked, never the
# resident's channel preference (the keyword log decides, per phone and sender)
KEYWORD_METHODS = ("sms_keyword", "carrier_opt_out")
PLATFORM_NAME = "Townhall"
HELP_TEXT_LIMIT = 320
ACTIONS = {"stop": "withdraw", "start": "grant"}   # help records no consent act


@dataclass(frozen=True)
class Sender:
    """Who the reply speaks for."""

    organization_id: str | None
    name: str


def sender_of(residents):
    """The one organization of the residents with that phone, else the platform."""
    organizations = {(r["organization_id"], r["organization_name"]) for r in residents}
    if len(organizations) == 1:
        organization_id, name = organizations.pop()
        return Sender(organization_id, name)
    return Sender(None, PLATFORM_NAME)


def help_text(template, organization_name):
    """The configured default answer to HELP, with the organization's name put in. Only
    `{organization}` is replaced, so other braces in the text stay as written."""
    return template.replace("{organization}", organization_name)


def reply_text(kind, organization_name, help_answer):
    if kind == "stop":
        return (f"{organization_name}: you are unsubscribed and will get no more texts from "
                "this number. Reply START to resume.")
    if kind == "start":
        return (f"{organization_name}: you will get texts from this number again. "
                "Reply STOP to stop.")
    if kind == "help":
        return help_answer
    raise ValueError(f"no reply to a {kind!r} text")


def stopped(kinds_newest_first):
    """Whether the latest stop or start of a (phone, sender) pair is a stop."""
    for kind in kinds_newest_first:
        if kind in ("stop", "start"):
            return kind == "stop"
    return False


def history_label(method, action):
    """How a keyword act reads in a resident's history; None for other acts."""
    if method == "sms_keyword":
        return "keyword stop" if action == "withdraw" else "keyword start"
    if method == "carrier_opt_out":
        return "keyword stop (carrier opt-out, Twilio 21610)"
    return None
