"""Moments a request may name. An aware date-time near year 1 or 9999 passes marshmallow
but overflows once moved to UTC or bound by the database (a 500 the fuzzer finds), so every
date-time field of a request stays within these bounds."""

from datetime import UTC, datetime

from marshmallow import validate

WITHIN_YEARS = validate.Range(min=datetime(1, 1, 2, tzinfo=UTC),
                              max=datetime(9999, 12, 30, tzinfo=UTC),
                              error="must be between 0001-01-02 and 9999-12-30 (UTC)")
