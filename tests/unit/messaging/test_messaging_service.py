"""messaging's entrypoints with worker_factory: a real (in-memory) database, fakes for the
other services and the provider. Each step is called by hand with the event the one before
it wrote to the outbox, the way the broker would hand it on."""

import tempfile
from datetime import timedelta

import eventlet
import pytest
from eventlet.semaphore import Semaphore
from nameko.testing.services import worker_factory

from contracts import pricing
from contracts.errors import (
    Conflict,
    Forbidden,
    IdempotencyKeyReused,
    InsufficientCredits,
    InvalidRequest,
    NotFound,
)
from contracts.events import envelope
from servicekit.blobs import BlobStore
from servicekit.db import utcnow
from servicekit.testing import memory_database, midday_timezone, outbox_events
from services.messaging import reconcile, resolution, retries, voice_calls
from services.messaging.budgets import CallRate, Sender
from services.messaging.call_settings import CallSettings
from services.messaging.document_links import DocumentLinks
from services.messaging.models import Base, Communication, Delivery
from services.messaging.providers.base import SendResult, TransientProviderError
from services.messaging.service import MessagingService

IDENTITY = {"actor_type": "api_key", "actor_id": "key_1", "organization_id": "org_1",
            "permissions": ["send_communications", "send_sms"]}


def resident(n, community="com_1", phone=None, email=None):
    return {"id": f"res_{n:05}", "community_id": community, "unit_id": None, "kind": "tenant",
            "language": "en", "name": f"Resident {n}",
            "phone": phone or f"+1555123{n:04}", "email": email or f"r{n}@example.com"}


class FakeDirectory:
    def __init__(self, residents=None):
        self.residents = residents if residents is not None else [resident(1)]
        self.timezone = midday_timezone()
        self.pages_asked = 0

    def audience_scope(self, identity, recipients):
        if recipients["residents"] == ["res_missing"]:
            raise NotFound("resident res_missing does not exist", "recipients.residents")
        communities = sorted({r["community_id"] for r in self.residents})
        # a zone where it is day now: quiet hours hold nothing back whenever this runs
        return {"communities": communities, "size": len(self.residents),
                "timezones": {c: self.timezone for c in communities}}

    def resolve_audience(self, identity, recipients, after=None, limit=1000):
        self.pages_asked += 1
        rest = [r for r in self.residents if after is None or r["id"] > after]
        page = rest[:limit]
        return {"residents": page, "next": page[-1]["id"] if len(rest) > limit else None}


class FakeConsent:
    def __init__(self, allowed=True):
        self.allowed = allowed
        self.archived = False
        self.checks = []

    def get_category(self, identity, category_id):
        return {"id": category_id, "name": "General", "mode": "opt_in",
                "archived": self.archived}

    def check(self, identity, category_id, channel, recipients):
        self.checks.append((channel, len(recipients)))
        return [{"resident_id": r["resident_id"],
                 "allowed": self.allowed and r["has_contact_point"],
                 "reason": None if self.allowed and r["has_contact_point"] else
                 "channel_preference_off"} for r in recipients]

    def unsubscribe_links(self, identity, category_id, channel, recipients):
        return {}

    def quiet_hours(self, identity):
        return {"start": "21:00", "end": "08:00", "default": True}


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
        self.reservations.append((community_id, items, idempotency_key))
        return {"total": sum(i["amount"] for i in items),
                "holds": [{"hold_id": f"hld_{i['delivery_id']}", "delivery_id": i["delivery_id"],
                           "amount": i["amount"]} for i in items]}

    def payer_wallet(self, identity, community_id):
        return {"wallet": f"community:{community_id}", "balance": 100, "held": 0,
                "available": 100}


class FakeSms:
    from_number = "+15550000000"

    def __init__(self, answers):
        self.answers = list(answers)   # one per create, the last repeats
        self.sent, self.looked_up, self.fetched = [], [], []
        self.kept = {}                  # what find_sent finds
        self.statuses = {}              # what fetch_status answers

    def send(self, delivery_id, to, body, subject=None, status_callback=None,
             unsubscribe_url=None, attachment=None):
        self.sent.append((delivery_id, to, body))
        self.attachments = getattr(self, "attachments", []) + [attachment]
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        if answer == "sid":
            return SendResult("sending", f"SM{len(self.sent)}")
        return answer

    def find_sent(self, to, body, since):
        self.looked_up.append(to)
        return self.kept.get(to)

    def fetch_status(self, provider_id):
        self.fetched.append(provider_id)
        return self.statuses.get(provider_id, (None, None))


class FakeVoice(FakeSms):
    def send(self, delivery_id, to, body, subject=None, status_callback=None,
             unsubscribe_url=None, language=None, gather_action=None):
        self.options = {"status_callback": status_callback, "language": language,
                        "gather_action": gather_action if unsubscribe_url else None}
        self.sent.append((delivery_id, to, body))
        return SendResult("sending", f"CA{len(self.sent)}")


class FakeProviders:
    status_callback = "http://127.0.0.1:8000/webhooks/twilio/status"
    call_status_callback = "http://127.0.0.1:8000/webhooks/twilio/call-status"
    gather_action = "http://127.0.0.1:8000/webhooks/twilio/gather"
    call_settings = CallSettings(time_limit_seconds=120)

    def __init__(self, answers=("sid",), rate=1000.0, calls_per_second=1000.0):
        self.blobs = BlobStore(tempfile.mkdtemp(prefix="townhall-blobs-"))
        self.document_links = DocumentLinks("test-link-secret-" + "x" * 32,
                                            "http://127.0.0.1:8000")
        self.sms = FakeSms(answers)
        self.voice = FakeVoice(["sid"])
        self.providers = {"sms": self.sms, "email": FakeSms(["sid"]), "voice": self.voice}
        self.sender = Sender("+15550000000", rate)
        self.call_rate = CallRate("AC1", calls_per_second)
        self.retry_policy = retries.RetryPolicy(max_attempts=3, first_delay=2.0, jitter=0)
        self.reconcile_policy = reconcile.ReconcilePolicy()
        self.send_slots = Semaphore(4)


def request(**changes):
    body = {"kind": "announcement", "channels": ["sms"],
            "recipients": {"communities": ["com_1"]}, "category_id": "cat_1",
            "body": "Water off at noon"}
    body.update(changes)
    return body


def make(residents=None, answers=("sid",), rate=1000.0, calls_per_second=1000.0):
    return worker_factory(MessagingService, db=memory_database(Base), config={},
                          directory=FakeDirectory(residents), consent=FakeConsent(),
                          credits=FakeCredits(),
                          providers=FakeProviders(answers, rate, calls_per_second))


@pytest.fixture
def service():
    return make()


def events(service, event_type):
    return outbox_events(service.db, event_type)


def run(service, event_type, handler, done):
    """Hand every event of `event_type` not yet handed on to `handler`."""
    for event in events(service, event_type):
        if event["event_id"] not in done:
            done.add(event["event_id"])
            handler(event)


def dispatcher(service):
    """What DispatchService does with a `deliveries_queued` event, on this service's fakes."""
    from services.messaging import dispatching

    def dispatch(event):
        dispatching.dispatch(service.db, service.providers, event["data"]["communication_id"],
                             event["data"]["delivery_ids"], service.providers.retry_policy)
    return dispatch


def pipeline(service, answer=None, callbacks=()):
    """Every step until no new work is left: pages, batches, dispatches, callbacks."""
    done = set()
    for _ in range(50):
        before = len(done)
        run(service, "communication_accepted", service.resolve_first_page, done)
        run(service, "audience_page_requested", service.resolve_next_page, done)
        run(service, "deliveries_created", service.prepare, done)
        run(service, "deliveries_queued", dispatcher(service), done)
        if len(done) == before:
            break
    for status in callbacks:
        for d in deliveries(service):
            if d.provider_id:
                service.apply_provider_status(envelope("provider_status_received", {
                    "provider": "twilio", "provider_id": d.provider_id, "status": status,
                    "error_code": None}))


def deliveries(service):
    with service.db.read() as session:
        return session.query(Delivery).order_by(Delivery.resident_id, Delivery.channel).all()


def communication(service, communication_id):
    with service.db.read() as session:
        return session.get(Communication, communication_id)


# --- accepting --------------------------------------------------------------------------

def test_create_persists_the_communication_and_its_event_and_nothing_else_yet(service):
    answer = service.create(IDENTITY, request())
    assert answer["status"] == "accepted" and answer["id"].startswith("cmm_")
    assert (answer["community_ids"], answer["audience_size"]) == (["com_1"], 1)
    saved = communication(service, answer["id"])
    assert saved.recipients["communities"] == ["com_1"] and saved.pages == 0
    assert deliveries(service) == []     # the audience is resolved after the answer
    (event,) = events(service, "communication_accepted")
    assert event["data"]["communication_id"] == answer["id"]
    assert event["organization_id"] == "org_1"


@pytest.mark.parametrize("changes, field", [
    ({"kind": "document"}, "document_id"),                 # a document send names one
    ({"document_id": "doc_1"}, "document_id"),             # only a document send does
    ({"kind": "document", "document_id": "doc_elsewhere"}, "document_id"),   # 404
])
def test_a_document_send_is_refused_whole_naming_the_field(service, changes, field):
    with pytest.raises((InvalidRequest, NotFound)) as refused:
        service.create(IDENTITY, request(**changes))
    assert refused.value.field == field
    assert events(service, None) == []


def test_a_channel_named_twice_is_refused(service):
    with pytest.raises(InvalidRequest) as refused:
        service.create(IDENTITY, request(channels=["sms", "sms"]))
    assert refused.value.field == "channels"


def test_an_unknown_recipient_is_not_found_naming_the_field(service):
    with pytest.raises(NotFound) as refused:
        service.create(IDENTITY, request(recipients={"residents": ["res_missing"]}))
    assert refused.value.field == "recipients.residents"


def test_an_audience_of_nobody_is_refused(service):
    service.directory.residents = []
    with pytest.raises(InvalidRequest, match="reaches nobody"):
        service.create(IDENTITY, request())
    assert events(service, None) == []


def test_an_archived_category_takes_no_new_communications(service):
    service.consent.archived = True
    with pytest.raises(InvalidRequest, match="archived") as refused:
        service.create(IDENTITY, request())
    assert refused.value.field == "category_id"


def test_same_key_and_body_answers_the_first_result_and_sends_nothing_new(service):
    first = service.create(IDENTITY, request(), idempotency_key="k1")
    again = service.create(IDENTITY, request(), idempotency_key="k1")
    assert again == first
    assert len(events(service, "communication_accepted")) == 1
    with pytest.raises(IdempotencyKeyReused):
        service.create(IDENTITY, request(body="something else"), idempotency_key="k1")
    other = dict(IDENTITY, actor_id="key_2")
    assert service.create(other, request(), idempotency_key="k1")["id"] != first["id"]


# --- the audience, page by page -----------------------------------------------------------

def test_the_audience_is_taken_in_pages_and_a_redelivered_page_adds_nobody(monkeypatch):
    monkeypatch.setattr(resolution, "PAGE_SIZE", 2)
    service = make([resident(n) for n in range(1, 6)])
    answer = service.create(IDENTITY, request())
    (accepted,) = events(service, "communication_accepted")
    service.resolve_first_page(accepted)
    service.resolve_first_page(dict(accepted, event_id="redelivered"))
    assert len(deliveries(service)) == 2 and service.directory.pages_asked == 1
    pipeline(service)
    assert len(deliveries(service)) == 5
    assert [e["data"]["batch"] for e in events(service, "deliveries_created")] == [1, 2, 3]
    saved = communication(service, answer["id"])
    assert (saved.pages, saved.audience_complete) == (3, True)


def test_one_text_per_phone_and_one_email_per_address_the_rest_suppressed_with_reason(
        monkeypatch):
    monkeypatch.setattr(resolution, "PAGE_SIZE", 2)
    household = [resident(1, phone="+15550001111", email="Home@example.com"),
                 resident(2, phone="+15550001111"),
                 resident(3, email="home@EXAMPLE.com")]   # on the next page
    service = make(household)
    service.create(IDENTITY, request(channels=["sms", "email"]))
    pipeline(service)
    found = {(d.resident_id, d.channel): (d.status, d.reason) for d in deliveries(service)}
    assert found[("res_00002", "sms")] == ("suppressed", "duplicate_address")
    assert found[("res_00003", "email")] == ("suppressed", "duplicate_address")
    assert found[("res_00001", "sms")][0] == found[("res_00001", "email")][0] == "sent"
    assert found[("res_00002", "email")][0] == found[("res_00003", "sms")][0] == "sent"


# --- consent and credits per batch --------------------------------------------------------

def test_one_consent_check_and_one_hold_per_batch_and_community(monkeypatch):
    monkeypatch.setattr(resolution, "PAGE_SIZE", 3)
    service = make([resident(1), resident(2), resident(3, "com_2"), resident(4, "com_2")])
    answer = service.create(IDENTITY, request(body="x" * 321))
    pipeline(service)
    assert service.consent.checks == [("sms", 3), ("sms", 1)]
    keys = [(community, key) for community, _items, key in service.credits.reservations]
    assert keys == [("com_1", f"reserve:{answer['id']}:1:com_1"),
                    ("com_2", f"reserve:{answer['id']}:1:com_2"),
                    ("com_2", f"reserve:{answer['id']}:2:com_2")]
    assert all(d.credits == 2 and d.hold_id == f"hld_{d.id}" for d in deliveries(service))
    updated = events(service, "deliveries_updated")
    assert {e["data"]["community_id"] for e in updated} == {"com_1", "com_2"}


def test_a_send_nobody_can_pay_for_fails_naming_the_rule_and_sends_nothing(service):
    service.credits.refusal = "user:usr_1 has 0 credits available and this send needs 1"
    service.create(IDENTITY, request())
    pipeline(service)
    (d,) = deliveries(service)
    assert (d.status, d.reason) == ("failed", "no credits: user:usr_1 has 0 credits "
                                              "available and this send needs 1")
    assert events(service, "deliveries_queued") == []
    assert service.providers.sms.sent == []


def test_without_consent_nothing_is_held_and_the_reason_is_kept(service):
    service.consent.allowed = False
    service.create(IDENTITY, request())
    pipeline(service)
    assert service.credits.reservations == []
    (d,) = deliveries(service)
    assert (d.status, d.reason, d.credits) == ("suppressed", "channel_preference_off", 0)


def test_the_preview_equals_what_the_send_holds(monkeypatch):
    monkeypatch.setattr(resolution, "PAGE_SIZE", 2)
    people = [resident(1, phone="+15550001111"), resident(2, phone="+15550001111"),
              resident(3, "com_2"), resident(4, "com_2")]
    service = make(people)
    body = "Ünïcode " * 30    # UCS-2: priced per 140 characters
    preview = service.preview(IDENTITY, request(body=body, channels=["sms", "email"]))
    assert service.providers.sms.sent == [] and events(service, None) == []
    service.create(IDENTITY, request(body=body, channels=["sms", "email"]))
    pipeline(service)
    held = sum(i["amount"] for _c, items, _k in service.credits.reservations for i in items)
    assert preview["credits"] == held == 3 * 2
    assert preview["audience_size"] == 4
    assert preview["channels"]["sms"]["suppressed"] == {"duplicate_address": 1}
    assert preview["channels"]["email"]["allowed"] == 4
    wallets = {w["wallet"]: w for w in preview["wallets"]}
    assert wallets["community:com_1"]["credits"] == 2
    assert wallets["community:com_2"]["available_after"] == 100 - 4


# --- dispatch ----------------------------------------------------------------------------

def test_dispatch_sends_once_even_if_the_work_is_redelivered(service):
    service.create(IDENTITY, request())
    pipeline(service)
    (queued,) = events(service, "deliveries_queued")
    dispatcher(service)(dict(queued, event_id="another-delivery-of-the-same-work"))
    assert len(service.providers.sms.sent) == 1
    (d,) = deliveries(service)
    assert (d.status, d.provider_id, d.segments) == ("sent", "SM1", 1)


def test_provider_calls_in_flight_stay_within_the_process_send_concurrency():
    service = make([resident(n) for n in range(1, 41)])
    sms, flying = service.providers.sms, {"now": 0, "most": 0}
    plain_send = sms.send

    def slow_send(*args, **kwargs):
        flying["now"] += 1
        flying["most"] = max(flying["most"], flying["now"])
        eventlet.sleep(0.001)
        flying["now"] -= 1
        return plain_send(*args, **kwargs)

    sms.send = slow_send
    service.create(IDENTITY, request())
    pipeline(service)
    # a wave of a batch is 16 calls; the process has 4 slots (FakeProviders.send_slots)
    assert len(sms.sent) == 40 and flying["most"] == 4


def test_texts_past_the_senders_budget_wait_their_turn_without_a_worker_sleeping():
    service = make([resident(n) for n in range(1, 6)], rate=2.0)  # burst of 2 segments
    service.create(IDENTITY, request())
    pipeline(service)
    assert len(service.providers.sms.sent) == 2
    waiting = [d for d in deliveries(service) if d.status == "queued"]
    assert len(waiting) == 3 and all(d.next_attempt_at for d in waiting)
    # their time comes: the release timer hands them on, once however often it runs
    later = max(d.next_attempt_at for d in waiting) + timedelta(seconds=5)
    from services.messaging import dispatching
    assert dispatching.release_due(service.db, now=later) == 3
    assert dispatching.release_due(service.db, now=later) == 0


def test_a_permanent_refusal_fails_the_delivery_with_the_providers_code():
    service = make(answers=[SendResult("failed", None, "21211", "invalid To")])
    service.create(IDENTITY, request())
    pipeline(service)
    (d,) = deliveries(service)
    assert (d.status, d.error_code) == ("failed", "21211")


def test_a_transient_error_is_scheduled_again_then_looked_up_before_any_second_send():
    service = make(answers=[TransientProviderError("read timed out"), "sid"])
    service.create(IDENTITY, request())
    pipeline(service)
    (d,) = deliveries(service)
    assert (d.status, d.attempts, d.look_up) == ("queued", 1, True)
    assert d.next_attempt_at > utcnow()
    service.providers.sms.kept[d.address] = "SM_KEPT"   # the provider had it after all
    release_and_dispatch(service, d.next_attempt_at)
    (d,) = deliveries(service)
    assert (d.status, d.provider_id) == ("sent", "SM_KEPT")
    assert len(service.providers.sms.sent) == 1       # never sent twice


def test_retries_are_bounded_then_the_delivery_fails_and_its_hold_is_released():
    service = make(answers=[TransientProviderError("503", 503)])
    service.create(IDENTITY, request())
    pipeline(service)
    for _ in range(5):
        (d,) = deliveries(service)
        if d.status != "queued":
            break
        release_and_dispatch(service, d.next_attempt_at)
    (d,) = deliveries(service)
    assert (d.status, d.error_code, d.attempts) == ("failed", "provider_unavailable", 3)
    last = events(service, "deliveries_updated")[-1]["data"]["items"][-1]
    assert (last["status"], last["hold_id"]) == ("failed", f"hld_{d.id}")


def release_and_dispatch(service, at):
    from services.messaging import dispatching
    before = {e["event_id"] for e in events(service, "deliveries_queued")}
    dispatching.release_due(service.db, now=at + timedelta(seconds=1))
    for event in events(service, "deliveries_queued"):
        if event["event_id"] not in before:
            # the fake clock: the delivery is due
            with service.db.unit_of_work() as uow:
                for d in uow.session.query(Delivery).filter(
                        Delivery.id.in_(event["data"]["delivery_ids"])):
                    d.next_attempt_at = None
            dispatcher(service)(event)


# --- provider statuses --------------------------------------------------------------------

def test_callbacks_move_forward_once_late_ones_change_nothing_and_it_completes(service):
    answer = service.create(IDENTITY, request())
    pipeline(service, callbacks=["delivered", "delivered", "sent"])
    statuses = [i["status"] for e in events(service, "deliveries_updated")
                for i in e["data"]["items"]]
    assert statuses == ["queued", "sent", "delivered"]
    (finished,) = events(service, "communication_finished")
    assert finished["data"]["counts"] == {"delivered": 1}
    saved = communication(service, answer["id"])
    assert saved.status == "completed" and saved.finished_at and saved.started_at


def test_a_callback_before_the_send_is_recorded_is_applied_when_it_is(service):
    service.create(IDENTITY, request())
    done = set()
    run(service, "communication_accepted", service.resolve_first_page, done)
    run(service, "deliveries_created", service.prepare, done)
    service.apply_provider_status(envelope("provider_status_received", {
        "provider": "twilio", "provider_id": "SM1", "status": "delivered",
        "error_code": None}))
    run(service, "deliveries_queued", dispatcher(service), done)
    (d,) = deliveries(service)
    assert d.status == "delivered"


# --- cancel -------------------------------------------------------------------------------

def test_cancel_stops_what_is_not_handed_over_releases_its_holds_and_is_idempotent():
    service = make([resident(n) for n in range(1, 5)], rate=2.0)
    answer = service.create(IDENTITY, request())
    pipeline(service)
    view = service.cancel(IDENTITY, answer["id"])
    again = service.cancel(IDENTITY, answer["id"])
    assert view["counts"] == again["counts"] == {"sent": 2, "cancelled": 2}
    cancelled = [i for e in events(service, "deliveries_updated") for i in e["data"]["items"]
                 if i["status"] == "cancelled"]
    assert len(cancelled) == 2 and all(i["hold_id"] for i in cancelled)
    pipeline(service, callbacks=["delivered"])
    (finished,) = events(service, "communication_finished")
    assert finished["data"]["status"] == "cancelled"


def test_cancel_before_the_audience_is_resolved_sends_nobody(service):
    answer = service.create(IDENTITY, request())
    service.cancel(IDENTITY, answer["id"])
    pipeline(service)
    assert deliveries(service) == [] and service.providers.sms.sent == []
    assert communication(service, answer["id"]).status == "cancelled"


# --- the sweeper --------------------------------------------------------------------------

def test_the_sweeper_takes_the_providers_answer_for_an_outcome_it_never_reported(service):
    service.create(IDENTITY, request())
    pipeline(service)
    (d,) = deliveries(service)
    service.providers.sms.statuses[d.provider_id] = ("delivered", None)
    from services.messaging import reconciliation
    policy = service.providers.reconcile_policy
    soon = utcnow() + timedelta(seconds=policy.reconcile_after + 1)
    assert reconciliation.sweep(service.db, service.providers, policy, now=soon)[
        "looked_up"] == 1
    (d,) = deliveries(service)
    assert d.status == "delivered"


@pytest.mark.parametrize("provider_says, status, charged", [
    (("sent", None), "unconfirmed", True),    # a carrier that never confirms: charged
    ((None, None), "failed", False),          # the provider has no record of it: released
])
def test_the_sweeper_gives_up_after_its_time_and_names_the_status(provider_says, status,
                                                                   charged):
    from contracts.vocabulary import CHARGED_STATUSES
    from services.messaging import reconciliation
    service = make()
    service.create(IDENTITY, request())
    pipeline(service)
    (d,) = deliveries(service)
    service.providers.sms.statuses[d.provider_id] = provider_says
    policy = service.providers.reconcile_policy
    late = utcnow() + timedelta(seconds=policy.give_up_after + 1)
    reconciliation.sweep(service.db, service.providers, policy, now=late)
    (d,) = deliveries(service)
    assert d.status == status and (d.status in CHARGED_STATUSES) is charged


def test_a_delivery_left_sending_by_a_crash_is_looked_up_before_it_is_sent_again(service):
    service.create(IDENTITY, request())
    done = set()
    run(service, "communication_accepted", service.resolve_first_page, done)
    run(service, "deliveries_created", service.prepare, done)
    with service.db.unit_of_work() as uow:    # taken by a worker that then died
        (d,) = uow.session.query(Delivery).all()
        d.status, d.sending_since, d.attempts = "sending", utcnow(), 1
        d.first_attempt_at = d.sending_since
    from services.messaging import reconciliation
    policy = service.providers.reconcile_policy
    later = utcnow() + timedelta(seconds=policy.stale_sending_after + 1)
    assert reconciliation.sweep(service.db, service.providers, policy, now=later)[
        "requeued"] == 1
    (d,) = deliveries(service)
    service.providers.sms.kept[d.address] = "SM_FIRST"
    release_and_dispatch(service, later)
    (d,) = deliveries(service)
    assert (d.status, d.provider_id) == ("sent", "SM_FIRST")
    assert service.providers.sms.sent == []


def test_work_whose_event_was_parked_is_handed_on_again_by_the_sweeper(service):
    from services.messaging import reconciliation
    service.create(IDENTITY, request())
    done = set()
    run(service, "communication_accepted", service.resolve_first_page, done)
    # the batch's event was parked (consent down past every retry): nothing moves
    done.update(e["event_id"] for e in events(service, "deliveries_created"))
    (d,) = deliveries(service)
    assert d.status == "pending"
    later = utcnow() + timedelta(seconds=reconciliation.STALL_AFTER_SECONDS + 1)
    reconciliation.sweep(service.db, service.providers, service.providers.reconcile_policy,
                         now=later)
    run(service, "deliveries_created", service.prepare, done)
    run(service, "deliveries_queued", dispatcher(service), done)
    (d,) = deliveries(service)
    assert d.status == "sent" and len(service.providers.sms.sent) == 1


def test_callbacks_that_came_together_are_one_transaction_and_one_event():
    service = make([resident(n) for n in range(1, 6)])
    service.create(IDENTITY, request())
    pipeline(service)
    before = len(events(service, "deliveries_updated"))
    service.apply_provider_statuses(envelope("provider_statuses_received", {"items": [
        {"provider": "twilio", "provider_id": d.provider_id, "status": "delivered",
         "error_code": None} for d in deliveries(service)]}))
    (updated,) = events(service, "deliveries_updated")[before:]
    assert [i["status"] for i in updated["data"]["items"]] == ["delivered"] * 5
    assert len(events(service, "communication_finished")) == 1


# --- calls ------------------------------------------------------------------------------

def call_status(service, provider_id, status, duration=None):
    service.apply_provider_status(envelope("provider_status_received", {
        "provider": "twilio", "provider_id": provider_id, "status": status,
        "error_code": status if status in ("busy", "no-answer") else None,
        "duration_seconds": duration}))


def test_a_call_is_held_for_its_longest_and_charged_for_its_real_duration():
    service = make([resident(n) for n in range(1, 4)])
    body = "The water is off on Tuesday from noon to four. " * 4
    service.create(IDENTITY, request(channels=["voice"], body=body))
    pipeline(service)
    held = pricing.voice_credits(voice_calls.longest_seconds(
        body, "en", False, FakeProviders.call_settings))
    calls = deliveries(service)
    assert [(d.status, d.credits, d.seconds_per_credit) for d in calls] == \
        [("sent", held, 60)] * 3
    assert service.providers.voice.options == {
        "status_callback": FakeProviders.call_status_callback, "language": "en",
        "gather_action": None}
    answered, busy, unanswered = (d.provider_id for d in calls)
    call_status(service, answered, "in-progress")
    call_status(service, answered, "completed", 61)
    call_status(service, busy, "busy", 0)
    call_status(service, unanswered, "no-answer")
    ended = {d.provider_id: (d.status, d.credits, d.error_code) for d in deliveries(service)}
    assert ended == {answered: ("delivered", 2, None),
                     busy: ("undelivered", held, "busy"),
                     unanswered: ("undelivered", held, "no-answer")}
    # credits settles the answered call for 2 and releases the others (free)
    items = [i for e in events(service, "deliveries_updated") for i in e["data"]["items"]
             if i["status"] in ("delivered", "undelivered")]
    assert sorted((i["status"], i["credits"]) for i in items) == \
        [("delivered", 2), ("undelivered", held), ("undelivered", held)]
    # what partners read of each call's outcome: its length when Twilio said, and its charge
    outcome = {i["delivery_id"]: (i["status"], i["error_code"], i["duration_seconds"],
                                  i["credits_charged"]) for i in items}
    ids = {d.provider_id: d.id for d in calls}
    assert outcome == {ids[answered]: ("delivered", None, 61, 2),
                       ids[busy]: ("undelivered", "busy", 0, 0),
                       ids[unanswered]: ("undelivered", "no-answer", None, 0)}
    in_flight = [i for e in events(service, "deliveries_updated") for i in e["data"]["items"]
                 if i["status"] in ("queued", "sent")]
    assert in_flight and {(i["duration_seconds"], i["credits_charged"])
                          for i in in_flight} == {(None, None)}


def test_a_call_that_ends_before_its_send_is_recorded_still_carries_its_duration(service):
    service.create(IDENTITY, request(channels=["voice"]))
    done = set()
    run(service, "communication_accepted", service.resolve_first_page, done)
    run(service, "deliveries_created", service.prepare, done)
    call_status(service, "CA1", "completed", 125)      # the fake's first call
    run(service, "deliveries_queued", dispatcher(service), done)
    (d,) = deliveries(service)
    assert (d.status, d.credits) == ("delivered", 3)
    (item,) = [i for e in events(service, "deliveries_updated") for i in e["data"]["items"]
               if i["status"] == "delivered"]
    assert (item["duration_seconds"], item["credits_charged"]) == (125, 3)


def test_a_texts_outcome_carries_its_charge_and_no_duration():
    service = make([resident(1), resident(2)], answers=("sid", RuntimeError("boom")))
    service.create(IDENTITY, request())
    pipeline(service, callbacks=["delivered"])
    ended = {i["status"]: (i["duration_seconds"], i["credits_charged"])
             for e in events(service, "deliveries_updated") for i in e["data"]["items"]
             if i["status"] in ("delivered", "failed")}
    assert ended == {"delivered": (None, 1), "failed": (None, 0)}


class OptOutConsent(FakeConsent):
    """An opt-out-enabled category: every allowed resident has an unsubscribe link."""

    def unsubscribe_links(self, identity, category_id, channel, recipients):
        return {r["resident_id"]: f"https://th.example/u/{r['resident_id']}"
                for r in recipients}


def test_a_calls_hold_prices_the_offer_in_the_residents_own_language():
    english, spanish = resident(1), dict(resident(2), language="es")
    service = make([english, spanish])
    service.consent = OptOutConsent()
    body = "x" * 270     # 60 s with the English offer, 61 with the longer Spanish one
    quoted = service.preview(IDENTITY, request(channels=["voice"], body=body))
    service.create(IDENTITY, request(channels=["voice"], body=body))
    pipeline(service)
    held = {d.resident_id: d.credits for d in deliveries(service)}
    assert held == {english["id"]: 1, spanish["id"]: 2}
    assert quoted["credits"] == 3          # the preview holds what the send holds


def test_calls_wait_for_the_accounts_call_rate_without_a_worker_sleeping():
    service = make([resident(n) for n in range(1, 6)], calls_per_second=1.0)
    service.create(IDENTITY, request(channels=["voice"]))
    pipeline(service)
    assert len(service.providers.voice.sent) == 1      # one call a second, burst of one
    waiting = [d for d in deliveries(service) if d.status == "queued"]
    assert len(waiting) == 4 and all(d.next_attempt_at for d in waiting)


def test_a_body_too_long_for_a_call_is_refused_before_anything_is_held(service):
    with pytest.raises(InvalidRequest) as refused:
        service.create(IDENTITY, request(channels=["voice"], body="&" * 900))
    assert refused.value.field == "body" and "4,000" in refused.value.detail
    assert events(service, None) == []


# --- scheduled sends ---------------------------------------------------------------------

def in_hours(hours):
    return (utcnow() + timedelta(hours=hours)).isoformat()


def test_a_scheduled_send_waits_then_goes_once_however_often_the_scheduler_runs(service):
    from services.messaging import scheduling
    answer = service.create(IDENTITY, request(send_at=in_hours(2)))
    assert answer["status"] == "scheduled" and answer["send_at"]
    assert events(service, "communication_accepted") == []
    (scheduled,) = events(service, "communication_scheduled")
    assert scheduled["data"]["recipient_count"] == 1
    assert service.get(IDENTITY, answer["id"])["status"] == "scheduled"
    assert scheduling.fire_due(service.db) == 0                        # not yet
    due = utcnow() + timedelta(hours=2, seconds=1)
    assert scheduling.fire_due(service.db, now=due) == 1
    assert scheduling.fire_due(service.db, now=due) == 0               # once
    (accepted,) = events(service, "communication_accepted")
    assert accepted["data"]["communication_id"] == answer["id"]
    pipeline(service)
    assert [d.status for d in deliveries(service)] == ["sent"]


def test_a_cancelled_scheduled_send_never_goes(service):
    from services.messaging import scheduling
    answer = service.create(IDENTITY, request(send_at=in_hours(1)))
    assert service.cancel(IDENTITY, answer["id"])["status"] == "cancelled"
    assert scheduling.fire_due(service.db, now=utcnow() + timedelta(days=1)) == 0
    assert events(service, "communication_accepted") == []


def test_a_scheduled_send_can_be_moved_until_it_goes(service):
    from services.messaging import scheduling
    answer = service.create(IDENTITY, request(send_at=in_hours(1)))
    moved = service.reschedule(IDENTITY, answer["id"], in_hours(5))
    assert moved["status"] == "scheduled" and moved["send_at"] > answer["send_at"]
    assert scheduling.fire_due(service.db, now=utcnow() + timedelta(hours=2)) == 0
    assert scheduling.fire_due(service.db, now=utcnow() + timedelta(hours=6)) == 1
    with pytest.raises(Conflict) as refused:
        service.reschedule(IDENTITY, answer["id"], in_hours(8))
    assert refused.value.field == "send_at"


def test_a_reschedule_under_an_idempotency_key_answers_its_first_result_again(service):
    answer = service.create(IDENTITY, request(send_at=in_hours(1)))
    asked = in_hours(5)
    first = service.reschedule(IDENTITY, answer["id"], asked, idempotency_key="move-1")
    moved = service.reschedule(IDENTITY, answer["id"], in_hours(7))   # moved again meanwhile
    again = service.reschedule(IDENTITY, answer["id"], asked, idempotency_key="move-1")
    assert again == first                     # the first answer, and nothing moved back
    assert service.get(IDENTITY, answer["id"])["send_at"] == moved["send_at"] != \
        first["send_at"]
    assert len(events(service, "communication_rescheduled")) == 2
    with pytest.raises(IdempotencyKeyReused) as refused:
        service.reschedule(IDENTITY, answer["id"], in_hours(9), idempotency_key="move-1")
    assert refused.value.field == "Idempotency-Key"


@pytest.mark.parametrize("send_at, rule", [
    ("tomorrow", "ISO 8601"),
    ("2030-01-01T09:00:00", "offset"),
    ("2020-01-01T09:00:00+00:00", "future"),
    ((utcnow() + timedelta(days=91)).isoformat(), "90 days"),
])
def test_send_at_is_refused_naming_the_rule(service, send_at, rule):
    with pytest.raises(InvalidRequest) as refused:
        service.create(IDENTITY, request(send_at=send_at))
    assert refused.value.field == "send_at" and rule in refused.value.detail
    assert events(service, None) == []


# --- quiet hours and emergencies ---------------------------------------------------------

def night_timezone():
    """A zone where it is about 2 a.m. now (Etc/GMT-N is N hours ahead of UTC)."""
    ahead = (2 - utcnow().hour + 11) % 24 - 11
    return "Etc/UTC" if ahead == 0 else f"Etc/GMT{'-' if ahead > 0 else '+'}{abs(ahead)}"


EMERGENCY = dict(IDENTITY, permissions=[*IDENTITY["permissions"], "send_emergency"],
                 name="Front desk integration")


def test_a_text_inside_quiet_hours_waits_queued_until_the_window_opens():
    service = make()
    service.directory.timezone = night_timezone()
    service.create(IDENTITY, request(channels=["sms", "email"]))
    pipeline(service)
    text, email = sorted(deliveries(service), key=lambda d: d.channel != "sms")
    assert email.status == "sent"                       # email is never held
    assert text.status == "queued" and text.held_until == text.next_attempt_at
    assert 5 * 3600 < (text.held_until - utcnow()).total_seconds() <= 6 * 3600 + 60
    assert service.providers.sms.sent == []
    # the window opens: the release timer hands it on then, and it goes
    from services.messaging import dispatching
    opened = text.held_until + timedelta(seconds=1)
    assert dispatching.release_due(service.db, now=opened) == 1
    (event,) = [e for e in events(service, "deliveries_queued")
                if e["data"]["delivery_ids"] == [text.id]][-1:]
    dispatching.dispatch(service.db, service.providers, event["data"]["communication_id"],
                         event["data"]["delivery_ids"], service.providers.retry_policy,
                         now=opened)
    (text,) = [d for d in deliveries(service) if d.channel == "sms"]
    assert (text.status, text.held_until) == ("sent", None)


def urgent_worker(service):
    """messaging's urgent workers (UrgentService) on this service's database and fakes."""
    from services.messaging.urgent_service import UrgentService
    return worker_factory(UrgentService, db=service.db, config={}, providers=service.providers,
                          directory=service.directory, consent=service.consent,
                          credits=service.credits)


def urgent_pipeline(service):
    urgent, done = urgent_worker(service), set()
    for _ in range(10):
        before = len(done)
        run(service, "communication_accepted", service.resolve_first_page, done)
        run(service, "urgent_audience_page_requested", urgent.resolve_page, done)
        run(service, "urgent_deliveries_created", urgent.prepare, done)
        run(service, "urgent_deliveries_queued", urgent.dispatch, done)
        if len(done) == before:
            break


def test_an_emergency_goes_at_once_on_urgent_queues_only_and_says_who_and_why():
    service = make([resident(n) for n in range(1, 4)])
    service.directory.timezone = night_timezone()
    answer = service.create(EMERGENCY, request(emergency=True,
                                               emergency_reason="Gas leak: leave now"))
    urgent_pipeline(service)
    assert [d.status for d in deliveries(service)] == ["sent"] * 3
    assert all(d.held_until is None for d in deliveries(service))
    # every step went on an urgent queue; ordinary workers got nothing of it to do
    for step in ("audience_page_requested", "deliveries_created", "deliveries_queued"):
        assert events(service, step) == [], step
        assert events(service, "urgent_" + step), step
    assert service.directory.pages_asked == 1        # the ordinary first page was skipped
    view = service.get(EMERGENCY, answer["id"])
    assert (view["emergency"], view["emergency_reason"]) == (True, "Gas leak: leave now")
    (accepted,) = events(service, "communication_accepted")
    # what the emergency report is built from: who, why, when
    assert (accepted["data"]["emergency"], accepted["data"]["emergency_reason"]) == (
        True, "Gas leak: leave now")
    assert accepted["data"]["sent_by"] == {"type": "api_key", "id": "key_1",
                                           "name": "Front desk integration"}
    assert accepted["data"]["accepted_at"] == view["accepted_at"]
    listed = service.list_communications(EMERGENCY, emergency=True)["items"]
    assert [c["id"] for c in listed] == [answer["id"]]


def test_a_scheduled_emergency_is_handed_to_the_urgent_workers_when_it_is_due():
    from services.messaging import scheduling
    service = make()
    service.create(EMERGENCY, request(emergency=True, emergency_reason="Boil water notice",
                                      send_at=in_hours(1)))
    assert scheduling.fire_due(service.db, now=utcnow() + timedelta(hours=2)) == 1
    (page,) = events(service, "urgent_audience_page_requested")
    assert (page["data"]["page"], page["data"]["after"]) == (1, None)
    urgent_pipeline(service)
    assert [d.status for d in deliveries(service)] == ["sent"]


def test_an_ordinary_backlog_waiting_for_the_budget_holds_back_while_an_emergency_waits():
    """One text a second: an ordinary send's texts wait for the budget; an emergency that
    comes then takes the tokens as they accrue, and the ordinary ones are told to come back
    only after it."""
    from services.messaging import dispatching
    service = make([resident(n) for n in range(1, 6)], rate=1.0)
    ordinary = service.create(IDENTITY, request())
    pipeline(service)
    assert len(service.providers.sms.sent) == 1       # the burst; four wait for the budget
    emergency = service.create(EMERGENCY, request(emergency=True, emergency_reason="Fire"))
    urgent_pipeline(service)
    waiting = [d for d in deliveries(service) if d.status == "queued"]
    mine = [d for d in waiting if d.communication_id == emergency["id"]]
    assert len(mine) >= 4                               # the bucket was empty
    # the ordinary ones come due and are handed on again (as the release timer would):
    # none goes, though a token or so has accrued
    theirs = [d.id for d in waiting if d.communication_id == ordinary["id"]]
    sent = len(service.providers.sms.sent)
    dispatching.dispatch(service.db, service.providers, ordinary["id"], theirs,
                         service.providers.retry_policy, now=utcnow() + timedelta(seconds=2))
    assert len(service.providers.sms.sent) == sent
    later = {d.id: d.next_attempt_at for d in deliveries(service) if d.status == "queued"}
    # not at the next token (a second), but once the emergency's texts had theirs
    assert min(later[i] for i in theirs) - max(later[d.id] for d in mine) > \
        timedelta(seconds=len(mine) - 2)


def test_the_release_timer_hands_on_an_emergencys_deliveries_first(monkeypatch):
    from services.messaging import dispatching
    service = make([resident(n) for n in range(1, 21)], rate=1.0)
    service.create(IDENTITY, request())
    pipeline(service)
    emergency = service.create(EMERGENCY, request(emergency=True, emergency_reason="Fire"))
    urgent_pipeline(service)
    before = {e["event_id"] for e in events(service, None)}
    monkeypatch.setattr(dispatching, "RELEASE_BATCH", 5)
    # everything waiting is due (19 ordinary, 20 emergency); the emergency's go first
    assert dispatching.release_due(service.db, now=utcnow() + timedelta(minutes=5)) == 5
    (released,) = [e for e in events(service, None) if e["event_id"] not in before]
    assert released["type"] == "urgent_deliveries_queued"
    assert released["data"]["communication_id"] == emergency["id"]


def test_an_emergency_needs_its_permission_and_a_reason(service):
    with pytest.raises(Forbidden) as refused:
        service.create(IDENTITY, request(emergency=True, emergency_reason="Gas leak"))
    assert "send_emergency" in refused.value.detail
    with pytest.raises(InvalidRequest) as unexplained:
        service.create(EMERGENCY, request(emergency=True))
    assert unexplained.value.field == "emergency_reason"
    assert events(service, None) == []


# --- documents ---------------------------------------------------------------------------

def agenda_pdf():
    from fpdf import FPDF

    document = FPDF()
    document.add_page()
    document.set_font("Helvetica", size=12)
    document.cell(text="Board meeting agenda")
    return bytes(document.output())


def test_a_document_goes_attached_by_email_and_as_each_residents_own_link_by_text():
    import base64

    from contracts.pricing import text_credits
    from services.messaging import document_links
    service = make([resident(1), resident(2)])
    data = agenda_pdf()
    uploaded = service.upload_document(IDENTITY, base64.b64encode(data).decode(),
                                       "agenda.pdf")
    assert (uploaded["content_type"], uploaded["size"]) == ("application/pdf", len(data))
    body = "The board meets on Thursday; the agenda is attached."
    ask = request(kind="document", document_id=uploaded["id"], channels=["sms", "email"],
                  body=body)
    preview = service.preview(IDENTITY, ask)
    service.create(IDENTITY, ask)
    pipeline(service)
    texts = {to: text for _id, to, text in service.providers.sms.sent}
    links = {to: text.rsplit("Document: ", 1)[1] for to, text in texts.items()}
    assert len(set(links.values())) == 2                     # each resident's own link
    for d in deliveries(service):
        if d.channel == "sms":
            link = links[d.address]
            assert document_links.verify(service.providers.document_links.secret,
                                         link.rsplit("/d/", 1)[1]) == d.id
            assert d.credits == text_credits(texts[d.address])   # priced as sent
    (attachment,) = set(service.providers.providers["email"].attachments)
    assert (attachment.filename, attachment.content_type, attachment.data) == (
        "agenda.pdf", "application/pdf", data)
    held = sum(d.credits for d in deliveries(service))
    assert preview["credits"] == held                           # the preview equals the hold
    found = service.open_document_link(links[resident(2)["phone"]].rsplit("/d/", 1)[1],
                                       content=True)
    assert base64.b64decode(found["content_base64"]) == data


def test_an_upload_under_an_idempotency_key_keeps_one_document(service):
    import base64

    from services.messaging.models import Document
    data = base64.b64encode(agenda_pdf()).decode()
    first = service.upload_document(IDENTITY, data, "agenda.pdf", idempotency_key="doc-1")
    assert service.upload_document(IDENTITY, data, "agenda.pdf",
                                   idempotency_key="doc-1") == first
    with service.db.read() as session:
        assert [d.id for d in session.query(Document)] == [first["id"]]
    for other in ((data, "minutes.pdf"),
                  (base64.b64encode(agenda_pdf() + b"\n").decode(), "agenda.pdf")):
        with pytest.raises(IdempotencyKeyReused) as refused:
            service.upload_document(IDENTITY, *other, idempotency_key="doc-1")
        assert refused.value.field == "Idempotency-Key"
    # without a key, each upload is a document of its own
    assert service.upload_document(IDENTITY, data, "agenda.pdf")["id"] != first["id"]


def test_a_file_that_is_not_a_document_is_refused_whatever_its_name(service):
    import base64
    with pytest.raises(InvalidRequest) as refused:
        service.upload_document(IDENTITY, base64.b64encode(b"MZ\x90\x00" * 40).decode(),
                                "agenda.pdf")
    assert refused.value.field == "file"


def test_past_sends_are_listed_by_their_creation_moment_given_as_iso_text(service):
    """The gateway hands the moments on as ISO 8601 text (an RPC carries no datetime)."""
    answer = service.create(IDENTITY, request())
    before = (utcnow() - timedelta(minutes=1)).isoformat()
    after = (utcnow() + timedelta(minutes=1)).isoformat()
    found = service.list_communications(IDENTITY, created_after=before, created_before=after)
    assert [c["id"] for c in found["items"]] == [answer["id"]]
    assert service.list_communications(IDENTITY, created_after=after)["items"] == []
