import csv
import io
import json
import re
import unicodedata
from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from services.directory.importing import (
    NO_CONTACT_POINT,
    FileError,
    ResidentRow,
    RowError,
    RowWarning,
    validate_residents_csv,
)

HEADER = "unit,first_name,last_name,email,phone,kind,move_in,language,external_id"


def csv_bytes(*lines, header=HEADER, newline="\n"):
    return newline.join((header, *lines, "")).encode()


def test_a_clean_file_gives_normalized_rows_and_its_units():
    report = validate_residents_csv(csv_bytes(
        "101,Ann,Lee,Ann@Example.COM,(202) 555-0123,Owner,2024-03-01,ES,pm-17",
        "102 , Bob , Ray ,,202 555 0124,,,,",
    ))

    assert report.ok
    assert report.errors == [] and report.file_errors == []
    assert report.total_rows == 2 and report.valid_count == 2
    assert report.units == ["101", "102"]
    assert report.rows[0] == ResidentRow(
        line=2, row_key="pm-17", unit="101", first_name="Ann", last_name="Lee",
        email="Ann@example.com", phone="+12025550123", kind="owner", move_in=date(2024, 3, 1),
        language="es", external_id="pm-17")
    assert report.rows[1] == ResidentRow(
        line=3, row_key="102|bob|ray", unit="102", first_name="Bob", last_name="Ray",
        email=None, phone="+12025550124", kind="tenant", move_in=None, language="en",
        external_id=None)


def test_a_file_that_is_not_utf8_is_refused_whole():
    data = "unit,first_name,last_name\n101,Andr\u00e9,Lee\n".encode("latin-1")

    report = validate_residents_csv(data)

    assert report.file_errors == [FileError(
        "the file is not UTF-8 text (byte 0xe9 at position 34); save it as CSV UTF-8")]
    assert report.rows == [] and report.errors == [] and report.total_rows == 0
    assert not report.ok


def test_a_byte_order_mark_is_accepted_and_counted_in_positions():
    with_bom = b"\xef\xbb\xbf" + csv_bytes("101,Ann,Lee,ann@example.com,,,,,")
    assert validate_residents_csv(with_bom).valid_count == 1

    broken = b"\xef\xbb\xbfunit,first_name,last_name\n101,\xe9,Lee\n"
    [error] = validate_residents_csv(broken).file_errors
    assert "byte 0xe9 at position 33" in error.message


def test_header_names_ignore_case_and_whitespace():
    data = csv_bytes("101,Ann,Lee,ann@example.com", header=" UNIT ,First Name,last_name , E-mail ")

    report = validate_residents_csv(data)

    assert report.ok
    assert report.rows[0].first_name == "Ann"
    assert report.rows[0].email is None   # "e_mail" is not "email": it is reported, not guessed
    assert report.warnings[0] == RowWarning(1, "e_mail", report.warnings[0].message)
    assert report.warnings[0].message.startswith("unknown column 'e_mail' is ignored")


def test_missing_required_columns_stop_validation():
    report = validate_residents_csv(csv_bytes("101,Ann,x@example.com", header="Unit,Name,Email"))

    assert report.file_errors == [FileError(
        "missing required columns: first_name, last_name (the header has unit, name, email)", 1)]
    assert report.rows == [] and report.errors == []


def test_a_column_named_twice_is_a_file_error():
    report = validate_residents_csv(csv_bytes("1,a,b,c", header="unit,first_name,last_name,Unit"))
    assert report.file_errors == [FileError("column 'unit' appears twice in the header", 1)]


def test_an_empty_file_is_a_file_error():
    for data in (b"", b"\xef\xbb\xbf", b"\n\n , ,\n"):
        [error] = validate_residents_csv(data).file_errors
        assert error.message.startswith("the file is empty")


def test_a_header_without_rows_is_valid_and_empty():
    report = validate_residents_csv(csv_bytes())
    assert report.ok and report.total_rows == 0 and report.rows == []


def test_the_same_person_twice_is_an_error_on_the_later_line():
    report = validate_residents_csv(csv_bytes(
        "101,Ann,Lee,,202-555-0123,,,,",
        "102,Bob,Ray,,202-555-0124,,,,",
        " 101 ,ANN,  lee,,,,,,",
    ))

    assert report.errors == [RowError(4, "unit/first_name/last_name", "duplicate of line 2")]
    assert [row.line for row in report.rows] == [2, 3]
    assert report.invalid_lines == [4]


def test_the_same_external_id_twice_is_an_error_on_the_later_line():
    report = validate_residents_csv(csv_bytes(
        "101,Ann,Lee,,202-555-0123,,,,E-1",
        "102,Bob,Ray,,202-555-0124,,,,E-2",
        "103,Cy,Day,,202-555-0125,,,, E-1 ",
    ))

    assert report.errors == [RowError(4, "external_id", "duplicate of line 2")]
    assert report.valid_count == 2


def test_invalid_contact_points_are_row_errors_naming_the_rule():
    report = validate_residents_csv(csv_bytes(
        "101,Ann,Lee,ann@,,,,,",
        "102,Bob,Ray,,555-01,,,,",
        "103,Cy,Day,cy@example.com,202-555-0125,,,,",
    ))

    assert report.errors == [
        RowError(2, "email",
                 "'ann@' is not a valid email address: There must be something after the @-sign."),
        RowError(3, "phone", "'555-01' is not a valid phone number for region US"),
    ]
    assert [row.line for row in report.rows] == [4]
    assert not report.ok


def test_phones_are_read_in_the_default_region():
    data = csv_bytes("1,Ann,Lee,,020 7946 0018,,,,")
    assert validate_residents_csv(data, default_region="GB").rows[0].phone == "+442079460018"
    assert validate_residents_csv(data).errors[0].column == "phone"


def test_other_fields_have_their_rules():
    report = validate_residents_csv(csv_bytes(
        ",Ann,,ann@example.com,,landlord,01/03/2024,english,",
        "101,Bob,Ray,bob@example.com,,,2024-02-30,,",
        "102,Cy,Day,cy@example.com,,,20240301,,",
        "x" * 41 + ",Di,Fox,di@example.com,,,,,",
    ))

    assert report.errors == [
        RowError(2, "unit", "unit is required"),
        RowError(2, "last_name", "last_name is required"),
        RowError(2, "kind", "kind must be owner or tenant, not 'landlord'"),
        RowError(2, "move_in", "move_in must be a date written YYYY-MM-DD, not '01/03/2024'"),
        RowError(2, "language", "language must be a 2-letter code such as en or es, not 'english'"),
        RowError(3, "move_in", "move_in must be a date written YYYY-MM-DD, not '2024-02-30'"),
        RowError(4, "move_in", "move_in must be a date written YYYY-MM-DD, not '20240301'"),
        RowError(5, "unit", "unit label is 41 characters; the limit is 40"),
    ]
    assert report.rows == [] and report.units == []


def test_a_row_with_more_fields_than_the_header_is_an_error_and_fewer_are_padded():
    report = validate_residents_csv(csv_bytes(
        "101,Ann,Lee,ann@example.com",
        "102,Bob,Ray,bob@example.com,,,,,,surplus",
        header="unit,first_name,last_name,email"))

    assert report.errors == [RowError(3, None, "row has 10 fields, the header has 4")]
    assert [row.line for row in report.rows] == [2]


def test_quoted_newlines_keep_line_numbers_physical():
    data = (
        b'unit,first_name,last_name,email\r\n'
        b'101,"Ann\r\nMarie",Lee,ann@example.com\r\n'     # lines 2-3
        b'"102\nrear",Bob,"Ray\n\nJr",bob@example.com\r\n'  # lines 4-7
        b'103,Cy,Day,not-an-email\r\n'
    )

    report = validate_residents_csv(data)

    assert [row.line for row in report.rows] == [2, 4]
    assert report.rows[0].first_name == "Ann Marie"
    assert report.rows[1].unit == "102 rear"
    assert [error.line for error in report.errors] == [8]


def test_blank_lines_are_skipped_without_shifting_line_numbers():
    data = csv_bytes("", "101,Ann,Lee,ann@example.com", "", "   ", ",,,", "102,Bob,Ray,bad",
                     header="\nunit,first_name,last_name,email")

    report = validate_residents_csv(data)

    assert report.total_rows == 2
    assert [row.line for row in report.rows] == [4]
    assert report.errors[0].line == 8
    assert all(warning.line != 1 for warning in report.warnings)


def test_unit_labels_are_trimmed_and_distinct():
    report = validate_residents_csv(csv_bytes(
        "101,Ann,Lee,a@example.com", " 101 ,Bob,Lee,b@example.com", "B 2,Cy,Day,c@example.com",
        "  B   2,Di,Fox,d@example.com", header="unit,first_name,last_name,email"))

    assert report.units == ["101", "B 2"]
    assert {row.unit for row in report.rows} == {"101", "B 2"}


def test_max_rows_is_a_file_error():
    lines = [f"{n},Ann,Lee,a{n}@example.com" for n in range(5)]
    header = "unit,first_name,last_name,email"

    over = validate_residents_csv(csv_bytes(*lines, header=header), max_rows=4)
    at_limit = validate_residents_csv(csv_bytes(*lines[:4], header=header), max_rows=4)

    assert over.file_errors == [FileError(
        "the file has 5 rows; the limit is 4: split it into smaller files")]
    assert over.rows == [] and over.total_rows == 5
    assert at_limit.ok and at_limit.valid_count == 4


def test_progress_is_reported_every_500_rows_and_at_the_end():
    def calls_for(count):
        calls = []
        lines = [f"{n},Ann,Lee" for n in range(count)]
        validate_residents_csv(csv_bytes(*lines, header="unit,first_name,last_name"),
                               progress=lambda done, total: calls.append((done, total)))
        return calls

    assert calls_for(1201) == [(500, 1201), (1000, 1201), (1201, 1201)]
    assert calls_for(1000) == [(500, 1000), (1000, 1000)]
    assert calls_for(3) == [(3, 3)]
    assert calls_for(0) == [(0, 0)]


def test_row_keys_are_stable_across_runs_and_row_order():
    lines = ["101,Ann,Lee,,202-555-0123,,,,E-1", "102, Bob  , Ray,,202-555-0124,,,,",
             "103,José,Día,,202-555-0125,,,,"]
    first = validate_residents_csv(csv_bytes(*lines))
    again = validate_residents_csv(csv_bytes(*lines))
    reordered = validate_residents_csv(csv_bytes(*reversed(lines)))
    decomposed = validate_residents_csv(
        csv_bytes(*(unicodedata.normalize("NFD", line) for line in lines)))

    def keys(report):
        return sorted(row.row_key for row in report.rows)

    assert keys(first) == ["102|bob|ray", "103|josé|día", "E-1"]
    assert keys(again) == keys(reordered) == keys(decomposed) == keys(first)


def test_a_pipe_in_a_value_cannot_make_two_people_share_a_key():
    report = validate_residents_csv(csv_bytes(
        "a|b,c,d", "a,b|c,d", header="unit,first_name,last_name"))
    assert report.ok
    assert len({row.row_key for row in report.rows}) == 2


def test_a_resident_without_contact_points_is_valid_with_a_warning():
    report = validate_residents_csv(csv_bytes("101,Ann,Lee,,,,,,"))

    assert report.ok and report.valid_count == 1
    assert report.warnings == [RowWarning(2, "phone/email", NO_CONTACT_POINT)]


def test_shared_phones_and_emails_are_warnings_not_errors():
    report = validate_residents_csv(csv_bytes(
        "101,Ann,Lee,family@example.com,202-555-0123,,,,",
        "101,Bob,Lee,FAMILY@example.com,(202) 555-0123,,,,",
    ))

    assert report.ok and report.valid_count == 2
    assert report.warnings == [
        RowWarning(3, "phone", "phone is also on line 2 (shared by another resident)"),
        RowWarning(3, "email", "email is also on line 2 (shared by another resident)"),
    ]


def test_unbalanced_quotes_are_a_file_error_with_the_line():
    report = validate_residents_csv(csv_bytes('101,"Ann,Lee', "102,Bob,Ray",
                                              header="unit,first_name,last_name"))
    [error] = report.file_errors
    assert error.line == 2 and "not valid CSV" in error.message
    assert report.rows == []


def test_the_summary_is_ready_for_json():
    report = validate_residents_csv(csv_bytes(
        "101,Ann,Lee,,,,,,", "102,Bob,Ray,bad,,,,,", header=HEADER + ",notes"))

    summary = json.loads(json.dumps(report.summary()))

    assert summary == {
        "ok": False, "total_rows": 2, "valid_rows": 1, "invalid_rows": 1, "units": 1,
        "file_errors": [],
        "errors": [{"line": 3, "column": "email", "message": summary["errors"][0]["message"]}],
        "warnings": [
            {"line": 1, "column": "notes", "message": summary["warnings"][0]["message"]},
            {"line": 2, "column": "phone/email", "message": NO_CONTACT_POINT},
        ],
    }


# -- property: whatever csv.writer produces from valid rows is read back, line for line --------

_text = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc"), include_characters=',"\r\n '),
    min_size=1, max_size=20,
).filter(lambda value: value.strip())
_PHONES = ["202-555-0123", "+1 (202) 555-0124", "+44 20 7946 0018", ""]


def _person(row):
    return tuple(" ".join(unicodedata.normalize("NFC", value).split()).casefold()
                 for value in row[:3])


_rows = st.lists(
    st.tuples(_text, _text, _text,
              st.sampled_from(["", "ann@example.com", "Bob.Ray@Example.org"]),
              st.sampled_from(_PHONES),
              st.sampled_from(["", "owner", " Tenant "]),
              st.one_of(st.just(""), st.dates().map(date.isoformat)),
              st.sampled_from(["", "en", "ES"])),
    max_size=15, unique_by=_person)


@settings(max_examples=60, deadline=None)
@given(rows=_rows)
def test_every_valid_row_written_by_csv_writer_is_valid_on_its_line(rows):
    out = io.StringIO(newline="")
    # the default "\r\n" terminator: with "\n", Python 3.11's writer leaves a lone "\r" unquoted
    writer = csv.writer(out)
    writer.writerow(HEADER.split(",")[:8])
    expected_lines, line = [], 2
    for row in rows:
        start = out.tell()
        writer.writerow(row)
        expected_lines.append(line)
        line += len(re.findall(r"\r\n|\r|\n", out.getvalue()[start:]))

    report = validate_residents_csv(out.getvalue().encode())

    assert report.ok, report.summary()
    assert report.total_rows == len(rows)
    assert [row.line for row in report.rows] == expected_lines
    assert [_person((r.unit, r.first_name, r.last_name)) for r in report.rows] == [
        _person(row) for row in rows]
