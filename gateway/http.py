"""The one HTTP entrypoint of the gateway: routes return data, it renders JSON, and it alone
maps exceptions to a status and an application/problem+json body (RFC 9457)."""

import json
import logging
import re
from datetime import date
from functools import partial

from eventlet.event import Event
from marshmallow import ValidationError
from nameko.exceptions import RemoteError
from nameko.web.handlers import HttpRequestHandler
from werkzeug.exceptions import BadRequest, HTTPException
from werkzeug.wrappers import Response

from contracts.errors import DomainError, InvalidRequest
from servicekit.tracing import (
    CORRELATION_HEADER,
    current_correlation_id,
    new_correlation_id,
    set_correlation_id,
)

log = logging.getLogger("townhall.gateway")
PROBLEM = "application/problem+json"


class ApiEntrypoint(HttpRequestHandler):
    def handle_request(self, request):
        # the correlation id is fixed before the worker starts, so the response carries
        # it whatever happens inside
        request.shallow = False
        cid = _incoming_correlation_id(request) or new_correlation_id()
        try:
            refuse_nul(request)
            args, kwargs = self.get_entrypoint_parameters(request)
            self.check_signature(args, kwargs)
            done = Event()
            self.container.spawn_worker(
                self, args, kwargs, context_data={"correlation_id": cid},
                handle_result=partial(self.handle_result, done))
            response = self.response_from_result(done.wait())
        except Exception as exc:
            set_correlation_id(cid)
            response = self.response_from_exception(exc)
        response.headers[CORRELATION_HEADER] = cid
        return response

    def response_from_result(self, result):
        if isinstance(result, Response):
            return result
        status, body = result if isinstance(result, tuple) else (200, result)
        return json_response(body, status)

    def response_from_exception(self, exc):
        return problem_for(exc)


# a caller's mistake is an expected answer: logged as a warning, not as a service error
api = partial(ApiEntrypoint.decorator, expected_exceptions=(DomainError, ValidationError))


def json_response(body, status=200, content_type="application/json", headers=None):
    return Response(json.dumps(body), status=status, mimetype=content_type, headers=headers)


def problem(status, title, detail, **extra):
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    body.update({k: v for k, v in extra.items() if v is not None})
    return json_response(body, status, PROBLEM)


def problem_for(exc):
    if isinstance(exc, DomainError):
        return problem(exc.status, exc.title, exc.detail, field=exc.field)
    if isinstance(exc, ValidationError):
        fields = ", ".join(sorted(_flatten(exc.messages)))
        return problem(422, "Invalid request", f"the request has invalid fields: {fields}",
                       errors=exc.messages)
    if isinstance(exc, HTTPException):
        return problem(exc.code, exc.name, exc.description)
    if isinstance(exc, RemoteError):
        log.error("remote error: %s", exc)
    else:
        log.error("unhandled error", exc_info=exc)
    return problem(500, "Internal error",
                   f"something went wrong; quote correlation id {current_correlation_id()}")


def _flatten(messages, prefix=""):
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if isinstance(value, dict):
                yield from _flatten(value, name)
            else:
                yield name
    else:
        yield prefix or "body"


def _incoming_correlation_id(request):
    value = request.headers.get(CORRELATION_HEADER, "")
    return value if 0 < len(value) <= 64 and value.replace("-", "").isalnum() else None


NUL = "\x00"
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")   # NUL, and surrogates standing alone


def refuse_nul(request):
    """U+0000 is refused wherever a caller writes text: no database stores it in text (the
    services' PostgreSQL refuses it) and HTTP does not allow it in a header."""
    if NUL in request.path:
        raise InvalidRequest(_nul_message("the path"), "path")
    for name, value in request.args.items(multi=True):
        if NUL in name or NUL in value:
            raise InvalidRequest(_nul_message(f"the query parameter {name!r}"), name)
    for name, value in request.headers.items():
        if NUL in value:
            raise InvalidRequest(_nul_message(f"the header {name}"), name)


def _nul_message(where):
    return f"{where} contains the NUL character (U+0000), which is not allowed in text"


def _unstorable_message(where, text):
    if NUL in text:
        return _nul_message(where)
    return (f"{where} contains a lone surrogate (U+D800 to U+DFFF, a JSON \\u escape that is "
            "half of a pair), which is not a character")


def json_body(request):
    if not request.mimetype == "application/json":
        raise InvalidRequest("the body must be JSON (Content-Type: application/json)",
                             "Content-Type")
    try:
        body = json.loads(request.get_data(as_text=True) or "null") or {}
    except (ValueError, BadRequest):
        raise InvalidRequest("the body is not valid JSON", "body") from None
    _refuse_unstorable_json(body)
    return body


def _refuse_unstorable_json(body):
    """The first string (key or value) holding U+0000 or a lone surrogate (JSON allows
    "\\udc80"; no database or password hash can encode it) is named by its path."""
    pending = [("", body)]
    while pending:
        path, value = pending.pop()
        if isinstance(value, dict):
            for key, item in value.items():
                name = f"{path}.{key}" if path else str(key)
                if UNSTORABLE.search(str(key)):
                    raise InvalidRequest(_unstorable_message(f"the field name {name!r}",
                                                             str(key)), name)
                pending.append((name, item))
        elif isinstance(value, list):
            pending.extend((f"{path}.{n}" if path else str(n), item)
                           for n, item in enumerate(value))
        elif isinstance(value, str) and UNSTORABLE.search(value):
            raise InvalidRequest(_unstorable_message(f"the field {path or 'body'}", value),
                                 path or "body")


def client_address(request, trusted_proxies=()):
    """The caller's address, for slowing password guessing and for the audit log.

    X-Forwarded-For is believed only when the connection comes from a configured proxy
    (`gateway.trusted_proxies`); then the address is the right-most one that is not a proxy
    itself, since anything left of it was written by the client and may be forged.
    """
    address = request.remote_addr or "unknown"
    if address in trusted_proxies:
        hops = [h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",")]
        for hop in reversed([h for h in hops if h]):
            address = hop
            if hop not in trusted_proxies:
                break
    return address[:64]


def idempotency_key(request):
    return request.headers.get("Idempotency-Key")


def wire(fields):
    """Validated fields as they travel by RPC: dates as ISO strings."""
    return {k: v.isoformat() if isinstance(v, date) else
            [wire(i) if isinstance(i, dict) else i for i in v] if isinstance(v, list) else v
            for k, v in fields.items()}


def csv_download(text, *name_parts):
    """A CSV answer saved as a file named from `name_parts` (ids stripped to safe characters)."""
    name = "-".join(re.sub(r"[^A-Za-z0-9_-]+", "-", str(p)).strip("-")[:64] for p in name_parts)
    return Response(text, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{name or "export"}.csv"'})


# multipart's boundaries and headers around a file; the service enforces the exact limit
UPLOAD_ENVELOPE_BYTES = 64 * 1024
CSV_TYPES = ("text/csv", "application/csv")


def csv_upload(request, max_bytes):
    """The file's bytes and name: the raw body (text/csv) or the `file` field of a form."""
    limit = max_bytes + UPLOAD_ENVELOPE_BYTES
    if (request.content_length or 0) > limit:
        # refused before reading: a body this large is not read into memory at all
        raise InvalidRequest(f"the file is larger than the limit of {max_bytes} bytes; "
                             "split it into smaller files", "file")
    request.max_content_length = limit
    if request.mimetype in CSV_TYPES:
        return request.get_data(), None
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None:
            raise InvalidRequest("a multipart upload needs the CSV in a field named file",
                                 "file")
        return upload.read(), upload.filename or None
    raise InvalidRequest("send the CSV as the body with Content-Type: text/csv, or as the "
                         "file field of multipart/form-data", "Content-Type")
