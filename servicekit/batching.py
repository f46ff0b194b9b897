"""Group commit: work items that arrive from concurrent green threads while the batch
before them is being handled are handled together, as one batch. An item that arrives
alone is handled at once; a backlog is handled in as few batches as it takes."""

import weakref

from eventlet.event import Event
from eventlet.semaphore import Semaphore

_PER_OWNER = weakref.WeakKeyDictionary()   # {owner (a database handle): {name: GroupCommit}}


class _Batch:
    def __init__(self):
        self.items, self.done = [], Event()


class GroupCommit:
    """One batch handled at a time; the items that come meanwhile wait for the next one."""

    @classmethod
    def of(cls, owner, name, max_items):
        """The process's one group named `name` for `owner` (a database handle: what its
        batches are written to), made on first use."""
        groups = _PER_OWNER.setdefault(owner, {})
        if name not in groups:
            groups[name] = cls(max_items)
        return groups[name]

    def __init__(self, max_items):
        if max_items < 1:
            raise ValueError("max_items must be at least 1")
        self.max_items = max_items
        self._gathering = None   # the batch that takes new items
        self._turn = Semaphore(1)

    def add(self, item, handle):
        """Join the gathering batch with `item`. The thread that opened the batch waits for
        its turn, closes the batch and calls handle(items) once; every member returns what
        handle returned, or raises what it raised."""
        batch = self._gathering
        leads = batch is None or len(batch.items) >= self.max_items
        if leads:
            batch = self._gathering = _Batch()
        batch.items.append(item)
        if leads:
            with self._turn:
                if self._gathering is batch:
                    self._gathering = None
                try:
                    result = handle(list(batch.items))
                except BaseException as exc:
                    # the members learn it either way; a leader that is being stopped
                    # stops, and the members try their items alone
                    batch.done.send_exception(exc if isinstance(exc, Exception) else
                                              RuntimeError(f"the batch's leader stopped: {exc!r}"))
                    if not isinstance(exc, Exception):
                        raise
                else:
                    batch.done.send(result)
        return batch.done.wait()
