"""An organization's quiet hours (part of its consent settings): texts and calls wait out
21:00–08:00 in each community's time zone, or a wider window the organization sets — never
a narrower one (the rule is contracts.quiet_hours.quiet_window)."""

from contracts.errors import InvalidRequest
from contracts.quiet_hours import DEFAULT_WINDOW, QuietHoursError, quiet_window


def check(setting):
    """(start, end) as "HH:MM" to store, or (None, None) for the legal default; a window
    that breaks the rule is an InvalidRequest naming the field."""
    if setting is None:
        return None, None
    if not isinstance(setting, dict) or set(setting) != {"start", "end"}:
        raise InvalidRequest('must be {"start": "HH:MM", "end": "HH:MM"}', "quiet_hours")
    try:
        window = quiet_window(setting["start"], setting["end"])
    except QuietHoursError as exc:
        raise InvalidRequest(exc.detail, exc.field) from None
    if window == DEFAULT_WINDOW:
        return None, None
    return f"{window.start:%H:%M}", f"{window.end:%H:%M}"


def view(row):
    if row is None or row.quiet_start is None:
        return {"start": f"{DEFAULT_WINDOW.start:%H:%M}", "end": f"{DEFAULT_WINDOW.end:%H:%M}",
                "default": True}
    return {"start": row.quiet_start, "end": row.quiet_end, "default": False}
