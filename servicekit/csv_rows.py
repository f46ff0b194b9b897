"""Reading an uploaded CSV file into rows — pure, no I/O. UTF-8 with or without a byte order
mark (spreadsheets add one); each row comes with the line it starts on, since a quoted cell
may span lines; blank rows (spreadsheets export them as ",,,") are skipped."""

import csv
import io

BOM = b"\xef\xbb\xbf"


class UnreadableCsv(ValueError):
    """The file cannot be read as CSV; `reason` says why, `line` where (None: the file)."""

    def __init__(self, reason, line=None):
        super().__init__(reason)
        self.reason, self.line = reason, line


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
