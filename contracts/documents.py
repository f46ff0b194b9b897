"""What a document may be — pure rules, no I/O.

1. A document is a PDF or an image (PNG, JPEG, GIF, WebP), decided by its content (its
   first bytes, read with the `filetype` library), never by its name or the type a client
   declares: a program named notice.pdf is refused, a PNG sent as application/pdf is a PNG.
2. It is at most MAX_BYTES (10 MB), and not empty.
3. Its name is kept for the download (without any folder part, at most 200 characters);
   without one, it is named by its kind.
Every refusal names the field (`file`) and the rule.
"""

import filetype

from contracts.errors import InvalidRequest

MAX_BYTES = 10 * 1024 * 1024
ACCEPTED = {"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpg",
            "image/gif": "gif", "image/webp": "webp"}
KINDS_IN_WORDS = "a PDF or an image (PNG, JPEG, GIF or WebP)"


def check(data, filename=None, what="document"):
    """(content type, file name) of an acceptable document (or, as `what` says, a ticket's
    attachment), or InvalidRequest."""
    if not data:
        raise InvalidRequest("the file is empty", "file")
    if len(data) > MAX_BYTES:
        raise InvalidRequest(f"the file is {len(data):,} bytes; {_a(what)} is at most "
                             f"{MAX_BYTES:,} bytes (10 MB)", "file")
    kind = filetype.guess(data[:8192])
    found = kind.mime if kind else None
    if found not in ACCEPTED:
        seen = f"its content is {found}" if found else "its content is of no known kind"
        raise InvalidRequest(f"{_a(what)} must be {KINDS_IN_WORDS}, decided by its content "
                             f"whatever its name or declared type; {seen}", "file")
    return found, _name(filename, found)


GENERIC_TYPES = ("application/octet-stream", "binary/octet-stream")


def check_declared(declared, found):
    """A declared media type must be what the content is (a generic one declares nothing):
    a client that calls a file what it is not is told so, naming the field."""
    declared = (declared or "").split(";", 1)[0].strip().lower()
    if declared == "image/jpg":
        declared = "image/jpeg"
    if declared and declared not in GENERIC_TYPES and declared != found:
        raise InvalidRequest(f"the file is declared as {declared} but its content is "
                             f"{found}: send it as what it is", "file")


def _a(what):
    return f"an {what}" if what[0] in "aeiou" else f"a {what}"


def _name(filename, content_type):
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    name = "".join(ch for ch in name if ch.isprintable() and ch not in '"<>')[:200]
    return name or f"document.{ACCEPTED[content_type]}"
