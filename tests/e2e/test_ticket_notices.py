"""Work-order notices through every process: a `ticket_notices_requested` event, as tickets
writes it, published twice (the same event id: a redelivery) to the tickets exchange of the
test stack. Management's email reaches the SMTP sink once with the community's header text
first; each resident's notice is one communication sent by the system (tickets) under the
built-in work-order category — an email for nothing, nothing to a resident who turned email
off, a text for one credit from the community's wallet."""

import time
import uuid

import pytest
from kombu import Connection
from nameko.standalone.events import get_event_exchange

from contracts.events import envelope
from servicekit.testing import eventually

pytestmark = pytest.mark.e2e

RUN = uuid.uuid4().hex[:8]
HEADER = f"Notice Gardens {RUN}: for emergencies call the office at 416-555-0100."
TICKETS = {"type": "system", "id": "tickets"}






def contact(resident, kind):
    return next(c["value"] for c in resident["contact_points"] if c["kind"] == kind)


def publish(system, event):
    """What tickets' outbox relay does with the event."""
    with Connection(system.env["TOWNHALL_AMQP_URI"],
                    transport_options={"confirm_publish": True}) as connection:
        exchange = get_event_exchange("tickets", {})
        connection.Producer().publish(
            event, exchange=exchange, routing_key=event["type"], serializer="json",
            delivery_mode=2, declare=[exchange], message_id=event["event_id"],
            headers={"nameko.correlation_id": event["event_id"]})


@pytest.fixture(scope="module")
def town(system):
    own = system.own_community(f"Notice Gardens-{RUN}", ("Tess", "Omar", "Sol"), "577", RUN)
    master = system.staff("master@maplegrove.example")
    omar = own["residents"]["Omar"]
    off = master.put(f"{system.url}/v1/residents/{omar['id']}/preferences", timeout=30,
                     json={"channels": {"email": False},
                           "wording": "Omar asked at the front desk: no emails, please."})
    assert off.status_code == 200, off.text
    return dict(own, master=master)


def wallet(system, town):
    answer = town["master"].get(
        f"{system.url}/v1/communities/{town['community']['id']}/credits", timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()


def notices_of_tickets(system, town):
    answer = town["master"].get(f"{system.url}/v1/communications", timeout=30,
                                params={"community_id": town["community"]["id"]})
    assert answer.status_code == 200, answer.text
    return [c for c in answer.json()["items"] if c["sent_by"] == TICKETS]


def done(system, town, communication_id):
    def view():
        return town["master"].get(f"{system.url}/v1/communications/{communication_id}",
                                  timeout=30).json()
    return eventually(view, lambda v: v.get("status") == "completed" and
                    v["credits"]["held"] == 0)


def deliveries(system, town, communication_id):
    answer = town["master"].get(
        f"{system.url}/v1/communications/{communication_id}/deliveries", timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()["items"]


@pytest.fixture(scope="module")
def sent(system, town):
    """One event with a notice for management and one for each resident, published twice."""
    residents = town["residents"]
    manager = f"manager.{RUN}@maplegrove.example"
    before = wallet(system, town)

    def to_resident(name, channels):
        return {"to": "resident", "id": residents[name]["id"], "channels": channels,
                "subject": f"[Notice Gardens] Acknowledged: T-{RUN}: Leaking tap",
                "body": f"{HEADER}\n\nYour work order T-{RUN} \"Leaking tap\" is now "
                        "Acknowledged."}

    event = envelope("ticket_notices_requested", {
        "ticket_id": f"tkt_{RUN}", "community_id": town["community"]["id"],
        "occasion": "status_changed", "notices": [
            {"to": "staff", "id": "usr_e2e", "email": manager,
             "subject": f"[Notice Gardens] New work order T-{RUN}: Leaking tap",
             "body": f"{HEADER}\n\nA new unit work order was reported at Notice Gardens, "
                     "unit 1."},
            to_resident("Tess", ["email"]), to_resident("Omar", ["email"]),
            to_resident("Sol", ["sms"])]}, organization_id=system.demo["organization_id"])
    publish(system, event)
    publish(system, event)            # redelivered: the same event id
    made = eventually(lambda: notices_of_tickets(system, town), lambda c: len(c) >= 3)
    views = {}
    for summary in made:
        view = done(system, town, summary["id"])
        (delivery,) = deliveries(system, town, summary["id"])
        name = next(n for n, r in residents.items() if r["id"] == delivery["resident_id"])
        views[name] = (view, delivery)
    return {"manager": manager, "before": before, "views": views}


def test_management_gets_the_email_once_with_the_header_text_first(system, town, sent):
    mails = eventually(lambda: system.emails_to(sent["manager"]), bool)
    (mail,) = mails
    assert mail["subject"] == f"[Notice Gardens] New work order T-{RUN}: Leaking tap"
    assert mail["text"].startswith(HEADER)
    assert "List-Unsubscribe" not in mail["headers"]


def test_a_residents_email_is_a_communication_of_the_system_that_costs_nothing(
        system, town, sent):
    view, delivery = sent["views"]["Tess"]
    assert (view["kind"], view["channels"], view["sent_by"]) == ("message", ["email"], TICKETS)
    assert (delivery["channel"], delivery["status"], delivery["credits"]) == (
        "email", "delivered", 0)
    assert view["credits"]["charged"] == 0
    category = town["master"].get(
        f"{system.url}/v1/consent/categories/{view['category_id']}", timeout=30).json()
    assert (category["name"], category["transactional"], category["built_in"]) == (
        "Work orders", True, True)
    (mail,) = system.emails_to(contact(town["residents"]["Tess"], "email"))
    assert mail["subject"] == f"[Notice Gardens] Acknowledged: T-{RUN}: Leaking tap"
    assert mail["text"].startswith(HEADER)
    assert "List-Unsubscribe" not in mail["headers"]      # transactional: no unsubscribe


def test_a_resident_who_turned_email_off_gets_nothing(system, town, sent):
    view, delivery = sent["views"]["Omar"]
    assert view["sent_by"] == TICKETS
    assert (delivery["status"], delivery["reason"]) == ("suppressed", "channel_preference_off")
    assert system.emails_to(contact(town["residents"]["Omar"], "email")) == []


def test_a_text_costs_one_credit_from_the_communitys_wallet(system, town, sent):
    view, delivery = sent["views"]["Sol"]
    assert (delivery["channel"], delivery["status"], delivery["credits"]) == (
        "sms", "delivered", 1)
    assert view["credits"]["charged"] == 1
    after = wallet(system, town)
    assert after["balance"] == sent["before"]["balance"] - 1
    (text,) = system.provider_messages(to=contact(town["residents"]["Sol"], "phone"))
    assert text["body"].startswith(HEADER)


def test_the_redelivered_event_sent_nothing_twice(system, town, sent):
    time.sleep(1.5)        # anything a second handling would have sent has come by now
    assert len(notices_of_tickets(system, town)) == 3
    assert len(system.emails_to(sent["manager"])) == 1
    assert len(system.emails_to(contact(town["residents"]["Tess"], "email"))) == 1
    assert len(system.provider_messages(to=contact(town["residents"]["Sol"], "phone"))) == 1
