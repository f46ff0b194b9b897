"""The message resource: its state, segment count and the JSON Twilio answers with."""

import math
import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

API_VERSION = "2010-04-01"
E164 = re.compile(r"^\+[1-9]\d{6,14}$")  # the numbers the sandbox accepts: phones, no SIP

_GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# extension characters cost an escape septet plus their own
_GSM7_EXTENSION = set("^{}\\[~]|€\f")


def count_segments(body: str) -> int:
    """Segments as a carrier bills them: GSM-7 160/153 septets, otherwise UCS-2 70/67 units."""
    if all(ch in _GSM7_BASIC or ch in _GSM7_EXTENSION for ch in body):
        units = len(body) + sum(ch in _GSM7_EXTENSION for ch in body)
        single, multi = 160, 153
    else:
        units = len(body.encode("utf-16-le")) // 2
        single, multi = 70, 67
    return 1 if units <= single else math.ceil(units / multi)


def new_sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


def rfc2822(moment: datetime | None) -> str | None:
    # Twilio writes dates like "Thu, 30 Jul 2015 20:12:31 +0000"
    return format_datetime(moment) if moment else None


@dataclass
class SandboxMessage:
    account_sid: str
    to: str
    from_: str | None
    body: str
    status_callback: str | None
    messaging_service_sid: str | None
    # where the lifecycle ends: delivered, undelivered or failed; `sent` is stuck there for ever
    final_status: str
    final_error_code: int | None
    passes_sent: bool = True  # a queue overflow fails before it is ever sent
    final_callback: bool = True  # false: the final status is reached but never posted
    sid: str = field(default_factory=lambda: new_sid("SM"))
    status: str = "queued"
    date_created: datetime = field(default_factory=lambda: datetime.now(UTC))
    date_updated: datetime | None = None
    date_sent: datetime | None = None
    error_code: int | None = None
    error_message: str | None = None
    callbacks: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.date_updated = self.date_created
        self.num_segments = str(count_segments(self.body))

    def move_to(self, status: str, error_code: int | None = None, error_text: str | None = None):
        now = datetime.now(UTC)
        self.status = status
        self.date_updated = now
        if status == "sent":
            self.date_sent = now
        self.error_code = error_code
        self.error_message = error_text

    @property
    def uri(self) -> str:
        return f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{self.sid}.json"

    def resource(self) -> dict[str, Any]:
        base = self.uri[: -len(".json")]
        return {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": self.body,
            "date_created": rfc2822(self.date_created),
            "date_sent": rfc2822(self.date_sent),
            "date_updated": rfc2822(self.date_updated),
            "direction": "outbound-api",
            "error_code": self.error_code,
            "error_message": self.error_message,
            "from": self.from_,
            "messaging_service_sid": self.messaging_service_sid,
            "num_media": "0",
            "num_segments": self.num_segments,
            "price": None,
            "price_unit": "USD",
            "sid": self.sid,
            "status": self.status,
            "subresource_uris": {
                "media": f"{base}/Media.json",
                "feedback": f"{base}/Feedback.json",
            },
            "to": self.to,
            "uri": self.uri,
        }

    def inspection(self) -> dict[str, Any]:
        """What tests read: the resource plus what the sandbox did with it."""
        return {
            **self.resource(),
            "status_callback": self.status_callback,
            "final_status": self.final_status,
            "final_callback": self.final_callback,
            "callbacks": self.callbacks,
        }

    def callback_params(self) -> dict[str, str]:
        params = {
            "MessageSid": self.sid,
            "SmsSid": self.sid,
            "AccountSid": self.account_sid,
            "To": self.to,
            "MessageStatus": self.status,
            "SmsStatus": self.status,
            "ApiVersion": API_VERSION,
        }
        if self.from_:
            params["From"] = self.from_
        if self.messaging_service_sid:
            params["MessagingServiceSid"] = self.messaging_service_sid
        if self.error_code is not None:
            params["ErrorCode"] = str(self.error_code)
        return params
