import csv
import io

from servicekit.spreadsheets import safe_cell, to_csv


def test_text_cannot_start_a_formula_but_numbers_stay_numbers():
    assert [safe_cell(v) for v in ("=SUM(A1)", "+1", "-x", "@cmd", "\tx", "ok", -5, None)] == [
        "'=SUM(A1)", "'+1", "'-x", "'@cmd", "'\tx", "ok", -5, ""]


def test_rows_are_written_in_column_order():
    text = to_csv(("b", "a"), [{"a": 1, "b": "=2"}, {"a": None}])
    assert list(csv.reader(io.StringIO(text))) == [["b", "a"], ["'=2", "1"], ["", ""]]


def test_every_cell_is_quoted_so_no_list_separator_splits_one_into_a_formula():
    # spreadsheets whose list separator is ";" read an unquoted top-up;=2+5 as two cells,
    # the second a formula; quoted, it is one cell of text
    text = to_csv(("reason", "amount", "note"), [{"reason": "top-up;=2+5", "amount": 5}])
    assert text.splitlines() == ['"reason","amount","note"', '"top-up;=2+5","5",""']
    assert list(csv.DictReader(io.StringIO(text))) == [
        {"reason": "top-up;=2+5", "amount": "5", "note": ""}]
