"""Validating a residents-and-units CSV for one community, the usual way a property is onboarded.

Pure: bytes in, a `ValidationReport` out. Nothing is written here; the service imports the valid
rows afterwards in one transaction, upserting on each row's `row_key` so that importing the same
file again changes nothing.

Line numbers are physical lines of the file (the header is line 1 when it comes first), counted
the way a spreadsheet user sees them: a row whose quoted field spans lines is reported at the line
where it starts.
"""

import re
import unicodedata
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date

from servicekit import csv_rows
from services.directory.contacts import (
    ContactError,
    check_region,
    normalize_email,
    normalize_phone,
)

REQUIRED_COLUMNS = ("unit", "first_name", "last_name")
OPTIONAL_COLUMNS = ("email", "phone", "kind", "move_in", "language", "external_id")
KINDS = ("owner", "tenant")
MAX_UNIT_LABEL = 40        # units.label
MAX_NAME = 200             # residents.name holds "first last"
MAX_EXTERNAL_ID = 100      # residents.external_id
PROGRESS_EVERY = 500
NO_CONTACT_POINT = "no contact point: this resident cannot be reached"

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_LANGUAGE = re.compile(r"[a-z]{2}")


@dataclass(frozen=True)
class ResidentRow:
    line: int
    row_key: str
    unit: str
    first_name: str
    last_name: str
    email: str | None
    phone: str | None
    kind: str
    move_in: date | None
    language: str
    external_id: str | None


@dataclass(frozen=True)
class RowError:
    line: int
    column: str | None   # None: the row as a whole
    message: str


@dataclass(frozen=True)
class RowWarning:
    line: int
    column: str | None
    message: str


@dataclass(frozen=True)
class FileError:
    message: str
    line: int | None = None


@dataclass(frozen=True)
class ValidationReport:
    rows: list[ResidentRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    warnings: list[RowWarning] = field(default_factory=list)
    file_errors: list[FileError] = field(default_factory=list)
    units: list[str] = field(default_factory=list)
    total_rows: int = 0

    @property
    def ok(self):
        return not self.errors and not self.file_errors

    @property
    def valid_count(self):
        return len(self.rows)

    @property
    def invalid_lines(self):
        return sorted({error.line for error in self.errors})

    def summary(self):
        return {
            "ok": self.ok,
            "total_rows": self.total_rows,
            "valid_rows": self.valid_count,
            "invalid_rows": len(self.invalid_lines),
            "units": len(self.units),
            "file_errors": [asdict(error) for error in self.file_errors],
            "errors": [asdict(error) for error in self.errors],
            "warnings": [asdict(warning) for warning in self.warnings],
        }


class _Unreadable(Exception):
    def __init__(self, error):
        super().__init__(error.message)
        self.error = error


def validate_residents_csv(data: bytes, *, default_region="US", max_rows=20000,
                           progress: Callable[[int, int], None] | None = None):
    check_region(default_region)
    try:
        header_line, columns, records, total, warnings = _parse(data, max_rows)
    except _Unreadable as exc:
        return ValidationReport(file_errors=[exc.error])
    if total > max_rows:
        message = f"the file has {total} rows; the limit is {max_rows}: split it into smaller files"
        return ValidationReport(file_errors=[FileError(message)], total_rows=total)

    batch = _Batch(columns, default_region)
    batch.warnings.extend(warnings)
    for done, (line, cells) in enumerate(records, start=1):
        batch.check(line, cells)
        if progress and (done % PROGRESS_EVERY == 0 or done == total):
            progress(done, total)
    if progress and total == 0:
        progress(0, 0)
    return ValidationReport(rows=batch.rows, errors=batch.errors, warnings=batch.warnings,
                            units=sorted({row.unit for row in batch.rows}), total_rows=total)


def _parse(data, max_rows):
    """Answer (header line, column names, first max_rows records, count of records, warnings)."""
    rows = _records(_decode(data))
    header = next(rows, None)
    if header is None:
        raise _Unreadable(FileError(
            "the file is empty; the first line must be a header naming the columns "
            f"({', '.join(REQUIRED_COLUMNS)} at least)"))
    header_line, names = header
    columns = [_column_name(name) for name in names]
    _check_header(header_line, columns)
    warnings = [
        RowWarning(header_line, name, f"unknown column {name!r} is ignored; known columns are "
                                      f"{', '.join(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)}")
        for name in columns if name and name not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    records, total = [], 0
    for record in rows:
        total += 1
        if total <= max_rows:   # past the limit, only count: the report says how far over it is
            records.append(record)
    return header_line, columns, records, total, warnings


def _decode(data):
    try:
        return csv_rows.decode(data)
    except csv_rows.UnreadableCsv as exc:
        raise _Unreadable(FileError(exc.reason)) from None


def _records(text):
    try:
        yield from csv_rows.records(text)
    except csv_rows.UnreadableCsv as exc:
        raise _Unreadable(FileError(f"the row starting on line {exc.line} is {exc.reason}",
                                    exc.line)) from None


def _column_name(name):
    return re.sub(r"[\s-]+", "_", name.strip()).lower()


def _check_header(line, columns):
    seen = set()
    for name in columns:
        if name and name in seen:
            raise _Unreadable(FileError(f"column {name!r} appears twice in the header", line))
        seen.add(name)
    missing = [name for name in REQUIRED_COLUMNS if name not in seen]
    if missing:
        found = ", ".join(name for name in columns if name) or "nothing"
        raise _Unreadable(FileError(
            f"missing required columns: {', '.join(missing)} (the header has {found})", line))


class _Batch:
    """The rules for one row, and the ones across rows: duplicates and shared contact points."""

    def __init__(self, columns, default_region):
        self.columns = columns
        self.default_region = default_region
        self.rows, self.errors, self.warnings = [], [], []
        self.people, self.external_ids, self.phones, self.emails = {}, {}, {}, {}

    def check(self, line, cells):
        if len(cells) > len(self.columns):
            self.errors.append(RowError(
                line, None, f"row has {len(cells)} fields, the header has {len(self.columns)}"))
            return
        values = {name: _clean(value) for name, value in zip(self.columns, cells, strict=False)}
        errors, warnings = [], []

        def get(column):
            return values.get(column, "")

        def fail(column, message):
            errors.append(RowError(line, column, message))

        unit, first, last = (" ".join(get(column).split()) for column in REQUIRED_COLUMNS)
        for column, value in zip(REQUIRED_COLUMNS, (unit, first, last), strict=True):
            if not value:
                fail(column, f"{column} is required")
        if len(unit) > MAX_UNIT_LABEL:
            fail("unit", f"unit label is {len(unit)} characters; the limit is {MAX_UNIT_LABEL}")
        if len(f"{first} {last}") > MAX_NAME:
            fail("first_name/last_name",
                 f"first_name and last_name together are longer than {MAX_NAME} characters")
        external_id = get("external_id") or None
        if external_id and len(external_id) > MAX_EXTERNAL_ID:
            fail("external_id", f"external_id is {len(external_id)} characters; "
                                f"the limit is {MAX_EXTERNAL_ID}")

        email = phone = None
        try:
            email = normalize_email(get("email")) if get("email") else None
        except ContactError as exc:
            fail(exc.field, exc.message)
        try:
            phone = normalize_phone(get("phone"), self.default_region) if get("phone") else None
        except ContactError as exc:
            fail(exc.field, exc.message)
        if not get("email") and not get("phone"):
            warnings.append(RowWarning(line, "phone/email", NO_CONTACT_POINT))

        kind = get("kind").lower() or "tenant"
        if kind not in KINDS:
            fail("kind", f"kind must be {' or '.join(KINDS)}, not {get('kind')!r}")
        move_in = _date(get("move_in"))
        if move_in is False:
            fail("move_in", f"move_in must be a date written YYYY-MM-DD, not {get('move_in')!r}")
        language = get("language").lower() or "en"
        if not _LANGUAGE.fullmatch(language):
            fail("language", f"language must be a 2-letter code such as en or es, "
                             f"not {get('language')!r}")

        duplicate = False
        if unit and first and last:
            person = (unit.casefold(), first.casefold(), last.casefold())
            if person in self.people:
                duplicate = True
                fail("unit/first_name/last_name", f"duplicate of line {self.people[person]}")
            else:
                self.people[person] = line
        if external_id:
            if external_id in self.external_ids:
                duplicate = True
                fail("external_id", f"duplicate of line {self.external_ids[external_id]}")
            else:
                self.external_ids[external_id] = line
        if not duplicate:   # a duplicate row is the same person, not a household member
            warnings.extend(_shared(self.phones, "phone", phone, line))
            warnings.extend(_shared(self.emails, "email", email and email.casefold(), line))

        self.errors.extend(errors)
        self.warnings.extend(warnings)
        if not errors:
            self.rows.append(ResidentRow(
                line=line, row_key=external_id or _person_key(unit, first, last), unit=unit,
                first_name=first, last_name=last, email=email, phone=phone, kind=kind,
                move_in=move_in, language=language, external_id=external_id))


def _clean(value):
    # NFC, so that "José" typed on a Mac and on Windows is the same name and the same row_key
    return unicodedata.normalize("NFC", value).strip()


def _date(text):
    """Answer the date, None when empty, False when it is not an ISO date."""
    if not text:
        return None
    if not _ISO_DATE.fullmatch(text):   # fromisoformat also takes "20240131" and week dates
        return False
    try:
        return date.fromisoformat(text)
    except ValueError:
        return False


def _shared(seen, column, value, line):
    if not value:
        return []
    if value in seen:
        return [RowWarning(line, column, f"{column} is also on line {seen[value]} "
                                         "(shared by another resident)")]
    seen[value] = line
    return []


def _person_key(unit, first, last):
    # "|" inside a value is escaped, so ("a|b", "c") and ("a", "b|c") never share a key
    parts = (part.casefold().replace("\\", "\\\\").replace("|", "\\|")
             for part in (unit, first, last))
    return "|".join(parts)
