"""Email through a real SMTP client: the local sink by default, a relay when configured."""

import smtplib
from email import policy
from email.message import EmailMessage
from email.utils import parseaddr

from contracts.footer import email_headers
from services.messaging.providers.base import Provider, SendResult, TransientProviderError

# Lines up to RFC 5322's hard limit: under the default 78 a long List-Unsubscribe link would
# be folded into RFC 2047 encoded words, which mail clients do not read as a link.
MESSAGE_POLICY = policy.default.clone(max_line_length=998)


class SmtpEmail(Provider):
    channel = "email"

    def __init__(self, host, port, from_address, username=None, password=None,
                 starttls=False, timeout=10):
        self.host, self.port = host, int(port)
        self.from_address = from_address
        self.username, self.password = username, password
        self.starttls = starttls
        self.timeout = timeout
        address = parseaddr(from_address)[1]
        self.message_id_domain = address.rpartition("@")[2] or "townhall.invalid"

    def send(self, delivery_id, to, body, subject=None, status_callback=None,
             unsubscribe_url=None, attachment=None):
        message = EmailMessage(policy=MESSAGE_POLICY)
        message["From"] = self.from_address
        message["To"] = to
        message["Subject"] = subject or "Message from your community"
        # one Message-ID per delivery, the same on every try: an email sent again after its
        # answer was lost (SMTP cannot be asked what it received) is the same message, which
        # mailboxes show once
        message_id = f"<{delivery_id}@{self.message_id_domain}>"
        message["Message-ID"] = message_id
        for name, value in email_headers(unsubscribe_url).items():
            message[name] = value
        message.set_content(body)
        if attachment is not None:
            maintype, subtype = attachment.content_type.split("/", 1)
            message.add_attachment(attachment.data, maintype=maintype, subtype=subtype,
                                   filename=attachment.filename)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls()
                if self.username:
                    smtp.login(self.username, self.password)
                smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()))
            return SendResult("failed", message_id, str(code), text.decode(errors="replace"))
        except (smtplib.SMTPException, OSError) as exc:
            raise TransientProviderError(str(exc)) from exc
        # the relay accepted it; SMTP tells no more than that
        return SendResult("delivered", message_id)
