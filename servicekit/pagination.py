"""Cursor pagination over a stable order (the primary key): a page never repeats or skips
rows when others are added meanwhile, unlike offsets."""

import base64
import binascii

from contracts.errors import InvalidRequest

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


def page_size(limit):
    if limit is None:
        return DEFAULT_LIMIT
    try:
        limit = int(limit)
    except (TypeError, ValueError):
        raise InvalidRequest("must be a whole number", "limit") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidRequest(f"must be between 1 and {MAX_LIMIT}", "limit")
    return limit


NOT_OURS = "is not a cursor this API gave out"


def decode_cursor(cursor, python_type=str):
    """The key a cursor stands for, as `python_type`; a cursor we never gave out (one that
    decodes to nothing, or to a key of another type) is the caller's error, not a query."""
    if not cursor:
        return None
    try:
        key = base64.urlsafe_b64decode(cursor.encode() + b"==").decode()
        if not key:
            raise ValueError("empty")
        return python_type(key)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidRequest(NOT_OURS, "cursor") from None


def encode_cursor(key):
    return base64.urlsafe_b64encode(str(key).encode()).decode().rstrip("=")


def _python_type(column):
    try:
        return column.type.python_type
    except NotImplementedError:
        return str


def paginate(session, query, key_column, cursor, limit):
    """Run `query` (a select of ORM objects) for one page: (rows, next_cursor)."""
    limit = page_size(limit)
    after = decode_cursor(cursor, _python_type(key_column))
    if after is not None:
        query = query.where(key_column > after)
    rows = session.scalars(query.order_by(key_column).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (encode_cursor(getattr(rows[-1], key_column.key)) if more else None)
