"""Work-order notices (`ticket_notices_requested`) with worker_factory, an in-memory database
and fakes for the other services and the providers: staff get free emails sent once,
residents an ordinary communication from the organization's system identity under the
work-order category, made once however often the event comes."""

import pytest
from nameko.testing.services import worker_factory
from sqlalchemy import delete, select

from contracts.errors import NotFound
from contracts.events import envelope
from servicekit.testing import memory_database, outbox_events
from services.messaging import notices
from services.messaging.models import Base, Communication, Delivery, Notice
from services.messaging.service import MessagingService
from services.messaging.ticket_notices import subject_line
from tests.unit.messaging.test_messaging_service import (
    FakeConsent,
    FakeCredits,
    FakeDirectory,
    FakeProviders,
    pipeline,
    resident,
)

ORG = "org_1"
WORK_ORDERS = "cat_work_orders"
HEADER = "Maple Grove — please call the office for emergencies."


class Directory(FakeDirectory):
    """Only the residents a communication names (res_missing: nobody)."""

    def _named(self, recipients):
        named = recipients.get("residents") or []
        if any(r not in {x["id"] for x in self.residents} for r in named):
            raise NotFound(f"resident {named[0]} does not exist", "recipients.residents")
        return [r for r in self.residents if r["id"] in named]

    def audience_scope(self, identity, recipients):
        self.asked_by = identity
        found = self._named(recipients)
        communities = sorted({r["community_id"] for r in found})
        return {"communities": communities, "size": len(found),
                "timezones": {c: self.timezone for c in communities}}

    def resolve_audience(self, identity, recipients, after=None, limit=1000):
        found = [r for r in self._named(recipients) if after is None or r["id"] > after]
        return {"residents": found[:limit], "next": None}


class Consent(FakeConsent):
    """The built-in category; res_00002 turned email off."""

    def __init__(self):
        super().__init__()
        self.asked = []

    def work_order_category(self, identity):
        self.asked.append(identity)
        return {"id": WORK_ORDERS, "name": "Work orders", "mode": "opt_in",
                "transactional": True, "archived": False}

    def check(self, identity, category_id, channel, recipients):
        assert category_id == WORK_ORDERS
        off = {"res_00002"} if channel == "email" else set()
        return [{"resident_id": r["resident_id"], "allowed": r["resident_id"] not in off,
                 "reason": "channel_preference_off" if r["resident_id"] in off else None}
                for r in recipients]


class Credits(FakeCredits):
    def reserve(self, identity, community_id, communication_id, items, idempotency_key):
        self.paid_by = identity
        return super().reserve(identity, community_id, communication_id, items,
                               idempotency_key)


@pytest.fixture
def messaging(monkeypatch):
    monkeypatch.setattr(notices.eventlet, "sleep", lambda seconds: None)
    return worker_factory(MessagingService, db=memory_database(Base), config={},
                          directory=Directory([resident(1), resident(2)]), consent=Consent(),
                          credits=Credits(), providers=FakeProviders())


def staff(n, email=None):
    return {"to": "staff", "id": f"usr_{n}", "email": email or f"staff{n}@maplegrove.example",
            "subject": "[Maple Grove] New work order T-1: Leaking tap",
            "body": f"{HEADER}\n\nA new unit work order was reported."}


def to_resident(n, channels=("email",)):
    return {"to": "resident", "id": f"res_{n:05}", "channels": list(channels),
            "subject": "[Maple Grove] Acknowledged: T-1: Leaking tap",
            "body": f"{HEADER}\n\nYour work order T-1 \"Leaking tap\" is now Acknowledged."}


def requested(*items, occasion="created"):
    return envelope("ticket_notices_requested", {
        "ticket_id": "tkt_1", "community_id": "com_1", "occasion": occasion,
        "notices": list(items)}, organization_id=ORG)


def emails(messaging):
    return messaging.providers.providers["email"].sent


def communications(messaging):
    with messaging.db.read() as session:
        return session.scalars(select(Communication).order_by(Communication.created_at)).all()


def deliveries(messaging):
    with messaging.db.read() as session:
        return session.scalars(select(Delivery).order_by(Delivery.resident_id,
                                                          Delivery.channel)).all()


def forget_processed(messaging):
    """As if the event's processed mark were lost: only the handler's own state remains."""
    with messaging.db.unit_of_work() as uow:
        uow.session.execute(delete(messaging.db.metadata.tables["processed_events"]))


def test_staff_get_the_email_as_written_each_once_for_free(messaging):
    event = requested(staff(1), staff(2), {**staff(3), "email": None})
    messaging.send_ticket_notices(event)
    sent = emails(messaging)
    assert sorted(to for _id, to, _body in sent) == ["staff1@maplegrove.example",
                                                     "staff2@maplegrove.example"]
    assert all(body.startswith(HEADER) for _id, _to, body in sent)
    with messaging.db.read() as session:
        rows = session.scalars(select(Notice).order_by(Notice.reference)).all()
    assert [(n.kind, n.reference, n.channel, n.organization_id, n.status) for n in rows] == [
        ("ticket", f"{event['event_id']}:{i}", "email", ORG, "sent") for i in (0, 1)]
    assert rows[0].subject == "[Maple Grove] New work order T-1: Leaking tap"
    messaging.send_ticket_notices(event)             # redelivered
    forget_processed(messaging)
    messaging.send_ticket_notices(event)             # redelivered, its processed mark lost
    assert len(emails(messaging)) == 2
    assert communications(messaging) == [] and messaging.consent.asked == []
    assert messaging.credits.reservations == []


def test_a_resident_gets_one_ordinary_communication_from_the_organizations_system(messaging):
    event = requested(to_resident(1), occasion="status_changed")
    messaging.send_ticket_notices(event)
    (made,) = communications(messaging)
    tickets = {"actor_type": "system", "actor_id": "tickets", "organization_id": ORG}
    assert {k: made.identity[k] for k in tickets} == tickets
    assert messaging.consent.asked[0]["actor_id"] == "tickets"
    assert messaging.directory.asked_by == made.identity
    assert (made.organization_id, made.kind, made.channels, made.category_id,
            made.recipients["residents"], made.created_by) == (
        ORG, "message", ["email"], WORK_ORDERS, ["res_00001"], "tickets")
    assert made.subject == "[Maple Grove] Acknowledged: T-1: Leaking tap"
    assert made.body.startswith(HEADER)
    pipeline(messaging)
    (delivery,) = deliveries(messaging)
    assert (delivery.channel, delivery.status, delivery.credits) == ("email", "sent", 0)
    assert messaging.credits.reservations == []      # emails are free
    assert [to for _id, to, _body in emails(messaging)] == ["r1@example.com"]


def test_a_redelivered_event_makes_no_second_communication(messaging):
    event = requested(to_resident(1), to_resident(2, ("sms",)))
    messaging.send_ticket_notices(event)
    forget_processed(messaging)
    messaging.send_ticket_notices(event)
    assert len(communications(messaging)) == 2
    assert len(outbox_events(messaging.db, "communication_accepted")) == 2


def test_a_text_is_paid_like_any_other_and_a_channel_turned_off_is_suppressed(messaging):
    messaging.send_ticket_notices(requested(to_resident(1, ("sms",)), to_resident(2)))
    pipeline(messaging)
    texted, emailed = deliveries(messaging)
    assert (texted.resident_id, texted.channel, texted.credits) == ("res_00001", "sms", 1)
    (reservation,) = messaging.credits.reservations
    assert reservation[0] == "com_1" and [i["amount"] for i in reservation[1]] == [1]
    assert messaging.credits.paid_by["actor_id"] == "tickets"
    assert (emailed.resident_id, emailed.status, emailed.reason) == (
        "res_00002", "suppressed", "channel_preference_off")
    assert emails(messaging) == []


def test_a_notice_that_cannot_be_sent_is_skipped_and_the_others_still_go(messaging, caplog):
    missing = {**to_resident(1), "id": "res_missing"}
    nowhere = to_resident(2, ())
    messaging.send_ticket_notices(requested(missing, nowhere, to_resident(1), staff(1)))
    assert [c.recipients["residents"] for c in communications(messaging)] == [["res_00001"]]
    assert len(emails(messaging)) == 1
    assert "res_missing not sent" in caplog.text and "names no channel" in caplog.text


def test_a_long_subject_is_cut_to_one_line_that_fits():
    assert subject_line("  New\nwork   order ") == "New work order"
    cut = subject_line("x" * 300)
    assert len(cut) == 200 and cut.endswith("…")
