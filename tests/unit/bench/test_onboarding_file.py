"""The bench's import file: every phone one directory's import accepts (phonenumbers) and
none shared, two residents to a unit, and a time zone where it is midday."""

import csv
import io
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, available_timezones

import phonenumbers
import pytest

from bench.onboarding import midday_timezone, phone, residents_csv


def test_twenty_thousand_residents_have_distinct_valid_phones_two_to_a_unit():
    rows = list(csv.DictReader(io.StringIO(residents_csv(20_000).decode())))
    assert len(rows) == 20_000
    phones = [r["phone"] for r in rows]
    assert len(set(phones)) == 20_000
    assert all(phonenumbers.is_valid_number(phonenumbers.parse(p)) for p in phones)
    assert len({r["unit"] for r in rows}) == 10_000
    assert len({(r["first_name"], r["last_name"]) for r in rows}) == 20_000
    assert {r["kind"] for r in rows} == {"owner", "tenant"}


def test_a_second_file_numbered_from_elsewhere_shares_no_phone():
    first = residents_csv(100).decode()
    second = residents_csv(100, first=100).decode()
    assert not {line.split(",")[3] for line in first.splitlines()[1:]} & {
        line.split(",")[3] for line in second.splitlines()[1:]}


def test_numbers_beyond_the_plan_are_refused():
    with pytest.raises(ValueError, match="no bench phone"):
        phone(10_000_000)


@pytest.mark.parametrize("hour", range(24))
def test_the_zone_chosen_has_midday_now(hour):
    now = datetime(2026, 12, 2, hour, 30, tzinfo=UTC)
    zone = midday_timezone(now)
    assert zone in available_timezones()
    assert now.astimezone(ZoneInfo(zone)).hour == 12
