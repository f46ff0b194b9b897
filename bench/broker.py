"""B0, the broker floor: what kombu alone gets out of this RabbitMQ.

- publish N small JSON messages to a fresh durable queue, then consume them all (prefetch 100,
  one ack each); messages per second over both halves, with publisher confirms off and on;
- request/reply: a responder thread answers on a reply queue; sequential round trips.
"""

import threading
import time
import uuid

from kombu import Connection, Consumer, Exchange, Producer, Queue

from bench.measure import Deadline, latency_figures, rate

PREFETCH = 100
DRAIN_TIMEOUT_SECONDS = 0.5


def publish_consume(uri, count, confirms, timeout):
    """Messages per second of publishing `count` messages and then consuming them all."""
    queue = Queue(f"bench-b0-{uuid.uuid4().hex[:8]}", exchange=Exchange(""),
                  durable=True, auto_delete=False)
    options = {"confirm_publish": True} if confirms else {}
    deadline = Deadline(timeout, f"B0 publish+consume (confirms {'on' if confirms else 'off'})")
    with Connection(uri, transport_options=options) as conn:
        channel = conn.channel()
        queue(channel).declare()
        producer = Producer(channel, serializer="json")
        started = time.perf_counter()
        for number in range(count):
            producer.publish({"n": number, "body": "hello"}, routing_key=queue.name,
                             delivery_mode=2)
            if number % 1000 == 0:
                deadline.check(f"{number} of {count} published")
        published = time.perf_counter()
        received = _consume(conn, queue, count, deadline)
        finished = time.perf_counter()
        queue(conn.channel()).delete()
    return {
        "msgs_per_s": rate(received, finished - started),
        "publish_per_s": rate(count, published - started),
        "consume_per_s": rate(received, finished - published),
    }


def _consume(conn, queue, count, deadline):
    received = 0

    def on_message(_body, message):
        nonlocal received
        message.ack()
        received += 1

    with Consumer(conn.channel(), queues=[queue], callbacks=[on_message],
                  prefetch_count=PREFETCH):
        while received < count:
            deadline.check(f"{received} of {count} consumed")
            try:
                conn.drain_events(timeout=DRAIN_TIMEOUT_SECONDS)
            except TimeoutError:
                pass
    return received


class Responder(threading.Thread):
    """Answers every request on `queue` with its own body, to the request's reply_to."""

    def __init__(self, uri, queue):
        super().__init__(name="bench-b0-responder", daemon=True)
        self.uri = uri
        self.queue = queue
        self.ready = threading.Event()
        self.stopping = threading.Event()
        self.error = None

    def run(self):
        try:
            with Connection(self.uri) as conn:
                producer = Producer(conn.channel(), serializer="json")

                def answer(body, message):
                    producer.publish(body, routing_key=message.properties["reply_to"],
                                     correlation_id=message.properties["correlation_id"])
                    message.ack()

                with Consumer(conn.channel(), queues=[self.queue], callbacks=[answer],
                              prefetch_count=PREFETCH):
                    self.ready.set()
                    while not self.stopping.is_set():
                        try:
                            conn.drain_events(timeout=DRAIN_TIMEOUT_SECONDS)
                        except TimeoutError:
                            pass
        except Exception as exc:  # reported by the caller, which would otherwise just time out
            self.error = exc
            self.ready.set()


def round_trips(uri, count, timeout):
    """p50/p99 milliseconds of `count` sequential request/reply round trips."""
    suffix = uuid.uuid4().hex[:8]
    requests = Queue(f"bench-b0-rr-{suffix}", exchange=Exchange(""), durable=False,
                     auto_delete=True)
    replies = Queue(f"bench-b0-reply-{suffix}", exchange=Exchange(""), durable=False,
                    exclusive=True)
    deadline = Deadline(timeout, "B0 request/reply")
    with Connection(uri) as conn:
        requests(conn.channel()).declare()
        responder = Responder(uri, requests)
        responder.start()
        if not responder.ready.wait(deadline.remaining()) or responder.error:
            raise RuntimeError(f"B0 responder did not start: {responder.error}")
        try:
            return _ask(conn, requests, replies, count, deadline, responder)
        finally:
            responder.stopping.set()
            responder.join(5)


def _ask(conn, requests, replies, count, deadline, responder):
    answers = {}
    producer = Producer(conn.channel(), serializer="json")
    samples = []

    def on_reply(_body, message):
        answers[message.properties["correlation_id"]] = True
        message.ack()

    with Consumer(conn.channel(), queues=[replies], callbacks=[on_reply]):
        for number in range(count):
            correlation_id = uuid.uuid4().hex
            started = time.perf_counter()
            producer.publish({"n": number}, routing_key=requests.name, reply_to=replies.name,
                             correlation_id=correlation_id)
            while correlation_id not in answers:
                deadline.check(f"{number} of {count} round trips; responder: {responder.error}")
                try:
                    conn.drain_events(timeout=DRAIN_TIMEOUT_SECONDS)
                except TimeoutError:
                    pass
            samples.append(time.perf_counter() - started)
            answers.pop(correlation_id)
    return latency_figures(samples)
