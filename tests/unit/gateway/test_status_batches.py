"""Callbacks that arrive together are published together, and none is answered before its
batch is confirmed."""

import eventlet
import pytest

from gateway.status_batches import StatusBatches


class Publisher:
    def __init__(self, fail=False):
        self.published, self.fail = [], fail

    def publish(self, env):
        eventlet.sleep(0.01)   # the broker's confirm takes a moment
        if self.fail:
            raise ConnectionError("broker gone")
        self.published.append(env)


def item(n):
    return {"provider": "twilio", "provider_id": f"SM{n}", "status": "delivered",
            "error_code": None}


def test_concurrent_callbacks_travel_as_one_event_and_each_waits_for_it():
    batches, publisher = StatusBatches(window=0.05), Publisher()
    answers = list(eventlet.GreenPool(50).imap(
        lambda n: batches.add(publisher, item(n)), range(50)))
    (env,) = publisher.published
    assert env["type"] == "provider_statuses_received"
    assert sorted(i["provider_id"] for i in env["data"]["items"]) == sorted(
        f"SM{n}" for n in range(50))
    assert answers == [50] * 50


def test_a_full_batch_goes_at_once_and_the_next_callbacks_start_another():
    batches, publisher = StatusBatches(window=5, max_items=10), Publisher()
    with eventlet.Timeout(2):
        list(eventlet.GreenPool(20).imap(lambda n: batches.add(publisher, item(n)),
                                         range(20)))
    assert [len(e["data"]["items"]) for e in publisher.published] == [10, 10]


def test_a_failed_publish_fails_every_callback_of_its_batch_so_each_is_sent_again():
    batches, publisher = StatusBatches(window=0.05), Publisher(fail=True)

    def add(n):
        with pytest.raises(ConnectionError):
            batches.add(publisher, item(n))
        return True

    assert all(eventlet.GreenPool(5).imap(add, range(5)))
    assert publisher.published == []
