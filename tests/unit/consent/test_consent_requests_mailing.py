"""messaging's side of consent requests (the Notices mixin) with worker_factory, an in-memory
database and a fake email provider: each email is a notice committed before it is sent,
a redelivered batch sends nothing twice, and one consent_requests_mailed tells consent."""

from datetime import timedelta

import pytest
from nameko.testing.services import worker_factory
from sqlalchemy import select

from contracts.events import envelope
from servicekit.db import utcnow
from servicekit.testing import memory_database, outbox_events
from services.messaging.models import Base, Notice
from services.messaging.providers.base import SendResult, TransientProviderError
from services.messaging.service import MessagingService

ORG = "org_1"


class FakeEmail:
    def __init__(self):
        self.sent = []
        self.refuse = set()
        self.down = False

    def send(self, delivery_id, to, body, subject=None, status_callback=None,
             unsubscribe_url=None):
        if self.down:
            raise TransientProviderError("connection refused")
        self.sent.append({"id": delivery_id, "to": to, "subject": subject, "body": body})
        if to in self.refuse:
            return SendResult("failed", "<m@x>", "550", "mailbox unavailable")
        return SendResult("delivered", f"<{delivery_id}@x>")

    def find_sent(self, to, body, since):
        return None   # SMTP cannot be asked what arrived


class FakeProviders:
    def __init__(self):
        self.email = FakeEmail()
        self.providers = {"email": self.email}


@pytest.fixture
def messaging():
    return worker_factory(MessagingService, db=memory_database(Base), config={},
                          providers=FakeProviders())


def batch(request_id="crq_1", residents=("res_1", "res_2", "res_3")):
    return envelope("consent_requests_issued", {
        "request_id": request_id, "category_id": "cat_1",
        "subject": "Maple Grove: may we email you Newsletter?",
        "items": [{"resident_id": r, "email": f"{r}@example.com",
                   "body": f"Hello {r}, open https://th.example/c/tok_{r}"}
                  for r in residents]}, organization_id=ORG)


def mailed(messaging):
    return [e["data"] for e in outbox_events(messaging.db, "consent_requests_mailed")]


def test_each_item_is_one_email_and_the_batch_one_report(messaging):
    messaging.send_consent_requests(batch())
    sent = messaging.providers.email.sent
    assert sorted(m["to"] for m in sent) == ["res_1@example.com", "res_2@example.com",
                                             "res_3@example.com"]
    assert {m["subject"] for m in sent} == {"Maple Grove: may we email you Newsletter?"}
    assert all(f"tok_{m['to'].split('@')[0]}" in m["body"] for m in sent)
    (report,) = mailed(messaging)
    assert report["request_id"] == "crq_1"
    assert sorted((i["resident_id"], i["status"]) for i in report["items"]) == [
        ("res_1", "sent"), ("res_2", "sent"), ("res_3", "sent")]
    with messaging.db.read() as session:
        notices = session.scalars(select(Notice)).all()
    assert {(n.kind, n.reference, n.organization_id, n.status) for n in notices} == {
        ("consent_request", f"crq_1:{r}", ORG, "delivered") for r in ("res_1", "res_2",
                                                                        "res_3")}


def test_a_redelivered_batch_sends_nothing_twice(messaging):
    event = batch()
    messaging.send_consent_requests(event)
    # the same event again (its processed mark lost), and a copy under a new event id
    messaging.send_consent_requests(dict(event, event_id="another-id"))
    assert len(messaging.providers.email.sent) == 3
    with messaging.db.read() as session:
        assert len(session.scalars(select(Notice)).all()) == 3


def test_a_refused_address_is_reported_failed_with_the_reason(messaging):
    messaging.providers.email.refuse = {"res_2@example.com"}
    messaging.send_consent_requests(batch())
    (report,) = mailed(messaging)
    failed = [i for i in report["items"] if i["status"] == "failed"]
    assert failed == [{"resident_id": "res_2", "status": "failed",
                       "reason": "550 mailbox unavailable"}]


def test_a_provider_that_stays_down_fails_the_batch_with_a_readable_reason(messaging,
                                                                           monkeypatch):
    monkeypatch.setattr("services.messaging.notices.eventlet.sleep", lambda s: None)
    messaging.providers.email.down = True
    messaging.send_consent_requests(batch(residents=("res_1",)))
    (report,) = mailed(messaging)
    assert report["items"] == [{"resident_id": "res_1", "status": "failed",
                                "reason": "provider unavailable"}]


def test_an_email_a_dead_worker_left_sending_goes_out_when_its_batch_comes_again(messaging):
    then = utcnow() - timedelta(minutes=15)
    with messaging.db.unit_of_work() as uow:
        uow.session.add(Notice(id="ntc_dead", organization_id=ORG, kind="consent_request",
                               reference="crq_1:res_1", channel="email",
                               address="res_1@example.com", subject="s", body="b",
                               headers={}, status="sending", created_at=then, updated_at=then))
    messaging.send_consent_requests(batch())          # the unacknowledged batch, again
    assert sorted(m["to"] for m in messaging.providers.email.sent) == [
        "res_1@example.com", "res_2@example.com", "res_3@example.com"]
    (report,) = mailed(messaging)
    assert sorted((i["resident_id"], i["status"]) for i in report["items"]) == [
        ("res_1", "sent"), ("res_2", "sent"), ("res_3", "sent")]


def test_the_sweeper_sends_an_email_left_half_sent_and_tells_consent(messaging):
    then = utcnow() - timedelta(minutes=11)
    with messaging.db.unit_of_work() as uow:
        uow.session.add(Notice(id="ntc_dead", organization_id=ORG, kind="consent_request",
                               reference="crq_9:res_7", channel="email",
                               address="res_7@example.com", subject="s", body="b",
                               headers={}, status="sending", created_at=then, updated_at=then))
    messaging.take_up_abandoned_notices()
    messaging.take_up_abandoned_notices()
    assert [m["to"] for m in messaging.providers.email.sent] == ["res_7@example.com"]
    (report,) = mailed(messaging)
    assert report == {"request_id": "crq_9",
                      "items": [{"resident_id": "res_7", "status": "sent", "reason": None}]}
