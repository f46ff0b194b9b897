"""The one HTTP entrypoint of the gateway: routes return data, it renders JSON, and it alone
maps exceptions to a status and an application/problem+json body (RFC 9457). It reads no
more of a body than the route's kind allows (`gateway/body_limits.py`), gives every answer
the headers that keep it out of caches and sniffers, and answers paths and methods no route
takes with a problem document too (its own WSGI app, instead of werkzeug's HTML pages)."""

import inspect
import json
import logging
import re
from datetime import date
from functools import partial
from urllib.parse import quote

from eventlet.event import Event
from marshmallow import ValidationError
from nameko.exceptions import IncorrectSignature, RemoteError
from nameko.web.handlers import HttpRequestHandler
from nameko.web.server import HttpOnlyProtocol, WebServer, WsgiApp
from werkzeug.exceptions import (
    BadRequest,
    HTTPException,
    MethodNotAllowed,
    RequestEntityTooLarge,
)
from werkzeug.routing import RequestRedirect
from werkzeug.wrappers import Request, Response

from contracts import documents
from contracts.errors import DomainError, InvalidRequest, PayloadTooLarge
from gateway.body_limits import MAX_JSON_DEPTH, limit_for, nesting_exceeds, too_large
from gateway.declaration import Declaration
from servicekit.tracing import (
    CORRELATION_HEADER,
    current_correlation_id,
    new_correlation_id,
    set_correlation_id,
)

log = logging.getLogger("townhall.gateway")
PROBLEM = "application/problem+json"
# every answer: the API's are the caller's own data, never for a shared cache, and never
# to be read as anything but their declared type (pages may add their own, stricter ones)
ANSWER_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
CHUNKED = b"Transfer-Encoding: chunked\r\n"
END_OF_HEADERS = b"\r\n"


class ApiWsgiApp(WsgiApp):
    """nameko's WSGI app, except that a path or a method no route takes is a problem
    document, and a chunked body is readable (eventlet ends it; werkzeug reads a body of
    unknown length only when told that the server does)."""

    def __call__(self, environ, start_response):
        if environ.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked":
            environ["wsgi.input_terminated"] = True
        request = Request(environ, shallow=True)
        try:
            provider, values = self.url_map.bind_to_environ(environ).match()
        except RequestRedirect as exc:
            return exc(environ, start_response)
        except HTTPException as exc:
            response = finished(no_route(exc, request), new_correlation_id())
        else:
            request.path_values = values
            response = provider.handle_request(request)
        return response(environ, start_response)


class ApiServer(WebServer):
    def get_wsgi_app(self):
        return ApiWsgiApp(self)

    def get_wsgi_server(self, sock, wsgi_app, protocol=None, debug=False):
        return super().get_wsgi_server(sock, wsgi_app, protocol=AnswerProtocol, debug=debug)


class AnswerProtocol(HttpOnlyProtocol):
    """nameko's HTTP protocol, writing through NoContentFraming."""

    def setup(self):
        super().setup()
        self.wfile = NoContentFraming(self.wfile)

    def handle_one_response(self):
        self.wfile.expect_answer(to_head=self.command == "HEAD")
        super().handle_one_response()


class NoContentFraming:
    """The connection's output as eventlet writes it, except that an answer which has no
    content — 1xx, 204, 304, or any answer to HEAD — ends with its headers.

    eventlet 0.33 (the series nameko runs on) frames every answer without a Content-Length
    as chunked, these too, and ends it with the empty chunk `0\r\n\r\n` (eventlet issues
    746 and 862, fixed in 0.38). HTTP forbids both there (RFC 9110 8.6, RFC 9112 6.1 and
    6.3), and a client reads those five bytes as the start of the next answer on the
    connection: the Twilio sandbox's client refused every status callback's 204 and sent it
    again. eventlet writes an answer's status line and headers in one `writelines` call,
    the header ending as an item of its own."""

    def __init__(self, wfile):
        self.wfile = wfile
        self.to_head = self.awaiting_headers = self.dropping = False

    def expect_answer(self, to_head):
        self.to_head, self.awaiting_headers, self.dropping = to_head, True, False

    def writelines(self, parts):
        parts = list(parts)
        if self.awaiting_headers and parts:
            status = int(parts[0].split(b" ", 2)[1])
            interim = 100 <= status < 200       # 100 Continue: the real answer follows
            self.awaiting_headers = interim
            self.dropping = interim or status in (204, 304) or self.to_head
            if self.dropping:
                end = parts.index(END_OF_HEADERS) + 1
                parts = [part for part in parts[:end] if part != CHUNKED]
        elif self.dropping:
            return
        self.wfile.writelines(parts)

    def __getattr__(self, name):
        return getattr(self.wfile, name)


class ApiEntrypoint(HttpRequestHandler):
    """A route. Beside nameko's arguments it takes the route's declaration
    (gateway/declaration.py): what it takes and answers, for its OpenAPI entry, and the kind
    of body it reads (`body`: json, the default; form; upload), for the body's limit."""

    server = ApiServer()

    def __init__(self, method, url, expected_exceptions=(), sensitive_arguments=(),
                 **declared):
        self.declaration = Declaration(**declared)
        self.body = self.declaration.body
        limit_for(self.body)   # an unknown kind fails when the route is declared
        super().__init__(method, url, expected_exceptions=expected_exceptions,
                         sensitive_arguments=sensitive_arguments)

    _signature = None

    def check_signature(self, args, kwargs):
        # nameko's own check reads the method's signature again on every request (a twentieth
        # of a status callback's CPU); it is read once here
        if self._signature is None:
            self._signature = inspect.signature(getattr(self.container.service_cls,
                                                        self.method_name))
        try:
            self._signature.bind(None, *args, **kwargs)
        except TypeError as exc:
            raise IncorrectSignature(str(exc)) from None

    def handle_request(self, request):
        # the correlation id is fixed before the worker starts, so the response carries
        # it whatever happens inside
        request.shallow = False
        cid = _incoming_correlation_id(request) or new_correlation_id()
        try:
            self.read_body(request)
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
        return finished(response, cid)

    def read_body(self, request):
        """The body, up to the limit of the route's kind, read before any worker sees it:
        refused by its Content-Length before a byte is read, or as soon as a chunked body
        passes the limit. Kept in memory, so JSON and form parsing read it from there.
        Uploads are read by their route, which knows its own limit."""
        limit = limit_for(self.body, self.container.config.get("gateway"))
        if limit is not None:
            read_at_most(request, limit, PayloadTooLarge(too_large(limit, self.body), "body"))

    def response_from_result(self, result):
        if isinstance(result, Response):
            return result
        status, body = result if isinstance(result, tuple) else (200, result)
        return json_response(body, status)

    def response_from_exception(self, exc):
        return problem_for(exc)


def read_at_most(request, limit, too_big):
    """The whole body, kept on the request (werkzeug's parsers then read it from memory),
    or `too_big` raised: by Content-Length before reading, or once a chunked body passes
    `limit` — werkzeug stops a stream of unknown length at its maximum without a word, so
    one byte more than the limit is allowed in, and finding it means the body is too big."""
    if (request.content_length or 0) > limit:
        raise too_big
    request.max_content_length = limit + 1
    request.max_form_memory_size = limit
    try:
        data = request.get_data()
    except RequestEntityTooLarge:
        raise too_big from None
    if len(data) > limit:
        raise too_big
    return data


def finished(response, cid):
    response.headers[CORRELATION_HEADER] = cid
    for name, value in ANSWER_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def no_route(exc, request):
    """404 for a path no route takes; 405 with Allow for a method its path does not take
    (OPTIONS, TRACE and any other word included)."""
    target = f"{request.method} {request.path[:200]}"
    if isinstance(exc, MethodNotAllowed):
        allowed = ", ".join(sorted(exc.valid_methods or ()))
        answer = problem(405, "Method not allowed",
                         f"{request.path[:200]} does not take {request.method}; it takes "
                         f"{allowed}", field="method")
        answer.headers["Allow"] = allowed
        return answer
    if exc.code == 404:
        return problem(404, "Not found", f"there is no {target}; see /openapi.json",
                       field="path")
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
        return problem(exc.status, exc.title, exc.detail, field=exc.field,
                       **getattr(exc, "members", {}))
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
    text = request.get_data(as_text=True)
    if nesting_exceeds(text):
        raise InvalidRequest(f"the body is nested more than {MAX_JSON_DEPTH} levels deep",
                             "body")
    try:
        body = json.loads(text or "null") or {}
    except (ValueError, BadRequest, RecursionError):
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
    """The file's bytes and name: the raw body (text/csv) or the `file` field of a form.
    A body over the limit is refused by its Content-Length before it is read, or, sent
    chunked, as soon as it passes the limit."""
    too_big = PayloadTooLarge(f"the file is larger than the limit of {max_bytes} bytes; "
                              "split it into smaller files", "file")
    data = read_at_most(request, max_bytes + UPLOAD_ENVELOPE_BYTES, too_big)
    if request.mimetype in CSV_TYPES:
        return data, None
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None:
            raise InvalidRequest("a multipart upload needs the CSV in a field named file",
                                 "file")
        return upload.read(), upload.filename or None
    raise InvalidRequest("send the CSV as the body with Content-Type: text/csv, or as the "
                         "file field of multipart/form-data", "Content-Type")


def document_upload(request, what="document"):
    """(bytes, name, declared media type) of a document (or, as `what` says, a ticket's
    attachment): the raw body or the `file` field of a form, refused with 413 past
    documents.MAX_BYTES (by its Content-Length before it is read, or sent chunked as soon as
    it passes the limit). Its kind is the service's to decide, by its content."""
    too_big = PayloadTooLarge(f"the file is larger than {documents.MAX_BYTES:,} bytes "
                              f"(10 MB), the most {_a(what)} may be", "file")
    data = read_at_most(request, documents.MAX_BYTES + UPLOAD_ENVELOPE_BYTES, too_big)
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None:
            raise InvalidRequest(f"a multipart upload needs the {what} in a field named "
                                 "file", "file")
        data, name, declared = upload.read(), upload.filename or None, upload.mimetype
    else:
        name, declared = None, request.mimetype
    if len(data) > documents.MAX_BYTES:
        raise too_big
    return data, name, declared or None


def _a(what):
    return f"an {what}" if what[0] in "aeiou" else f"a {what}"


def download_disposition(filename):
    """Content-Disposition of a download named `filename`: the name in printable ASCII
    (anything else, quotes and backslashes too, as _) and, when that changed it, the whole
    name in UTF-8 as RFC 6266's filename* (a header is Latin-1 on the wire)."""
    plain = "".join(c if " " <= c <= "~" and c not in '"\\' else "_" for c in filename)
    header = f'attachment; filename="{plain}"'
    if plain != filename:
        header += f"; filename*=UTF-8''{quote(filename, safe='')}"
    return header
