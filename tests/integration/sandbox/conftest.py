"""A webhook receiver for sandbox tests: plain threads and http.server, so it works under eventlet.

No __init__.py in this folder on purpose: it would make pytest import it as a package named
`sandbox` and shadow the real one.
"""

import threading
import time
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qsl

import pytest
from twilio.rest import Client

from sandbox.launch import HOST, start_twilio_sandbox
from servicekit.testing import LocalHttpServer


class WebhookReceiver:
    """Records every POST (path, headers, form params) and answers with `answer_status`,
    `answer_delay` seconds later; `max_in_flight` is the most POSTs it held at once."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        self.answer_status = 200
        self.answer_delay = 0.0
        self.in_flight = 0
        self.max_in_flight = 0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                with receiver.lock:
                    receiver.in_flight += 1
                    receiver.max_in_flight = max(receiver.max_in_flight, receiver.in_flight)
                try:
                    self._answer()
                finally:
                    with receiver.lock:
                        receiver.in_flight -= 1

            def _answer(self):
                if receiver.answer_delay:
                    time.sleep(receiver.answer_delay)
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length).decode()
                receiver.received.append(
                    {
                        "path": self.path,
                        "headers": dict(self.headers),
                        "params": dict(parse_qsl(body, keep_blank_values=True)),
                    }
                )
                payload = b"<Response/>"
                self.send_response(receiver.answer_status)
                self.send_header("Content-Type", "text/xml")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.http = LocalHttpServer(Handler, HOST)
        self.port = self.http.port

    def url(self, path: str) -> str:
        return self.http.url(path)

    def posts_to(self, path: str) -> list[dict]:
        return [r for r in self.received if r["path"] == path]

    def close(self) -> None:
        self.http.close()


@pytest.fixture
def webhook_receiver():
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()


@pytest.fixture(scope="module")
def twilio_sandbox():
    """One Twilio sandbox per test module; each module resets it before every test."""
    with start_twilio_sandbox(callback_delay_ms=20) as sandbox:
        yield sandbox


@pytest.fixture
def client(twilio_sandbox):
    """The official twilio client, pointed at the sandbox."""
    client = Client(twilio_sandbox.account_sid, twilio_sandbox.auth_token)
    client.api.base_url = twilio_sandbox.url
    return client
