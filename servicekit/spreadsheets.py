"""CSV that spreadsheets open safely: a text cell starting with = + - @ (or a tab or carriage
return) would run as a formula (CSV injection, OWASP), so it is written with a leading '."""

import csv
import io

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value):
    """Numbers stay numbers; None is an empty cell; text cannot start a formula."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def to_csv(columns, rows):
    """A header of `columns`, then each row (a mapping) in that order, every cell made safe."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([safe_cell(row.get(column)) for column in columns])
    return out.getvalue()
