"""Plain text of attached PDF and DOCX files, for the search index, extracted in a bounded way.

Attachments are untrusted files: a PDF can be crafted to make a parser loop for minutes or inflate gigabytes,
a DOCX can be a ZIP bomb. So the text is never extracted in the indexing process itself. This file doubles as
a tiny program that a child process runs (``python -I extract.py KIND PATH MAX_CHARS MAX_PAGES``), which:

* imports nothing of the application (``-I``: no environment variables, no script folder on ``sys.path``);
* limits its own address space (``MEMORY_LIMIT``), so a bomb fails with MemoryError instead of eating the host;
* reads at most ``MAX_PAGES`` pages of a PDF and stops after ``MAX_CHARS`` characters; refuses a DOCX whose
  ``word/document.xml`` declares more than ``MAX_DOCX_XML_BYTES`` uncompressed;
* is killed by the parent after ``SEARCH_EXTRACT_TIMEOUT`` seconds (default 10); all new files of one case
  share ``SEARCH_EXTRACT_CASE_BUDGET`` seconds (default 30).

Whatever goes wrong — a corrupt, encrypted or truncated file, a timeout, a crash, a missing file — the result
is "" (no text), never an exception. Results (empty ones included, so a bad file costs its timeout once, not
at every edit of its case) are cached by the file's SHA-256 under ``SEARCH_INDEX_DIR/text-cache/``: the text
of a given file is extracted once, however often its case is re-indexed or the index rebuilt. The cache is
derived data: deleting it only costs re-extraction.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PDF_TYPE = "application/pdf"
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
KINDS = {PDF_TYPE: "pdf", DOCX_TYPE: "docx"}

DEFAULT_TIMEOUT = 10.0  # seconds per file
DEFAULT_MAX_CHARS = 100_000  # per file
DEFAULT_MAX_PAGES = 50  # of a PDF
DEFAULT_CASE_BUDGET = 30.0  # seconds of extraction per case document, all its new files together
MAX_CASE_CHARS = 200_000  # all attachments of one case study together
MAX_DOCX_XML_BYTES = 32 * 1024 * 1024
MEMORY_LIMIT = 1024 * 1024 * 1024  # bytes of address space for the child
CACHE_DIR = "text-cache"
VERSION = "1"  # bump when extraction changes: old cache entries are then ignored


# --------------------------------------------------------------------------------------------------------------
# In the application


def can_extract(content_type: str) -> bool:
    """Whether files of ``content_type`` have text that is indexed (PDF and DOCX)."""
    return content_type in KINDS


def run_bounded(args: list[str], timeout: float) -> str | None:
    """Run ``args`` with no input; return its standard output as text, or None on timeout, failure or crash.

    The child is killed when ``timeout`` seconds have passed.
    """
    try:
        done = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout, check=False)
    except (subprocess.TimeoutExpired, OSError):
        return None
    if done.returncode != 0:
        return None
    return done.stdout.decode("utf-8", errors="replace")


def extract_file(path: str | Path, content_type: str, *, timeout: float = DEFAULT_TIMEOUT,
                 max_chars: int = DEFAULT_MAX_CHARS, max_pages: int = DEFAULT_MAX_PAGES) -> str:
    """The text of one PDF or DOCX file, at most ``max_chars`` characters; "" when there is none or on any
    problem (unknown type, missing, corrupt or encrypted file, too big, too slow). Not cached."""
    kind = KINDS.get(content_type)
    if kind is None or not Path(path).is_file():
        return ""
    args = [sys.executable, "-I", str(Path(__file__).resolve()), kind, str(path), str(max_chars), str(max_pages)]
    text = run_bounded(args, timeout)
    return (text or "")[:max_chars]


def _cache_path(attachment, cache_root: str | Path, max_chars: int, max_pages: int) -> Path:
    return Path(cache_root) / CACHE_DIR / f"{attachment.sha256}.{VERSION}.{max_chars}.{max_pages}.txt"


def attachment_text(attachment, upload_dir: str | Path, cache_root: str | Path, *, timeout: float = DEFAULT_TIMEOUT,
                    max_chars: int = DEFAULT_MAX_CHARS, max_pages: int = DEFAULT_MAX_PAGES,
                    cache_empty: bool = True) -> str:
    """The (cached) text of an :class:`~app.case_studies.models.Attachment`; "" for images, spreadsheets, etc.

    :param upload_dir: where the attachment's file is stored (``UPLOAD_DIR``).
    :param cache_root: the folder that holds the cache folder (``SEARCH_INDEX_DIR``).
    :param cache_empty: remember an empty result (False when ``timeout`` was cut short, so that a file that only
        ran out of a shortened time is tried again in full next time).
    """
    if not can_extract(attachment.content_type):
        return ""
    cache = _cache_path(attachment, cache_root, max_chars, max_pages)
    try:
        return cache.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        pass
    path = Path(upload_dir) / attachment.stored_name
    if not path.is_file():
        return ""  # not cached: the file may be restored from a backup later
    text = extract_file(path, attachment.content_type, timeout=timeout, max_chars=max_chars, max_pages=max_pages)
    if text or cache_empty:
        _write_atomically(cache, text)
    return text


def case_attachments_text(case, config) -> str:
    """The text of all PDF/DOCX attachments of ``case``, at most ``MAX_CASE_CHARS`` characters.

    Files not extracted yet share a time budget per case (``SEARCH_EXTRACT_CASE_BUDGET``, default 30 s): once it
    is spent, the remaining new files are left out of this version of the document (and not cached, so a later
    re-index tries them); cached texts are always used.

    :param config: the app's config (``UPLOAD_DIR``, ``SEARCH_INDEX_DIR``, ``SEARCH_EXTRACT_TIMEOUT``,
        ``SEARCH_EXTRACT_MAX_CHARS``, ``SEARCH_EXTRACT_MAX_PAGES``, ``SEARCH_EXTRACT_CASE_BUDGET``).
    """
    attachments = [a for a in case.attachments if can_extract(a.content_type)]
    if not attachments:
        return ""
    timeout = float(config.get("SEARCH_EXTRACT_TIMEOUT", DEFAULT_TIMEOUT))
    limits = {"max_chars": int(config.get("SEARCH_EXTRACT_MAX_CHARS", DEFAULT_MAX_CHARS)),
              "max_pages": int(config.get("SEARCH_EXTRACT_MAX_PAGES", DEFAULT_MAX_PAGES))}
    deadline = time.monotonic() + float(config.get("SEARCH_EXTRACT_CASE_BUDGET", DEFAULT_CASE_BUDGET))
    texts: list[str] = []
    total = 0
    for attachment in attachments:
        if total >= MAX_CASE_CHARS:
            break
        if _cache_path(attachment, config["SEARCH_INDEX_DIR"], **limits).is_file():
            allowed = timeout  # cached: read, not extracted
        else:
            allowed = min(timeout, deadline - time.monotonic())
            if allowed <= 0:
                continue
        text = attachment_text(attachment, config["UPLOAD_DIR"], config["SEARCH_INDEX_DIR"], timeout=allowed,
                               cache_empty=allowed >= timeout, **limits)
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
# In the child process (``python -I extract.py KIND PATH MAX_CHARS MAX_PAGES``): standard library, pypdf and
# python-docx only.


def _pdf_text(path: str, max_chars: int, max_pages: int) -> str:
    from pypdf import PdfReader

    reader = PdfReader(path)
    if reader.is_encrypted:
        reader.decrypt("")  # many "protected" PDFs only restrict printing; a real password fails below
    parts: list[str] = []
    total = 0
    for number, page in enumerate(reader.pages):
        if number >= max_pages or total >= max_chars:
            break
        text = page.extract_text() or ""
        parts.append(text)
        total += len(text)
    return "\n".join(parts)


def _docx_text(path: str, max_chars: int) -> str:
    import zipfile

    import docx

    with zipfile.ZipFile(path) as archive:
        if sum(info.file_size for info in archive.infolist() if info.filename.startswith("word/")) > \
                MAX_DOCX_XML_BYTES:
            return ""
    document = docx.Document(path)
    parts: list[str] = []
    total = 0

    def add(text: str) -> bool:
        nonlocal total
        if text:
            parts.append(text)
            total += len(text)
        return total < max_chars

    for paragraph in document.paragraphs:
        if not add(paragraph.text):
            break
    for table in document.tables:
        for row in table.rows:
            for cell in row.cells:
                if not add(cell.text):
                    return "\n".join(parts)
    return "\n".join(parts)


def _main(argv: list[str]) -> int:
    import resource

    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = MEMORY_LIMIT if hard == resource.RLIM_INFINITY else min(MEMORY_LIMIT, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))  # never above a limit the host already sets
    kind, path, max_chars, max_pages = argv[0], argv[1], int(argv[2]), int(argv[3])
    text = _pdf_text(path, max_chars, max_pages) if kind == "pdf" else _docx_text(path, max_chars)
    sys.stdout.buffer.write(text[:max_chars].encode("utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
