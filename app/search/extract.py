"""Plain text of attached files for the search index, extracted in a bounded way: PDF (text layer, and OCR of
pages without one), DOCX, XLSX, PPTX, OpenDocument (ODT; ODS/ODP read the same way) and, by OCR, JPEG/PNG/WebP.

Attachments are untrusted files: a PDF can be crafted to make a parser loop for minutes or inflate gigabytes,
an Office file can be a ZIP bomb, an image can decompress to gigabytes of pixels. So the text is never extracted
in the indexing process itself. This file doubles as a tiny program that a child process runs
(``python -I extract.py KIND PATH MAX_CHARS MAX_PAGES SECONDS LANGS TESSERACT PDFTOPPM WORKDIR``), which:

* imports nothing of the application (``-I``: no ``PYTHON*`` variables, no script folder on ``sys.path``);
* limits its own address space (``MEMORY_LIMIT``), so a bomb fails with MemoryError instead of eating the host;
  the OCR programs it starts (``pdftoppm``, ``tesseract``) inherit that limit and run in its process group;
* reads at most ``MAX_PAGES`` pages of a PDF and stops after ``MAX_CHARS`` characters; refuses a ZIP package
  (DOCX, XLSX, PPTX, ODT) with more than ``MAX_ZIP_MEMBERS`` members, more than ``MAX_ZIP_BYTES`` declared
  uncompressed in all, or more than ``MAX_XML_BYTES`` in the XML parts it would parse (``zipfile`` never
  inflates a member past its declared size);
* OCRs with Tesseract (``-l kaz+rus+eng``, the installed ones among them) the images and the PDF pages whose text
  layer has fewer than ``MIN_PAGE_LETTERS`` letters (rasterised by poppler's ``pdftoppm`` at ``OCR_DPI``, at most
  ``OCR_MAX_PAGES`` pages per file, at most ``OCR_MAX_SIDE`` pixels a side; an image whose header declares more
  than ``OCR_MAX_PIXELS`` is skipped); it stops starting pages shortly before
  its ``SECONDS`` run out and returns what it has (exit status ``PARTIAL``);
* is killed, with everything it started, by the parent after ``SEARCH_EXTRACT_TIMEOUT`` seconds (default 10); all
  new files of one case share ``SEARCH_EXTRACT_CASE_BUDGET`` seconds (default 30).

Whatever goes wrong — a corrupt, encrypted or truncated file, a timeout, a crash, a missing file, no Tesseract —
the result is "" (no text), never an exception. Where Tesseract (``SEARCH_OCR_TESSERACT``, default ``tesseract``
on ``PATH``) or its kaz/rus/eng data are missing, images and scanned pages give no text, and this is logged once
per process; without ``pdftoppm`` (``SEARCH_OCR_PDFTOPPM``) only scanned PDF pages are lost. Results (empty ones
included, so a bad file costs its timeout once, not at every edit of its case) are cached by the file's SHA-256
under ``SEARCH_INDEX_DIR/text-cache/``; for the kinds that use OCR the key names the OCR languages, so
installing Tesseract later makes those files be read again. The cache is derived data: deleting it only costs
re-extraction.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

PDF_TYPE = "application/pdf"
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX_TYPE = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
ODT_TYPE = "application/vnd.oasis.opendocument.text"
ODS_TYPE = "application/vnd.oasis.opendocument.spreadsheet"
ODP_TYPE = "application/vnd.oasis.opendocument.presentation"
JPEG_TYPE = "image/jpeg"
PNG_TYPE = "image/png"
WEBP_TYPE = "image/webp"
KINDS = {PDF_TYPE: "pdf", DOCX_TYPE: "docx", XLSX_TYPE: "xlsx", PPTX_TYPE: "pptx", ODT_TYPE: "odf",
         ODS_TYPE: "odf", ODP_TYPE: "odf", JPEG_TYPE: "image", PNG_TYPE: "image", WEBP_TYPE: "image"}
OCR_KINDS = frozenset({"pdf", "image"})

DEFAULT_TIMEOUT = 10.0  # seconds per file
DEFAULT_MAX_CHARS = 100_000  # per file
DEFAULT_MAX_PAGES = 50  # of a PDF
DEFAULT_CASE_BUDGET = 30.0  # seconds of extraction per case document, all its new files together
MAX_CASE_CHARS = 200_000  # all attachments of one case study together
MAX_XML_BYTES = 32 * 1024 * 1024  # the XML parts of one ZIP package that are parsed, together
MAX_ZIP_BYTES = 64 * 1024 * 1024  # every member of one ZIP package, declared uncompressed sizes together
MAX_ZIP_MEMBERS = 10_000
MEMORY_LIMIT = 1024 * 1024 * 1024  # bytes of address space for the child (and the OCR programs it starts)
OCR_LANGUAGES = ("kaz", "rus", "eng")  # Tesseract's names, in the order given to -l
OCR_DPI = 200  # resolution scanned PDF pages are rasterised at
OCR_MAX_SIDE = 4000  # pixels: a bigger page is rasterised at a lower resolution
OCR_MAX_PAGES = 10  # scanned pages OCR'd per PDF
OCR_MAX_PIXELS = 50_000_000  # an image with more (as its header says) is not OCR'd: a few KB can inflate to GBs
MIN_PAGE_LETTERS = 16  # a PDF page whose text layer has fewer letters or digits is treated as a scan
PARTIAL = 10  # the child's exit status when it stopped early for time; its output is still valid
CACHE_DIR = "text-cache"
VERSION = "1"  # bump when extraction changes: old cache entries are then ignored

logger = logging.getLogger(__name__)


# --------------------------------------------------------------------------------------------------------------
# In the application


@dataclass(frozen=True)
class OcrTools:
    """The OCR programs found: Tesseract with the languages to use (``"kaz+rus+eng"``) and, for scanned PDFs,
    poppler's ``pdftoppm`` (None: images only)."""

    tesseract: str
    languages: str
    pdftoppm: str | None


@functools.lru_cache(maxsize=8)
def ocr_tools(tesseract: str = "tesseract", pdftoppm: str = "pdftoppm") -> OcrTools | None:
    """Find Tesseract and ``pdftoppm`` (command names looked up on ``PATH``, or paths) and the installed ones of
    :data:`OCR_LANGUAGES`; None when OCR is not possible. Looked up once per process and arguments, and what is
    missing is logged then (once), as a warning: search works, without the text of images and scans.

    :param tesseract: the Tesseract program; "" turns OCR off (logged at info level).
    :param pdftoppm: poppler's rasteriser; "" or missing: images are OCR'd, scanned PDF pages are not.
    """
    if not tesseract:
        logger.info("OCR is off (SEARCH_OCR_TESSERACT is empty): images and scanned PDFs are not searched.")
        return None
    program = shutil.which(tesseract)
    if program is None:
        logger.warning("Tesseract (%s) not found: the text of attached images and scanned PDFs is not searched "
                       "(`make ocr` installs it as root).", tesseract)
        return None
    listed = run_bounded([program, "--list-langs"], timeout=30) or ""
    installed = {line.strip() for line in listed.splitlines()[1:]}  # the first line is a heading
    languages = [language for language in OCR_LANGUAGES if language in installed]
    if not languages:
        logger.warning("Tesseract (%s) has none of the languages %s installed: the text of attached images and "
                       "scanned PDFs is not searched (`make ocr` installs them as root).", program,
                       "+".join(OCR_LANGUAGES))
        return None
    if len(languages) < len(OCR_LANGUAGES):
        logger.warning("Tesseract (%s) lacks the languages %s: OCR reads only %s.", program,
                       "+".join(sorted(set(OCR_LANGUAGES) - set(languages))), "+".join(languages))
    rasteriser = shutil.which(pdftoppm) if pdftoppm else None
    if rasteriser is None:
        logger.warning("pdftoppm (%s) not found: scanned pages of attached PDFs are not searched, images are "
                       "(`make ocr` installs poppler-utils as root).", pdftoppm)
    return OcrTools(program, "+".join(languages), rasteriser)


def ocr_from_config(config) -> OcrTools | None:
    """The OCR programs named by the app's config (``SEARCH_OCR_TESSERACT``, ``SEARCH_OCR_PDFTOPPM``)."""
    return ocr_tools(config.get("SEARCH_OCR_TESSERACT", "tesseract"), config.get("SEARCH_OCR_PDFTOPPM", "pdftoppm"))


def can_extract(content_type: str) -> bool:
    """Whether files of ``content_type`` may have text that is indexed (images only with OCR)."""
    return content_type in KINDS


def _run(args: list[str], timeout: float) -> tuple[int, str] | None:
    """Run ``args`` with no input in a session (process group) of its own; return its exit status and standard
    output as text, or None on timeout or when it cannot start. On timeout the whole group is killed, so that
    programs the child started (``tesseract``) die with it."""
    try:
        process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.DEVNULL, start_new_session=True)
    except OSError:
        return None
    try:
        out, _err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(process)
        return None
    except BaseException:
        _kill_group(process)
        raise
    return process.returncode, out.decode("utf-8", errors="replace")


def _kill_group(process: subprocess.Popen) -> None:
    """Kill ``process``'s process group (the child and what it started) and reap the child."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        process.kill()
    process.communicate()


def run_bounded(args: list[str], timeout: float) -> str | None:
    """Run ``args`` with no input; return its standard output as text, or None on timeout, failure or crash.

    The child, and whatever it started, is killed when ``timeout`` seconds have passed.
    """
    done = _run(args, timeout)
    if done is None or done[0] != 0:
        return None
    return done[1]


def _extract(path: str | Path, content_type: str, timeout: float, max_chars: int, max_pages: int,
             ocr: OcrTools | None) -> tuple[str, bool]:
    """The text of one file and whether it is complete (False: the child stopped early for lack of time)."""
    kind = KINDS.get(content_type)
    if kind is None or not Path(path).is_file() or (kind == "image" and ocr is None):
        return "", True
    use_ocr = ocr is not None and kind in OCR_KINDS
    with tempfile.TemporaryDirectory(prefix="extract-") as workdir:  # removed even when the child was killed
        args = [sys.executable, "-I", str(Path(__file__).resolve()), kind, str(Path(path).resolve()), str(max_chars),
                str(max_pages), f"{timeout:.3f}",
                ocr.languages if use_ocr else "-", ocr.tesseract if use_ocr else "-",
                (ocr.pdftoppm or "-") if use_ocr else "-", workdir]
        done = _run(args, timeout)
    if done is None or done[0] not in (0, PARTIAL):
        return "", True
    return done[1][:max_chars], done[0] == 0


def extract_file(path: str | Path, content_type: str, *, timeout: float = DEFAULT_TIMEOUT,
                 max_chars: int = DEFAULT_MAX_CHARS, max_pages: int = DEFAULT_MAX_PAGES,
                 ocr: OcrTools | None = None) -> str:
    """The text of one file, at most ``max_chars`` characters; "" when there is none or on any problem (unknown
    type, missing, corrupt or encrypted file, too big, too slow). Not cached.

    :param ocr: the OCR programs (:func:`ocr_tools`); None: no OCR (images give "", PDFs their text layer).
    """
    return _extract(path, content_type, timeout, max_chars, max_pages, ocr)[0]


def _cache_path(attachment, cache_root: str | Path, max_chars: int, max_pages: int,
                ocr: OcrTools | None = None) -> Path:
    tag = ""
    if ocr is not None and KINDS.get(attachment.content_type) in OCR_KINDS:
        # What OCR could read is part of the key: a text cached without Tesseract (or without pdftoppm, or with
        # fewer languages) is not reused once they are installed.
        tag = f"-ocr-{ocr.languages}" + ("" if ocr.pdftoppm else "-nopdf")
    return Path(cache_root) / CACHE_DIR / f"{attachment.sha256}.{VERSION}{tag}.{max_chars}.{max_pages}.txt"


def attachment_text(attachment, upload_dir: str | Path, cache_root: str | Path, *, timeout: float = DEFAULT_TIMEOUT,
                    max_chars: int = DEFAULT_MAX_CHARS, max_pages: int = DEFAULT_MAX_PAGES,
                    cache_empty: bool = True, ocr: OcrTools | None = None) -> str:
    """The (cached) text of an :class:`~app.case_studies.models.Attachment`; "" for a type without text.

    :param upload_dir: where the attachment's file is stored (``UPLOAD_DIR``).
    :param cache_root: the folder that holds the cache folder (``SEARCH_INDEX_DIR``).
    :param cache_empty: remember an empty or incomplete result (False when ``timeout`` was cut short, so that a
        file that only ran out of a shortened time is tried again in full next time).
    :param ocr: the OCR programs (:func:`ocr_tools`); None: images give "" (not cached), PDFs their text layer.
    """
    if not can_extract(attachment.content_type):
        return ""
    if ocr is None and KINDS[attachment.content_type] == "image":
        return ""
    cache = _cache_path(attachment, cache_root, max_chars, max_pages, ocr)
    try:
        return cache.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        pass
    path = Path(upload_dir) / attachment.stored_name
    if not path.is_file():
        return ""  # not cached: the file may be restored from a backup later
    text, complete = _extract(path, attachment.content_type, timeout, max_chars, max_pages, ocr)
    if (text and complete) or cache_empty:
        _write_atomically(cache, text)
    return text


def case_attachments_text(case, config) -> str:
    """The text of all attachments of ``case`` that have text, at most ``MAX_CASE_CHARS`` characters.

    Files not extracted yet share a time budget per case (``SEARCH_EXTRACT_CASE_BUDGET``, default 30 s): once it
    is spent, the remaining new files are left out of this version of the document (and not cached, so a later
    re-index tries them); cached texts are always used.

    :param config: the app's config (``UPLOAD_DIR``, ``SEARCH_INDEX_DIR``, ``SEARCH_EXTRACT_TIMEOUT``,
        ``SEARCH_EXTRACT_MAX_CHARS``, ``SEARCH_EXTRACT_MAX_PAGES``, ``SEARCH_EXTRACT_CASE_BUDGET``,
        ``SEARCH_OCR_TESSERACT``, ``SEARCH_OCR_PDFTOPPM``).
    """
    attachments = [a for a in case.attachments if can_extract(a.content_type)]
    if not attachments:
        return ""
    ocr = ocr_from_config(config)
    timeout = float(config.get("SEARCH_EXTRACT_TIMEOUT", DEFAULT_TIMEOUT))
    limits = {"max_chars": int(config.get("SEARCH_EXTRACT_MAX_CHARS", DEFAULT_MAX_CHARS)),
              "max_pages": int(config.get("SEARCH_EXTRACT_MAX_PAGES", DEFAULT_MAX_PAGES))}
    deadline = time.monotonic() + float(config.get("SEARCH_EXTRACT_CASE_BUDGET", DEFAULT_CASE_BUDGET))
    texts: list[str] = []
    total = 0
    for attachment in attachments:
        if total >= MAX_CASE_CHARS:
            break
        if ocr is None and KINDS[attachment.content_type] == "image":
            continue
        if _cache_path(attachment, config["SEARCH_INDEX_DIR"], ocr=ocr, **limits).is_file():
            allowed = timeout  # cached: read, not extracted
        else:
            allowed = min(timeout, deadline - time.monotonic())
            if allowed <= 0:
                continue
        text = attachment_text(attachment, config["UPLOAD_DIR"], config["SEARCH_INDEX_DIR"], timeout=allowed,
                               cache_empty=allowed >= timeout, ocr=ocr, **limits)
        if text:
            texts.append(text[: MAX_CASE_CHARS - total])
            total += len(texts[-1])
    return "\n\n".join(texts)


def _write_atomically(path: Path, text: str) -> None:
    """Write the cache file by rename, so a concurrent reader never sees half of it; failures are ignored."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".part-")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only or full disk only costs re-extraction next time


# --------------------------------------------------------------------------------------------------------------
# In the child process (``python -I extract.py KIND PATH MAX_CHARS MAX_PAGES SECONDS LANGS TESSERACT PDFTOPPM
# WORKDIR``, "-" for a missing program): standard library, pypdf, python-docx, openpyxl, lxml and the OCR programs.


class _Text:
    """The pieces of text read so far, up to ``max_chars`` characters."""

    def __init__(self, max_chars: int):
        self.parts: list[str] = []
        self.total = 0
        self.max_chars = max_chars

    def add(self, text: str) -> bool:
        """Keep ``text`` (when not blank); False once enough has been read."""
        if text and text.strip():
            self.parts.append(text)
            self.total += len(text)
        return self.total < self.max_chars

    def __str__(self) -> str:
        return "\n".join(self.parts)


@dataclass
class _Ocr:
    """The OCR programs handed down by the parent, the scratch folder it made (and deletes), and the time left."""

    languages: str
    tesseract: str
    pdftoppm: str | None
    workdir: str
    deadline: float
    ran_out: bool = False

    def left(self) -> float:
        """Seconds the next program may take; records that time ran out."""
        left = self.deadline - time.monotonic()
        if left <= 0:
            self.ran_out = True
        return left

    def run(self, args: list[str]) -> bytes | None:
        """Run one OCR program on the time left; its output, or None (out of time, failed, not runnable)."""
        left = self.left()
        if left <= 0:
            return None
        # One thread: Tesseract's OpenMP threads would multiply its memory (each has its own malloc arena) and
        # take every core of a server that is also answering requests.
        env = dict(os.environ, OMP_THREAD_LIMIT="1")
        try:
            done = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, timeout=left, env=env,
                                  check=False)
        except subprocess.TimeoutExpired:
            self.ran_out = True
            return None
        except OSError:
            return None
        return done.stdout if done.returncode == 0 else None

    def image_text(self, image: str, dpi: int | None = None) -> str:
        """Tesseract's text of one image file ("" when it reads none or fails)."""
        args = [self.tesseract, image, "stdout", "-l", self.languages] + (["--dpi", str(dpi)] if dpi else [])
        out = self.run(args)
        return out.decode("utf-8", errors="replace").strip() if out else ""

    def pdf_page_text(self, path: str, number: int, dpi: int) -> str:
        """The OCR'd text of page ``number`` (0-based) of a PDF, rasterised in grey by ``pdftoppm``."""
        if self.pdftoppm is None:
            return ""
        image = Path(self.workdir) / f"page-{number + 1}"
        page = str(number + 1)
        if self.run([self.pdftoppm, "-q", "-f", page, "-l", page, "-r", str(dpi), "-gray", "-singlefile", path,
                     str(image)]) is None:
            return ""
        raster = image.with_suffix(".pgm")
        try:
            return self.image_text(str(raster), dpi) if raster.is_file() else ""
        finally:
            raster.unlink(missing_ok=True)


def _image_pixels(path: str) -> int | None:
    """Width × height from a PNG, JPEG or WebP header (None: not found), read without decoding the image."""
    with open(path, "rb") as handle:
        head = handle.read(32)
        if head.startswith(b"\x89PNG\r\n\x1a\n") and head[12:16] == b"IHDR":
            return int.from_bytes(head[16:20], "big") * int.from_bytes(head[20:24], "big")
        if head[:4] == b"RIFF" and head[8:12] == b"WEBP" and len(head) >= 30:
            chunk = head[12:16]
            if chunk == b"VP8X":  # extended: canvas width-1 and height-1, 24 bits each
                return (int.from_bytes(head[24:27], "little") + 1) * (int.from_bytes(head[27:30], "little") + 1)
            if chunk == b"VP8L":  # lossless: 14 bits width-1, 14 bits height-1
                bits = int.from_bytes(head[21:25], "little")
                return ((bits & 0x3FFF) + 1) * (((bits >> 14) & 0x3FFF) + 1)
            if chunk == b"VP8 ":  # lossy: 14-bit width and height after the frame tag and start code
                width, height = int.from_bytes(head[26:28], "little"), int.from_bytes(head[28:30], "little")
                return (width & 0x3FFF) * (height & 0x3FFF)
            return None
        if not head.startswith(b"\xff\xd8"):
            return None
        handle.seek(2)
        while True:  # JPEG: walk the segments to the first start-of-frame
            marker = handle.read(2)
            if len(marker) < 2 or marker[0] != 0xFF:
                return None
            code = marker[1]
            if code == 0xFF:  # fill byte
                handle.seek(-1, os.SEEK_CUR)
                continue
            if code == 0x01 or 0xD0 <= code <= 0xD8:  # markers without a length
                continue
            length = int.from_bytes(handle.read(2), "big")
            if 0xC0 <= code <= 0xCF and code not in (0xC4, 0xC8, 0xCC):
                frame = handle.read(5)
                return int.from_bytes(frame[1:3], "big") * int.from_bytes(frame[3:5], "big") if len(frame) == 5 \
                    else None
            if length < 2:
                return None
            handle.seek(length - 2, os.SEEK_CUR)


def _letters(text: str) -> int:
    return sum(1 for ch in text if ch.isalnum())


def _raster_dpi(page) -> int:
    """``OCR_DPI``, lowered so that the page's longer side stays within ``OCR_MAX_SIDE`` pixels."""
    try:
        box = page.mediabox
        inches = max(abs(float(box.width)), abs(float(box.height))) / 72
    except Exception:  # a broken MediaBox: let pdftoppm decide what it can do at the default resolution
        return OCR_DPI
    if inches <= 0:
        return OCR_DPI
    return max(10, min(OCR_DPI, int(OCR_MAX_SIDE / inches)))


def _pdf_text(path: str, max_chars: int, max_pages: int, ocr: _Ocr | None = None) -> str:
    from pypdf import PdfReader

    reader = PdfReader(path)
    if reader.is_encrypted:
        reader.decrypt("")  # many "protected" PDFs only restrict printing; a real password fails below
    parts: list[str] = []
    scanned: list[tuple[int, int]] = []  # (page number, resolution) of pages without a text layer
    total = 0
    for number, page in enumerate(reader.pages):
        if number >= max_pages or total >= max_chars:
            break
        text = page.extract_text() or ""
        parts.append(text)
        total += len(text)
        if ocr is not None and ocr.pdftoppm and len(scanned) < OCR_MAX_PAGES and _letters(text) < MIN_PAGE_LETTERS:
            scanned.append((number, _raster_dpi(page)))
    for number, dpi in scanned:
        if total >= max_chars or ocr.ran_out:
            break
        text = ocr.pdf_page_text(path, number, dpi)
        if text:
            parts[number] = f"{parts[number]}\n{text}".strip()
            total += len(text)
    return "\n".join(parts)


def _zip_ok(archive, parsed) -> bool:
    """Whether a ZIP package is small enough to read: member count, declared sizes of all members and of the
    members ``parsed(name)`` selects (the parts that will be parsed)."""
    members = archive.infolist()
    if len(members) > MAX_ZIP_MEMBERS or sum(info.file_size for info in members) > MAX_ZIP_BYTES:
        return False
    return sum(info.file_size for info in members if parsed(info.filename)) <= MAX_XML_BYTES


def _docx_text(path: str, max_chars: int) -> str:
    import zipfile

    import docx

    with zipfile.ZipFile(path) as archive:
        if not _zip_ok(archive, lambda name: name.startswith("word/")):
            return ""
    document = docx.Document(path)
    text = _Text(max_chars)
    for paragraph in document.paragraphs:
        if not text.add(paragraph.text):
            return str(text)
    for table in document.tables:
        for row in table.rows:
            for cell in row.cells:
                if not text.add(cell.text):
                    return str(text)
    return str(text)


def _xlsx_text(path: str, max_chars: int) -> str:
    """Sheet names and cell values (cached results of formulas) of every worksheet, a line per row."""
    import zipfile

    from openpyxl import load_workbook

    with zipfile.ZipFile(path) as archive:
        if not _zip_ok(archive, lambda name: name.startswith("xl/") and name.endswith(".xml")):
            return ""
    workbook = load_workbook(path, read_only=True, data_only=True, keep_links=False)
    text = _Text(max_chars)
    try:
        for sheet in workbook.worksheets:
            # The declared dimension ("A1:XFD1048576") would make openpyxl pad every row to 16,384 cells and fill
            # the gaps between rows: a tiny file could keep it busy for minutes. Without it, rows are as stored.
            sheet.reset_dimensions()
            if not text.add(sheet.title):
                break
            for row in sheet.iter_rows(values_only=True):
                if not text.add("\t".join(str(value) for value in row if value is not None)):
                    return str(text)
    finally:
        workbook.close()
    return str(text)


def _xml_parts(archive, names: list[str], tag: str):
    """Elements ``tag`` (``{namespace}name``, ``{*}`` for any) of the parts ``names`` of ``archive``, each once
    complete; cleared afterwards. No DTDs, entities or network: the XML is untrusted."""
    from lxml import etree

    for name in names:
        with archive.open(name) as part:
            for _event, element in etree.iterparse(part, events=("end",), tag=tag, resolve_entities=False,
                                                   no_network=True, load_dtd=False, huge_tree=False,
                                                   remove_comments=True, remove_pis=True):
                yield element
                element.clear(keep_tail=True)


def _numbered(archive, pattern: str) -> list[str]:
    """The members whose whole name matches ``pattern`` (one number group), in the order of that number."""
    found = []
    for name in archive.namelist():
        match = re.fullmatch(pattern, name)
        if match:
            found.append((int(match.group(1)), name))
    return [name for _number, name in sorted(found)]


def _pptx_text(path: str, max_chars: int) -> str:
    """The text of every slide (text boxes, placeholders, tables), then of the speaker notes, a line per
    paragraph."""
    import zipfile

    with zipfile.ZipFile(path) as archive:
        if not _zip_ok(archive, lambda name: name.startswith("ppt/") and name.endswith(".xml")):
            return ""
        parts = _numbered(archive, r"ppt/slides/slide(\d+)\.xml") + \
            _numbered(archive, r"ppt/notesSlides/notesSlide(\d+)\.xml")
        text = _Text(max_chars)
        for paragraph in _xml_parts(archive, parts, "{*}p"):  # DrawingML a:p (transitional or strict namespace)
            pieces = []
            for node in paragraph.iter("{*}t", "{*}br"):
                pieces.append("\n" if node.tag.endswith("}br") else node.text or "")
            if not text.add("".join(pieces)):
                break
        return str(text)


_TEXT_NS = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"
_ODF_PARAGRAPHS = (f"{_TEXT_NS}p", f"{_TEXT_NS}h")


def _odf_paragraph(element) -> str:
    """The text of one ``text:p``/``text:h``: spans, links and fields included, ``text:s`` as spaces, tabs and
    line breaks kept; a paragraph nested inside (a note's body) is left out, as it is read on its own, and so is a
    note's citation mark."""
    out = [element.text or ""]
    for child in element:
        tag = child.tag if isinstance(child.tag, str) else ""
        if tag in _ODF_PARAGRAPHS or tag == f"{_TEXT_NS}note-citation":
            pass  # a nested paragraph is read on its own; a footnote's mark ("1") would stick to the word before it
        elif tag == f"{_TEXT_NS}s":
            count = child.get(f"{_TEXT_NS}c") or "1"
            out.append(" " * min(int(count) if count.isdigit() else 1, 100))
        elif tag == f"{_TEXT_NS}tab":
            out.append("\t")
        elif tag == f"{_TEXT_NS}line-break":
            out.append("\n")
        elif tag:
            out.append(_odf_paragraph(child))
        out.append(child.tail or "")
    return "".join(out)


def _odf_text(path: str, max_chars: int) -> str:
    """The paragraphs and headings of an OpenDocument file's ``content.xml``: the body of a text document, the
    cells of a spreadsheet, the frames of a presentation."""
    import zipfile

    with zipfile.ZipFile(path) as archive:
        if not _zip_ok(archive, lambda name: name == "content.xml"):
            return ""
        text = _Text(max_chars)
        for paragraph in _xml_parts(archive, ["content.xml"], list(_ODF_PARAGRAPHS)):
            if not text.add(_odf_paragraph(paragraph)):
                break
        return str(text)


def _main(argv: list[str]) -> int:
    import resource

    started = time.monotonic()
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = MEMORY_LIMIT if hard == resource.RLIM_INFINITY else min(MEMORY_LIMIT, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))  # never above a limit the host already sets
    kind, path, max_chars, max_pages = argv[0], argv[1], int(argv[2]), int(argv[3])
    ocr = None
    if len(argv) >= 9 and argv[5] != "-" and argv[6] != "-":
        seconds = float(argv[4])
        # Stop starting OCR programs a little before the parent's kill, so what was read is still handed back.
        deadline = started + seconds - max(0.5, 0.1 * seconds)
        ocr = _Ocr(argv[5], argv[6], None if argv[7] == "-" else argv[7], argv[8], deadline)
    if kind == "pdf":
        text = _pdf_text(path, max_chars, max_pages, ocr)
    elif kind == "image":
        pixels = _image_pixels(path)
        text = ocr.image_text(path) if ocr is not None and (pixels or 0) <= OCR_MAX_PIXELS else ""
    else:
        text = {"docx": _docx_text, "xlsx": _xlsx_text, "pptx": _pptx_text, "odf": _odf_text}[kind](path, max_chars)
    sys.stdout.buffer.write(text[:max_chars].encode("utf-8"))
    return PARTIAL if ocr is not None and ocr.ran_out else 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
