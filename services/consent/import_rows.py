"""Consent collected before Townhall (paper forms, a previous system), read from a CSV file.

Pure: bytes in, rows or errors out, every mistake named by its line, column and rule. Nothing
is written here; the service appends the rows only when the whole file is free of errors, so
a file is imported whole or not at all.

Line numbers are the file's physical lines as a spreadsheet user sees them (the header is
line 1); a row whose quoted cell spans lines is reported at the line where it starts.
"""

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from contracts.consent_api import CONSENT_IMPORT_MAX_BYTES, CONSENT_IMPORT_MAX_ROWS
from contracts.vocabulary import CHANNELS
from servicekit import csv_rows

REQUIRED = ("resident_id", "channel", "action", "obtained_at", "wording")
OPTIONAL = ("address", "source")
ACTIONS = ("grant", "withdraw")
WORDING_LIMIT = 1000      # as for preferences: the words the resident agreed to
SOURCE_LIMIT = 200
ADDRESS_LIMIT = 254
RESIDENT_ID_LIMIT = 40    # consent_events.resident_id
ERRORS_SHOWN = 50
# "not in the future" for the date written on the form: it is already tomorrow (UTC) for
# part of the world, up to UTC+14
EARLIEST_TOMORROW = timedelta(hours=14)

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?"
                       r"(Z|[+-]\d{2}(:?\d{2})?)?")
_PHONE = re.compile(r"\+[1-9]\d{7,14}")
_PHONE_PUNCTUATION = re.compile(r"[\s().-]")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
MOMENT_RULE = ("must be a date (YYYY-MM-DD) or a date and time (YYYY-MM-DDTHH:MM:SS, "
               "UTC unless an offset is given)")


@dataclass(frozen=True)
class ConsentRow:
    line: int
    resident_id: str
    channel: str
    action: str
    obtained_at: str       # ISO 8601: a date as written, or a date and time in UTC
    wording: str
    address: str | None    # an email as written, a phone in E.164
    source: str | None


@dataclass(frozen=True)
class RowError:
    line: int | None       # None: the file as a whole
    column: str | None     # None: the row as a whole
    message: str

    def __str__(self):
        where = ", ".join(p for p in (self.line and f"line {self.line}", self.column) if p)
        return f"{where}: {self.message}" if where else self.message


@dataclass(frozen=True)
class ConsentRows:
    rows: list[ConsentRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self):
        return not self.errors


class _Unreadable(Exception):
    def __init__(self, error):
        super().__init__(str(error))
        self.error = error


def read_consent_rows(data: bytes, now: datetime, *, max_rows=CONSENT_IMPORT_MAX_ROWS,
                      max_bytes=CONSENT_IMPORT_MAX_BYTES) -> ConsentRows:
    """Every row of the file, checked; `now` (UTC) is when nothing may be after."""
    try:
        columns, records = _parse(data, max_rows, max_bytes)
    except _Unreadable as exc:
        return ConsentRows(errors=[exc.error])
    rows, errors = [], []
    for line, cells in records:
        row, row_errors = _check(line, columns, cells, now)
        errors.extend(row_errors)
        if row is not None:
            rows.append(row)
    return ConsentRows(rows=rows, errors=errors)


def resident_errors(rows, communities, may_manage):
    """Rows about residents directory does not know in the caller's organization
    (`communities`: resident id → community id), or who live where `may_manage` says the
    caller may not manage consent."""
    errors = []
    for row in rows:
        community_id = communities.get(row.resident_id)
        if community_id is None:
            errors.append(RowError(row.line, "resident_id", f"no resident {row.resident_id} "
                                                            "in this organization"))
        elif not may_manage(community_id):
            errors.append(RowError(row.line, "resident_id", f"resident {row.resident_id} "
                                   f"lives in community {community_id}, where this caller "
                                   "lacks the permission 'manage_consent_categories'"))
    return errors


def rejection(errors, shown=ERRORS_SHOWN):
    """One message for a refused file: how many errors, and the first `shown` by line."""
    ordered = sorted(errors, key=lambda e: e.line or 0)
    listed = "; ".join(str(e) for e in ordered[:shown])
    more = f"; and {len(ordered) - shown} more" if len(ordered) > shown else ""
    noun = "error" if len(ordered) == 1 else "errors"
    return f"the file has {len(ordered)} {noun}, so nothing was imported: {listed}{more}"


def _parse(data, max_rows, max_bytes):
    """(column names, [(line, cells)]) of a file within the limits, else _Unreadable."""
    if len(data) > max_bytes:
        raise _Unreadable(RowError(None, None, f"the file has {len(data)} bytes; the limit "
                                   f"is {max_bytes}: split it into smaller files"))
    rows = _records(_decode(data))
    header = next(rows, None)
    if header is None:
        raise _Unreadable(RowError(None, None, "the file is empty; the first line must be a "
                                   f"header naming the columns ({', '.join(REQUIRED)} at "
                                   "least)"))
    header_line, names = header
    columns = [_column_name(name) for name in names]
    _check_header(header_line, columns)
    records = list(rows)
    if len(records) > max_rows:
        raise _Unreadable(RowError(None, None, f"the file has {len(records)} rows; the limit "
                                   f"is {max_rows}: split it into smaller files"))
    return columns, records


def _decode(data):
    try:
        return csv_rows.decode(data)
    except csv_rows.UnreadableCsv as exc:
        raise _Unreadable(RowError(None, None, exc.reason)) from None


def _records(text):
    try:
        yield from csv_rows.records(text)
    except csv_rows.UnreadableCsv as exc:
        raise _Unreadable(RowError(exc.line, None, exc.reason)) from None


def _column_name(name):
    return re.sub(r"[\s-]+", "_", name.strip()).lower()


def _check_header(line, columns):
    known = REQUIRED + OPTIONAL
    seen = set()
    for name in columns:
        if name in seen:
            raise _Unreadable(RowError(line, name, "this column appears twice in the header"))
        seen.add(name)
        if name not in known:
            # refused rather than ignored: nothing a manager meant as evidence is dropped
            raise _Unreadable(RowError(line, name or "(blank)", "unknown column; the columns "
                                       f"are {', '.join(known)}"))
    missing = [name for name in REQUIRED if name not in seen]
    if missing:
        raise _Unreadable(RowError(line, None, f"the header lacks the column(s) "
                                   f"{', '.join(missing)}"))


def _check(line, columns, cells, now):
    """(ConsentRow or None, [RowError]) for one row."""
    if len(cells) > len(columns):
        return None, [RowError(line, None, f"has {len(cells)} cells but the header names "
                                           f"{len(columns)} columns")]
    values = {name: cells[i].strip() if i < len(cells) else ""
              for i, name in enumerate(columns)}
    errors = []

    def fail(column, message):
        errors.append(RowError(line, column, message))

    resident_id = values["resident_id"]
    if not resident_id:
        fail("resident_id", "is required")
    elif len(resident_id) > RESIDENT_ID_LIMIT:
        fail("resident_id", f"must be at most {RESIDENT_ID_LIMIT} characters")
    channel, action = values["channel"].lower(), values["action"].lower()
    if channel not in CHANNELS:
        fail("channel", f"must be one of {', '.join(CHANNELS)}")
    if action not in ACTIONS:
        fail("action", f"must be one of {', '.join(ACTIONS)}")
    obtained_at = _moment(values["obtained_at"], now, fail)
    wording = values["wording"]
    if not wording:
        fail("wording", "is required: the words the resident agreed to")
    elif len(wording) > WORDING_LIMIT:
        fail("wording", f"must be at most {WORDING_LIMIT} characters")
    address = _address(values.get("address", ""), channel, fail)
    source = values.get("source") or None
    if source and len(source) > SOURCE_LIMIT:
        fail("source", f"must be at most {SOURCE_LIMIT} characters")
    if errors:
        return None, errors
    return ConsentRow(line, resident_id, channel, action, obtained_at, wording, address,
                      source), []


def _moment(text, now, fail):
    """When the consent was given, as ISO 8601; never after `now`."""
    if not text:
        fail("obtained_at", f"is required: when the consent was given; {MOMENT_RULE}")
        return None
    try:
        if _DATE.fullmatch(text):
            day = date.fromisoformat(text)
            if day > (now + EARLIEST_TOMORROW).date():
                fail("obtained_at", f"{text} is in the future")
            return day.isoformat()
        if not _DATETIME.fullmatch(text):
            raise ValueError(text)
        moment = datetime.fromisoformat(text)
    except ValueError:
        fail("obtained_at", MOMENT_RULE)
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    if moment > now:
        fail("obtained_at", f"{text} is in the future")
    return moment.isoformat()


def _address(text, channel, fail):
    """The contact point the consent concerns: optional; a phone for texts and calls (E.164
    once spaces, dots, dashes and brackets are removed), an email for email."""
    if not text:
        return None
    if len(text) > ADDRESS_LIMIT:
        fail("address", f"must be at most {ADDRESS_LIMIT} characters")
        return None
    if channel == "email":
        if not _EMAIL.fullmatch(text):
            fail("address", "must be an email address for channel email")
        return text
    if channel in ("sms", "voice"):
        phone = _PHONE_PUNCTUATION.sub("", text)
        if not _PHONE.fullmatch(phone):
            fail("address", f"must be a phone number in E.164 form, such as +14165550123, "
                            f"for channel {channel}")
        return phone
    return text   # the channel is wrong already: one error for the row is enough
