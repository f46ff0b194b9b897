"""Provider clients as a nameko dependency, built once per process in setup()."""

from nameko.extensions import DependencyProvider

from servicekit.config import twilio_base_url
from services.messaging.providers.smtp_email import SmtpEmail
from services.messaging.providers.twilio_sms import TwilioSms


class Providers(DependencyProvider):
    def setup(self):
        config = self.container.config
        twilio = config.get("twilio") or {}
        smtp = config.get("smtp") or {}
        self.providers = {
            "sms": TwilioSms(twilio["account_sid"], twilio["auth_token"],
                             twilio["from_number"], base_url=twilio_base_url(config)),
            "email": SmtpEmail(smtp.get("host", "127.0.0.1"), smtp.get("port", 25),
                               smtp.get("from_address", "no-reply@townhall.test"),
                               smtp.get("username"), smtp.get("password"),
                               bool(smtp.get("starttls"))),
        }
        gateway = config.get("gateway") or {}
        self.status_callback = (gateway.get("public_url", "http://127.0.0.1:8000").rstrip("/")
                                + "/webhooks/twilio/status")

    def get_dependency(self, worker_ctx):
        return self
