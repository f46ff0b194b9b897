"""CSV that spreadsheets open safely (CSV injection, OWASP): a text cell starting with
= + - @ (or a tab or carriage return) would run as a formula, so it is written with a leading
'; and every cell is quoted, since a spreadsheet whose list separator is ";" splits an
unquoted `top-up;=2+5` into two cells, the second of them a formula."""

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
    writer = csv.writer(out, quoting=csv.QUOTE_ALL)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([safe_cell(row.get(column)) for column in columns])
    return out.getvalue()
