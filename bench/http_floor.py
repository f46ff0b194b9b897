"""The HTTP floor: message creates per second against the Twilio sandbox with the official
client and K threads, and the status callbacks a tiny local receiver takes per second."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from twilio.rest import Client

from bench.isolation import HOST
from bench.measure import Deadline, rate
from sandbox.launch import start_twilio_sandbox

FROM_NUMBER = "+15550000000"
CALLBACKS_PER_MESSAGE = 2  # sent, then delivered


class CallbackCounter(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__((HOST, 0), _CountingHandler)
        self.lock = threading.Lock()
        self.count = 0
        self.first_at = None
        self.last_at = None

    @property
    def url(self):
        return f"http://{HOST}:{self.server_address[1]}/status"

    def record(self):
        with self.lock:
            now = time.perf_counter()
            self.first_at = self.first_at or now
            self.last_at = now
            self.count += 1


class _CountingHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):  # noqa: N802 - the name http.server calls
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.record()
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_args):
        pass


def measure(count, threads, timeout):
    """{creates_per_s, callbacks_per_s} for `count` creates spread over `threads` clients."""
    deadline = Deadline(timeout, "HTTP floor")
    receiver = CallbackCounter()
    serving = threading.Thread(target=receiver.serve_forever, name="bench-callbacks",
                               daemon=True)
    serving.start()
    try:
        with start_twilio_sandbox(callback_delay_ms=0) as sandbox:
            return _create_all(sandbox, receiver, count, threads, deadline)
    finally:
        receiver.shutdown()
        receiver.server_close()


def _create_all(sandbox, receiver, count, threads, deadline):
    shares = [count // threads + (1 if i < count % threads else 0) for i in range(threads)]

    def create(share):
        client = Client(sandbox.account_sid, sandbox.auth_token)
        client.api.base_url = sandbox.url
        for number in range(share):
            if deadline.expired():
                return number
            client.messages.create(to=f"+1555{number % 10_000_000:07d}", from_=FROM_NUMBER,
                                   body="bench", status_callback=receiver.url)
        return share

    started = time.perf_counter()
    with ThreadPoolExecutor(threads, thread_name_prefix="bench-twilio") as pool:
        created = sum(pool.map(create, shares))
    creates_done = time.perf_counter()
    deadline.check(f"{created} of {count} created")
    expected = CALLBACKS_PER_MESSAGE * count
    while receiver.count < expected:
        deadline.check(f"{receiver.count} of {expected} callbacks received")
        time.sleep(0.01)
    return {
        "creates_per_s": rate(created, creates_done - started),
        "callbacks_per_s": rate(receiver.count, receiver.last_at - started),
    }
