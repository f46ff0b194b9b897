"""The event catalogue: every event Townhall publishes, its envelope and its payload schema.

Events are facts in the past tense. Each is published on the topic exchange
`<source>.events` with the event type as routing key; integration partners bind their own
queues there. A breaking change to a payload is a new version; adding fields is not.
"""

import functools
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from marshmallow import Schema, ValidationError, fields, validate

from contracts.vocabulary import (
    ASSIGNEE_TYPES,
    CHANNELS,
    DELIVERY_STATUSES,
    TICKET_KINDS,
    TICKET_PRIORITIES,
    TICKET_STATUSES,
    VISIBILITIES,
)


class Envelope(Schema):
    event_id = fields.String(required=True,
                             metadata={"description": "UUID; consumers dedupe by it"})
    type = fields.String(required=True)
    version = fields.Integer(required=True)
    source = fields.String(required=True, metadata={"description": "publishing service"})
    occurred_at = fields.String(required=True, metadata={"description": "ISO 8601, UTC"})
    correlation_id = fields.String(allow_none=True)
    organization_id = fields.String(allow_none=True)
    data = fields.Dict(required=True)


class CommunityCreated(Schema):
    community_id = fields.String(required=True)
    organization_id = fields.String(required=True)
    name = fields.String(required=True)


class Occupant(Schema):
    resident_id = fields.String(required=True)
    unit_id = fields.String(allow_none=True)
    kind = fields.String(required=True, validate=validate.OneOf(["owner", "tenant"]))
    date = fields.String(allow_none=True, metadata={"description": "move-in or move-out date"})


class OccupantsMoved(Schema):
    """occupant_moved_in / occupant_moved_out: one event per batch of occupants."""

    community_id = fields.String(required=True)
    occupants = fields.List(fields.Nested(Occupant), required=True)


class ContactPointChanged(Schema):
    resident_id = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(["phone", "email"]))
    change = fields.String(required=True, validate=validate.OneOf(["added", "removed",
                                                                    "made_primary"]))
    contact_point_id = fields.String(required=True)


class ContactPointsChanged(Schema):
    """contact_points_changed: many residents' contact points at once (a CSV import)."""

    community_id = fields.String(required=True)
    items = fields.List(fields.Nested(ContactPointChanged), required=True,
                        metadata={"description": "each as contact_point_changed carries it"})


class PermissionChanged(Schema):
    grant_id = fields.String(required=True)
    staff_user_id = fields.String(required=True)
    name = fields.String(required=True, metadata={"description": "a permission or a role"})
    permissions = fields.List(fields.String(), required=True,
                              metadata={"description": "the permissions it stands for"})
    scope_type = fields.String(required=True,
                               validate=validate.OneOf(["organization", "office", "community"]))
    scope_id = fields.String(required=True)
    holds_send_sms = fields.Boolean(
        metadata={"description": "whether the staff user still holds send_sms anywhere after "
                                 "this change (credits freezes a user's balance without it)"})


class ConsentRecorded(Schema):
    resident_id = fields.String(required=True)
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    category_id = fields.String(allow_none=True)
    action = fields.String(required=True, validate=validate.OneOf(["grant", "withdraw"]))
    method = fields.String(required=True)


class ConsentsRecorded(Schema):
    """consents_recorded: many acts at once (an import of consent records)."""

    items = fields.List(fields.Nested(ConsentRecorded), required=True,
                        metadata={"description": "each as consent_recorded carries it"})


class CreditsGranted(Schema):
    community_id = fields.String(required=True)
    amount = fields.Integer(required=True)
    reason = fields.String(required=True)
    balance = fields.Integer(required=True)
    wallet = fields.String(metadata={"description": "the wallet: community:<id>, user:<id> "
                                                   "or pool"})


class HoldItem(Schema):
    hold_id = fields.String(required=True)
    delivery_id = fields.String(required=True)
    amount = fields.Integer(required=True)


class CreditsReserved(Schema):
    community_id = fields.String(required=True)
    communication_id = fields.String(required=True)
    total = fields.Integer(required=True)
    holds = fields.List(fields.Nested(HoldItem), required=True)
    balance = fields.Integer(required=True)
    wallet = fields.String(metadata={"description": "the paying wallet: community:<id>, user:<id> "
                                                   "or pool"})


class CreditsResolved(Schema):
    """credits_settled (amount = credits charged) and credits_released (amount = 0)."""

    community_id = fields.String(required=True)
    items = fields.List(fields.Nested(HoldItem), required=True)
    balance = fields.Integer(required=True)
    wallet = fields.String(metadata={"description": "the paying wallet: community:<id>, user:<id> "
                                                   "or pool"})
    reason = fields.String(metadata={"description": "delivered, failed, undelivered, "
                                                    "expired ..."})


class CreditsTransferred(Schema):
    source = fields.String(required=True, metadata={"description": "wallet credits left"})
    target = fields.String(required=True, metadata={"description": "wallet credits reached"})
    amount = fields.Integer(required=True)
    reason = fields.String(required=True)
    actor = fields.String(required=True)
    source_balance = fields.Integer(required=True)
    target_balance = fields.Integer(required=True)


class CreditsPurchased(Schema):
    order_id = fields.String(required=True)
    number = fields.String(required=True, metadata={"description": "TH-<year>-<sequence>: "
                                                                   "the order and its invoice"})
    wallet = fields.String(required=True, metadata={"description": "the wallet credited: "
                                                                   "community:<id>, user:<id> "
                                                                   "or pool"})
    quantity = fields.Integer(required=True, metadata={"description": "credits applied"})
    total = fields.Integer(required=True, metadata={"description": "paid, tax included, in "
                                                                   "minor units of currency"})
    currency = fields.String(required=True)
    balance = fields.Integer(required=True, metadata={"description": "the wallet's balance "
                                                                     "after"})


class WalletStateChanged(Schema):
    """wallet_balance_low, wallet_went_negative, wallet_recovered."""

    wallet = fields.String(required=True)
    owner_type = fields.String(required=True,
                               validate=validate.OneOf(["community", "user", "pool"]))
    owner_id = fields.String(allow_none=True)
    available = fields.Integer(required=True)
    balance = fields.Integer(required=True)
    previous_available = fields.Integer(allow_none=True)
    threshold = fields.Integer(metadata={"description": "wallet_balance_low: the threshold"})


class SentBy(Schema):
    type = fields.String(required=True, metadata={
        "description": "staff or api_key; system for Townhall's own sends"})
    id = fields.String(required=True, metadata={"description": "the staff user or API key"})
    name = fields.String(allow_none=True, metadata={
        "description": "the staff user's or the API key's name when it was sent"})


class CommunicationAccepted(Schema):
    communication_id = fields.String(required=True)
    community_id = fields.String(required=True)
    kind = fields.String(required=True)
    channels = fields.List(fields.String(), required=True)
    category_id = fields.String(required=True)
    recipient_count = fields.Integer(required=True, metadata={
        "description": "residents reached when accepted, times the channels"})
    community_ids = fields.List(fields.String(), metadata={
        "description": "every community the audience touches (community_id is the first)"})
    emergency = fields.Boolean(metadata={"description": "sent past quiet hours, first"})
    emergency_reason = fields.String(allow_none=True, metadata={
        "description": "why it could not wait (with emergency)"})
    sent_by = fields.Nested(SentBy, metadata={"description": "who sent it"})
    accepted_at = fields.String(metadata={
        "description": "ISO 8601, UTC: when the request was accepted (a scheduled send: "
                       "when it was scheduled, not when it went)"})


class CommunicationScheduled(CommunicationAccepted):
    """Accepted to go later: `communication_accepted` follows when it is due."""

    send_at = fields.String(required=True, metadata={"description": "when it goes (UTC)"})


class CommunicationRescheduled(Schema):
    communication_id = fields.String(required=True)
    send_at = fields.String(required=True, metadata={"description": "the new time (UTC)"})


class AudiencePageRequested(Schema):
    communication_id = fields.String(required=True)
    page = fields.Integer(required=True, metadata={"description": "1-based page number"})
    after = fields.String(allow_none=True, metadata={"description": "last resident id taken"})


class DeliveriesCreated(Schema):
    communication_id = fields.String(required=True)
    batch = fields.Integer(required=True, metadata={"description": "the audience page"})
    delivery_ids = fields.List(fields.String(), required=True)


class CommunicationFinished(Schema):
    communication_id = fields.String(required=True)
    community_ids = fields.List(fields.String(), required=True)
    status = fields.String(required=True, validate=validate.OneOf(("completed", "cancelled")))
    counts = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True,
                         metadata={"description": "deliveries by final status"})
    finished_at = fields.String(required=True)


class DeliveriesQueued(Schema):
    communication_id = fields.String(required=True)
    delivery_ids = fields.List(fields.String(), required=True)


class DeliveryChange(Schema):
    delivery_id = fields.String(required=True)
    resident_id = fields.String(required=True)
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    status = fields.String(required=True, validate=validate.OneOf(DELIVERY_STATUSES))
    previous_status = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)
    error_code = fields.String(allow_none=True)
    credits = fields.Integer(required=True, metadata={"description": "credits priced for it"})
    hold_id = fields.String(allow_none=True)
    duration_seconds = fields.Integer(allow_none=True, metadata={
        "description": "a call's length in seconds (Twilio's CallDuration; 0 when nobody "
                       "answered) when the change came with it, on its final status; null "
                       "for texts, emails and every other change"})
    credits_charged = fields.Integer(allow_none=True, metadata={
        "description": "on a final status, what it is charged: a delivered or unconfirmed "
                       "text its credits, an answered call its started minutes, an email 0, "
                       "and 0 for every end that is not charged (failed, undelivered, "
                       "suppressed, cancelled; a busy or unanswered call); null while it is "
                       "in flight. credits settles the delivery's hold for exactly this "
                       "(credits_settled), or releases it for 0 (credits_released), unless "
                       "the hold had expired by then (released, reason expired)"})


class DeliveriesUpdated(Schema):
    communication_id = fields.String(required=True)
    community_id = fields.String(required=True)
    items = fields.List(fields.Nested(DeliveryChange), required=True)


class ProviderStatusReceived(Schema):
    provider = fields.String(required=True)
    provider_id = fields.String(required=True, metadata={
        "description": "Twilio MessageSid, or CallSid for a call"})
    status = fields.String(required=True, metadata={
        "description": "the provider's word: MessageStatus, or CallStatus for a call"})
    error_code = fields.String(allow_none=True)
    duration_seconds = fields.Integer(allow_none=True, metadata={
        "description": "a call's CallDuration, on its final status"})


class CallKeypressReceived(Schema):
    """A resident pressed a key in a call's opt-out offer (signature checked)."""

    provider = fields.String(required=True)
    provider_id = fields.String(required=True, metadata={"description": "Twilio CallSid"})
    digits = fields.String(required=True, allow_none=True)
    speech = fields.String(allow_none=True, metadata={"description": "SpeechResult"})
    to_number = fields.String(allow_none=True)


class CallOptOutReceived(Schema):
    """A resident pressed the opt-out key in a call: consent records a voice withdrawal for
    the call's category, with the call as evidence."""

    resident_id = fields.String(required=True)
    category_id = fields.String(required=True)
    delivery_id = fields.String(required=True)
    communication_id = fields.String(required=True)
    call_sid = fields.String(required=True)
    digits = fields.String(required=True)
    speech = fields.String(allow_none=True)
    prompt = fields.String(required=True, metadata={"description": "the words the resident "
                                                                   "heard before pressing"})
    phone = fields.String(allow_none=True)


class ProviderStatusesReceived(Schema):
    """Provider status callbacks that reached the gateway together, in one event."""

    items = fields.List(fields.Nested(ProviderStatusReceived), required=True)


class TextReceived(Schema):
    """A text a handset sent to one of our numbers (signature checked at the gateway)."""

    provider = fields.String(required=True)
    provider_id = fields.String(required=True, metadata={"description": "Twilio MessageSid"})
    from_number = fields.String(required=True)
    to_number = fields.String(required=True)
    body = fields.String(required=True)


class SmsKeywordApplied(Schema):
    """An SMS keyword was recorded; `reply` is the one answer to send back."""

    phone = fields.String(required=True)
    sender = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(["stop", "start", "help"]))
    keyword = fields.String(required=True)
    message_sid = fields.String(required=True)
    reply = fields.String(required=True)


class SmsOptOutReported(Schema):
    """The provider refused a text because the handset opted out (Twilio error 21610)."""

    phone = fields.String(required=True)
    sender = fields.String(required=True)
    delivery_id = fields.String(required=True)
    error_code = fields.String(required=True)


class ReplyReceived(Schema):
    """A resident's text that is not a keyword: a reply for the response group."""

    inbound_id = fields.String(required=True)
    resident_id = fields.String(allow_none=True)
    community_id = fields.String(allow_none=True)
    body = fields.String(required=True)
    received_at = fields.String(required=True)


class ConsentRequestEmail(Schema):
    resident_id = fields.String(required=True)
    email = fields.String(required=True)
    body = fields.String(required=True, metadata={"description": "the text with the signed "
                                                                 "confirm link"})


class ConsentRequestsIssued(Schema):
    """consent_requests_issued: one event per batch of consent-request emails to send."""

    request_id = fields.String(required=True)
    category_id = fields.String(required=True)
    subject = fields.String(required=True)
    items = fields.List(fields.Nested(ConsentRequestEmail), required=True)


class ConsentRequestMailing(Schema):
    resident_id = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(["sent", "failed"]))
    reason = fields.String(allow_none=True)


class ConsentRequestsMailed(Schema):
    request_id = fields.String(required=True)
    items = fields.List(fields.Nested(ConsentRequestMailing), required=True)


class TicketFacts(Schema):
    """What every ticket event says of its ticket. Nothing here is ever managers-only text:
    partners and residents' tools may read it."""

    ticket_id = fields.String(required=True)
    number = fields.String(required=True, metadata={"description": "e.g. WO-1001"})
    kind = fields.String(required=True, validate=validate.OneOf(TICKET_KINDS))
    community_id = fields.String(required=True)
    unit_id = fields.String(allow_none=True)
    status = fields.String(required=True, validate=validate.OneOf(TICKET_STATUSES))
    priority = fields.String(required=True, validate=validate.OneOf(TICKET_PRIORITIES))


class TicketCreated(TicketFacts):
    location = fields.String(allow_none=True)
    title = fields.String(required=True)
    category = fields.String(required=True)
    reporter_type = fields.String(required=True, metadata={"description": "resident or staff"})
    due_at = fields.String(allow_none=True)


class TicketStatusChanged(TicketFacts):
    previous_status = fields.String(required=True, validate=validate.OneOf(TICKET_STATUSES))
    changed_by_type = fields.String(required=True,
                                    metadata={"description": "resident, staff or api_key"})
    note = fields.String(allow_none=True, metadata={
        "description": "the move's note when residents may read it; never a managers-only "
                       "note"})


class TicketCommented(TicketFacts):
    comment_id = fields.String(required=True)
    visibility = fields.String(required=True, validate=validate.OneOf(VISIBILITIES))
    author_type = fields.String(required=True, metadata={"description": "resident or staff"})
    body = fields.String(allow_none=True, metadata={
        "description": "the comment, when residents may read it; null for a managers-only "
                       "one (its text never leaves tickets in an event)"})


class TicketAssigned(TicketFacts):
    assignee_type = fields.String(allow_none=True, validate=validate.OneOf(ASSIGNEE_TYPES),
                                  metadata={"description": "null: unassigned"})
    assignee_id = fields.String(allow_none=True)
    assignee_name = fields.String(allow_none=True)


class TicketOverdue(TicketFacts):
    due_at = fields.String(required=True)


class TicketNotice(Schema):
    to = fields.String(required=True, validate=validate.OneOf(["staff", "resident"]))
    id = fields.String(required=True, metadata={"description": "the staff user or resident"})
    email = fields.String(allow_none=True, metadata={"description": "staff: where to write"})
    channels = fields.List(fields.String(validate=validate.OneOf(CHANNELS)), metadata={
        "description": "resident: the channels to try (their preferences still apply)"})
    subject = fields.String(required=True)
    body = fields.String(required=True)


class TicketNoticesRequested(Schema):
    ticket_id = fields.String(required=True)
    community_id = fields.String(required=True)
    occasion = fields.String(required=True, validate=validate.OneOf(
        ["created", "resident_commented", "status_changed", "comment_shared"]))
    notices = fields.List(fields.Nested(TicketNotice), required=True)


@dataclass(frozen=True)
class EventType:
    name: str
    source: str
    version: int
    schema: type
    description: str
    internal: bool = False


CATALOGUE = {
    e.name: e
    for e in [
        EventType("community_created", "directory", 1, CommunityCreated,
                  "A community (property) was added to an organization."),
        EventType("occupant_moved_in", "directory", 1, OccupantsMoved,
                  "Occupants moved into units of a community (one event per batch)."),
        EventType("occupant_moved_out", "directory", 1, OccupantsMoved,
                  "Occupants moved out; their records and history are kept."),
        EventType("contact_point_changed", "directory", 1, ContactPointChanged,
                  "A resident's phone or email was added, removed or made primary "
                  "(a CSV import sends contact_points_changed instead)."),
        EventType("contact_points_changed", "directory", 1, ContactPointsChanged,
                  "Phones and emails of many residents of a community were added or made "
                  "primary at once, by a CSV import (one event per batch)."),
        EventType("permission_granted", "directory", 1, PermissionChanged,
                  "A staff user was granted a permission or a role at a scope."),
        EventType("permission_revoked", "directory", 1, PermissionChanged,
                  "A grant was taken away (credits freezes a balance when send_sms goes)."),
        EventType("consent_recorded", "consent", 1, ConsentRecorded,
                  "A resident granted or withdrew consent for a channel (and category)."),
        EventType("consents_recorded", "consent", 1, ConsentsRecorded,
                  "Many residents' grants and withdrawals at once, from an import of consent "
                  "records (one event per batch)."),
        EventType("credits_granted", "credits", 1, CreditsGranted,
                  "Credits were added to a community wallet."),
        EventType("credits_reserved", "credits", 1, CreditsReserved,
                  "A hold was placed on a wallet for the deliveries of a communication."),
        EventType("credits_settled", "credits", 1, CreditsResolved,
                  "Holds were settled: the amounts are the credits charged."),
        EventType("credits_released", "credits", 1, CreditsResolved,
                  "Holds were released: nothing was charged for them."),
        EventType("credits_transferred", "credits", 1, CreditsTransferred,
                  "Credits moved between wallets (allocation, transfer, a frozen balance "
                  "moved away)."),
        EventType("credits_purchased", "credits", 1, CreditsPurchased,
                  "A credit order was paid and its credits applied to the wallet (once per "
                  "order: at once for a card, when the payment is recorded for an invoice)."),
        EventType("wallet_balance_low", "credits", 1, WalletStateChanged,
                  "A wallet's available credits fell below its threshold."),
        EventType("wallet_went_negative", "credits", 1, WalletStateChanged,
                  "A community wallet went below zero (it keeps sending)."),
        EventType("wallet_recovered", "credits", 1, WalletStateChanged,
                  "A wallet that was below zero is at or above zero again."),
        EventType("communication_accepted", "messaging", 1, CommunicationAccepted,
                  "A communication was accepted for sending."),
        EventType("communication_scheduled", "messaging", 1, CommunicationScheduled,
                  "A communication was accepted to go at its send_at; communication_accepted "
                  "follows then, once."),
        EventType("communication_rescheduled", "messaging", 1, CommunicationRescheduled,
                  "A scheduled communication's send_at was changed before it went."),
        EventType("audience_page_requested", "messaging", 1, AudiencePageRequested,
                  "The next page of a communication's audience is to be resolved.",
                  internal=True),
        EventType("urgent_audience_page_requested", "messaging", 1, AudiencePageRequested,
                  "A page of an emergency's audience is to be resolved (its first page "
                  "too), by workers that take no ordinary work.", internal=True),
        EventType("deliveries_created", "messaging", 1, DeliveriesCreated,
                  "A page of the audience became deliveries, to be checked and paid for.",
                  internal=True),
        EventType("urgent_deliveries_created", "messaging", 1, DeliveriesCreated,
                  "A page of an emergency's audience became deliveries, to be checked and "
                  "paid for by workers that take no ordinary work.", internal=True),
        EventType("communication_finished", "messaging", 1, CommunicationFinished,
                  "Every delivery of a communication has ended (completed), or it was "
                  "cancelled and everything not handed to the provider ended."),
        EventType("deliveries_queued", "messaging", 1, DeliveriesQueued,
                  "Deliveries were priced, paid for and handed to the dispatch workers.",
                  internal=True),
        EventType("urgent_deliveries_queued", "messaging", 1, DeliveriesQueued,
                  "An emergency send's deliveries, handed to workers that take no ordinary "
                  "work, ahead of the ordinary ones waiting.", internal=True),
        EventType("deliveries_updated", "messaging", 1, DeliveriesUpdated,
                  "Deliveries of one communication changed status (one event per batch)."),
        EventType("text_received", "gateway", 1, TextReceived,
                  "A signed inbound text reached the gateway's webhook.", internal=True),
        EventType("sms_keyword_applied", "consent", 1, SmsKeywordApplied,
                  "An SMS keyword (STOP, START, HELP and their synonyms) was recorded; "
                  "messaging sends its one reply.", internal=True),
        EventType("sms_opt_out_reported", "messaging", 1, SmsOptOutReported,
                  "The provider refused a text to a handset that opted out (Twilio 21610).",
                  internal=True),
        EventType("reply_received", "messaging", 1, ReplyReceived,
                  "A resident texted something other than a keyword: a reply."),
        EventType("consent_requests_issued", "consent", 1, ConsentRequestsIssued,
                  "A batch of consent-request emails, each with its signed confirm link, "
                  "for messaging to send.", internal=True),
        EventType("consent_requests_mailed", "messaging", 1, ConsentRequestsMailed,
                  "What became of a batch of consent-request emails.", internal=True),
        EventType("provider_status_received", "gateway", 1, ProviderStatusReceived,
                  "A provider's signed status callback was received.", internal=True),
        EventType("call_keypress_received", "gateway", 1, CallKeypressReceived,
                  "A resident pressed a key in a call's opt-out offer.", internal=True),
        EventType("call_opt_out_received", "messaging", 1, CallOptOutReceived,
                  "A resident pressed the opt-out key in a call; consent records the "
                  "withdrawal from calls of that category.", internal=True),
        EventType("provider_statuses_received", "gateway", 1, ProviderStatusesReceived,
                  "Signed status callbacks received together (one event per batch).",
                  internal=True),
        EventType("ticket_created", "tickets", 1, TicketCreated,
                  "A work order was reported (by a resident, or by staff)."),
        EventType("ticket_status_changed", "tickets", 1, TicketStatusChanged,
                  "A work order moved from one status to another."),
        EventType("ticket_commented", "tickets", 1, TicketCommented,
                  "A comment was added to a work order (a managers-only one without its "
                  "text)."),
        EventType("ticket_assigned", "tickets", 1, TicketAssigned,
                  "A work order was assigned to a staff user, a team or a vendor, or "
                  "unassigned."),
        EventType("ticket_overdue", "tickets", 1, TicketOverdue,
                  "An open work order passed its due date (once per ticket and due date)."),
        EventType("ticket_notices_requested", "tickets", 1, TicketNoticesRequested,
                  "The emails (and texts) a work order's change owes management and its "
                  "reporter, written in the community's words, for messaging to send.",
                  internal=True),
    ]
}


@functools.cache
def _schema(spec):
    # one instance per event type: building a schema (and its nested ones) costs more than
    # validating a batch of items with it
    return spec.schema()


def envelope(event_type, data, *, organization_id=None, correlation_id=None):
    """Build a validated envelope for one event of the catalogue."""
    spec = CATALOGUE[event_type]
    errors = _schema(spec).validate(data)
    if errors:
        raise ValidationError(errors)
    return {
        "event_id": str(uuid.uuid4()),
        "type": spec.name,
        "version": spec.version,
        "source": spec.source,
        "occurred_at": datetime.now(UTC).isoformat(),
        "correlation_id": correlation_id,
        "organization_id": organization_id,
        "data": data,
    }
