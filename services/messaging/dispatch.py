"""Provider clients as a nameko dependency, built once per process in setup(), with what
the pipeline needs to use them: the sender and its rate, the retry and reconcile policies."""

from eventlet.semaphore import Semaphore
from nameko.extensions import DependencyProvider

from servicekit.blobs import blob_store
from servicekit.config import twilio_base_url
from servicekit.signing_keys import signing_key
from services.messaging import reconcile, retries
from services.messaging.budgets import CallRate, Sender
from services.messaging.call_settings import CallSettings
from services.messaging.document_links import DEFAULT_DAYS, DocumentLinks
from services.messaging.providers.smtp_email import SmtpEmail
from services.messaging.providers.twilio_sms import TwilioSms
from services.messaging.providers.twilio_voice import TwilioVoice

SEND_CONCURRENCY = 32


class Providers(DependencyProvider):
    def setup(self):
        config = self.container.config
        twilio = config.get("twilio") or {}
        smtp = config.get("smtp") or {}
        messaging = config.get("messaging") or {}
        # provider calls in flight in this process, whatever the number of batches being
        # dispatched: each has a kept connection, none is opened and thrown away
        concurrency = int(messaging.get("send_concurrency", SEND_CONCURRENCY))
        if concurrency < 1:
            raise ValueError("messaging.send_concurrency must be at least 1")
        self.send_slots = Semaphore(concurrency)
        self.call_settings = CallSettings.from_config(messaging.get("voice"))
        self.providers = {
            "sms": TwilioSms(twilio["account_sid"], twilio["auth_token"],
                             twilio["from_number"], base_url=twilio_base_url(config),
                             connections=concurrency),
            "voice": TwilioVoice(twilio["account_sid"], twilio["auth_token"],
                                 twilio["from_number"], self.call_settings,
                                 base_url=twilio_base_url(config), connections=concurrency),
            "email": SmtpEmail(smtp.get("host", "127.0.0.1"), smtp.get("port", 25),
                               smtp.get("from_address", "no-reply@townhall.test"),
                               smtp.get("username"), smtp.get("password"),
                               bool(smtp.get("starttls"))),
        }
        gateway = config.get("gateway") or {}
        public_url = gateway.get("public_url", "http://127.0.0.1:8000").rstrip("/")
        self.status_callback = public_url + "/webhooks/twilio/status"
        self.call_status_callback = public_url + "/webhooks/twilio/call-status"
        self.gather_action = public_url + "/webhooks/twilio/gather"
        self.sender = Sender.from_config(config)
        self.call_rate = CallRate(twilio["account_sid"], self.call_settings.calls_per_second)
        # documents: the store every instance shares, and each recipient's own link
        self.blobs = blob_store(config)
        self.document_links = DocumentLinks(
            signing_key(config, "messaging", "link_secret"), public_url,
            messaging.get("document_link_days", DEFAULT_DAYS))
        self.retry_policy = retries.RetryPolicy.from_config(messaging.get("retries") or {})
        self.reconcile_policy = reconcile.ReconcilePolicy.from_config(messaging)

    def get_dependency(self, worker_ctx):
        return self
