"""Reading an uploaded CSV file into rows — pure, no I/O. UTF-8 with or without a byte order
mark (spreadsheets add one); each row comes with the line it starts on, since a quoted cell
may span lines; blank rows (spreadsheets export them as ",,,") are skipped."""

import base64
import binascii
import csv
import io

from contracts.errors import InvalidRequest

BOM = b"\xef\xbb\xbf"


class UnreadableCsv(ValueError):
    """The file cannot be read as CSV; `reason` says why, `line` where (None: the file)."""

    def __init__(self, reason, line=None):
        super().__init__(reason)
        self.reason, self.line = reason, line


def uploaded(data_base64, max_bytes):
    """The bytes of a file that travelled base64-encoded over RPC, refused when malformed,
    empty or over `max_bytes` (InvalidRequest naming the field)."""
    try:
        data = base64.b64decode(data_base64 or "", validate=True)
    except (binascii.Error, ValueError):
        raise InvalidRequest("the file must travel base64-encoded", "data_base64") from None
    if not data:
        raise InvalidRequest("the file is empty; send the CSV as the request body", "file")
    if len(data) > max_bytes:
        raise InvalidRequest(f"the file has {len(data)} bytes; the limit is {max_bytes}: "
                             "split it into smaller files", "file")
    return data


def decode(data):
    body = data[len(BOM):] if data.startswith(BOM) else data
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        position = exc.start + len(data) - len(body)
        raise UnreadableCsv(f"the file is not UTF-8 text (byte 0x{body[exc.start]:02x} at "
                            f"position {position}); save it as CSV UTF-8") from None


def records(text):
    """Yield (line where the row starts, cells) for every row that is not blank."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    end = 0
    while True:
        start = end + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise UnreadableCsv(f"not valid CSV ({exc}); check its quotes", start) from None
        end = reader.line_num
        if any(value.strip() for value in cells):
            yield start, cells
