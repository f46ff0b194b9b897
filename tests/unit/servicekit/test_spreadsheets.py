import csv
import io

from servicekit.spreadsheets import safe_cell, to_csv


def test_text_cannot_start_a_formula_but_numbers_stay_numbers():
    assert [safe_cell(v) for v in ("=SUM(A1)", "+1", "-x", "@cmd", "\tx", "ok", -5, None)] == [
        "'=SUM(A1)", "'+1", "'-x", "'@cmd", "'\tx", "ok", -5, ""]


def test_rows_are_written_in_column_order():
    text = to_csv(("b", "a"), [{"a": 1, "b": "=2"}, {"a": None}])
    assert list(csv.reader(io.StringIO(text))) == [["b", "a"], ["'=2", "1"], ["", ""]]
