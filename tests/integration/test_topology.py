"""Every consumer's queue is declared before anything runs, and every queue has a consumer."""

import pytest
from amqp.exceptions import ChannelError
from kombu import Connection, Queue
from nameko.standalone.events import get_event_exchange

from contracts.events import CATALOGUE
from servicekit import topology


def test_every_subscription_is_to_a_catalogued_event_of_its_source():
    subscriptions = list(topology.all_subscriptions())
    assert subscriptions, "no consumer found: the scan is broken"
    for source, event_type, queue in subscriptions:
        assert event_type in CATALOGUE, f"{queue} listens to an unknown event"
        assert CATALOGUE[event_type].source == source, f"{queue} listens to the wrong exchange"


def test_declare_all_creates_every_queue_and_its_dead_letter_queue(make_config):
    config = make_config()
    declared = topology.declare_all(config)
    with Connection(config["AMQP_URI"]) as conn:
        channel = conn.channel()
        for _source, _type, queue in declared:
            for name in (queue, queue + ".dead"):
                # passive: fails if the queue does not exist
                channel.queue_declare(name, passive=True)
    # idempotent: a second service starting declares the same things again
    assert topology.declare_all(config) == declared


def test_a_retired_consumers_queue_is_deleted_so_it_collects_nothing(make_config):
    config = make_config()
    (retired,) = topology.RETIRED_QUEUES
    with Connection(config["AMQP_URI"]) as conn:
        channel = conn.channel()
        exchange = get_event_exchange("messaging", config)
        Queue(retired, exchange=exchange, routing_key="urgent_deliveries_queued",
              durable=True)(channel).declare()
    topology.declare_all(config)
    topology.declare_all(config)          # and again, when it is gone
    with Connection(config["AMQP_URI"]) as conn:
        with pytest.raises(ChannelError):
            conn.channel().queue_declare(retired, passive=True)
