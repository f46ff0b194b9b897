"""The gateway's answers on the wire, read byte by byte from a real running gateway: an
answer without content (204, and any answer to HEAD) ends with its headers — no
Transfer-Encoding, no Content-Length on a 204, no body bytes — so the connection stays
usable for the next request. A body after a 204 is read by the client as the start of the
next answer: the Twilio sandbox's client rejected the status callback's answer and retried it."""

import socket
from urllib.parse import urlencode

import pytest
from twilio.request_validator import RequestValidator

from gateway.service import GatewayService
from servicekit import secrets
from servicekit.config import load
from servicekit.testing import free_port

AUTH_TOKEN = "answers-test-token"
READ_TIMEOUT = 0.5   # bytes still to come after the headers would be there by then


@pytest.fixture
def gateway(amqp_uri, container_factory, tmp_path):
    port = free_port()
    config = load(environ={})
    config.update(AMQP_URI=amqp_uri, data_dir=str(tmp_path / "data"),
                  WEB_SERVER_ADDRESS=f"127.0.0.1:{port}")
    config["twilio"] = dict(config["twilio"], auth_token=AUTH_TOKEN)
    config["gateway"] = dict(config["gateway"], port=port,
                             public_url=f"http://127.0.0.1:{port}")
    container_factory(GatewayService, secrets.resolve(config)).start()
    return port


def status_callback(port):
    params = {"MessageSid": "SM" + "0" * 32, "MessageStatus": "delivered"}
    path = "/webhooks/twilio/status"
    signature = RequestValidator(AUTH_TOKEN).compute_signature(
        f"http://127.0.0.1:{port}{path}", params)
    body = urlencode(params)
    return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Content-Type: application/x-www-form-urlencoded\r\n"
            f"X-Twilio-Signature: {signature}\r\nContent-Length: {len(body)}\r\n\r\n"
            f"{body}").encode()


def head(port, path):
    return f"HEAD {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()


def get(port, path):
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()


def answer_without_content(connection, request):
    """(status, {header: value}) of an answer that must end with its headers, and whatever
    bytes arrived after them (none, for a correct answer)."""
    connection.sendall(request)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(65536)
        assert chunk, f"the connection closed inside the headers: {data!r}"
        data += chunk
    headers, _, extra = data.partition(b"\r\n\r\n")
    connection.settimeout(READ_TIMEOUT)
    try:
        while True:
            chunk = connection.recv(65536)
            if not chunk:
                break
            extra += chunk
    except TimeoutError:
        pass
    finally:
        connection.settimeout(None)
    status_line, *lines = headers.decode("latin-1").split("\r\n")
    fields = {name.strip().lower(): value.strip()
              for name, _, value in (line.partition(":") for line in lines)}
    return int(status_line.split()[1]), fields, extra


def test_a_204_ends_with_its_headers_and_the_connection_serves_the_next_request(gateway):
    with socket.create_connection(("127.0.0.1", gateway), timeout=10) as connection:
        status, fields, extra = answer_without_content(connection, status_callback(gateway))
        assert status == 204
        assert "transfer-encoding" not in fields, fields
        assert "content-length" not in fields, fields    # forbidden on a 204 (RFC 9110 8.6)
        assert extra == b"", f"body bytes after a 204: {extra!r}"
        # the same connection answers the next request from its first byte
        status, fields, extra = answer_without_content(connection, head(gateway,
                                                                        "/openapi.json"))
        assert status == 200 and extra == b""


def test_an_answer_to_head_has_its_headers_only(gateway):
    with socket.create_connection(("127.0.0.1", gateway), timeout=10) as connection:
        status, fields, extra = answer_without_content(connection, head(gateway,
                                                                        "/openapi.json"))
        assert status == 200 and fields["content-type"] == "application/json"
        assert "transfer-encoding" not in fields and extra == b""
        connection.sendall(get(gateway, "/openapi.json"))
        assert connection.recv(12).startswith(b"HTTP/1.1 200")
