import pytest

from contracts.keywords import HELP, START, STOP, classify


@pytest.mark.parametrize("word", STOP)
@pytest.mark.parametrize("written", ["{}", "{lower}", " {title} ", "\n{}\n", "{}.", "{}!!"])
def test_every_stop_keyword_in_any_case_and_spacing(word, written):
    body = written.format(word, lower=word.lower(), title=word.title())
    assert classify(body) == "stop"


@pytest.mark.parametrize("word, kind", [(w, "start") for w in START] +
                         [(w, "help") for w in HELP])
def test_resume_and_help_keywords(word, kind):
    assert classify(f"  {word.lower()} ") == kind


@pytest.mark.parametrize("body", ["Stop by the office at 5", "please stop", "STOP IT",
                                  "stopping", "", None, "Yes please, the 3pm slot",
                                  "help me with my sink"])
def test_anything_else_is_a_reply(body):
    assert classify(body) == "reply"
