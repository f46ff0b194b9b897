"""May we reach this person, on this channel, for this category — pure rules, no I/O.

Facts about one recipient come in; a decision with its reason comes out. The first rule
that applies decides:

1. no contact point for the channel        → `no_contact_point`
2. a STOP keyword from their number (texts) → `keyword_stop`      (transactional too)
3. their preference for the channel is off  → `channel_preference_off` (transactional too)
4. a transactional category                 → allowed (business transactions need no consent)
5. their latest act for the category: withdrawn → `opted_out`; granted → allowed
6. the category's mode: `opt_in` reaches everybody by default; `opt_out` and `request`
   reach nobody until they give express consent → `no_consent`

Whether a category lets residents opt out (unsubscribe links) changes what they are offered,
never a decision: a withdrawal that was recorded is honoured whatever the category says.
"""

from dataclasses import dataclass

MODES = ("request", "opt_in", "opt_out")
REASONS = ("no_contact_point", "keyword_stop", "channel_preference_off", "opted_out",
           "no_consent")


@dataclass(frozen=True)
class Act:
    category_id: str | None   # None: the channel as a whole (the resident's preference)
    action: str               # "grant" or "withdraw"
    seq: int                  # order in the log


@dataclass(frozen=True)
class Facts:
    mode: str
    transactional: bool = False
    category_act: str | None = None        # the latest act for the category, if any
    channel_preference: bool | None = None  # None: never set (on)
    keyword_stopped: bool = False
    has_contact_point: bool = True


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str | None = None


def decide(facts):
    if not facts.has_contact_point:
        return Decision(False, "no_contact_point")
    if facts.keyword_stopped:
        return Decision(False, "keyword_stop")
    if facts.channel_preference is False:
        return Decision(False, "channel_preference_off")
    if facts.transactional:
        return Decision(True)
    if facts.category_act == "withdraw":
        return Decision(False, "opted_out")
    if facts.category_act == "grant" or facts.mode == "opt_in":
        return Decision(True)
    return Decision(False, "no_consent")


def facts_from_log(mode, transactional, acts, has_contact_point, keyword_stopped=False):
    """Facts from a recipient's log on one channel: acts for the category, and acts for
    the channel as a whole (their preference); the latest of each counts."""
    category = [a for a in acts if a.category_id is not None]
    channel = [a for a in acts if a.category_id is None]
    return Facts(mode=mode, transactional=transactional,
                 category_act=_latest(category).action if category else None,
                 channel_preference=(_latest(channel).action == "grant") if channel else None,
                 keyword_stopped=keyword_stopped, has_contact_point=has_contact_point)


def _latest(acts):
    return max(acts, key=lambda a: a.seq)
