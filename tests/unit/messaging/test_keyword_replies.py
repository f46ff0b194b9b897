"""messaging's reply to an SMS keyword (the Inbound mixin) with worker_factory, an in-memory
database and a fake text provider: exactly one reply, also when the provider's answer is lost
on the way back (the reply is looked up before a second try) and when the event comes again."""

from datetime import timedelta

import pytest
from nameko.testing.services import worker_factory
from sqlalchemy import select

from contracts.events import envelope
from servicekit.db import utcnow
from servicekit.testing import memory_database
from services.messaging import notices
from services.messaging.models import Base, Notice
from services.messaging.providers.base import SendResult, TransientProviderError
from services.messaging.service import MessagingService

PHONE, OURS = "+14165550199", "+15550000000"
REPLY = "Maple Grove: you are unsubscribed and will get no more texts from this number."


class FakeSms:
    """Twilio as seen from our side: `lose_answers` sends that arrive but whose answer is
    lost; `fail_before` sends that never reach it."""

    from_number = OURS

    def __init__(self, lose_answers=0, fail_before=0):
        self.arrived, self.lose_answers, self.fail_before = [], lose_answers, fail_before
        self.look_ups = 0

    def send(self, delivery_id, to, body, subject=None, status_callback=None,
             unsubscribe_url=None):
        if self.fail_before:
            self.fail_before -= 1
            raise TransientProviderError("connection refused")
        self.arrived.append({"sid": f"SM{len(self.arrived)}", "to": to, "body": body})
        if self.lose_answers:
            self.lose_answers -= 1
            raise TransientProviderError("read timed out")
        return SendResult("sending", self.arrived[-1]["sid"])

    def find_sent(self, to, body, since):
        self.look_ups += 1
        return next((m["sid"] for m in self.arrived if m["to"] == to and m["body"] == body),
                    None)


class FakeProviders:
    def __init__(self, sms):
        self.providers = {"sms": sms}


@pytest.fixture(autouse=True)
def no_back_off(monkeypatch):
    monkeypatch.setattr(notices.eventlet, "sleep", lambda seconds: None)


def messaging_with(sms):
    return worker_factory(MessagingService, db=memory_database(Base), config={},
                          providers=FakeProviders(sms))


def stop_applied(sid="SMin1"):
    return envelope("sms_keyword_applied", {
        "phone": PHONE, "sender": OURS, "kind": "stop", "keyword": "STOP",
        "message_sid": sid, "reply": REPLY}, organization_id="org_1")


def replies(messaging):
    with messaging.db.read() as session:
        return [(n.kind, n.reference, n.status, n.provider_id)
                for n in session.scalars(select(Notice))]


def test_the_reply_is_sent_once_and_kept_as_a_notice():
    sms = FakeSms()
    messaging = messaging_with(sms)
    messaging.send_keyword_reply(stop_applied())
    messaging.send_keyword_reply(stop_applied())     # the event again: nothing more
    assert [(m["to"], m["body"]) for m in sms.arrived] == [(PHONE, REPLY)]
    assert replies(messaging) == [("keyword_reply", "SMin1", "sent", "SM0")]


def test_a_lost_answer_is_looked_up_not_sent_again():
    sms = FakeSms(lose_answers=1)
    messaging = messaging_with(sms)
    messaging.send_keyword_reply(stop_applied())
    assert len(sms.arrived) == 1 and sms.look_ups == 1
    assert replies(messaging) == [("keyword_reply", "SMin1", "sent", "SM0")]


def test_a_send_that_never_arrived_is_tried_again():
    sms = FakeSms(fail_before=1)
    messaging = messaging_with(sms)
    messaging.send_keyword_reply(stop_applied())
    assert len(sms.arrived) == 1 and sms.look_ups == 1
    assert replies(messaging) == [("keyword_reply", "SMin1", "sent", "SM0")]


def test_a_provider_that_stays_down_leaves_a_failed_notice_with_its_reason():
    sms = FakeSms(fail_before=10)
    messaging = messaging_with(sms)
    messaging.send_keyword_reply(stop_applied())
    assert sms.arrived == []
    with messaging.db.read() as session:
        (notice,) = session.scalars(select(Notice)).all()
    assert (notice.status, notice.error_code, notice.reason) == (
        "failed", "provider_unavailable", "provider unavailable")


def left_sending_by_a_dead_worker(messaging, minutes_ago=15):
    """The notice as a worker that died between committing it and recording the send left
    it: `sending`, last touched some minutes ago; its event was never acknowledged."""
    then = utcnow() - timedelta(minutes=minutes_ago)
    with messaging.db.unit_of_work() as uow:
        uow.session.add(Notice(id="ntc_dead", organization_id="org_1", kind="keyword_reply",
                               reference="SMin1", channel="sms", address=PHONE, body=REPLY,
                               headers={}, status="sending", created_at=then,
                               updated_at=then))


def test_a_reply_abandoned_after_it_went_out_is_found_not_sent_again():
    sms = FakeSms()
    sms.arrived.append({"sid": "SM_before_the_crash", "to": PHONE, "body": REPLY})
    messaging = messaging_with(sms)
    left_sending_by_a_dead_worker(messaging)
    messaging.send_keyword_reply(stop_applied())     # the unacknowledged event, again
    assert len(sms.arrived) == 1 and sms.look_ups == 1
    assert replies(messaging) == [("keyword_reply", "SMin1", "sent", "SM_before_the_crash")]


def test_a_reply_abandoned_before_it_went_out_is_sent_once():
    sms = FakeSms()
    messaging = messaging_with(sms)
    left_sending_by_a_dead_worker(messaging)
    messaging.send_keyword_reply(stop_applied())
    assert [(m["to"], m["body"]) for m in sms.arrived] == [(PHONE, REPLY)]
    assert replies(messaging) == [("keyword_reply", "SMin1", "sent", "SM0")]


def test_a_reply_being_sent_right_now_by_another_worker_is_left_to_it():
    sms = FakeSms()
    messaging = messaging_with(sms)
    left_sending_by_a_dead_worker(messaging, minutes_ago=0)
    messaging.send_keyword_reply(stop_applied())
    assert sms.arrived == [] and sms.look_ups == 0


def test_the_sweeper_takes_up_a_reply_whose_event_came_back_while_it_looked_in_flight():
    sms = FakeSms()
    messaging = messaging_with(sms)
    left_sending_by_a_dead_worker(messaging, minutes_ago=0)
    messaging.send_keyword_reply(stop_applied())      # redelivered at once: left alone
    messaging.take_up_abandoned_notices()             # too early for the sweeper too
    assert sms.arrived == []
    with messaging.db.unit_of_work() as uow:          # ... ten minutes and more later
        uow.session.get(Notice, "ntc_dead").updated_at = utcnow() - timedelta(minutes=11)
    messaging.take_up_abandoned_notices()
    messaging.take_up_abandoned_notices()             # another sweep, another instance
    assert [(m["to"], m["body"]) for m in sms.arrived] == [(PHONE, REPLY)]
    assert sms.look_ups == 1
    assert replies(messaging) == [("keyword_reply", "SMin1", "sent", "SM0")]
