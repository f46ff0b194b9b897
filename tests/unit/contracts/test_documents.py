"""What a document may be, decided by its content — no I/O."""

import pytest
from fpdf import FPDF

from contracts import documents
from contracts.errors import InvalidRequest

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
       b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7"
       b"5\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82")
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64
ELF = b"\x7fELF\x02\x01\x01" + b"\x00" * 64


def pdf():
    document = FPDF()
    document.add_page()
    document.set_font("Helvetica", size=12)
    document.cell(text="Board meeting agenda")
    return bytes(document.output())


@pytest.mark.parametrize("data, name, found", [
    (pdf(), "agenda.pdf", ("application/pdf", "agenda.pdf")),
    (PNG, "pool.png", ("image/png", "pool.png")),
    (PNG, "notice.pdf", ("image/png", "notice.pdf")),       # the content decides the kind
    (JPEG, None, ("image/jpeg", "document.jpg")),
    (PNG, "C:\\Users\\pat\\Desktop\\map.png", ("image/png", "map.png")),
    (PNG, "../../etc/passwd", ("image/png", "passwd")),
])
def test_a_pdf_or_an_image_is_taken_by_its_content(data, name, found):
    assert documents.check(data, name) == found


@pytest.mark.parametrize("data, rule", [
    (b"", "empty"),
    (ELF, "its content is application/x-executable"),   # a program named notice.pdf
    (b"%PDX-not really", "no known kind"),
    (b"PK\x03\x04" + b"\x00" * 40, "application/zip"),
    (PNG + b"\x00" * documents.MAX_BYTES, "10 MB"),
])
def test_anything_else_is_refused_naming_the_file_and_the_rule(data, rule):
    with pytest.raises(InvalidRequest) as refused:
        documents.check(data, "notice.pdf")
    assert refused.value.field == "file" and rule in refused.value.detail


def test_the_limit_is_ten_megabytes_and_exactly_that_is_accepted():
    data = PNG + b"\x00" * (documents.MAX_BYTES - len(PNG))
    assert len(data) == documents.MAX_BYTES
    assert documents.check(data)[0] == "image/png"
