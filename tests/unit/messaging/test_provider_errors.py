"""A provider call that raises anything — not only the transient errors it was written for —
ends the delivery or notice in a terminal status with a reason, never `sending` forever.
The email cases use the real SMTP provider: a subject with a line break (accepted before the
API refused them) makes the email library raise ValueError before any connection."""

import pytest
from nameko.testing.services import worker_factory
from sqlalchemy import select

from contracts.events import envelope
from servicekit.testing import memory_database, outbox_events
from services.messaging import notices
from services.messaging.models import Base, Delivery, Notice
from services.messaging.providers.smtp_email import SmtpEmail
from services.messaging.service import MessagingService
from tests.unit.messaging.test_messaging_service import (
    IDENTITY,
    FakeConsent,
    FakeCredits,
    FakeDirectory,
    FakeProviders,
    pipeline,
    request,
)

INJECTED = "Water off\r\nBcc: everyone@example.com"


class Broken:
    """A provider with a bug: every call raises what no one expected."""

    def send(self, *args, **kwargs):
        raise RuntimeError("provider client bug")

    def find_sent(self, to, body, since):
        return None


class Providers(FakeProviders):
    def __init__(self, **providers):
        super().__init__()
        # port 9 (discard) is never reached: the message is refused while it is built
        self.providers = {"email": SmtpEmail("127.0.0.1", 9, "no-reply@townhall.test"),
                          **providers}


@pytest.fixture(autouse=True)
def no_back_off(monkeypatch):
    monkeypatch.setattr(notices.eventlet, "sleep", lambda seconds: None)


def messaging(**providers):
    return worker_factory(MessagingService, db=memory_database(Base), config={},
                          directory=FakeDirectory(), consent=FakeConsent(),
                          credits=FakeCredits(), providers=Providers(**providers))


def dispatched(service, **changes):
    service.create(IDENTITY, request(**changes))
    pipeline(service)
    with service.db.read() as session:
        (delivery,) = session.query(Delivery).all()
    return delivery


def test_an_email_the_mail_library_refuses_fails_with_a_reason_instead_of_sticking():
    delivery = dispatched(messaging(), channels=["email"], subject=INJECTED)
    assert (delivery.status, delivery.error_code) == ("failed", "provider_error")
    assert "ValueError" in delivery.reason and "linefeed" in delivery.reason


def test_a_text_whose_provider_raises_anything_fails_and_its_hold_is_released():
    service = messaging(sms=Broken())
    delivery = dispatched(service)
    assert (delivery.status, delivery.error_code) == ("failed", "provider_error")
    assert delivery.reason == "provider error: RuntimeError: provider client bug"
    items = [i for e in outbox_events(service.db, "deliveries_updated")
             for i in e["data"]["items"]]
    assert items[-1]["status"] == "failed"   # credits releases the hold on this event


def test_a_notice_whose_provider_raises_anything_fails_with_its_reason():
    service = messaging()
    service.send_consent_requests(envelope("consent_requests_issued", {
        "request_id": "crq_1", "category_id": "cat_1", "subject": INJECTED,
        "items": [{"resident_id": "res_1", "email": "ada@example.com", "body": "Hello"}]},
        organization_id="org_1"))
    with service.db.read() as session:
        (notice,) = session.scalars(select(Notice)).all()
    assert (notice.status, notice.error_code) == ("failed", "provider_error")
    assert "ValueError" in notice.reason
    (mailed,) = outbox_events(service.db, "consent_requests_mailed")
    assert mailed["data"]["items"][0]["status"] == "failed"
