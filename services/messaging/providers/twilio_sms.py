"""Texts through Twilio's Messages API with the official client (twilio_rest)."""

from services.messaging.providers import twilio_rest
from services.messaging.providers.base import Provider, SendResult


class TwilioSms(Provider):
    channel = "sms"

    def __init__(self, account_sid, auth_token, from_number, base_url=None, timeout=10,
                 connections=32):
        self.client = twilio_rest.twilio_client(account_sid, auth_token, base_url, timeout,
                                                connections)
        self.from_number = from_number

    def send(self, delivery_id, to, body, subject=None, status_callback=None,
             unsubscribe_url=None):
        # a text has no headers: its link is in the footer of `body` already
        message = twilio_rest.create(lambda: self.client.messages.create(
            to=to, from_=self.from_number, body=body, status_callback=status_callback))
        if isinstance(message, SendResult):
            return message
        if message.status in ("failed", "undelivered"):
            return SendResult("failed", message.sid, str(message.error_code or ""),
                              message.error_message)
        return SendResult("sending", message.sid)

    def find_sent(self, to, body, since):
        messages = twilio_rest.look_up(lambda: self.client.messages.list(
            to=to, date_sent_after=since, limit=50), "message")
        return next((m.sid for m in messages if m.body == body), None)

    def fetch_status(self, provider_id):
        message = twilio_rest.fetch(lambda: self.client.messages(provider_id).fetch(),
                                    provider_id)
        if message is None:
            return None, None
        return message.status, (str(message.error_code) if message.error_code else None)
