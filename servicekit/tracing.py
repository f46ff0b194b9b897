"""One correlation id per request, carried through every RPC and event, and JSON logs.

nameko copies `worker_ctx.context_data` into the headers of every RPC and event a
worker sends, and back into the context of the worker that receives them, so setting
`correlation_id` there once is enough for the whole chain. The outbox relay copies it
from the event envelope into the message headers.
"""

import json
import logging
import sys
import time
import uuid
from datetime import UTC, datetime

from eventlet.corolocal import local
from nameko.extensions import DependencyProvider
from nameko.timer import Timer

CORRELATION_HEADER = "X-Correlation-Id"  # the gateway reads and answers it
_current = local()


def current_correlation_id():
    return getattr(_current, "correlation_id", None)


def set_correlation_id(value):
    _current.correlation_id = value


def new_correlation_id():
    return uuid.uuid4().hex


class Tracing(DependencyProvider):
    """Gives each worker its correlation id and logs what it handled and how long it took."""

    def worker_setup(self, worker_ctx):
        data = worker_ctx.context_data
        cid = data.get("correlation_id") or _from_envelope(worker_ctx) or new_correlation_id()
        data["correlation_id"] = cid
        set_correlation_id(cid)
        _current.started = time.monotonic()

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        elapsed_ms = round((time.monotonic() - getattr(_current, "started", time.monotonic()))
                           * 1000, 1)
        entrypoint = worker_ctx.entrypoint
        log = logging.getLogger(f"townhall.{worker_ctx.service_name}")
        extra = {"entrypoint": entrypoint.method_name, "elapsed_ms": elapsed_ms}
        if exc_info is None:
            # a timer that ticks several times a second would bury everything else
            level = logging.DEBUG if isinstance(entrypoint, Timer) else logging.INFO
            log.log(level, "handled %s", entrypoint.method_name, extra=extra)
        else:
            extra["error"] = f"{exc_info[0].__name__}: {exc_info[1]}"
            log.warning("failed %s", entrypoint.method_name, extra=extra)

    def worker_teardown(self, worker_ctx):
        set_correlation_id(None)


def _from_envelope(worker_ctx):
    payload = worker_ctx.args[0] if worker_ctx.args else None
    return payload.get("correlation_id") if isinstance(payload, dict) else None


_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def __init__(self, service):
        super().__init__()
        self.service = service

    def format(self, record):
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "message": record.getMessage(),
            "correlation_id": current_correlation_id(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(service, level="INFO", stream=None):
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("kombu", "amqp", "urllib3", "twilio.http_client", "nameko"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
