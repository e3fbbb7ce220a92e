"""Unit tests for attachment type detection and file-name handling (app/case_studies/attachments/services.py), on real
bytes built here: a hand-written PDF, PNG/JPEG/WebP images, and DOCX/XLSX/PPTX/ODT packages made with zipfile.
No Flask app is needed. The builders are also used by tests/functional/test_attachments.py.
"""

from __future__ import annotations

import base64
import io
import struct
import zipfile
import zlib
from urllib.parse import unquote

import pytest

from app.case_studies.attachments import services as attachments
from app.errors import ValidationFailed

# --- real files --------------------------------------------------------------------------------------


def pdf_bytes(padding: int = 0) -> bytes:
    """A valid one-page PDF (objects, xref table with exact offsets, trailer); ``padding`` adds a comment."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    if padding:
        out += b"%" + b"x" * padding + b"\n"
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bytes() -> bytes:
    """A valid 1×1 red PNG."""
    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header)
            + _png_chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + _png_chunk(b"IEND", b""))


def jpeg_bytes() -> bytes:
    """A JPEG/JFIF header (SOI, APP0 JFIF 1.1) and end marker."""
    app0 = b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    return b"\xff\xd8" + b"\xff\xe0" + struct.pack(">H", len(app0) + 2) + app0 + b"\xff\xd9"


def webp_bytes() -> bytes:
    """A valid 1×1 lossless WebP (RIFF/WEBP/VP8L)."""
    return base64.b64decode("UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA==")


OOXML_PARTS = {
    "docx": ("word/document.xml",
             "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
             '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
             "<w:body><w:p><w:r><w:t>Есеп</w:t></w:r></w:p></w:body></w:document>"),
    "xlsx": ("xl/workbook.xml",
             "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
             '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheets/></workbook>'),
    "pptx": ("ppt/presentation.xml",
             "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml",
             '<p:presentation xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main"/>'),
    "docm": ("word/document.xml", "application/vnd.ms-word.document.macroEnabled.main+xml", "<w:document/>"),
}


def ooxml_bytes(kind: str, *, main_first: bool = False, extra_first: int = 0, doctype: bool = False) -> bytes:
    """An Office Open XML package: [Content_Types].xml, _rels/.rels, the main part and docProps.

    :param main_first: put the main part before [Content_Types].xml (order is free in OPC).
    :param extra_first: this many other parts first (as some generators write them).
    """
    part, content_type, body = OOXML_PARTS[kind]
    types = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        + ('<!DOCTYPE Types [<!ENTITY a "aaaa">]>' if doctype else "")
        + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/{part}" ContentType="{content_type}"/>'
        '<Override PartName="/docProps/app.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/>'
        "</Types>"
    )
    rels = (
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        f'officeDocument" Target="{part}"/></Relationships>'
    )
    entries = [("[Content_Types].xml", types), ("_rels/.rels", rels), (part, body),
               ("docProps/app.xml", "<Properties/>")]
    if main_first:
        entries.insert(0, entries.pop(2))
    extras = [(f"customXml/item{n}.xml", "<x>" + "padding " * 200 + "</x>") for n in range(extra_first)]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in extras + entries:
            archive.writestr(name, text)
    return buffer.getvalue()


def odf_bytes(mimetype: str = "application/vnd.oasis.opendocument.text", *, mimetype_first: bool = True) -> bytes:
    """An OpenDocument package: ``mimetype`` first and stored uncompressed, then manifest and content."""
    manifest = (
        '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" '
        'manifest:version="1.2"><manifest:file-entry manifest:full-path="/" '
        f'manifest:media-type="{mimetype}"/></manifest:manifest>'
    )
    content = ('<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0">'
               "<office:body><office:text/></office:body></office:document-content>")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        if not mimetype_first:
            archive.writestr("content.xml", content)
        archive.writestr(zipfile.ZipInfo("mimetype"), mimetype, compress_type=zipfile.ZIP_STORED)
        archive.writestr("META-INF/manifest.xml", manifest)
        if mimetype_first:
            archive.writestr("content.xml", content)
    return buffer.getvalue()


def plain_zip_bytes() -> bytes:
    """A ZIP that is not an office document."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notes.txt", "just a zip")
        archive.writestr("word/readme.txt", "a folder named word/ does not make a Word document")
    return buffer.getvalue()


def word_folder_zip_bytes() -> bytes:
    """A ZIP whose first member sits under word/ but that has no [Content_Types].xml (not a package)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("word/document.html", "<script>alert(1)</script>")
    return buffer.getvalue()


def exe_bytes() -> bytes:
    """The start of a Windows program (MZ header, PE offset)."""
    return b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 44 + b"\x80\x00\x00\x00"


# name -> (bytes, content type the sniffer must find)
GOOD_FILES = {
    "report.pdf": (pdf_bytes(), "application/pdf"),
    "slides.pptx": (ooxml_bytes("pptx"), attachments.PPTX.content_type),
    "table.xlsx": (ooxml_bytes("xlsx"), attachments.XLSX.content_type),
    "memo.docx": (ooxml_bytes("docx"), attachments.DOCX.content_type),
    "memo.odt": (odf_bytes(), attachments.ODT.content_type),
    "photo.jpg": (jpeg_bytes(), "image/jpeg"),
    "map.png": (png_bytes(), "image/png"),
    "photo.webp": (webp_bytes(), "image/webp"),
}

# name -> bytes that must be refused whatever the name says
BAD_FILES = {
    "program.pdf": exe_bytes(),
    "page.png": b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>",
    "archive.docx": plain_zip_bytes(),
    "fake.docx": word_folder_zip_bytes(),
    "notes.pdf": "Просто текст, не PDF.\n".encode(),
    "macro.docx": ooxml_bytes("docm"),
    "sheet.odt": odf_bytes("application/vnd.oasis.opendocument.spreadsheet"),
    "installer.docx": exe_bytes() + ooxml_bytes("docx"),  # a program with a document appended
    "image.png": b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
    "anim.png": b"GIF89a\x01\x00\x01\x00\x00\x00\x00;",
    "broken.docx": b"PK\x03\x04word/document.xml" + b"\x00" * 64,
}


# --- sniffing -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(GOOD_FILES))
def test_sniff_accepts_real_files(name):
    content, content_type = GOOD_FILES[name]
    stream = io.BytesIO(content)
    kind = attachments.sniff(stream)
    assert kind is not None and kind.content_type == content_type
    assert stream.tell() == 0


@pytest.mark.parametrize("name", list(BAD_FILES))
def test_sniff_refuses_other_content(name):
    assert attachments.sniff(io.BytesIO(BAD_FILES[name])) is None


@pytest.mark.parametrize("kind", ["docx", "xlsx", "pptx"])
def test_sniff_ooxml_does_not_depend_on_member_order(kind):
    for content in (ooxml_bytes(kind, main_first=True), ooxml_bytes(kind, extra_first=6)):
        assert attachments.sniff(io.BytesIO(content)).extension == kind


def test_sniff_odt_needs_mimetype_first():
    assert attachments.sniff(io.BytesIO(odf_bytes(mimetype_first=False))) is None


def test_sniff_refuses_a_package_with_a_doctype():
    assert attachments.sniff(io.BytesIO(ooxml_bytes("docx", doctype=True))) is None


def test_sniff_refuses_empty_and_truncated_input():
    assert attachments.sniff(io.BytesIO(b"")) is None
    assert attachments.sniff(io.BytesIO(ooxml_bytes("docx")[:200])) is None
    assert attachments.sniff(io.BytesIO(b"%PDF")) is None
    assert attachments.sniff(io.BytesIO(b"\x89PNG\r\n\x1a\n")) is None


# --- names --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "clean"), [
    ("Отчёт по Onay 2016.pdf", "Отчёт по Onay 2016.pdf"),
    ("Есеп қорытындысы.docx", "Есеп қорытындысы.docx"),
    ("  spaced   out\tname .pdf ", "spaced out name .pdf"),
    ("gpj.\u202eexe.pdf", "gpj.exe.pdf"),  # a right-to-left override would show "fdp.exe.jpg"
    ("bell\x07and\x00nul.pdf", "bellandnul.pdf"),
    (".hidden.pdf", "hidden.pdf"),
    ("Е\u0301сеп.pdf", "Е\u0301сеп.pdf"),  # no precomposed form: kept as typed
    ("й.pdf".replace("й", "и\u0306"), "й.pdf"),  # decomposed й becomes one letter (NFC)
    ("<img src=x onerror=alert(1)>.pdf", "<img src=x onerror=alert(1)>.pdf"),  # escaping is the template's job
])
def test_clean_filename_keeps_letters_and_drops_controls(raw, clean):
    assert attachments.clean_filename(raw) == clean


@pytest.mark.parametrize("raw", ["../../etc/passwd.pdf", "..\\x.pdf", "a/b.pdf", "C:\\Users\\x.pdf", "..", "x..pdf",
                                 ".\u200b./x.pdf"])
def test_clean_filename_refuses_paths(raw):
    with pytest.raises(ValidationFailed) as error:
        attachments.clean_filename(raw)
    assert error.value.errors[0][0] == "file"
    assert "must not contain" in error.value.errors[0][1]._args[0]


@pytest.mark.parametrize("raw", ["", None, "   ", "\x00\x01", ".", "\u200b"])
def test_clean_filename_refuses_empty_names(raw):
    with pytest.raises(ValidationFailed) as error:
        attachments.clean_filename(raw)
    assert "empty" in error.value.errors[0][1]._args[0]


def test_clean_filename_caps_at_255_keeping_the_extension():
    name = attachments.clean_filename("Ж" * 400 + ".docx")
    assert len(name) == 255 and name.endswith("Ж.docx")
    assert len(attachments.clean_filename("x" * 300)) == 255


@pytest.mark.parametrize(("name", "kind", "expected"), [
    ("Отчёт.pdf", attachments.PDF, "Отчёт.pdf"),
    ("photo.JPEG", attachments.JPEG, "photo.JPEG"),
    ("scan.png", attachments.PDF, "scan.pdf"),  # another accepted type's extension is replaced
    ("Отчёт", attachments.PDF, "Отчёт.pdf"),
    ("version 2.5 final", attachments.DOCX, "version 2.5 final.docx"),
    ("setup.exe", attachments.PDF, "setup.exe.pdf"),
])
def test_name_for_matches_the_extension_to_the_content(name, kind, expected):
    assert attachments.name_for(name, kind) == expected


def test_name_for_stays_within_255():
    assert len(attachments.name_for("a" * 255, attachments.PDF)) == 255


@pytest.mark.parametrize(("name", "fallback"), [
    ("Отчёт по Onay 2016.pdf", "Otchet po Onay 2016.pdf"),
    ("Есеп қорытындысы.docx", "Esep qorytyndysy.docx"),
    ('say "hi"; 100%.pdf', "say _hi__ 100_.pdf"),
    ("日本語.pdf", "attachment.pdf"),
    ("文書", "attachment.pdf"),
])
def test_ascii_filename(name, fallback):
    assert attachments.ascii_filename(name, fallback.rsplit(".", 1)[1]) == fallback


def test_content_disposition_round_trips_the_name():
    name = 'Есеп "қорытындысы" 100%; v2.docx'
    header = attachments.content_disposition(name, "docx")
    assert header.startswith('attachment; filename="')
    assert header.isascii() and "\r" not in header and "\n" not in header
    encoded = header.split("filename*=", 1)[1]
    assert encoded.startswith("UTF-8''")
    assert unquote(encoded[len("UTF-8''"):], encoding="utf-8") == name
    assert '"' not in encoded and ";" not in encoded and " " not in encoded
