"""messaging's entrypoints with worker_factory: a real (in-memory) database, fakes for the
other services and the provider."""

import pytest
from nameko.testing.services import worker_factory

from contracts.errors import (
    IdempotencyKeyReused,
    InsufficientCredits,
    InvalidRequest,
    NotFound,
    Unsupported,
)
from contracts.events import envelope
from servicekit.testing import memory_database, outbox_events
from services.messaging.models import Base, Communication, Delivery
from services.messaging.providers.base import SendResult, TransientProviderError
from services.messaging.service import MessagingService

IDENTITY = {"actor_type": "api_key", "actor_id": "key_1", "organization_id": "org_1",
            "permissions": ["send_communications", "send_sms"]}
RESIDENT = {"id": "res_1", "community_id": "com_1", "name": "Ada", "phone": "+15551230001",
            "email": "ada@example.com"}


class FakeDirectory:
    def get_residents(self, identity, ids):
        if ids != ["res_1"]:
            raise NotFound(f"resident {ids[0]} does not exist", "recipients.residents")
        return [RESIDENT]


class FakeConsent:
    def __init__(self, allowed=True):
        self.allowed = allowed
        self.archived = False
        self.checks = []

    def get_category(self, identity, category_id):
        return {"id": category_id, "name": "General", "mode": "opt_in",
                "archived": self.archived}

    def check(self, identity, category_id, channel, recipients):
        self.checks.append(recipients)
        return [{"resident_id": r["resident_id"], "allowed": self.allowed,
                 "reason": None if self.allowed else "channel_preference_off"}
                for r in recipients]

    def unsubscribe_links(self, identity, category_id, channel, recipients):
        return {}  # a category without unsubscribe links (test_footer_delivery.py has one)


class FakeCredits:
    def __init__(self):
        self.reservations = []
        self.rates = {"text_chars": 320, "unicode_text_chars": 140, "voice_seconds": 60}
        self.refusal = None

    def rate_card(self, identity):
        return dict(self.rates)

    def reserve(self, identity, community_id, communication_id, items, idempotency_key):
        if self.refusal:
            raise InsufficientCredits(self.refusal, "credits")
        self.reservations.append((communication_id, items, idempotency_key))
        return {"total": sum(i["amount"] for i in items),
                "holds": [{"hold_id": f"hld_{i['delivery_id']}", "delivery_id": i["delivery_id"],
                           "amount": i["amount"]} for i in items]}


class FakeProviders:
    status_callback = "http://127.0.0.1:8000/webhooks/twilio/status"

    def __init__(self, result):
        self.sent = []
        outer = self

        class Sms:
            def send(self, delivery_id, to, body, subject=None, status_callback=None,
                     unsubscribe_url=None):
                outer.sent.append((delivery_id, to, body))
                return result

            def find_sent(self, to, body, since):
                return None

        self.providers = {"sms": Sms()}


def request(**changes):
    body = {"kind": "message", "channels": ["sms"], "recipients": {"residents": ["res_1"]},
            "category_id": "cat_1", "body": "Water off at noon"}
    body.update(changes)
    return body


@pytest.fixture
def service():
    return worker_factory(MessagingService, db=memory_database(Base), config={},
                          directory=FakeDirectory(), consent=FakeConsent(),
                          credits=FakeCredits(),
                          providers=FakeProviders(SendResult("sending", "SM1")))


def test_create_persists_the_communication_and_its_event_in_one_go(service):
    answer = service.create(IDENTITY, request())
    assert answer["status"] == "accepted" and answer["id"].startswith("cmm_")
    with service.db.read() as session:
        assert session.get(Communication, answer["id"]).community_id == "com_1"
        (delivery,) = session.query(Delivery).all()
    assert (delivery.status, delivery.address) == ("pending", "+15551230001")
    (event,) = outbox_events(service.db, "communication_accepted")
    assert event["data"]["communication_id"] == answer["id"]
    assert event["organization_id"] == "org_1"


@pytest.mark.parametrize("changes, field", [
    ({"kind": "announcement"}, "kind"),
    ({"channels": ["voice"]}, "channels"),
    ({"channels": ["sms", "email"]}, "channels"),
    ({"recipients": {"residents": ["res_1", "res_2"]}}, "recipients.residents"),
])
def test_what_the_skeleton_cannot_do_is_refused_whole(service, changes, field):
    with pytest.raises(Unsupported) as refused:
        service.create(IDENTITY, request(**changes))
    assert refused.value.field == field
    assert outbox_events(service.db) == []


def test_an_archived_category_takes_no_new_communications(service):
    service.consent.archived = True
    with pytest.raises(InvalidRequest, match="archived") as refused:
        service.create(IDENTITY, request())
    assert refused.value.field == "category_id"
    assert outbox_events(service.db) == []


def test_same_key_and_body_answers_the_first_result_and_sends_nothing_new(service):
    first = service.create(IDENTITY, request(), idempotency_key="k1")
    again = service.create(IDENTITY, request(), idempotency_key="k1")
    assert again == first
    assert len(outbox_events(service.db, "communication_accepted")) == 1


def test_same_key_with_another_body_is_refused(service):
    service.create(IDENTITY, request(), idempotency_key="k1")
    with pytest.raises(IdempotencyKeyReused):
        service.create(IDENTITY, request(body="something else"), idempotency_key="k1")


def test_keys_are_scoped_to_the_caller(service):
    other = dict(IDENTITY, actor_id="key_2")
    first = service.create(IDENTITY, request(), idempotency_key="k1")
    second = service.create(other, request(), idempotency_key="k1")
    assert first["id"] != second["id"]


def accepted_event(service, communication_id):
    (event,) = [e for e in outbox_events(service.db, "communication_accepted")
                if e["data"]["communication_id"] == communication_id]
    return event


def test_prepare_holds_credits_once_for_the_batch_and_queues(service):
    answer = service.create(IDENTITY, request(body="x" * 321))
    service.prepare(accepted_event(service, answer["id"]))
    (reservation,) = service.credits.reservations
    assert reservation[1][0]["amount"] == 2          # 321 GSM-7 characters
    assert reservation[2] == f"reserve:{answer['id']}"
    with service.db.read() as session:
        (delivery,) = session.query(Delivery).all()
    assert (delivery.status, delivery.credits) == ("queued", 2)
    assert delivery.hold_id == f"hld_{delivery.id}"
    (queued,) = outbox_events(service.db, "deliveries_queued")
    assert queued["data"]["delivery_ids"] == [delivery.id]


def test_prepare_prices_with_the_organizations_rate_card(service):
    service.credits.rates["text_chars"] = 100
    answer = service.create(IDENTITY, request(body="x" * 201))
    service.prepare(accepted_event(service, answer["id"]))
    (reservation,) = service.credits.reservations
    assert reservation[1][0]["amount"] == 3


def test_a_send_nobody_can_pay_for_fails_naming_the_rule_and_sends_nothing(service):
    service.credits.refusal = "user:usr_1 has 0 credits available and this send needs 1"
    answer = service.create(IDENTITY, request())
    service.prepare(accepted_event(service, answer["id"]))
    (updated,) = outbox_events(service.db, "deliveries_updated")
    (item,) = updated["data"]["items"]
    assert item["status"] == "failed"
    assert item["reason"] == ("no credits: user:usr_1 has 0 credits available and this send "
                              "needs 1")
    assert outbox_events(service.db, "deliveries_queued") == []


def test_prepare_suppresses_without_consent_and_holds_nothing(service):
    service.consent.allowed = False
    answer = service.create(IDENTITY, request())
    service.prepare(accepted_event(service, answer["id"]))
    assert service.credits.reservations == []
    (updated,) = outbox_events(service.db, "deliveries_updated")
    (item,) = updated["data"]["items"]
    assert (item["status"], item["reason"], item["credits"]) == (
        "suppressed", "channel_preference_off", 0)
    assert outbox_events(service.db, "deliveries_queued") == []


def test_a_redelivered_accepted_event_changes_nothing(service):
    answer = service.create(IDENTITY, request())
    event = accepted_event(service, answer["id"])
    service.prepare(event)
    service.prepare(event)
    assert len(service.credits.reservations) == 1
    assert len(outbox_events(service.db, "deliveries_queued")) == 1


def send_one(service):
    answer = service.create(IDENTITY, request())
    service.prepare(accepted_event(service, answer["id"]))
    (queued,) = outbox_events(service.db, "deliveries_queued")
    service.dispatch(queued)
    return answer, queued


def test_dispatch_sends_once_even_if_the_work_is_redelivered(service):
    _answer, queued = send_one(service)
    service.dispatch(dict(queued, event_id="another-delivery-of-the-same-work"))
    assert len(service.providers.sent) == 1
    with service.db.read() as session:
        (delivery,) = session.query(Delivery).all()
    assert (delivery.status, delivery.provider_id) == ("sent", "SM1")


def status_event(status, error_code=None):
    return envelope("provider_status_received", {
        "provider": "twilio", "provider_id": "SM1", "status": status, "error_code": error_code})


def test_callbacks_move_forward_once_and_late_ones_are_ignored(service):
    send_one(service)
    service.apply_provider_status(status_event("delivered"))
    service.apply_provider_status(status_event("delivered"))   # duplicate callback
    service.apply_provider_status(status_event("sent"))        # late
    updates = [i for e in outbox_events(service.db, "deliveries_updated")
               for i in e["data"]["items"]]
    assert [u["status"] for u in updates] == ["queued", "sent", "delivered"]


def test_a_callback_before_the_send_is_recorded_is_applied_when_it_is(service):
    answer = service.create(IDENTITY, request())
    service.prepare(accepted_event(service, answer["id"]))
    service.apply_provider_status(status_event("delivered"))   # provider id not known yet
    (queued,) = outbox_events(service.db, "deliveries_queued")
    service.dispatch(queued)
    with service.db.read() as session:
        (delivery,) = session.query(Delivery).all()
    assert delivery.status == "delivered"


def test_a_provider_refusal_fails_the_delivery_with_its_code():
    service = worker_factory(MessagingService, db=memory_database(Base), config={},
                             directory=FakeDirectory(), consent=FakeConsent(),
                             credits=FakeCredits(),
                             providers=FakeProviders(SendResult("failed", None, "21211",
                                                                "invalid To")))
    send_one(service)
    with service.db.read() as session:
        (delivery,) = session.query(Delivery).all()
    assert (delivery.status, delivery.error_code) == ("failed", "21211")


class FlakyProviders:
    """The first create times out; whether the provider got it decides what happens next."""

    status_callback = "http://127.0.0.1:8000/webhooks/twilio/status"

    def __init__(self, provider_kept_it):
        self.creates, self.lookups = 0, 0
        outer = self

        class Sms:
            def send(self, delivery_id, to, body, subject=None, status_callback=None,
                     unsubscribe_url=None):
                outer.creates += 1
                if outer.creates == 1:
                    raise TransientProviderError("read timed out")
                return SendResult("sending", "SM2")

            def find_sent(self, to, body, since):
                outer.lookups += 1
                return "SM1" if provider_kept_it else None

        self.providers = {"sms": Sms()}


@pytest.mark.parametrize("provider_kept_it, creates, sid", [(True, 1, "SM1"), (False, 2, "SM2")])
def test_a_timeout_is_reconciled_before_any_second_send(monkeypatch, provider_kept_it, creates,
                                                        sid):
    monkeypatch.setattr("services.messaging.service.eventlet.sleep", lambda s: None)
    service = worker_factory(MessagingService, db=memory_database(Base), config={},
                             directory=FakeDirectory(), consent=FakeConsent(),
                             credits=FakeCredits(), providers=FlakyProviders(provider_kept_it))
    send_one(service)
    assert (service.providers.creates, service.providers.lookups) == (creates, 1)
    with service.db.read() as session:
        (delivery,) = session.query(Delivery).all()
    assert (delivery.status, delivery.provider_id) == ("sent", sid)
