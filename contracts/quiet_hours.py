"""When a text or a call may go out — pure rules, no I/O.

Every community has a time zone (an IANA name the directory keeps, e.g. "America/Toronto")
and quiet hours: a daily window of local wall-clock time, `start` inclusive and `end`
exclusive, 21:00–08:00 by default (TCPA: calls only from 8 a.m. to 9 p.m. at the called
party's location, 47 CFR 64.1200(c)(1)). `held_until` decides one send; the first rule that
applies decides:

1. an unknown channel or time zone, or a naive `now`      → QuietHoursError (a bug or bad data)
2. email                                                  → never held (None)
3. an emergency                                           → never held (None)
4. a text or call while the window is open                → None: it may go now
5. a text or call inside the window                       → held: the aware UTC instant the
                                                            window ends, the first it may go

A window may cross midnight (21:00–08:00) or not (12:00–13:00); start == end is an empty
window (nothing is held). Each day's window is a span of real instants, from its start to its
end (the next day's when it crosses midnight), and a wall-clock time becomes an instant so:

- a time that does not exist locally (spring forward: 02:30 on the night clocks jump
  02:00→03:00) becomes the first real instant after the gap (03:00, the jump itself);
- a time that happens twice (fall back: 01:30 on the night clocks go 02:00→01:00) becomes
  its first occurrence (fold=0), and once the window has ended it does not start again when
  the clock passes that hour a second time.

An organization may narrow its sending time (widen the window, e.g. 20:00–09:00) but never
send inside the legal default: `quiet_window` validates its setting and raises
QuietHoursError (a ValueError with `field` and `detail`, which the gateway answers as 422)
for a window that does not cover 21:00–08:00. `held_until` itself takes any window; pass it
one from `quiet_window` or DEFAULT_WINDOW.

`split_batch` decides a batch of one community's deliveries with one computation: the window
is the same for every text and call of the batch, only their channels differ.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from operator import attrgetter
from typing import NamedTuple
from zoneinfo import ZoneInfo, available_timezones

from contracts.vocabulary import CHANNELS

HELD_CHANNELS = frozenset({"sms", "voice"})


class QuietHoursError(ValueError):
    """A setting or fact that breaks a rule: `field` names it, `detail` says the rule."""

    def __init__(self, detail, field):
        super().__init__(f"{field}: {detail}")
        self.detail, self.field = detail, field


class QuietWindow(NamedTuple):
    start: time   # local wall-clock time, inclusive: quiet from here
    end: time     # exclusive: open again at exactly this time


DEFAULT_WINDOW = LEGAL_WINDOW = QuietWindow(time(21, 0), time(8, 0))


def quiet_window(start, end, field="quiet_hours"):
    """An organization's quiet hours (`time`s or "HH:MM" text) checked against the law:
    the window must cross midnight and cover 21:00–08:00, so it may only narrow sending."""
    start, end = _time(start, f"{field}.start"), _time(end, f"{field}.end")
    legal = f"{LEGAL_WINDOW.start:%H:%M}–{LEGAL_WINDOW.end:%H:%M}"
    law = ("calls and texts go only from 8 a.m. to 9 p.m. local time (47 CFR 64.1200(c)(1)); "
           f"quiet hours may be widened, never narrowed below {legal}")
    if start <= end:
        raise QuietHoursError(f"must run from the evening across midnight into the morning "
                              f"and cover {legal}, not {start:%H:%M}–{end:%H:%M}: {law}", field)
    if start > LEGAL_WINDOW.start:
        raise QuietHoursError(f"must be {LEGAL_WINDOW.start:%H:%M} or earlier, not "
                              f"{start:%H:%M}: {law}", f"{field}.start")
    if end < LEGAL_WINDOW.end:
        raise QuietHoursError(f"must be {LEGAL_WINDOW.end:%H:%M} or later, not {end:%H:%M}: "
                              f"{law}", f"{field}.end")
    return QuietWindow(start, end)


def held_until(now, timezone, window, channel, emergency=False):
    """None when the delivery may go at `now` (an aware datetime), else the aware UTC
    datetime when the community's quiet window ends (see the rules)."""
    zone = community_zone(timezone)
    if channel not in CHANNELS:
        raise QuietHoursError(f"must be one of {', '.join(CHANNELS)}, not {channel!r}",
                              "channel")
    if now.tzinfo is None or now.utcoffset() is None:
        raise QuietHoursError("must be timezone-aware", "now")
    if channel not in HELD_CHANNELS or emergency:
        return None
    moment = now.astimezone(UTC)
    while (closes := _closes(moment, window, zone)) is not None:
        moment = closes    # a day the clock skips may start the next window at once
    return None if moment == now else moment


@dataclass(frozen=True)
class BatchDecision:
    send_now: tuple        # email, emergencies, and texts and calls while the window is open
    held: tuple            # texts and calls inside the window
    held_until: datetime | None   # when `held` may go (aware UTC); None when nothing is held


def split_batch(deliveries, now, timezone, window, emergency=False,
                channel_of=attrgetter("channel")):
    """One community's deliveries (of one send: one `emergency`) split into those that may
    go now and those held, with one quiet-hours computation for the whole batch."""
    opens = held_until(now, timezone, window, "sms", emergency)
    send_now, held = [], []
    for delivery in deliveries:
        channel = channel_of(delivery)
        if channel not in CHANNELS:
            raise QuietHoursError(f"must be one of {', '.join(CHANNELS)}, not {channel!r}",
                                  "channel")
        (held if opens is not None and channel in HELD_CHANNELS else send_now).append(delivery)
    return BatchDecision(tuple(send_now), tuple(held), opens if held else None)


def community_zone(timezone):
    """The ZoneInfo of an IANA name, or QuietHoursError naming `timezone`."""
    if not isinstance(timezone, str) or timezone not in _zones():
        raise QuietHoursError(f"{timezone!r} is not an IANA time zone (e.g. America/Toronto)",
                              "timezone")
    return ZoneInfo(timezone)


def _closes(moment, window, zone):
    """The end of the window `moment` (UTC) is inside, or None when it is outside them all."""
    today = moment.astimezone(zone).date()
    for day in (today - timedelta(days=1), today):
        opens, closes = _span(day, window, zone)
        if opens <= moment < closes:
            return closes
    return None


def _span(day, window, zone):
    """The real instants (UTC) of the window that starts on local `day`."""
    ends_on = day + timedelta(days=1) if window.start > window.end else day
    return _instant(day, window.start, zone), _instant(ends_on, window.end, zone)


def _instant(day: date, wall: time, zone):
    """The first real instant at which the local clock shows `wall` on `day` or later."""
    naive = datetime.combine(day, wall)
    first = naive.replace(tzinfo=zone, fold=0)
    if first.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == naive:
        return first.astimezone(UTC)          # it exists (its first occurrence if twice)
    # In a gap: fold=1 reads it with the offset after the jump (an instant before the jump),
    # fold=0 with the offset before (after it). The jump is a whole second between them.
    low = int(naive.replace(tzinfo=zone, fold=1).timestamp())
    high = int(first.timestamp()) + 1
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, zone).replace(tzinfo=None) >= naive:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)


def _time(value, field):
    if isinstance(value, str):
        try:
            value = time.fromisoformat(value.strip())
        except ValueError:
            raise QuietHoursError(f"must be a time of day as HH:MM, not {value!r}",
                                  field) from None
    if not isinstance(value, time):
        raise QuietHoursError(f"must be a time of day as HH:MM, not {value!r}", field)
    if value.tzinfo is not None:
        raise QuietHoursError("must be a local wall-clock time, without a time zone "
                              "(the community's applies)", field)
    return value


@cache
def _zones():
    # "localtime" names the server's own zone, not a place a community is in
    return frozenset(available_timezones()) - {"localtime"}
