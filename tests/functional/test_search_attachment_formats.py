"""The text of attached XLSX, PPTX and OpenDocument files, and (OCR by Tesseract) of images and scanned PDFs, is
searchable: real files made here (openpyxl, python-pptx, a hand-written ODT, images drawn with Pillow), read in
the bounded child process of :mod:`app.search.extract`, uploaded through the page and found by the search API.

The OCR tests need Debian's tesseract-ocr (kaz, rus, eng) and poppler-utils (``make ocr``); without them they are
skipped (failed under ``CI=true``). The path without Tesseract is tested by pointing the app's config (or
``PATH``) at a folder without it, as on a server where it is not installed.
"""

from __future__ import annotations

import io
import logging
import time
import zipfile
from pathlib import Path

import openpyxl
import pptx
import pytest
from PIL import Image
from PIL import ImageDraw
from PIL import ImageFont

from app.search import extract
from tests.conftest import skip_or_fail
from tests.functional.test_attachments import upload
from tests.functional.test_search_attachments import member  # noqa: F401  (a fixture)
from tests.functional.test_search_attachments import pdf_with_text
from tests.functional.test_search_attachments import stored
from tests.functional.test_search_ranking import neutral
from tests.functional.test_search_ranking import order

FONTS = ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/dejavu/DejaVuSans.ttf")
ODF_NAMESPACES = ('xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
                  'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
                  'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
                  'xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0" '
                  'xmlns:presentation="urn:oasis:names:tc:opendocument:xmlns:presentation:1.0"')


# --- files ------------------------------------------------------------------------------------------------


def xlsx_with(sheets: dict[str, list[list]]) -> bytes:
    """A real workbook written by openpyxl: one sheet per entry, rows of cell values."""
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets.items():
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def pptx_with(slides: list[tuple[str, str, str]], table: list[list[str]] | None = None) -> bytes:
    """A real presentation written by python-pptx: (title, body, speaker notes) per slide; a table on the last."""
    presentation = pptx.Presentation()
    for title, body, notes in slides:
        slide = presentation.slides.add_slide(presentation.slide_layouts[1])
        slide.shapes.title.text = title
        slide.placeholders[1].text_frame.text = body
        slide.notes_slide.notes_text_frame.text = notes
    if table:
        shape = slide.shapes.add_table(len(table), len(table[0]), 0, 0, 4_000_000, 1_000_000)
        for r, row in enumerate(table):
            for c, text in enumerate(row):
                shape.table.cell(r, c).text = text
    buffer = io.BytesIO()
    presentation.save(buffer)
    return buffer.getvalue()


def odf_with(body: str, mimetype: str = extract.ODT_TYPE, *, doctype: str = "") -> bytes:
    """An OpenDocument package as LibreOffice writes one: ``mimetype`` first and stored, a manifest, and a
    ``content.xml`` whose ``office:body`` is ``body``."""
    manifest = ('<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" '
                'manifest:version="1.2"><manifest:file-entry manifest:full-path="/" '
                f'manifest:media-type="{mimetype}"/><manifest:file-entry manifest:full-path="content.xml" '
                'manifest:media-type="text/xml"/></manifest:manifest>')
    content = (f'<?xml version="1.0" encoding="UTF-8"?>{doctype}<office:document-content {ODF_NAMESPACES} '
               f'office:version="1.2"><office:body>{body}</office:body></office:document-content>')
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), mimetype, compress_type=zipfile.ZIP_STORED)
        archive.writestr("META-INF/manifest.xml", manifest)
        archive.writestr("content.xml", content)
    return buffer.getvalue()


ODT_BODY = ('<office:text><text:h text:outline-level="1">Озеленение дворов</text:h>'
            '<text:p>Посадка<text:s text:c="2"/><text:span>саженцев</text:span> в <text:a>парках'
            '</text:a><text:note><text:note-citation>1</text:note-citation><text:note-body>'
            '<text:p>Сноска: капельный полив</text:p></text:note-body></text:note>.</text:p>'
            '<table:table><table:table-row><table:table-cell><text:p>Газоны</text:p></table:table-cell>'
            '</table:table-row></table:table></office:text>')


def rezipped(original: bytes, replace: dict[str, bytes] | None = None, extra: dict[str, bytes] | None = None) -> bytes:
    """``original`` (a ZIP) with some members' bytes replaced and others added."""
    replace = replace or {}
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(original)) as source, zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as out:
        for item in source.infolist():
            out.writestr(item, replace.get(item.filename, source.read(item)))
        for name, data in (extra or {}).items():
            out.writestr(name, data)
    return buffer.getvalue()


def font(size: int) -> ImageFont.FreeTypeFont:
    """DejaVu Sans (Cyrillic, Kazakh letters), which Debian's fontconfig depends on."""
    for path in FONTS:
        if Path(path).is_file():
            return ImageFont.truetype(path, size)
    skip_or_fail("no DejaVu Sans font to draw Cyrillic text with (Debian: fonts-dejavu-core)", "font")
    raise AssertionError("unreachable")


def picture(*lines: str) -> Image.Image:
    """Black printed text on white, as a scanner would give it."""
    image = Image.new("L", (1400, 120 + 90 * len(lines)), 255)
    draw = ImageDraw.Draw(image)
    for number, line in enumerate(lines):
        draw.text((60, 60 + 90 * number), line, fill=0, font=font(44))
    return image


def image_bytes(image: Image.Image, kind: str) -> bytes:
    """``image`` saved as PNG, JPEG, WebP or (a scan without a text layer) PDF."""
    buffer = io.BytesIO()
    if kind == "PDF":
        image.convert("RGB").save(buffer, "PDF", resolution=150)
    else:
        image.convert("RGB").save(buffer, kind, **({"quality": 90} if kind in ("JPEG", "WEBP") else {}))
    return buffer.getvalue()


def require_ocr() -> extract.OcrTools:
    """The installed OCR programs; skip (or, under CI=true, fail) without all three languages and pdftoppm."""
    tools = extract.ocr_tools()
    complete = tools is not None and tools.pdftoppm is not None and tools.languages == "kaz+rus+eng"
    skip_or_fail(None if complete else "Tesseract (kaz, rus, eng) or pdftoppm not installed (make ocr)", "Tesseract")
    return tools


@pytest.fixture
def fresh_ocr_lookup():
    """Forget which OCR programs were found, before and after the test (it changes what can be found)."""
    extract.ocr_tools.cache_clear()
    yield
    extract.ocr_tools.cache_clear()


# --- the text of each format ----------------------------------------------------------------------------------


def test_xlsx_text_is_every_sheet_and_cell(tmp_path):
    path = tmp_path / "budget.xlsx"
    path.write_bytes(xlsx_with({"Бюджет": [["Статья", "Сумма"], ["Асфальтирование", 1500000]],
                                "Итоги": [[None, "Геотермальный"], [], ["=1+1", 3.5]]}))
    text = extract.extract_file(path, extract.XLSX_TYPE)
    for word in ("Бюджет", "Итоги", "Статья", "Асфальтирование", "1500000", "Геотермальный", "3.5"):
        assert word in text
    assert len(extract.extract_file(path, extract.XLSX_TYPE, max_chars=20)) <= 20


def test_xlsx_with_a_huge_declared_dimension_is_read_as_stored(tmp_path):
    # One cell in the last row and a dimension of the whole grid: openpyxl would pad 1,048,576 rows to 16,384
    # cells each; read as stored, it takes no time.
    original = xlsx_with({"Лист": [["Начало"]]})
    with zipfile.ZipFile(io.BytesIO(original)) as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml").decode()
    head, _sep, tail = sheet.partition("<sheetData>")
    head = head.replace('<dimension ref="A1"/>', '<dimension ref="A1:XFD1048576"/>')
    last = '<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>Последняя</t></is></c></row>'
    sheet = head + "<sheetData>" + tail.replace("</sheetData>", last + "</sheetData>")
    path = tmp_path / "grid.xlsx"
    path.write_bytes(rezipped(original, {"xl/worksheets/sheet1.xml": sheet.encode()}))
    started = time.monotonic()
    text = extract.extract_file(path, extract.XLSX_TYPE)
    assert "Начало" in text and "Последняя" in text
    assert time.monotonic() - started < 5


def test_pptx_text_is_slides_tables_and_notes(tmp_path):
    path = tmp_path / "talk.pptx"
    path.write_bytes(pptx_with([("Энергосбережение", "Замена ламп на светодиоды", "Спикер: рекуперация тепла"),
                                ("Results", "Heating bills fell", "Ask about geothermal")],
                               table=[["Район", "Экономия"], ["Медеуский", "12%"]]))
    text = extract.extract_file(path, extract.PPTX_TYPE)
    for word in ("Энергосбережение", "светодиоды", "рекуперация", "Results", "Heating", "geothermal", "Медеуский",
                 "Экономия"):
        assert word in text
    assert text.index("Энергосбережение") < text.index("Results") < text.index("рекуперация")  # slides, then notes


def test_opendocument_text_spreadsheet_and_presentation(tmp_path):
    odt = tmp_path / "report.odt"
    odt.write_bytes(odf_with(ODT_BODY))
    text = extract.extract_file(odt, extract.ODT_TYPE)
    assert "Озеленение дворов" in text
    assert "Посадка  саженцев в парках." in text  # text:s c="2" is two spaces; the note's citation mark is not text
    assert "капельный полив" in text and "Газоны" in text
    assert text.count("капельный") == 1  # the note's paragraph once, not again inside its outer paragraph

    ods = tmp_path / "table.ods"
    ods.write_bytes(odf_with('<office:spreadsheet><table:table table:name="Лист1"><table:table-row>'
                             '<table:table-cell office:value-type="string"><text:p>Водоканал</text:p>'
                             '</table:table-cell></table:table-row></table:table></office:spreadsheet>',
                             extract.ODS_TYPE))
    assert "Водоканал" in extract.extract_file(ods, extract.ODS_TYPE)
    odp = tmp_path / "slides.odp"
    odp.write_bytes(odf_with('<office:presentation><draw:page><draw:frame><draw:text-box><text:p>Тарифы</text:p>'
                             '</draw:text-box></draw:frame></draw:page></office:presentation>', extract.ODP_TYPE))
    assert "Тарифы" in extract.extract_file(odp, extract.ODP_TYPE)


def test_corrupt_and_bomb_packages_give_no_text(tmp_path):
    workbook = xlsx_with({"Лист": [["Начало"]]})
    cases = {
        # Inflates to 40 MB of one sheet (about 40 KB on disk).
        "bomb.xlsx": (extract.XLSX_TYPE, rezipped(workbook, {
            "xl/worksheets/sheet1.xml": b"<worksheet>" + b" " * (40 * 1024 * 1024) + b"</worksheet>"})),
        # More members than any real document has.
        "many.pptx": (extract.PPTX_TYPE, rezipped(pptx_with([("Слайд", "Текст", "")]),
                                                  extra={f"ppt/media/m{n}.xml": b"" for n in range(10_001)})),
        "broken.xlsx": (extract.XLSX_TYPE, rezipped(workbook, {"xl/worksheets/sheet1.xml": b"<worksheet><sheetDa"})),
        "truncated.pptx": (extract.PPTX_TYPE, pptx_with([("Слайд", "Текст", "")])[:2000]),
        # Entities are never expanded (here harmless; nested ones would be a "billion laughs").
        "entities.odt": (extract.ODT_TYPE, odf_with("<office:text><text:p>&a;&a;</text:p></office:text>",
                                                    doctype='<!DOCTYPE x [<!ENTITY a "Взрыв">]>')),
        "noise.odt": (extract.ODT_TYPE, b"PK\x03\x04" + b"\x00" * 200),
    }
    for name, (content_type, data) in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        assert extract.extract_file(path, content_type) == "", name
    assert (tmp_path / "bomb.xlsx").stat().st_size < 1024 * 1024


# --- OCR --------------------------------------------------------------------------------------------------------


def test_images_and_scanned_pdf_pages_are_read_by_ocr(tmp_path):
    tools = require_ocr()
    scan = picture("Водоснабжение сельских округов", "Ultraviolet disinfection units", "Ауылдық округтер")
    for kind, content_type in (("PNG", extract.PNG_TYPE), ("JPEG", extract.JPEG_TYPE), ("WEBP", extract.WEBP_TYPE),
                               ("PDF", extract.PDF_TYPE)):
        path = tmp_path / f"scan.{kind.lower()}"
        path.write_bytes(image_bytes(scan, kind))
        text = extract.extract_file(path, content_type, ocr=tools)
        for word in ("Водоснабжение", "сельских", "Ultraviolet", "disinfection", "Ауылдық"):
            assert word in text, (kind, text)
        assert extract.extract_file(path, content_type) == ""  # no OCR asked for: no text


def test_only_pdf_pages_without_a_text_layer_are_ocrd(tmp_path):
    tools = require_ocr()
    from pypdf import PdfReader
    from pypdf import PdfWriter

    writer = PdfWriter()
    for data in (pdf_with_text("Typed page about heating networks"), image_bytes(picture("Озеленение дворов"), "PDF")):
        for page in PdfReader(io.BytesIO(data)).pages:
            writer.add_page(page)
    path = tmp_path / "mixed.pdf"
    with path.open("wb") as out:
        writer.write(out)
    text = extract.extract_file(path, extract.PDF_TYPE, ocr=tools)
    assert "heating networks" in text and "Озеленение" in text
    assert text.index("heating") < text.index("Озеленение")  # in page order
    assert text.count("heating") == 1  # the typed page is not OCR'd as well
    assert extract.extract_file(path, extract.PDF_TYPE).strip() == "Typed page about heating networks"


def test_ocr_stops_when_its_time_is_up(tmp_path):
    tools = require_ocr()
    path = tmp_path / "scan.png"
    path.write_bytes(image_bytes(picture("Ultraviolet disinfection units"), "PNG"))
    # The child keeps a margin of at least half a second before the parent's kill: no time for Tesseract at all.
    assert extract._extract(path, extract.PNG_TYPE, 0.5, 1000, 50, tools) == ("", False)
    assert extract._extract(path, extract.PNG_TYPE, 30, 1000, 50, tools)[1] is True


def test_image_sizes_are_read_from_headers_and_a_pixel_bomb_is_not_ocrd(tmp_path):
    tools = require_ocr()
    image = picture("Ultraviolet")
    for name, options in (("a.png", {}), ("a.jpg", {"progressive": True}), ("a.webp", {}),
                          ("lossless.webp", {"lossless": True}), ("extended.webp", {"exif": b"Exif\x00\x00MM"})):
        path = tmp_path / name
        image.convert("RGB").save(path, **options)
        assert extract._image_pixels(str(path)) == image.width * image.height, name
    assert (tmp_path / "extended.webp").read_bytes()[12:16] == b"VP8X"
    (tmp_path / "noise.png").write_bytes(b"not an image")
    assert extract._image_pixels(str(tmp_path / "noise.png")) is None
    # 64 megapixels of white in about 10 KB: refused from its header, at once, as "no text" (complete).
    bomb = tmp_path / "bomb.png"
    Image.new("1", (8000, 8000), 1).save(bomb, optimize=True)
    assert bomb.stat().st_size < 100_000
    started = time.monotonic()
    assert extract._extract(bomb, extract.PNG_TYPE, 10, 1000, 50, tools) == ("", True)
    assert time.monotonic() - started < 3


def test_without_tesseract_on_path_extraction_gives_no_ocr_text(tmp_path, monkeypatch, caplog, fresh_ocr_lookup):
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: no tesseract, no pdftoppm
    with caplog.at_level(logging.WARNING, logger="app.search.extract"):
        assert extract.ocr_tools() is None
        assert extract.ocr_tools() is None
    assert [r.message.split(" ")[0] for r in caplog.records if r.name == "app.search.extract"] == ["Tesseract"]
    typed = tmp_path / "typed.pdf"
    typed.write_bytes(pdf_with_text("Ultraviolet disinfection"))
    assert extract.extract_file(typed, extract.PDF_TYPE, ocr=extract.ocr_tools()) == "Ultraviolet disinfection"


# --- through the app: upload, index, search -------------------------------------------------------------------


def test_each_new_type_uploaded_makes_its_case_findable(app, member, make_case):  # noqa: F811
    require_ocr()
    slug = make_case("published", **neutral(title="Archive of minutes"))
    files = {
        "budget.xlsx": (xlsx_with({"Смета": [["Асфальтирование", 1500000]]}), "асфальтирование"),
        "talk.pptx": (pptx_with([("Энергосбережение", "Светодиоды", "Рекуперация")]), "рекуперация"),
        "report.odt": (odf_with(ODT_BODY), "саженцев"),
        "photo.jpg": (image_bytes(picture("Канализация и очистка"), "JPEG"), "канализация"),
        "scan.png": (image_bytes(picture("Ultraviolet disinfection"), "PNG"), "ultraviolet"),
        "board.webp": (image_bytes(picture("Водоснабжение сельских округов"), "WEBP"), "водоснабжение"),
        "scan.pdf": (image_bytes(picture("Көпір жөндеу"), "PDF"), "көпір"),
    }
    for name, (data, word) in files.items():
        assert order(member, word) == [], name
        assert stored(member, upload(member, slug, name, data), slug, name), name
        assert order(member, word) == [slug], name  # the very next request


def test_a_bomb_or_broken_package_is_stored_without_text_and_without_error(app, member, make_case):  # noqa: F811
    slug = make_case("published", **neutral(title="Water for villages"))
    workbook = xlsx_with({"Лист": [["Начало"]]})
    sheet = "xl/worksheets/sheet1.xml"
    bomb = rezipped(workbook, {sheet: b"<worksheet>" + b" " * (40 * 1024 * 1024) + b"</worksheet>"})
    broken = rezipped(workbook, {sheet: '<worksheet><sheetData><row><c t="inlineStr"><is><t>Начало'.encode()})
    for name, data in (("bomb.xlsx", bomb), ("broken.xlsx", broken)):
        assert stored(member, upload(member, slug, name, data), slug, name), name
    assert order(member, "villages") == [slug]
    assert order(member, "начало") == []
    assert member.get(f"/cases/{slug}").status_code == 200
    cache = Path(app.config["SEARCH_INDEX_DIR"]) / extract.CACHE_DIR
    assert sorted(p.read_text() for p in cache.glob("*.txt")) == ["", ""]  # tried once each, remembered as no text


@pytest.mark.parametrize("app_overrides", [{"SEARCH_OCR_TESSERACT": "/nonexistent/tesseract"}])
def test_without_tesseract_search_works_and_images_wait_for_it(app, member, make_case, runner, caplog,  # noqa: F811
                                                              fresh_ocr_lookup):
    slug = make_case("published", **neutral(title="Water for villages"))
    with caplog.at_level(logging.WARNING, logger="app.search.extract"):
        assert stored(member, upload(member, slug, "scan.png", image_bytes(picture("Ultraviolet"), "PNG")), slug,
                      "scan.png")
        assert stored(member, upload(member, slug, "scan.pdf", image_bytes(picture("Канализация"), "PDF")), slug,
                      "scan.pdf")
        assert stored(member, upload(member, slug, "notes.pdf", pdf_with_text("Typed heating notes")), slug,
                      "notes.pdf")
    assert order(member, "villages") == [slug]
    assert order(member, "heating") == [slug]  # a PDF's text layer needs no OCR
    assert order(member, "ultraviolet") == [] and order(member, "канализация") == []
    warnings = [r for r in caplog.records if r.name == "app.search.extract" and r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "/nonexistent/tesseract" in warnings[0].getMessage()  # once, not per file

    # Installed later: the next reindex reads them (what was cached without OCR is not reused).
    tools = require_ocr()
    app.config["SEARCH_OCR_TESSERACT"] = tools.tesseract
    assert runner.invoke(args=["search", "reindex"]).exit_code == 0
    assert order(member, "ultraviolet") == [slug]
    assert order(member, "канализация") == [slug]
