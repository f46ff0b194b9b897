"""Provider status callbacks, published in batches: at 10,000 texts Twilio posts 20,000
callbacks, and one event per callback is one consumer transaction per callback in messaging,
credits and reports. Callbacks that arrive together (within `window` seconds, up to
`max_items`) travel as one `provider_statuses_received` event instead.

Nothing is answered before its batch is confirmed by the broker: a request waits for the
publish of the batch it joined (at most about `window` seconds more than alone) and answers
an error if it failed, so the provider sends that callback again."""

import eventlet
from eventlet.event import Event
from nameko.extensions import DependencyProvider

from contracts.events import envelope

WINDOW_SECONDS = 0.02
MAX_ITEMS = 500
PUBLISH_TIMEOUT_SECONDS = 10


class _Batch:
    def __init__(self):
        self.items, self.done, self.full = [], Event(), Event()


class StatusBatches(DependencyProvider):
    """Collects callbacks from concurrent requests; the first one of a batch publishes it."""

    def __init__(self, publisher_attr="events", window=WINDOW_SECONDS, max_items=MAX_ITEMS):
        self.publisher_attr, self.window, self.max_items = publisher_attr, window, max_items
        self._open = None

    def get_dependency(self, worker_ctx):
        return self

    def add(self, publisher, item, correlation_id=None):
        """Publish `item` with whatever arrives alongside it; returns once it is confirmed."""
        batch = self._open
        if batch is None or len(batch.items) >= self.max_items:
            batch = self._open = _Batch()
            batch.items.append(item)
            self._lead(publisher, batch, correlation_id)
        else:
            batch.items.append(item)
            if len(batch.items) >= self.max_items:
                batch.full.send(True)
        # raises what the publish raised, for every request of the batch
        return batch.done.wait()

    def _lead(self, publisher, batch, correlation_id):
        """The request that opened the batch waits out the window, closes and publishes it."""
        with eventlet.Timeout(self.window, False):
            batch.full.wait()
        if self._open is batch:
            self._open = None
        try:
            with eventlet.Timeout(PUBLISH_TIMEOUT_SECONDS):
                publisher.publish(envelope("provider_statuses_received",
                                           {"items": batch.items},
                                           correlation_id=correlation_id))
        except BaseException as exc:
            batch.done.send_exception(exc)
            return
        batch.done.send(len(batch.items))
