"""Quiet hours, written out: inside and outside the window at both edges, across midnight and
not, both DST changes in several zones, emergencies and email; an organization's setting
against the legal window; one decision per batch."""

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, timezone
from operator import itemgetter

import pytest

from contracts import quiet_hours
from contracts.quiet_hours import (
    DEFAULT_WINDOW,
    LEGAL_WINDOW,
    QuietHoursError,
    QuietWindow,
    community_zone,
    held_until,
    quiet_window,
    split_batch,
)


def utc(*parts):
    return datetime(*parts, tzinfo=UTC)


def window(start, end):
    return QuietWindow(time.fromisoformat(start), time.fromisoformat(end))


TORONTO = "America/Toronto"      # EDT, UTC-4, all through June 2026
# now (UTC), the community's zone, the window → when a text or call may go (None: now)
TABLE = [
    # 21:00–08:00 in Toronto on 15 June 2026 = 01:00–12:00 UTC
    (utc(2026, 6, 15, 0, 59, 59), TORONTO, DEFAULT_WINDOW, None),          # 20:59:59
    (utc(2026, 6, 15, 1, 0), TORONTO, DEFAULT_WINDOW, utc(2026, 6, 15, 12)),   # 21:00 quiet
    (utc(2026, 6, 15, 3, 30), TORONTO, DEFAULT_WINDOW, utc(2026, 6, 15, 12)),  # 23:30
    (utc(2026, 6, 15, 4, 0), TORONTO, DEFAULT_WINDOW, utc(2026, 6, 15, 12)),   # midnight
    (utc(2026, 6, 15, 11, 59, 59), TORONTO, DEFAULT_WINDOW, utc(2026, 6, 15, 12)),
    (utc(2026, 6, 15, 12, 0), TORONTO, DEFAULT_WINDOW, None),              # 08:00 open
    (utc(2026, 6, 15, 16, 0), TORONTO, DEFAULT_WINDOW, None),              # noon
    # an organization's wider window, 20:00–09:00
    (utc(2026, 6, 15, 0, 0), TORONTO, window("20:00", "09:00"), utc(2026, 6, 15, 13)),
    (utc(2026, 6, 14, 23, 59), TORONTO, window("20:00", "09:00"), None),
    (utc(2026, 6, 15, 12, 30), TORONTO, window("20:00", "09:00"), utc(2026, 6, 15, 13)),
    (utc(2026, 6, 15, 13, 0), TORONTO, window("20:00", "09:00"), None),
    # a window within one day (the arithmetic takes it; a setting would be refused)
    (utc(2026, 6, 15, 15, 59), TORONTO, window("12:00", "13:00"), None),
    (utc(2026, 6, 15, 16, 0), TORONTO, window("12:00", "13:00"), utc(2026, 6, 15, 17)),
    (utc(2026, 6, 15, 16, 59, 59), TORONTO, window("12:00", "13:00"), utc(2026, 6, 15, 17)),
    (utc(2026, 6, 15, 17, 0), TORONTO, window("12:00", "13:00"), None),
    (utc(2026, 6, 15, 4, 0), TORONTO, window("12:00", "13:00"), None),     # midnight
    (utc(2026, 6, 15, 16, 0), TORONTO, window("12:00", "12:00"), None),    # an empty window
    # Asia/Kolkata, UTC+5:30 all year: 21:00 IST = 15:30 UTC, 08:00 IST = 02:30 UTC
    (utc(2026, 3, 8, 15, 29, 59), "Asia/Kolkata", DEFAULT_WINDOW, None),
    (utc(2026, 3, 8, 15, 30), "Asia/Kolkata", DEFAULT_WINDOW, utc(2026, 3, 9, 2, 30)),
    (utc(2026, 3, 9, 2, 29), "Asia/Kolkata", DEFAULT_WINDOW, utc(2026, 3, 9, 2, 30)),
    (utc(2026, 3, 9, 2, 30), "Asia/Kolkata", DEFAULT_WINDOW, None),
    (utc(2026, 6, 15, 23, 0), "UTC", DEFAULT_WINDOW, utc(2026, 6, 16, 8)),
]

NEW_YORK = "America/New_York"   # 8 March 2026 02:00 EST → 03:00 EDT (07:00 UTC);
#                                 1 November 2026 02:00 EDT → 01:00 EST (06:00 UTC)
LONDON = "Europe/London"        # 29 March 2026 01:00 GMT → 02:00 BST (01:00 UTC);
#                                 25 October 2026 02:00 BST → 01:00 GMT (01:00 UTC)
LORD_HOWE = "Australia/Lord_Howe"   # +10:30 / +11:00: 4 October 2026 02:00 → 02:30
#                                     (15:30 UTC on the 3rd); 5 April 2026 02:00 → 01:30
#                                     (15:00 UTC on the 4th)
DST = [
    # the night clocks spring forward: 21:00 EST, 08:00 EDT — an hour shorter
    (utc(2026, 3, 8, 1, 59), NEW_YORK, DEFAULT_WINDOW, None),                 # 20:59 EST
    (utc(2026, 3, 8, 2, 0), NEW_YORK, DEFAULT_WINDOW, utc(2026, 3, 8, 12)),
    (utc(2026, 3, 8, 11, 59, 59), NEW_YORK, DEFAULT_WINDOW, utc(2026, 3, 8, 12)),
    (utc(2026, 3, 8, 12, 0), NEW_YORK, DEFAULT_WINDOW, None),                 # 08:00 EDT
    # the night clocks fall back: 21:00 EDT, 08:00 EST — an hour longer
    (utc(2026, 11, 1, 1, 0), NEW_YORK, DEFAULT_WINDOW, utc(2026, 11, 1, 13)),
    (utc(2026, 11, 1, 12, 0), NEW_YORK, DEFAULT_WINDOW, utc(2026, 11, 1, 13)),   # 07:00 EST
    (utc(2026, 11, 1, 13, 0), NEW_YORK, DEFAULT_WINDOW, None),
    # an end that does not exist (02:30 on 8 March) opens at the jump, 03:00 EDT
    (utc(2026, 3, 8, 6, 59, 59), NEW_YORK, window("21:00", "02:30"), utc(2026, 3, 8, 7)),
    (utc(2026, 3, 8, 7, 0), NEW_YORK, window("21:00", "02:30"), None),
    (utc(2026, 3, 9, 6, 0), NEW_YORK, window("21:00", "02:30"), utc(2026, 3, 9, 6, 30)),
    # a start that does not exist begins the window at the jump too
    (utc(2026, 3, 8, 6, 59, 59), NEW_YORK, window("02:30", "05:00"), None),
    (utc(2026, 3, 8, 7, 0), NEW_YORK, window("02:30", "05:00"), utc(2026, 3, 8, 9)),
    # an end that happens twice (01:30 on 1 November) is its first occurrence, 01:30 EDT,
    # and the window does not come back when the clock shows 01:15 again, in EST
    (utc(2026, 11, 1, 5, 29), NEW_YORK, window("21:00", "01:30"), utc(2026, 11, 1, 5, 30)),
    (utc(2026, 11, 1, 5, 30), NEW_YORK, window("21:00", "01:30"), None),
    (utc(2026, 11, 1, 6, 15), NEW_YORK, window("21:00", "01:30"), None),      # 01:15 EST
    # a start that happens twice starts at its first occurrence, and both passes are quiet
    (utc(2026, 11, 1, 5, 15), NEW_YORK, window("01:30", "04:00"), None),      # 01:15 EDT
    (utc(2026, 11, 1, 5, 30), NEW_YORK, window("01:30", "04:00"), utc(2026, 11, 1, 9)),
    (utc(2026, 11, 1, 6, 15), NEW_YORK, window("01:30", "04:00"), utc(2026, 11, 1, 9)),
    # London: 21:00 GMT → 08:00 BST, and 21:00 BST → 08:00 GMT
    (utc(2026, 3, 28, 21, 0), LONDON, DEFAULT_WINDOW, utc(2026, 3, 29, 7)),
    (utc(2026, 3, 29, 7, 0), LONDON, DEFAULT_WINDOW, None),
    (utc(2026, 3, 29, 0, 59), LONDON, window("21:00", "01:30"), utc(2026, 3, 29, 1)),
    (utc(2026, 10, 24, 20, 0), LONDON, DEFAULT_WINDOW, utc(2026, 10, 25, 8)),
    (utc(2026, 10, 24, 19, 59), LONDON, DEFAULT_WINDOW, None),
    (utc(2026, 10, 25, 0, 59), LONDON, window("21:00", "01:30"), None),   # 01:59 BST
    (utc(2026, 10, 25, 1, 15), LONDON, window("21:00", "01:30"), None),   # 01:15 GMT
    (utc(2026, 10, 25, 0, 15), LONDON, window("21:00", "01:30"), utc(2026, 10, 25, 0, 30)),
    # Lord Howe moves by 30 minutes
    (utc(2026, 10, 3, 15, 0), LORD_HOWE, window("21:00", "02:15"), utc(2026, 10, 3, 15, 30)),
    (utc(2026, 10, 3, 15, 30), LORD_HOWE, window("21:00", "02:15"), None),
    (utc(2026, 4, 4, 14, 40), LORD_HOWE, window("21:00", "01:45"), utc(2026, 4, 4, 14, 45)),
    (utc(2026, 4, 4, 15, 10), LORD_HOWE, window("21:00", "01:45"), None),   # 01:40 again
    (utc(2026, 10, 3, 20, 0), LORD_HOWE, DEFAULT_WINDOW, utc(2026, 10, 3, 21)),  # 07:00 +11
    # Samoa skipped 30 December 2011 (midnight -10 → midnight +14): the window of the 29th
    # ends in the gap, and the next starts at once, so nothing goes before 08:00 on the 31st
    (utc(2011, 12, 30, 9, 0), "Pacific/Apia", DEFAULT_WINDOW, utc(2011, 12, 30, 18)),
]


@pytest.mark.parametrize("now, zone, quiet, expected", TABLE + DST)
@pytest.mark.parametrize("channel", ["sms", "voice"])
def test_texts_and_calls_wait_out_the_window(now, zone, quiet, expected, channel):
    assert held_until(now, zone, quiet, channel) == expected


@pytest.mark.parametrize("now, zone, quiet, expected", TABLE + DST)
def test_email_and_emergencies_are_never_held(now, zone, quiet, expected):
    assert held_until(now, zone, quiet, "email") is None
    assert held_until(now, zone, quiet, "email", emergency=True) is None
    assert held_until(now, zone, quiet, "sms", emergency=True) is None
    assert held_until(now, zone, quiet, "voice", emergency=True) is None


def test_the_answer_is_aware_utc_whatever_zone_now_is_given_in():
    eastern = timezone(timedelta(hours=-4))
    opens = held_until(datetime(2026, 6, 14, 23, 0, tzinfo=eastern), TORONTO,
                       DEFAULT_WINDOW, "sms")
    assert opens == utc(2026, 6, 15, 12) and opens.tzinfo is UTC


@pytest.mark.parametrize("zone", [NEW_YORK, LONDON, LORD_HOWE, "Asia/Kolkata",
                                  "Pacific/Apia", "America/Santiago"])
@pytest.mark.parametrize("quiet", [DEFAULT_WINDOW, window("21:00", "02:30"),
                                   window("01:30", "04:00"), window("12:00", "13:00")])
def test_an_opening_is_open_and_the_moment_before_it_is_quiet(zone, quiet):
    """Every 10 minutes over both of 2026's changes (and Samoa's skipped day)."""
    starts = [utc(2026, 3, 7), utc(2026, 3, 28), utc(2026, 4, 3), utc(2026, 9, 4),
              utc(2026, 10, 2), utc(2026, 10, 24), utc(2011, 12, 28)]
    for start in starts:
        for step in range(0, 4 * 24 * 6):
            now = start + timedelta(minutes=10 * step)
            opens = held_until(now, zone, quiet, "sms")
            if opens is not None:
                assert opens > now and opens.tzinfo is UTC
                assert held_until(opens, zone, quiet, "sms") is None
                assert held_until(opens - timedelta(seconds=1), zone, quiet, "sms") is not None


@pytest.mark.parametrize("name", ["Mars/Olympus", "america/toronto", "EST5EDT ", "",
                                  "../etc/passwd", "/usr/share/zoneinfo/UTC", "zone.tab",
                                  "localtime", None, 5])
def test_an_unknown_time_zone_names_the_field(name):
    with pytest.raises(QuietHoursError, match="is not an IANA time zone") as raised:
        held_until(utc(2026, 6, 15), name, DEFAULT_WINDOW, "email")
    assert raised.value.field == "timezone"
    with pytest.raises(QuietHoursError):
        community_zone(name)


def test_an_unknown_channel_and_a_naive_now_are_refused():
    with pytest.raises(QuietHoursError, match="channel: must be one of sms, email, voice"):
        held_until(utc(2026, 6, 15), TORONTO, DEFAULT_WINDOW, "fax")
    with pytest.raises(QuietHoursError, match="now: must be timezone-aware"):
        held_until(datetime(2026, 6, 15, 12), TORONTO, DEFAULT_WINDOW, "sms")


# an organization's setting → the window, or the field and the rule it breaks
@pytest.mark.parametrize("start, end, expected", [
    ("21:00", "08:00", LEGAL_WINDOW),
    (time(21), time(8), LEGAL_WINDOW),
    ("20:00", "09:00", window("20:00", "09:00")),
    ("21:00", "08:30", window("21:00", "08:30")),
    ("18:30", "08:00", window("18:30", "08:00")),
    ("09:00", "08:30", window("09:00", "08:30")),     # sends only 08:30–09:00: allowed
    (" 20:00", "09:00:00", window("20:00", "09:00")),
])
def test_an_organization_may_widen_the_window(start, end, expected):
    assert quiet_window(start, end) == expected


@pytest.mark.parametrize("start, end, field, rule", [
    ("22:00", "08:00", "quiet_hours.start", "must be 21:00 or earlier, not 22:00"),
    ("21:01", "08:00", "quiet_hours.start", "must be 21:00 or earlier, not 21:01"),
    ("21:00", "07:59", "quiet_hours.end", "must be 08:00 or later, not 07:59"),
    ("23:00", "06:00", "quiet_hours.start", "must be 21:00 or earlier"),
    ("12:00", "13:00", "quiet_hours", "must run from the evening across midnight"),
    ("08:00", "21:00", "quiet_hours", "cover 21:00–08:00, not 08:00–21:00"),
    ("21:00", "21:00", "quiet_hours", "must run from the evening across midnight"),
    ("00:00", "08:00", "quiet_hours", "must run from the evening across midnight"),
    ("9pm", "08:00", "quiet_hours.start", "must be a time of day as HH:MM, not '9pm'"),
    ("21:00", 8, "quiet_hours.end", "must be a time of day as HH:MM, not 8"),
    ("21:00", None, "quiet_hours.end", "must be a time of day"),
    (time(21, tzinfo=UTC), "08:00", "quiet_hours.start", "must be a local wall-clock time"),
])
def test_an_organization_may_never_send_inside_the_legal_window(start, end, field, rule):
    with pytest.raises(QuietHoursError, match=rule) as raised:
        quiet_window(start, end)
    assert raised.value.field == field
    assert str(raised.value).startswith(f"{field}: ")
    assert isinstance(raised.value, ValueError)


def test_the_law_is_named_when_a_setting_is_refused():
    with pytest.raises(QuietHoursError, match=r"47 CFR 64\.1200\(c\)\(1\)"):
        quiet_window("22:00", "08:00")
    with pytest.raises(QuietHoursError, match="^voice.quiet_hours.end: "):
        quiet_window("21:00", "07:00", field="voice.quiet_hours")


@dataclass(frozen=True)
class Delivery:
    id: int
    channel: str


BATCH = [Delivery(1, "sms"), Delivery(2, "email"), Delivery(3, "voice"), Delivery(4, "sms")]
# now, emergency → ids sent now, ids held, held until
BATCHES = [
    (utc(2026, 6, 15, 3), False, (2,), (1, 3, 4), utc(2026, 6, 15, 12)),   # 23:00 Toronto
    (utc(2026, 6, 15, 3), True, (1, 2, 3, 4), (), None),
    (utc(2026, 6, 15, 16), False, (1, 2, 3, 4), (), None),                # noon
    (utc(2026, 6, 15, 16), True, (1, 2, 3, 4), (), None),
]


@pytest.mark.parametrize("now, emergency, sent, held, until", BATCHES)
def test_a_batch_is_split_in_one_decision(now, emergency, sent, held, until):
    decision = split_batch(BATCH, now, TORONTO, DEFAULT_WINDOW, emergency)
    assert tuple(d.id for d in decision.send_now) == sent
    assert tuple(d.id for d in decision.held) == held
    assert decision.held_until == until


def test_a_batch_of_email_alone_is_held_until_nothing():
    decision = split_batch([{"channel": "email"}], utc(2026, 6, 15, 3), TORONTO,
                           DEFAULT_WINDOW, channel_of=itemgetter("channel"))
    assert decision.send_now == ({"channel": "email"},) and decision.held == ()
    assert decision.held_until is None


def test_a_batch_costs_one_computation_however_many_deliveries(monkeypatch):
    calls = []
    real = quiet_hours.held_until
    monkeypatch.setattr(quiet_hours, "held_until", lambda *a: calls.append(a) or real(*a))
    many = [Delivery(n, ("sms", "voice", "email")[n % 3]) for n in range(3000)]
    decision = split_batch(many, utc(2026, 6, 15, 3), TORONTO, DEFAULT_WINDOW)
    assert len(calls) == 1
    assert len(decision.held) == 2000 and len(decision.send_now) == 1000


def test_a_batch_refuses_an_unknown_channel_and_time_zone():
    with pytest.raises(QuietHoursError, match="channel"):
        split_batch([Delivery(1, "pager")], utc(2026, 6, 15, 16), TORONTO, DEFAULT_WINDOW)
    with pytest.raises(QuietHoursError, match="timezone"):
        split_batch(BATCH, utc(2026, 6, 15, 16), "Nowhere/Town", DEFAULT_WINDOW)
