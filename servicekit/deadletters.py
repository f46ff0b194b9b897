"""`townhall dlq list` shows parked events per queue; `townhall dlq replay QUEUE` puts
them back on their queue (the consumer dedupes, so a replay of a handled event is safe)."""

from kombu import Connection

from servicekit import topology
from servicekit.consumers import DEAD_SUFFIX, dead_letter_queue


def main(config, action, queue=None):
    subscriptions = list(topology.all_subscriptions())
    names = [q for _s, _t, q in subscriptions]
    with Connection(config["AMQP_URI"]) as conn:
        channel = conn.channel()
        if action == "list":
            for name in names:
                dead = dead_letter_queue(name)(channel)
                _name, count, _consumers = dead.queue_declare(passive=False)
                if count:
                    print(f"{name}{DEAD_SUFFIX}: {count} parked")
            return 0
        if queue not in names:
            print(f"unknown queue {queue!r}; one of: {', '.join(names)}")
            return 2
        replayed = replay(conn, queue)
        print(f"replayed {replayed} events onto {queue}")
        return 0


def replay(conn, queue_name):
    dead = dead_letter_queue(queue_name)(conn.channel())
    producer = conn.Producer()
    replayed = 0
    while True:
        message = dead.get(no_ack=False)
        if message is None:
            return replayed
        headers = {k: v for k, v in (message.headers or {}).items()
                   if not k.startswith("x-townhall-")}
        producer.publish(message.body, exchange="", routing_key=queue_name, headers=headers,
                         content_type=message.content_type,
                         content_encoding=message.content_encoding, delivery_mode=2)
        message.ack()
        replayed += 1
