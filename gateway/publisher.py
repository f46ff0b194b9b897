"""Publishes an event straight to the broker with publisher confirms. The gateway keeps no
database, so it has no outbox: a request is answered only after the broker confirmed the
event, and a provider whose callback got an error sends it again."""

from nameko.amqp.publish import Publisher
from nameko.extensions import DependencyProvider
from nameko.standalone.events import get_event_exchange


class EventPublisher(DependencyProvider):
    def setup(self):
        self.publisher = Publisher(self.container.config["AMQP_URI"], use_confirms=True,
                                   serializer="json")

    def get_dependency(self, worker_ctx):
        return self

    def publish(self, env):
        exchange = get_event_exchange(env["source"], self.container.config)
        self.publisher.publish(env, exchange=exchange, routing_key=env["type"],
                               declare=[exchange], message_id=env["event_id"],
                               headers={"nameko.correlation_id": env.get("correlation_id")})
