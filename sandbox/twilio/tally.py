"""What the sandbox counted, kept up as messages are made so reading it stays cheap at 20,000:
the exact invariants a test checks (one create per delivery, nobody texted the same body
twice), each sender's segments over time (the rate limit), and call creates beside them."""

from typing import Any

from sandbox.twilio.calls import SandboxCall
from sandbox.twilio.messages import SandboxMessage


class Tally:
    def __init__(self) -> None:
        self.creates = 0  # every authenticated create request, whatever it was answered
        self.created = 0
        self.segments = 0
        self.by_to: dict[str, int] = {}
        # a dict for its order: the numbers in the order their first duplicate was made
        self.duplicates: dict[str, None] = {}
        self._bodies: set[tuple[str, str]] = set()
        self._timelines: dict[str, list[tuple[float, int]]] = {}
        self.call_creates = 0  # every authenticated call create request, whatever its answer
        self.calls_created = 0
        self.calls_by_to: dict[str, int] = {}

    def count_create_request(self) -> None:
        self.creates += 1

    def count_call_create_request(self) -> None:
        self.call_creates += 1

    def record_call(self, call: SandboxCall) -> None:
        self.calls_created += 1
        self.calls_by_to[call.to] = self.calls_by_to.get(call.to, 0) + 1

    def record(self, message: SandboxMessage) -> None:
        segments = int(message.num_segments)
        self.created += 1
        self.segments += segments
        self.by_to[message.to] = self.by_to.get(message.to, 0) + 1
        sent_before = (message.to, message.body)
        if sent_before in self._bodies:
            self.duplicates.setdefault(message.to)
        else:
            self._bodies.add(sent_before)
        sender = message.from_ or message.messaging_service_sid or ""
        self._timelines.setdefault(sender, []).append(
            (message.date_created.timestamp(), segments)
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "creates": self.creates,
            "created": self.created,
            "by_to": self.by_to,
            "duplicates": list(self.duplicates),
            "segments": self.segments,
            "calls": {
                "creates": self.call_creates,
                "created": self.calls_created,
                "by_to": self.calls_by_to,
            },
        }

    def timeline(self, sender: str) -> list[tuple[float, int]]:
        """(created_at epoch seconds, num_segments) of every message from `sender`, in order."""
        return self._timelines.get(sender, [])
