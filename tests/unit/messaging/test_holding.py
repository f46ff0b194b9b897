"""Quiet hours applied to a dispatch batch: one decision per community — no I/O."""

from datetime import UTC, datetime
from types import SimpleNamespace

from services.messaging.holding import hold_quiet

# 02:00 UTC on 2026-06-10: 22:00 in Toronto (EDT), 11:00 in Tokyo, 03:00 in London (BST)
NOW = datetime(2026, 6, 10, 2, 0, tzinfo=UTC)


def communication(emergency=False, quiet_hours=None):
    return SimpleNamespace(community_id="com_t", emergency=emergency, quiet_hours=quiet_hours,
                           timezones={"com_t": "America/Toronto", "com_k": "Asia/Tokyo",
                                      "com_l": "Europe/London"})


def delivery(n, channel="sms", community="com_t"):
    return SimpleNamespace(id=f"dlv_{n}", channel=channel, community_id=community,
                           next_attempt_at=None, held_until=None)


def test_texts_and_calls_inside_quiet_hours_wait_until_the_window_opens_email_goes():
    batch = [delivery(1), delivery(2, "voice"), delivery(3, "email")]
    going = hold_quiet(communication(), batch, NOW)
    assert [d.id for d in going] == ["dlv_3"]
    opens = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)      # 08:00 in Toronto
    assert [(d.held_until, d.next_attempt_at) for d in batch[:2]] == [(opens, opens)] * 2
    assert batch[2].held_until is None


def test_each_community_of_a_batch_is_decided_in_its_own_time_zone():
    batch = [delivery(1, community="com_t"), delivery(2, community="com_k"),
             delivery(3, community="com_l")]
    going = hold_quiet(communication(), batch, NOW)
    assert [d.id for d in going] == ["dlv_2"]                 # Tokyo: 11:00
    assert batch[2].held_until == datetime(2026, 6, 10, 7, 0, tzinfo=UTC)   # 08:00 BST


def test_an_emergency_waits_for_no_window():
    batch = [delivery(1), delivery(2, "voice")]
    assert hold_quiet(communication(emergency=True), batch, NOW) == batch
    assert all(d.held_until is None for d in batch)


def test_an_organizations_wider_window_holds_longer():
    morning = datetime(2026, 6, 10, 12, 30, tzinfo=UTC)      # 08:30 in Toronto
    wider = {"start": "20:00", "end": "09:00", "default": False}
    batch = [delivery(1)]
    assert hold_quiet(communication(), batch, morning) == batch          # the legal window
    held = hold_quiet(communication(quiet_hours=wider), [delivery(2)], morning)
    assert held == []
