"""What `make up` prints once the demo is seeded: commands a new user pastes as they are."""

import json
import shlex
from pathlib import Path

from servicekit import seed

DEMO = {
    "residents": [{"id": "res_1", "name": "Ada Lovelace", "community_id": "com_1",
                   "phone": "+15551230001", "email": "ada@example.com"}],
    "communities": [{"id": "com_1", "name": "Maple Grove Apartments"}],
    "category_id": "cat_1",
    "accounts": [
        {"email": "ada@example.com", "password": "ada-pw", "principal_type": "resident"},
        {"email": "manager@maplegrove.example", "password": "mgr-pw",
         "principal_type": "staff"}],
}


def greeting(capsys):
    config = {"gateway": {"host": "127.0.0.1", "port": 8123}}
    seed.print_first_text(config, DEMO, Path("/elsewhere/demo.json"))
    return capsys.readouterr().out


def commands(text):
    """Each pasted command, its continued lines (a trailing backslash, an open quote)
    joined as a shell joins them."""
    found, current = [], ""
    for line in text.splitlines():
        if not current and (not line.startswith("  ") or not line.strip()):
            continue
        current += line.strip()
        if current.endswith("\\"):
            current = current[:-1] + " "
            continue
        try:
            shlex.split(current)
        except ValueError:            # a quote still open: the next line belongs to it
            current += "\n"
            continue
        found.append(current)
        current = ""
    return found


def test_every_curl_pastes_as_one_command_to_the_configured_gateway(capsys):
    text = greeting(capsys)
    curls = [c for c in commands(text) if c.startswith("curl")]
    assert len(curls) >= 8
    for command in curls:
        words = shlex.split(command)
        assert words[0] == "curl" and any(w.startswith("http://127.0.0.1:8123/") for w in words)
        assert words.count("curl") == 1, command     # never two run as one


def test_residents_are_told_how_to_sign_in_and_report_a_work_order(capsys):
    text = greeting(capsys)
    assert "ada@example.com                    ada-pw" in text
    login = next(c for c in commands(text) if c.startswith("ADA=$(curl"))
    body = shlex.split(login.split("|")[0][len("ADA=$("):])
    assert json.loads(body[body.index("-d") + 1]) == {"email": "ada@example.com",
                                                      "password": "ada-pw"}
    ticket = next(c for c in commands(text) if "/v1/tickets -H" in c)
    words = shlex.split(ticket)
    assert json.loads(words[words.index("-d") + 1])["kind"] == "unit"
