"""Real smtplib against the SMTP sandbox subprocess."""

import smtplib
from email.message import EmailMessage

import pytest
import requests

from sandbox.launch import start_smtp_sandbox


@pytest.fixture(scope="module")
def smtp_sandbox():
    with start_smtp_sandbox() as sandbox:
        yield sandbox


@pytest.fixture(autouse=True)
def fresh_sandbox(smtp_sandbox):
    smtp_sandbox.reset()


def email_to(*recipients: str) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = "Town meeting moved"
    message["From"] = "Townhall <no-reply@townhall.test>"
    message["To"] = ", ".join(recipients)
    message.set_content("The meeting is on Thursday now.\n")
    return message


def test_sent_message_is_kept_with_subject_and_body(smtp_sandbox):
    with smtplib.SMTP(smtp_sandbox.host, smtp_sandbox.port, timeout=5) as smtp:
        smtp.send_message(email_to("ann@example.com"))

    [received] = smtp_sandbox.messages()
    assert received["mail_from"] == "no-reply@townhall.test"
    assert received["rcpt_tos"] == ["ann@example.com"]
    assert received["subject"] == "Town meeting moved"
    assert received["to"] == "ann@example.com"
    assert received["text"] == "The meeting is on Thursday now.\n"
    assert "Subject: Town meeting moved" in received["raw"]


def test_rejected_recipient_is_refused(smtp_sandbox):
    smtp_sandbox.configure(reject_recipients=["bad@example.com"])
    with smtplib.SMTP(smtp_sandbox.host, smtp_sandbox.port, timeout=5) as smtp:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            smtp.send_message(email_to("bad@example.com"))
        assert refused.value.recipients["bad@example.com"][0] == 550
        refused_some = smtp.send_message(email_to("bad@example.com", "ok@example.com"))

    assert refused_some == {"bad@example.com": (550, b"5.1.1 mailbox unavailable")}
    [received] = smtp_sandbox.messages()
    assert received["rcpt_tos"] == ["ok@example.com"]


def test_reset_clears_messages_and_rejections(smtp_sandbox):
    smtp_sandbox.configure(reject_recipients=["bad@example.com"])
    with smtplib.SMTP(smtp_sandbox.host, smtp_sandbox.port, timeout=5) as smtp:
        smtp.send_message(email_to("ok@example.com"))
    smtp_sandbox.reset()
    assert smtp_sandbox.messages() == []
    with smtplib.SMTP(smtp_sandbox.host, smtp_sandbox.port, timeout=5) as smtp:
        smtp.send_message(email_to("bad@example.com"))
    assert len(smtp_sandbox.messages()) == 1


def test_bad_config_is_a_400(smtp_sandbox):
    answer = requests.post(f"{smtp_sandbox.url}/config", json={"reject_recipients": "x"}, timeout=5)
    assert answer.status_code == 400
