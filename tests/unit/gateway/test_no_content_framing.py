"""What the gateway writes for answers without content, as eventlet 0.33 hands it the bytes:
the headers end the answer; other answers pass untouched (the wire itself is read in
tests/integration/test_gateway_answers.py)."""

from gateway.http import NoContentFraming


class Wire:
    def __init__(self):
        self.written = b""

    def writelines(self, parts):
        self.written += b"".join(parts)


def answer(status, *body):
    """The parts eventlet writes for an answer without a Content-Length."""
    return [f"HTTP/1.1 {status}\r\n".encode(), b"Content-Type: text/plain\r\n",
            b"Transfer-Encoding: chunked\r\n", b"\r\n",
            *(b"%x\r\n%s\r\n" % (len(b), b) for b in body or (b"",))]


def written(*calls, to_head=False):
    wire = Wire()
    framing = NoContentFraming(wire)
    framing.expect_answer(to_head=to_head)
    for parts in calls:
        framing.writelines(parts)
    return wire.written


def test_a_204_ends_with_its_headers_without_chunked_framing():
    assert written(answer("204 No Content")) == (b"HTTP/1.1 204 No Content\r\n"
                                                 b"Content-Type: text/plain\r\n\r\n")


def test_an_answer_to_head_drops_what_follows_its_headers():
    assert written(answer("200 OK", b"{}"), [b"2\r\n{}\r\n"], to_head=True) == (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n")


def test_an_interim_100_continue_is_followed_by_the_real_answer():
    interim = [b"HTTP/1.1 100 Continue\r\n", b"\r\n"]
    assert written(interim, answer("200 OK", b"HTTP/1.1 204 ")) == (
        b"HTTP/1.1 100 Continue\r\n\r\n" + b"".join(answer("200 OK", b"HTTP/1.1 204 ")))


def test_a_later_body_part_that_looks_like_a_status_line_is_body():
    calls = (answer("200 OK", b"first"), [b"HTTP/1.1 204 No Content\r\n"])
    assert written(*calls) == b"".join(part for parts in calls for part in parts)
