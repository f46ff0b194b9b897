"""messaging's urgent workers: a nameko service of their own that runs in every messaging
process beside MessagingService and DispatchService, on messaging's database, with workers
(`messaging.urgent_workers`) and provider call slots of its own, taking only an
emergency's work (urgency): its audience pages, its batches to check and pay for, its
batches to dispatch.

In the other pools an emergency's page or batch waited behind every ordinary one taken
before it — up to a pool's worth of 1,000-resident pages or of batches each waiting for the
sender's budget or a call slot. Here it waits only behind other emergencies.
"""

from servicekit.consumers import on_event
from servicekit.providers import Database, Rpc
from servicekit.service import TownhallService
from services.messaging import dispatching, preparation, resolution
from services.messaging.dispatch import Providers
from services.messaging.models import Base


class UrgentService(TownhallService):
    name = "messaging_urgent"
    db = Database(Base, service="messaging")
    providers = Providers()
    directory = Rpc("directory", setting="batch_rpc_timeout_seconds")
    consent = Rpc("consent", setting="batch_rpc_timeout_seconds")
    credits = Rpc("credits", setting="batch_rpc_timeout_seconds")

    @on_event("messaging", "urgent_audience_page_requested", transactional=False)
    def resolve_page(self, event):
        data = event.data
        resolution.resolve_page(self.db, self.directory, data["communication_id"],
                                data["page"], data["after"])

    @on_event("messaging", "urgent_deliveries_created", transactional=False)
    def prepare(self, event):
        data = event.data
        preparation.prepare_batch(self.db, self.consent, self.credits,
                                  data["communication_id"], data["batch"], data["delivery_ids"],
                                  self.providers.call_settings, self.providers.document_links)

    @on_event("messaging", "urgent_deliveries_queued", transactional=False)
    def dispatch(self, event):
        providers = self.providers
        dispatching.dispatch(self.db, providers, event.data["communication_id"],
                             event.data["delivery_ids"], providers.retry_policy)
