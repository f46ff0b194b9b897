"""messaging: communications and their deliveries, from acceptance to a terminal status.

Entrypoints only; each step's rules live in the module named for it:
create (RPC, intake) persists the communication and its audience as asked and answers at
once (a scheduled send waits until the scheduler, scheduling, hands it on) ->
`communication_accepted` / `audience_page_requested` (resolution) takes the audience a page
at a time -> `deliveries_created` (preparation) checks consent and holds credits per batch
-> `deliveries_queued` (dispatching, run by dispatch_service with workers of its own) hands
deliveries to the provider under the sender's rate limit -> provider statuses (callbacks)
move them forward; the release timer hands on deliveries whose retry or budget time has
come, and the sweeper (reconciliation) settles what the provider never confirmed. An
emergency's steps travel on urgent twins of those events, taken by urgent_service's workers
(urgency).
"""

import base64

from nameko.timer import timer

from servicekit import idempotency
from servicekit.access import Caller
from servicekit.consumers import on_event, on_events
from servicekit.entrypoints import rpc
from servicekit.providers import Database, Rpc
from servicekit.service import TownhallService
from servicekit.tracing import current_correlation_id, set_correlation_id
from services.messaging import (
    callbacks,
    changes,
    dispatching,
    documents,
    intake,
    keypresses,
    leases,
    preparation,
    reconciliation,
    resolution,
    scheduling,
    views,
)
from services.messaging.dispatch import Providers
from services.messaging.inbound import Inbound
from services.messaging.models import Base, Communication
from services.messaging.notices import Notices
from services.messaging.ticket_notices import TicketNotices

RELEASE_INTERVAL_SECONDS = 0.25
SWEEP_INTERVAL_SECONDS = 5
SCHEDULER_INTERVAL_SECONDS = 1


class MessagingService(TownhallService, Inbound, Notices, TicketNotices):
    name = "messaging"
    db = Database(Base)
    providers = Providers()
    # pages and batches of up to 1,000: a longer bound than a single question's
    directory = Rpc("directory", setting="batch_rpc_timeout_seconds")
    consent = Rpc("consent", setting="batch_rpc_timeout_seconds")
    credits = Rpc("credits", setting="batch_rpc_timeout_seconds")

    @rpc
    def create(self, identity, request, idempotency_key=None):
        """Accept a communication; the same key and request answer the first result again."""
        caller = Caller.of(identity)
        caller.require("send_communications")
        self._check_supported(request)
        idempotency.check_key(idempotency_key)
        digest = idempotency.request_hash(request) if idempotency_key else None
        previous = intake.replay(self.db, caller, idempotency_key, digest)
        if previous is not None:
            return previous
        category, recipients, scope = intake.check_sender(identity, caller, self.consent,
                                                          self.directory, request)
        intake.check_document(self.db, caller, request)
        # the organization's quiet hours as they are now go with the send
        quiet_hours = self.consent.quiet_hours(identity)
        return intake.accept(self.db, caller, identity, request, category, recipients, scope,
                             idempotency_key, digest, quiet_hours)

    @rpc
    def preview(self, identity, request):
        """What `create` with this request would do now, sending and holding nothing."""
        caller = Caller.of(identity)
        caller.require("send_communications")
        self._check_supported(request)
        _category, recipients, scope = intake.check_sender(identity, caller, self.consent,
                                                           self.directory, request)
        intake.check_document(self.db, caller, request)
        return intake.preview(self.directory, self.consent, self.credits, identity, request,
                              recipients, scope, self.providers.call_settings,
                              self.providers.document_links)

    def _check_supported(self, request):
        intake.check_supported(request, self.providers.call_settings,
                               self.providers.gather_action, self.providers.document_links)

    @rpc
    def get(self, identity, communication_id):
        with self.db.read() as session:
            return views.communication(session, Caller.of(identity), communication_id)

    @rpc
    def list_communications(self, identity, **query):
        with self.db.read() as session:
            return views.communications(session, Caller.of(identity), **query)

    @rpc
    def list_deliveries(self, identity, communication_id, **query):
        with self.db.read() as session:
            return views.deliveries(session, Caller.of(identity), communication_id, **query)

    @rpc
    def cancel(self, identity, communication_id):
        caller = Caller.of(identity)
        intake.cancel(self.db, caller, communication_id, views.load)
        return self.get(identity, communication_id)

    @rpc
    def reschedule(self, identity, communication_id, send_at, idempotency_key=None):
        return scheduling.reschedule(self.db, Caller.of(identity), communication_id, send_at,
                                     views.load, views.communication, idempotency_key)

    @rpc
    def upload_document(self, identity, content_base64, filename=None, idempotency_key=None):
        """A document to send: checked by its content, kept in the shared store."""
        return documents.upload(self.db, self.providers.blobs, Caller.of(identity),
                                base64.b64decode(content_base64), filename, idempotency_key)

    @rpc
    def get_document(self, identity, document_id):
        caller = Caller.of(identity)
        caller.require_any(documents.READERS)
        with self.db.read() as session:
            return documents.view(documents.load(session, caller, document_id))

    @rpc
    def open_document_link(self, token, content=False):
        """Public (the signed token is the authority, no caller): the document a
        recipient's own link opens, with its bytes when `content`."""
        with self.db.read() as session:
            row, _delivery = documents.by_link(session, self.providers.document_links.secret,
                                               token)
        answer = documents.public_view(row)
        if content:
            answer["content_base64"] = base64.b64encode(
                self.providers.blobs.get(row.sha256)).decode()
        return answer

    @on_event("messaging", "communication_accepted", transactional=False)
    def resolve_first_page(self, event):
        if event.data.get("emergency"):
            return   # its first page was asked for on the urgent queue (urgency.emit_accepted)
        resolution.resolve_page(self.db, self.directory, event.data["communication_id"], 1,
                                None)

    @on_event("messaging", "audience_page_requested", transactional=False)
    def resolve_next_page(self, event):
        data = event.data
        resolution.resolve_page(self.db, self.directory, data["communication_id"],
                                data["page"], data["after"])

    @on_event("messaging", "deliveries_created", transactional=False)
    def prepare(self, event):
        data = event.data
        preparation.prepare_batch(self.db, self.consent, self.credits,
                                  data["communication_id"], data["batch"], data["delivery_ids"],
                                  self.providers.call_settings,
                                  self.providers.document_links)

    @on_events("gateway", "provider_status_received")
    def apply_provider_status(self, events, uow):
        """Provider callbacks one by one (the event before batches): as below."""
        self._apply_statuses(uow, [event.data for event in events])

    @on_events("gateway", "provider_statuses_received")
    def apply_provider_statuses(self, events, uow):
        """Callbacks that came together (and batches of them that queued up meanwhile):
        applied once per (provider id, status), only forward, in one transaction with one
        event per community."""
        self._apply_statuses(uow, [item for event in events for item in event.data["items"]])

    def _apply_statuses(self, uow, items):
        for communication_id in callbacks.apply_statuses(uow, items, self.providers):
            _join_correlation(uow.session.get(Communication, communication_id))

    @on_event("gateway", "call_keypress_received")
    def apply_keypress(self, event, uow):
        keypresses.apply(uow, event.data)

    @timer(interval=RELEASE_INTERVAL_SECONDS)
    def release_due(self):
        dispatching.release_due(self.db)
        changes.finish_ready(self.db)

    @timer(interval=SCHEDULER_INTERVAL_SECONDS)
    def fire_scheduled(self):
        scheduling.fire_due(self.db)

    @timer(interval=SWEEP_INTERVAL_SECONDS)
    def sweep(self):
        if leases.claim(self.db, "sweeper", SWEEP_INTERVAL_SECONDS):
            reconciliation.sweep(self.db, self.providers, self.providers.reconcile_policy)


def _join_correlation(communication):
    """A provider callback is a request of its own; what it causes is logged and published
    under the correlation id of the send it belongs to."""
    if communication.correlation_id and communication.correlation_id != current_correlation_id():
        set_correlation_id(communication.correlation_id)
