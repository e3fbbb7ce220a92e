"""The text of attached PDF and DOCX files is searchable: real files made here (python-docx, a hand-written
PDF), uploaded through the page, indexed through the outbox, extracted in a bounded child process."""

from __future__ import annotations

import io
import sys
import zipfile
from pathlib import Path
from urllib.parse import urlsplit

import docx
import pytest
import sqlalchemy as sa

from app.case_studies.models import Attachment
from app.case_studies.models import CaseStudy
from app.extensions import db
from app.search import extract
from app.search.models import SearchOutbox
from tests.functional.test_attachments import upload
from tests.functional.test_search_ranking import neutral
from tests.functional.test_search_ranking import order

ALMATY = ("KZ-75", None)


def pdf_with_text(*pages: str) -> bytes:
    """A valid PDF with one page per string, each showing it in Helvetica (ASCII text)."""
    count = len(pages)
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(b"%d 0 R" % (4 + 2 * i) for i in range(count)),
                                                             count),
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    for number, text in enumerate(pages):
        stream = b"BT /F1 12 Tf 72 720 Td (" + text.encode("ascii") + b") Tj ET"
        objects.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents %d 0 R "
                       b"/Resources << /Font << /F1 3 0 R >> >> >>" % (5 + 2 * number))
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def docx_with_text(*paragraphs: str, table: list[list[str]] | None = None) -> bytes:
    """A real Word document written with python-docx."""
    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, text in enumerate(row):
                grid.cell(r, c).text = text
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def attachment_names(client, slug: str) -> list[str]:
    """The original names of the files the database holds for case study ``slug`` now."""
    with client.application.app_context():
        return db.session.scalars(sa.select(Attachment.original_name).join(CaseStudy)
                                  .where(CaseStudy.slug == slug)).all()


def redirected_with_success(client, response, slug: str) -> bool:
    """A refused upload or delete also redirects to the case page: only the flashes tell them apart. They are
    taken out of the session, as the next page would (the search API calls between uploads show none)."""
    with client.session_transaction() as session:
        categories = [category for category, _message in session.pop("_flashes", [])]
    return (response.status_code == 303 and urlsplit(response.headers["Location"]).path == f"/cases/{slug}"
            and categories == ["success"])


def stored(client, response, slug: str, name: str) -> bool:
    """The upload of ``name`` succeeded: success flashed, back on the case page, and the file recorded."""
    return redirected_with_success(client, response, slug) and name in attachment_names(client, slug)


def deleted(client, response, slug: str, name: str) -> bool:
    """The delete succeeded: success flashed, back on the case page, and the file's row gone."""
    return redirected_with_success(client, response, slug) and name not in attachment_names(client, slug)


@pytest.fixture
def member(app, client, make_user, login_as):
    login_as(make_user("akim", akimat=ALMATY))
    return client


def test_attachment_text_is_found_and_gone_with_the_file(app, member, make_case, db_session):
    slug = make_case("published", **neutral(title="Water for villages"))
    assert order(member, "хлорирование") == [] and order(member, "ultraviolet") == []

    word = docx_with_text("Отчёт: хлорирование воды в сёлах.", table=[["Этап", "Озонирование"]])
    assert stored(member, upload(member, slug, "report.docx", word), slug, "report.docx")
    assert order(member, "хлорирование") == [slug]  # the very next request
    assert order(member, "озонирования") == [slug]  # table cells too, and Russian inflection
    scan = pdf_with_text("Ultraviolet disinfection units")
    assert stored(member, upload(member, slug, "scan.pdf", scan), slug, "scan.pdf")
    assert order(member, "ultraviolet") == [slug]
    assert order(member, '"ultraviolet disinfection"') == [slug]

    pdf_id = db_session.scalar(sa.select(Attachment.id).where(Attachment.original_name == "scan.pdf"))
    keys = db_session.scalars(sa.select(SearchOutbox.doc_key)).all()
    assert keys.count(slug) >= 3  # publish, and each upload wrote an outbox row for the case
    assert deleted(member, member.post(f"/cases/{slug}/attachments/{pdf_id}/delete"), slug, "scan.pdf")
    assert order(member, "ultraviolet") == []
    assert order(member, "хлорирование") == [slug]


def test_attachment_text_ranks_below_the_case_text(member, make_case):
    in_file = make_case("published", **neutral(title="Water for villages"))
    in_body = make_case("published", **neutral(title="Water for towns", problem="Ultraviolet disinfection."))
    scan = pdf_with_text("Ultraviolet disinfection")
    assert stored(member, upload(member, in_file, "scan.pdf", scan), in_file, "scan.pdf")
    assert order(member, "ultraviolet") == [in_body, in_file]


def test_a_corrupt_file_gives_no_text_and_no_error(app, member, make_case):
    slug = make_case("published", **neutral(title="Water for villages"))
    broken = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 9 0 R >>\nendobj\ntrailer\n<<>>\n%%EOF"  # no xref
    assert stored(member, upload(member, slug, "broken.pdf", broken), slug, "broken.pdf")
    assert order(member, "villages") == [slug]
    assert member.get(f"/cases/{slug}").status_code == 200
    with app.app_context():
        cache = Path(app.config["SEARCH_INDEX_DIR"]) / extract.CACHE_DIR
        assert [p.read_text() for p in cache.glob("*.txt")] == [""]  # tried once, remembered as "no text"


def test_extraction_is_capped_in_pages_and_characters(tmp_path):
    pdf = tmp_path / "three.pdf"
    pdf.write_bytes(pdf_with_text("alpha first", "bravo second", "charlie third"))
    assert "charlie" in extract.extract_file(pdf, extract.PDF_TYPE)
    text = extract.extract_file(pdf, extract.PDF_TYPE, max_pages=2)
    assert "alpha" in text and "bravo" in text and "charlie" not in text

    word = tmp_path / "long.docx"
    word.write_bytes(docx_with_text(*(f"Paragraph number {n} about heating." for n in range(500))))
    assert len(extract.extract_file(word, extract.DOCX_TYPE, max_chars=300)) <= 300
    assert extract.extract_file(word, extract.PDF_TYPE) == ""  # not a PDF after all
    assert extract.extract_file(tmp_path / "missing.pdf", extract.PDF_TYPE) == ""
    assert extract.extract_file(word, "image/png") == ""


def test_a_stuck_extraction_is_killed_at_the_time_limit():
    # A child that would print after a minute: the limit kills it and the answer is "no text".
    late = [sys.executable, "-c", "import time; time.sleep(60); print('late')"]
    assert extract.run_bounded(late, timeout=0.5) is None
    assert extract.run_bounded([sys.executable, "-c", "print('on time')"], timeout=30) == "on time\n"
    assert extract.run_bounded([sys.executable, "-c", "raise SystemExit(3)"], timeout=30) is None


@pytest.mark.parametrize("app_overrides", [{"SEARCH_EXTRACT_CASE_BUDGET": 0}])
def test_new_files_beyond_the_case_budget_wait_for_a_later_reindex(app, member, make_case, runner):
    slug = make_case("published", **neutral(title="Water for villages"))
    assert stored(member, upload(member, slug, "scan.pdf", pdf_with_text("Ultraviolet disinfection")), slug, "scan.pdf")
    assert order(member, "villages") == [slug]  # indexed, without the file's text: no time was left for it
    assert order(member, "ultraviolet") == []
    cache = Path(app.config["SEARCH_INDEX_DIR"]) / extract.CACHE_DIR
    assert not cache.exists() or list(cache.glob("*.txt")) == []  # nothing remembered: it will be tried again
    app.config["SEARCH_EXTRACT_CASE_BUDGET"] = 30
    assert runner.invoke(args=["search", "reindex"]).exit_code == 0
    assert order(member, "ultraviolet") == [slug]


def test_a_docx_zip_bomb_gives_no_text(tmp_path):
    # A real DOCX whose document.xml inflates to 40 MB of one repeated paragraph (about 60 KB on disk).
    original = docx_with_text("bomb")
    bomb = tmp_path / "bomb.docx"
    with zipfile.ZipFile(io.BytesIO(original)) as source, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as out:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "word/document.xml":
                paragraph = b"<w:p><w:r><w:t>bomb</w:t></w:r></w:p>"
                data = data.replace(paragraph, paragraph * (40 * 1024 * 1024 // len(paragraph)))
            out.writestr(item, data)
    assert bomb.stat().st_size < 1024 * 1024
    assert extract.extract_file(bomb, extract.DOCX_TYPE) == ""
