"""A document's link: the recipient's own, signed, good for a number of days — no I/O."""

from datetime import UTC, datetime, timedelta

import pytest

from services.messaging import document_links as links

SECRET = "s" * 40
ACCEPTED = datetime(2026, 12, 4, 19, 0, tzinfo=UTC)


def test_a_link_names_its_delivery_and_is_good_until_its_last_day():
    day = links.last_day(ACCEPTED, 30)
    token = links.token(SECRET, "dlv_" + "a" * 20, day)
    assert links.verify(SECRET, token, now=ACCEPTED) == "dlv_" + "a" * 20
    last = datetime(2027, 1, 3, 23, 59, tzinfo=UTC)
    assert links.verify(SECRET, token, now=last) == "dlv_" + "a" * 20
    with pytest.raises(links.LinkError) as expired:
        links.verify(SECRET, token, now=last + timedelta(minutes=2))
    assert expired.value.reason == "expired"


@pytest.mark.parametrize("change", [
    lambda t: t.replace("dlv_a", "dlv_b"),          # another recipient's delivery
    lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),
    lambda t: t.rsplit(".", 1)[0],                  # cut short
    lambda t: t.split(".")[0] + ".99999." + t.split(".")[2],   # a later day
    lambda t: "x" * 200,
])
def test_a_changed_link_is_not_believed(change):
    token = links.token(SECRET, "dlv_" + "a" * 20, links.last_day(ACCEPTED))
    with pytest.raises(links.LinkError) as refused:
        links.verify(SECRET, change(token), now=ACCEPTED)
    assert refused.value.reason == "invalid"


def test_every_link_has_the_length_a_preview_prices():
    public = "https://townhall.example"
    real = links.url(public, links.token(SECRET, "dlv_Ab-_9" + "x" * 15,
                                         links.last_day(ACCEPTED)))
    assert len(links.stand_in(public)) == len(real)
    assert links.text_with_link("Agenda attached", real) == f"Agenda attached\nDocument: {real}"
