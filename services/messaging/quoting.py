"""What a batch of deliveries costs and whether each may go: one consent check and one set of
unsubscribe links per channel for the whole batch, then the price of the text as it is sent
(body and footer). The preview and the real send both come through here, so a preview
equals what a send right after it holds."""

from dataclasses import dataclass

from contracts import footer
from contracts.pricing import RateCard, delivery_credits, voice_credits
from contracts.segments import segments
from services.messaging import document_links, voice_calls
from services.messaging.call_settings import CallSettings


@dataclass(frozen=True)
class Quoted:
    """The decision for one delivery: allowed (with its credits and segments) or the reason."""

    key: str                 # the delivery's id (or the preview's stand-in for it)
    resident_id: str
    community_id: str
    channel: str
    allowed: bool
    reason: str | None
    credits: int
    segments: int
    unsubscribe_url: str | None
    seconds_per_credit: int | None = None   # a call's rate card, to charge it by later


def quote_batch(consent, credits, identity, category_id, body, channels, items,
                call_settings=None, document_link=None):
    """items: [{key, resident_id, community_id, channel, address, language}] not yet
    decided (a duplicate address is decided before). Two consent RPCs per channel and one
    rate-card RPC for the whole batch, never one per delivery. A call is held for the
    longest it can last in the resident's language, with `call_settings`
    (messaging.voice: its TimeLimit, machine detection). A document send's
    texts and calls are priced with their link (`document_link(key)`: the real one, or a
    preview's stand-in of the same length)."""
    rates = RateCard(**credits.rate_card(identity))
    decisions, links = {}, {}
    for channel in channels:
        batch = [i for i in items if i["channel"] == channel]
        if not batch:
            continue
        asked = [{"resident_id": i["resident_id"], "has_contact_point": i["address"] is not None,
                  "address": i["address"]} for i in batch]
        for decision in consent.check(identity, category_id, channel, asked):
            decisions[(decision["resident_id"], channel)] = decision
        allowed = [{"resident_id": i["resident_id"], "address": i["address"]} for i in batch
                   if decisions[(i["resident_id"], channel)]["allowed"]]
        if allowed:
            urls = consent.unsubscribe_links(identity, category_id, channel, allowed)
            links.update({(resident_id, channel): url for resident_id, url in urls.items()})
    return [price(i, decisions[(i["resident_id"], i["channel"])],
                  links.get((i["resident_id"], i["channel"])),
                  document_links.body_for(i["channel"], body,
                                          document_link and document_link(i["key"])),
                  rates, call_settings) for i in items]


def price(item, decision, link, body, rates, call_settings=None):
    if not decision["allowed"]:
        return Quoted(item["key"], item["resident_id"], item["community_id"], item["channel"],
                      False, decision["reason"], 0, 0, None)
    if item["channel"] == "voice":
        # an opt-out-enabled category's call ends with the keypress offer (a call carries
        # no link: the link only says the category has one), in the resident's language
        seconds = voice_calls.longest_seconds(body, item.get("language"), bool(link),
                                              call_settings or CallSettings())
        return Quoted(item["key"], item["resident_id"], item["community_id"], "voice", True,
                      None, voice_credits(seconds, rates), 0, link, rates.voice_seconds)
    text = footer.text_to_send(item["channel"], body, link)
    return Quoted(item["key"], item["resident_id"], item["community_id"], item["channel"],
                  True, None, delivery_credits(item["channel"], text, rates),
                  segments(text) if item["channel"] == "sms" else 0, link)
