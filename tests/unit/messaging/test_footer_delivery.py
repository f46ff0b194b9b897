"""Messaging's use of the unsubscribe footer (tests/unit/contracts/test_footer.py composes
it): priced as sent, handed to the provider, found again by reconciliation, and written into
the email as RFC 8058 asks."""

import email
import email.policy
import smtplib

from nameko.testing.services import worker_factory

from contracts import footer
from servicekit.testing import memory_database
from services.messaging.models import Base, Delivery
from services.messaging.providers.base import SendResult, TransientProviderError
from services.messaging.providers.smtp_email import SmtpEmail
from services.messaging.service import MessagingService
from tests.unit.messaging.test_messaging_service import (
    FakeDirectory,
    FakeProviders,
    pipeline,
    release_and_dispatch,
)

URL = "https://townhall.example/u/unsub_AbCdEfGhIjKlMnOpQrStUv.0123456789abcdefghijkl"
IDENTITY = {"actor_type": "api_key", "actor_id": "key_1", "organization_id": "org_1",
            "permissions": ["send_communications", "send_sms"]}
RESIDENT = {"id": "res_1", "community_id": "com_1", "name": "Ada", "phone": "+15551230001",
            "email": "ada@example.com"}


# --- the email as it leaves (a stand-in for smtplib's connection, not for our code) --------

class CapturingSmtp:
    sent = []

    def __init__(self, host, port, timeout=None):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def send_message(self, message):
        CapturingSmtp.sent.append(message.as_bytes(policy=message.policy.clone(
            linesep="\r\n")))


def test_the_email_carries_both_headers_unencoded(monkeypatch):
    monkeypatch.setattr(smtplib, "SMTP", CapturingSmtp)
    CapturingSmtp.sent.clear()
    provider = SmtpEmail("127.0.0.1", 25, "Townhall <no-reply@townhall.test>")
    body = footer.text_to_send("email", "Water off at noon — sorry!", URL)
    result = provider.send("dlv_1", "ada@example.com", body, subject="News",
                           unsubscribe_url=URL)
    assert result.status == "delivered"
    (raw,) = CapturingSmtp.sent
    # one line each, as written: an RFC 2047-encoded link is not a link to a mail client
    assert f"\r\nList-Unsubscribe: <{URL}>\r\n".encode() in raw
    assert b"\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n" in raw
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed.get_body(("plain",)).get_content().replace("\r\n", "\n") == body


def test_an_email_without_a_link_has_no_unsubscribe_headers(monkeypatch):
    monkeypatch.setattr(smtplib, "SMTP", CapturingSmtp)
    CapturingSmtp.sent.clear()
    SmtpEmail("127.0.0.1", 25, "no-reply@townhall.test").send("dlv_2", "ada@example.com", "Hi")
    (raw,) = CapturingSmtp.sent
    assert b"List-Unsubscribe" not in raw


# --- messaging: prepare stores and prices the link, dispatch sends it -----------------------

class FakeConsent:
    def __init__(self, links):
        self.links, self.asked = links, []

    def get_category(self, identity, category_id):
        return {"id": category_id, "name": "News", "mode": "opt_in", "archived": False}

    def check(self, identity, category_id, channel, recipients):
        return [{"resident_id": r["resident_id"], "allowed": True, "reason": None}
                for r in recipients]

    def unsubscribe_links(self, identity, category_id, channel, recipients):
        self.asked.append((channel, recipients))
        return {r["resident_id"]: self.links for r in recipients} if self.links else {}

    def quiet_hours(self, identity):
        return {"start": "21:00", "end": "08:00", "default": True}


class FakeCredits:
    def __init__(self):
        self.reservations = []

    def rate_card(self, identity):
        return {"text_chars": 320, "unicode_text_chars": 140, "voice_seconds": 60}

    def reserve(self, identity, community_id, communication_id, items, idempotency_key):
        self.reservations.append(items)
        return {"total": sum(i["amount"] for i in items),
                "holds": [{"hold_id": f"hld_{i['delivery_id']}",
                           "delivery_id": i["delivery_id"], "amount": i["amount"]}
                          for i in items]}


class RecordingProviders(FakeProviders):
    """The first send times out when `flaky`; reconciliation then looks the text up."""

    def __init__(self, flaky=False):
        super().__init__()
        self.sent, self.looked_up = [], []
        outer = self

        class Channel:
            def send(self, delivery_id, to, body, subject=None, status_callback=None,
                     unsubscribe_url=None):
                outer.sent.append((body, unsubscribe_url))
                if flaky and len(outer.sent) == 1:
                    raise TransientProviderError("read timed out")
                return SendResult("sending", "SM1")

            def find_sent(self, to, body, since):
                outer.looked_up.append(body)
                return None

        self.providers = {"sms": Channel(), "email": Channel()}


def messaging(links, flaky=False):
    return worker_factory(MessagingService, db=memory_database(Base), config={},
                          directory=FakeDirectory([dict(RESIDENT, unit_id=None)]),
                          consent=FakeConsent(links),
                          credits=FakeCredits(), providers=RecordingProviders(flaky))


def send_one(service, channel="sms", body="x" * 300):
    service.create(IDENTITY, {
        "kind": "message", "channels": [channel], "recipients": {"residents": ["res_1"]},
        "category_id": "cat_1", "body": body})
    pipeline(service)
    with service.db.read() as session:
        (delivery,) = session.query(Delivery).all()
    return delivery


def test_a_text_is_priced_stored_and_sent_with_its_link():
    service = messaging(URL)
    delivery = send_one(service)
    (asked,) = service.consent.asked
    assert asked == ("sms", [{"resident_id": "res_1", "address": "+15551230001"}])
    assert (delivery.unsubscribe_url, delivery.credits) == (URL, 2)
    assert service.credits.reservations == [[{"delivery_id": delivery.id, "amount": 2}]]
    assert service.providers.sent == [("x" * 300 + f"\nUnsubscribe: {URL}", URL)]


def test_without_a_link_the_text_goes_as_written_and_costs_as_before():
    service = messaging(None)
    delivery = send_one(service)
    assert (delivery.unsubscribe_url, delivery.credits) == (None, 1)
    assert service.providers.sent == [("x" * 300, None)]


def test_an_email_gets_the_link_for_its_headers_too():
    service = messaging(URL)
    send_one(service, channel="email", body="Water off at noon.")
    ((text, link),) = service.providers.sent
    assert link == URL and text == footer.text_to_send("email", "Water off at noon.", URL)


def test_reconciliation_looks_for_the_text_that_was_sent():
    service = messaging(URL, flaky=True)
    delivery = send_one(service)
    assert delivery.status == "queued" and delivery.look_up   # tried again later
    release_and_dispatch(service, delivery.next_attempt_at)
    sent = "x" * 300 + f"\nUnsubscribe: {URL}"
    assert service.providers.looked_up == [sent]
    assert [body for body, _ in service.providers.sent] == [sent, sent]
