"""What a resident sees when a signed link cannot be used: one plain page per reason, the
page's own advice for an expired link, and always that nothing was recorded."""

import pytest

from contracts.errors import Gone, InvalidRequest, NotFound, ServiceUnavailable
from gateway.pages import link_problem

ADVICE = "Ask the sender for a new one."


@pytest.mark.parametrize("error, status, title", [
    (InvalidRequest("this link is not valid", "token"), 400, "This link is not valid"),
    (Gone("this link expired on 2026-01-01", "token"), 410, "This link has expired"),
    (Gone("category cat_1 is archived", "category_id"), 410, "This request is closed"),
    (ServiceUnavailable("consent did not answer"), 503, "Please try again in a moment"),
])
def test_each_reason_has_its_page(error, status, title):
    page = link_problem(error, ADVICE)
    html = page.get_data(as_text=True)
    assert page.status_code == status and page.mimetype == "text/html"
    assert f"<title>{title}</title>" in html and "Nothing was recorded" in html
    assert (ADVICE in html) == (title == "This link has expired")
    assert page.headers["Cache-Control"] == "no-store" and "<script" not in html


def test_anything_else_is_shown_as_the_service_said_it_escaped():
    page = link_problem(NotFound("resident <b>x</b> does not exist", "resident_id"), ADVICE)
    assert page.status_code == 404
    assert "&lt;b&gt;x&lt;/b&gt;" in page.get_data(as_text=True)
