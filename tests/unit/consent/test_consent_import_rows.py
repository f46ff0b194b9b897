"""Reading a CSV of consent collected before Townhall: every rule, named by line and column;
the header, BOM, blank rows and the limits. Pure, no I/O."""

from datetime import UTC, datetime

import pytest

from services.consent.import_rows import (
    ConsentRow,
    RowError,
    read_consent_rows,
    rejection,
    resident_errors,
)

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
HEADER = "resident_id,channel,action,obtained_at,wording,address,source\n"
WORDS = "Text me about my building."


def read(text, **limits):
    data = text.encode() if isinstance(text, str) else text
    return read_consent_rows(data, NOW, **limits)


def errors_of(text, **limits):
    return [str(e) for e in read(text, **limits).errors]


def row(line="res_1,sms,grant,2024-03-01,Text me about my building.,,"):
    return HEADER + line + "\n"


def test_a_good_file_gives_one_row_per_line_in_file_order_with_its_line_number():
    parsed = read(HEADER
                  + "res_1,sms,grant,2024-03-01,Text me.,+1 (416) 555-0123,paper form 2024\n"
                  + "res_2, EMAIL ,Withdraw,2024-03-02T09:30:00-05:00,\"No more, thanks\","
                    "b@example.com,\n"
                  + "res_1,sms,withdraw,2024-04-01T10:00,Stop texts.,,\n")
    assert parsed.ok and parsed.errors == []
    assert parsed.rows == [
        ConsentRow(2, "res_1", "sms", "grant", "2024-03-01", "Text me.", "+14165550123",
                   "paper form 2024"),
        ConsentRow(3, "res_2", "email", "withdraw", "2024-03-02T14:30:00+00:00",
                   "No more, thanks", "b@example.com", None),
        ConsentRow(4, "res_1", "sms", "withdraw", "2024-04-01T10:00:00+00:00", "Stop texts.",
                   None, None)]


def test_a_byte_order_mark_any_column_order_and_case_and_blank_rows_are_accepted():
    text = ("\ufeffWording, Obtained At ,ACTION,channel,resident-id\n"
            f"{WORDS},2024-01-31,grant,voice,res_9\n"
            ",,,,\n"
            "\n"
            f"{WORDS},2024-02-01,withdraw,voice,res_9\n")
    parsed = read(text)
    assert parsed.ok
    assert [(r.line, r.resident_id, r.channel, r.action, r.address, r.source)
            for r in parsed.rows] == [(2, "res_9", "voice", "grant", None, None),
                                      (5, "res_9", "voice", "withdraw", None, None)]


def test_a_quoted_cell_over_several_lines_keeps_the_line_where_its_row_starts():
    parsed = read(HEADER + 'res_1,email,grant,2024-03-01,"Line one\nline two",,\n'
                  + "res_2,fax,grant,2024-03-01,Words,,\n")
    assert parsed.rows[0].wording == "Line one\nline two"
    assert [str(e) for e in parsed.errors] == [
        "line 4, channel: must be one of sms, email, voice"]


@pytest.mark.parametrize("line, expected", [
    (",sms,grant,2024-03-01,Words,,", "line 2, resident_id: is required"),
    ("r" * 41 + ",sms,grant,2024-03-01,Words,,",
     "line 2, resident_id: must be at most 40 characters"),
    ("res_1,fax,grant,2024-03-01,Words,,", "line 2, channel: must be one of sms, email, voice"),
    ("res_1,,grant,2024-03-01,Words,,", "line 2, channel: must be one of sms, email, voice"),
    ("res_1,sms,maybe,2024-03-01,Words,,", "line 2, action: must be one of grant, withdraw"),
    ("res_1,sms,grant,,Words,,", "line 2, obtained_at: is required: when the consent was "
                                 "given; must be a date (YYYY-MM-DD)"),
    ("res_1,sms,grant,01/03/2024,Words,,", "line 2, obtained_at: must be a date (YYYY-MM-DD) "
                                           "or a date and time"),
    ("res_1,sms,grant,2024-02-30,Words,,", "line 2, obtained_at: must be a date"),
    ("res_1,sms,grant,2024-03-01T25:00,Words,,", "line 2, obtained_at: must be a date"),
    ("res_1,sms,grant,2025-06-03,Words,,", "line 2, obtained_at: 2025-06-03 is in the future"),
    ("res_1,sms,grant,2025-06-01T12:05:00Z,Words,,",
     "line 2, obtained_at: 2025-06-01T12:05:00Z is in the future"),
    ("res_1,sms,grant,2025-06-01T08:30:00-04:00,Words,,",
     "line 2, obtained_at: 2025-06-01T08:30:00-04:00 is in the future"),
    ("res_1,sms,grant,2024-03-01,,,", "line 2, wording: is required: the words the resident "
                                      "agreed to"),
    ("res_1,sms,grant,2024-03-01,   ,,", "line 2, wording: is required"),
    ("res_1,sms,grant,2024-03-01," + "w" * 1001 + ",,",
     "line 2, wording: must be at most 1000 characters"),
    ("res_1,sms,grant,2024-03-01,Words,ann@example.com,",
     "line 2, address: must be a phone number in E.164 form, such as +14165550123, for "
     "channel sms"),
    ("res_1,voice,grant,2024-03-01,Words,4165550123,",
     "line 2, address: must be a phone number in E.164 form"),
    ("res_1,email,grant,2024-03-01,Words,+14165550123,",
     "line 2, address: must be an email address for channel email"),
    ("res_1,email,grant,2024-03-01,Words," + "a" * 250 + "@x.io,",
     "line 2, address: must be at most 254 characters"),
    ("res_1,sms,grant,2024-03-01,Words,," + "s" * 201,
     "line 2, source: must be at most 200 characters"),
    ("res_1,sms,grant,2024-03-01,Words,,,extra",
     "line 2: has 8 cells but the header names 7 columns"),
])
def test_every_rule_names_its_line_column_and_rule(line, expected):
    (error,) = errors_of(row(line))
    assert error.startswith(expected), error
    assert read(row(line)).rows == []


def test_a_date_is_today_somewhere_until_utc_plus_14_and_a_past_moment_is_fine():
    # 12:00 UTC on 1 June: it is already 2 June in UTC+14, not yet 3 June anywhere
    assert read(row("res_1,sms,grant,2025-06-02,Words,,")).ok
    assert read(row("res_1,sms,grant,2025-06-01T11:59:59Z,Words,,")).ok
    assert read(row("res_1,sms,grant,2025-06-01 07:59:59-04:00,Words,,")).ok


def test_every_error_of_every_line_is_reported_and_the_good_rows_are_not_mixed_in():
    parsed = read(HEADER
                  + "res_1,sms,grant,2024-03-01,Words,,\n"
                  + "res_2,fax,perhaps,tomorrow,,,\n"
                  + "res_3,email,grant,2024-03-01,Words,,\n")
    assert [str(e) for e in parsed.errors] == [
        "line 3, channel: must be one of sms, email, voice",
        "line 3, action: must be one of grant, withdraw",
        "line 3, obtained_at: must be a date (YYYY-MM-DD) or a date and time "
        "(YYYY-MM-DDTHH:MM:SS, UTC unless an offset is given)",
        "line 3, wording: is required: the words the resident agreed to"]
    assert [r.line for r in parsed.rows] == [2, 4]
    assert not parsed.ok


@pytest.mark.parametrize("text, expected", [
    ("", "the file is empty; the first line must be a header naming the columns "
         "(resident_id, channel, action, obtained_at, wording at least)"),
    ("resident_id,channel,action,wording\nres_1,sms,grant,Words\n",
     "line 1: the header lacks the column(s) obtained_at"),
    (HEADER.strip() + ",notes\n", "line 1, notes: unknown column; the columns are "
                                  "resident_id, channel, action, obtained_at, wording, "
                                  "address, source"),
    ("resident_id,channel,Channel,action,obtained_at,wording\n",
     "line 1, channel: this column appears twice in the header"),
    (HEADER + 'res_1,sms,grant,2024-03-01,"unclosed,,\n',
     "line 2: not valid CSV"),
])
def test_a_file_whose_header_or_syntax_is_wrong_is_one_error(text, expected):
    (error,) = errors_of(text)
    assert error.startswith(expected), error


def test_a_file_that_is_not_utf8_says_where():
    (error,) = errors_of(HEADER.encode() + "res_1,sms,grant,2024-03-01,Caf\u00e9,,\n"
                         .encode("latin-1"))
    assert error.startswith("the file is not UTF-8 text (byte 0xe9 at position")
    assert error.endswith("save it as CSV UTF-8")


def test_a_header_only_file_has_no_rows_and_no_errors():
    parsed = read(HEADER)
    assert parsed.ok and parsed.rows == []


def test_the_limits_of_rows_and_bytes_are_named():
    text = HEADER + "res_1,sms,grant,2024-03-01,Words,,\n" * 3
    assert read(text, max_rows=3).ok
    assert errors_of(text, max_rows=2) == [
        "the file has 3 rows; the limit is 2: split it into smaller files"]
    size = len(text.encode())
    assert read(text, max_bytes=size).ok
    assert errors_of(text, max_bytes=size - 1) == [
        f"the file has {size} bytes; the limit is {size - 1}: split it into smaller files"]


def test_the_default_limits_are_20000_rows_and_5_mib():
    line = "res_1,sms,grant,2024-03-01,Words,,\n"
    assert read(HEADER + line * 20_000).ok
    assert errors_of(HEADER + line * 20_001) == [
        "the file has 20001 rows; the limit is 20000: split it into smaller files"]
    limit = 5 * 1024 * 1024
    exactly = HEADER.encode() + b"\n" * (limit - len(HEADER))   # blank lines: no rows
    assert read(exactly).ok
    assert errors_of(exactly + b"\n") == [
        f"the file has {limit + 1} bytes; the limit is {limit}: split it into smaller files"]


def test_residents_directory_does_not_know_or_the_caller_may_not_manage_are_errors():
    rows = read(HEADER + "res_1,sms,grant,2024-03-01,Words,,\n"
                + "res_x,sms,grant,2024-03-01,Words,,\n"
                + "res_b,sms,grant,2024-03-01,Words,,\n").rows
    errors = resident_errors(rows, {"res_1": "com_maple", "res_b": "com_birch"},
                             lambda community_id: community_id == "com_maple")
    assert [str(e) for e in errors] == [
        "line 3, resident_id: no resident res_x in this organization",
        "line 4, resident_id: resident res_b lives in community com_birch, where this caller "
        "lacks the permission 'manage_consent_categories'"]


def test_a_rejection_counts_every_error_and_lists_the_first_50_by_line():
    errors = [RowError(line, "channel", "must be one of sms, email, voice")
              for line in range(60, 1, -1)]
    message = rejection(errors)
    assert message.startswith("the file has 59 errors, so nothing was imported: line 2, "
                              "channel: must be one of sms, email, voice; line 3, channel")
    assert "line 51, channel" in message and "line 52," not in message
    assert message.endswith("; and 9 more")
    assert rejection([RowError(None, None, "the file is empty")]) == (
        "the file has 1 error, so nothing was imported: the file is empty")
