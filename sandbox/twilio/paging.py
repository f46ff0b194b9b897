"""Twilio's list pages and date filters, shared by the Messages and Calls lists."""

from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, time, timedelta
from itertools import islice
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from sandbox.twilio.errors import twilio_error

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000


def parse_date_filter(value: str, upper: bool) -> datetime:
    """Twilio takes YYYY-MM-DD (a whole day) or YYYY-MM-DDThh:mm:ssZ."""
    if "T" not in value:
        day = date.fromisoformat(value)
        moment = datetime.combine(day, time.min, UTC)
        return moment + timedelta(days=1) - timedelta(microseconds=1) if upper else moment
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def date_bounds(query, name: str) -> tuple[datetime | None, datetime | None]:
    """The (after, before) a list asks for with `name`, `name>` and `name<`."""
    after = parse_date_filter(query[f"{name}>"], upper=False) if f"{name}>" in query else None
    before = parse_date_filter(query[f"{name}<"], upper=True) if f"{name}<" in query else None
    if name in query:
        after = parse_date_filter(query[name], upper=False)
        before = parse_date_filter(query[name], upper=True)
    return after, before


def list_page(
    request: web.Request,
    key: str,
    matching: Callable[[], Iterable[Any]],
    dump: Callable[[Any], dict[str, Any]],
) -> web.Response:
    """One page of `matching()` (newest first) under `key`, with Twilio's paging links."""
    query = request.query
    try:
        page = int(query.get("Page", 0))
        page_size = min(max(int(query.get("PageSize", DEFAULT_PAGE_SIZE)), 1), MAX_PAGE_SIZE)
        start = page * page_size
        # one item past the page tells whether there is a next page without scanning the rest
        window = list(islice(matching(), start, start + page_size + 1))
    except ValueError as exc:
        return twilio_error(20001, 400, f"Invalid list filter: {exc}")
    items = window[:page_size]

    def page_uri(number: int) -> str:
        kept = {k: v for k, v in query.items() if k not in ("Page", "PageSize", "PageToken")}
        params = urlencode({**kept, "PageSize": page_size, "Page": number})
        return f"{request.path}?{params}"

    return web.json_response(
        {
            "end": start + max(len(items) - 1, 0),
            "first_page_uri": page_uri(0),
            key: [dump(item) for item in items],
            "next_page_uri": page_uri(page + 1) if len(window) > page_size else None,
            "page": page,
            "page_size": page_size,
            "previous_page_uri": page_uri(page - 1) if page > 0 else None,
            "start": start,
            "uri": page_uri(page),
        }
    )
