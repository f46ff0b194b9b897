"""messaging's dispatch workers: a nameko service of their own that runs in every messaging
process beside MessagingService, on messaging's database, with a worker pool of its own
(`messaging.dispatch_workers`).

A batch being dispatched holds its worker while its calls wait for the process's provider
call slots (`messaging.send_concurrency`). In MessagingService's pool, a backlog of batches
behind a slow provider took every worker, so `get` (a user following a send) and the
provider's callbacks waited until the 10 s RPC timeout. Here they wait only for each other.
The pool is small, and nameko takes that many batches from the broker at once (its prefetch),
so the rest stay in the queue for whichever instance has a free call slot first.
"""

from servicekit.consumers import on_event
from servicekit.providers import Database
from servicekit.service import TownhallService
from services.messaging import dispatching
from services.messaging.dispatch import Providers
from services.messaging.models import Base


class DispatchService(TownhallService):
    name = "messaging_dispatch"
    db = Database(Base, service="messaging")
    providers = Providers()

    @on_event("messaging", "deliveries_queued", transactional=False)
    def dispatch(self, event):
        """Ordinary batches; an emergency's go to urgent_service's workers."""
        providers = self.providers
        dispatching.dispatch(self.db, providers, event.data["communication_id"],
                             event.data["delivery_ids"], providers.retry_policy)
