"""When the announcement bench calls a send done, and when its records disagree: the rules
bench/announcement.py follows and checks a send by, with no I/O."""

from bench.announcement import (
    deliveries_problems,
    milestones_reached,
    parse_csv,
    provider_problems,
    unsettled,
)


def view(counts, held=0, charged=None, status="completed"):
    delivered = counts.get("delivered", 0)
    return {"status": status, "counts": counts,
            "credits": {"held": held, "charged": delivered if charged is None else charged,
                        "released": 0}}


def test_a_send_with_every_delivery_final_nothing_held_and_the_report_equal_is_done():
    counts = {"delivered": 98, "suppressed": 2}
    assert unsettled(view(counts), dict(counts), 100) == []


def test_open_deliveries_are_named_by_status():
    waiting = unsettled(view({"delivered": 60, "queued": 30, "sending": 10}, status="sending"),
                        {"delivered": 60}, 100)
    assert "status sending" in waiting
    assert "not final: queued 30, sending 10" in waiting


def test_a_send_missing_deliveries_says_how_many_were_made():
    waiting = unsettled(view({"delivered": 40}), {"delivered": 40}, 100)
    assert waiting == ["40 of 100 deliveries made"]


def test_open_holds_keep_a_send_unsettled():
    assert unsettled(view({"delivered": 10}, held=3), {"delivered": 10}, 10) == [
        "holds open: 3 credits held"]


def test_a_report_behind_messaging_keeps_a_send_unsettled_and_says_both():
    waiting = unsettled(view({"delivered": 10}), {"delivered": 9, "sent": 1}, 10)
    assert waiting == ["report counts {delivered: 9, sent: 1} != messaging {delivered: 10}"]


def test_zero_counts_are_no_difference():
    assert unsettled(view({"delivered": 5, "failed": 0}), {"delivered": 5, "sent": 0}, 5) == []


CSV = ('\ufeff"id","resident_id","channel","status","credits"\r\n'
       '"dlv_1","res_1","sms","delivered","1"\r\n'
       '"dlv_2","res_2","sms","delivered","2"\r\n'
       '"dlv_3","res_3","sms","suppressed","0"\r\n')


def test_deliveries_that_match_the_counts_and_the_charge_agree():
    rows = parse_csv(CSV)
    assert deliveries_problems(rows, view({"delivered": 2, "suppressed": 1}, charged=3)) == []


def test_a_charge_other_than_the_delivered_credits_is_a_problem():
    rows = parse_csv(CSV)
    assert deliveries_problems(rows, view({"delivered": 2, "suppressed": 1}, charged=2)) == [
        "charged 2 != 3 credits of the delivered deliveries"]


def test_rows_listed_twice_or_missing_are_problems():
    rows = parse_csv(CSV)
    problems = deliveries_problems(rows[:2] + rows[:1], view({"delivered": 2, "suppressed": 1},
                                                             charged=4))
    assert "1 delivery ids listed twice" in problems
    assert "CSV counts {delivered: 3} != messaging {delivered: 2, suppressed: 1}" in problems


def test_one_create_per_phone_of_the_send_agrees_with_its_deliveries():
    sent = [{"to": "+12022000000", "body": "hello [t1]"}, {"to": "+12022000001",
                                                           "body": "hello [t1]"},
            {"to": "+12022000000", "body": "an earlier send [t0]"},  # another send
            {"to": "+15551230001", "body": "hello [t1]"}]  # not in the audience
    phones = ["+12022000000", "+12022000001", "+12022000002"]
    assert provider_problems(sent, phones, "[t1]", {"delivered": 2, "suppressed": 1}) == []


def test_a_phone_given_the_send_twice_is_a_problem():
    sent = [{"to": "+12022000000", "body": "x [t1]"}] * 2
    assert provider_problems(sent, ["+12022000000"], "[t1]", {"delivered": 1}) == [
        "1 phones were sent this announcement more than once"]


def test_fewer_creates_than_delivered_deliveries_is_a_problem():
    sent = [{"to": "+12022000000", "body": "x [t1]"}]
    assert provider_problems(sent, ["+12022000000", "+12022000001"], "[t1]",
                             {"delivered": 2}) == [
        "the provider received 1 creates for 2 delivered of 2 handed over"]


def test_cancelled_deliveries_were_never_handed_over():
    sent = [{"to": "+12022000000", "body": "x [t1]"}, {"to": "+12022000001", "body": "x [t1]"}]
    phones = ["+12022000000", "+12022000001", "+12022000002"]
    assert provider_problems(sent, phones, "[t1]", {"delivered": 1, "cancelled": 2}) == [
        "the provider received 2 creates for 1 delivered of 1 handed over"]


def test_final_once_every_delivery_is_made_and_terminal_settled_once_nothing_is_held():
    assert milestones_reached(view({"delivered": 9, "sent": 1}, held=1), 10) == {
        "final": False, "settled": False}
    assert milestones_reached(view({"delivered": 9}, held=0), 10) == {
        "final": False, "settled": False}
    assert milestones_reached(view({"delivered": 9, "failed": 1}, held=2), 10) == {
        "final": True, "settled": False}
    assert milestones_reached(view({"delivered": 9, "failed": 1}, held=0), 10) == {
        "final": True, "settled": True}


def test_unconfirmed_deliveries_are_charged_like_delivered_ones():
    rows = parse_csv(CSV.replace('"dlv_2","res_2","sms","delivered"',
                                 '"dlv_2","res_2","sms","unconfirmed"'))
    counts = {"delivered": 1, "unconfirmed": 1, "suppressed": 1}
    assert deliveries_problems(rows, view(counts, charged=3)) == []
