"""When a work order is due, when it is overdue, and how long management took — pure rules,
no I/O. Times are UTC and timezone-aware.

1. A ticket is due its organization's response target for its priority after it was
   reported (defaults: emergency 4 h, high 24 h, normal 72 h, low 168 h).
2. Staff may set a due date by hand; it then stays put when the priority changes. Setting
   it back to none returns to the target. A changed priority moves a due date that was not
   set by hand.
3. A ticket is overdue when it is open (not completed, cancelled or rejected) and its due
   date has passed. The sweeper announces it once per due date: a ticket whose due date
   moves later is no longer overdue and may become overdue again.
4. Time to acknowledge: from being reported to the first move by staff out of New. Time to
   complete: from being reported to its (latest) completion.
"""

from datetime import UTC, datetime, timedelta

from contracts.errors import InvalidRequest
from contracts.vocabulary import DEFAULT_RESPONSE_TARGETS_HOURS, OPEN_TICKET_STATUSES


def targets(settings_targets=None):
    """The response targets in force: the organization's, each missing one defaulted."""
    return {**DEFAULT_RESPONSE_TARGETS_HOURS, **(settings_targets or {})}


def due_at(created_at, priority, settings_targets=None):
    return created_at + timedelta(hours=targets(settings_targets)[priority])


def is_overdue(status, due, now):
    return due is not None and status in OPEN_TICKET_STATUSES and due <= now


def seconds_between(start, end):
    if start is None or end is None:
        return None
    return max(0, int((end - start).total_seconds()))


def moment(value, field):
    """An aware moment from its ISO 8601 text (as dates travel by RPC), in UTC."""
    if value is None or isinstance(value, datetime):
        parsed = value
    else:
        try:
            parsed = datetime.fromisoformat(value)
        except (TypeError, ValueError):
            raise InvalidRequest("must be an ISO 8601 date and time with an offset",
                                 field) from None
    if parsed is not None and parsed.tzinfo is None:
        raise InvalidRequest("must carry a UTC offset (e.g. 2026-12-08T09:00:00-05:00)", field)
    return parsed and parsed.astimezone(UTC)
