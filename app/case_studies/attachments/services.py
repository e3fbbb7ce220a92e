"""Files attached to case studies: type detection from the content, name cleaning, storing and deleting.

Functions here take plain values (no request objects); they add and flush, never commit.

Files live under ``UPLOAD_DIR`` (outside ``static/``), named ``<uuid4 hex>.<canonical extension>``; the name the
user gave is kept only in the database. The type is decided from the bytes (:func:`sniff`), never from the
name or the browser's claim.

How a failed upload leaves nothing behind:

* the upload is written to a temporary ``.upload-*.part`` file in ``UPLOAD_DIR``, which is removed on any error
  (too large, empty, wrong type, ...) before the exception leaves :func:`store_attachment`;
* only a fully checked file is renamed (atomically, same folder) to its generated name; if adding or flushing
  the row fails, :func:`store_attachment` deletes the file again before re-raising;
* the new file is then remembered in ``session.info`` until the session's outermost transaction ends. A commit
  keeps it; a rollback, a failed commit or a session closed without commit deletes it (SQLAlchemy session
  events at the bottom of this module). So the caller simply commits, or rolls back on error, as usual.

Deleting works the other way round: :func:`delete_attachment` deletes the row and queues the file, which is
removed only after the commit succeeds (a rollback keeps it).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import unicodedata
import uuid
import xml.etree.ElementTree as ET
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote

import sqlalchemy as sa
from flask import current_app
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_sqlalchemy.session import Session as FlaskSQLAlchemySession
from sqlalchemy import event

from app.audit import services as audit
from app.case_studies.models import Attachment
from app.case_studies.models import CaseStudy
from app.case_studies.services import evidence_problem
from app.errors import ValidationFailed
from app.extensions import db
from app.translit import ASCII_NAMES

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
DEFAULT_MAX_FILES = 10
MAX_NAME_CHARS = 255  # Attachment.original_name
CHUNK = 64 * 1024
MB = 1024 * 1024
FIELD = "file"

_PENDING = "attachments.pending_files"  # session.info key: files stored in the open transaction
_DOOMED = "attachments.doomed_files"  # session.info key: files to delete once the transaction commits


@dataclass(frozen=True)
class FileKind:
    """An accepted type: the content type stored and sent, the extension of stored files, a label for people
    and the extensions a user's file name may already carry for it."""

    content_type: str
    extension: str
    label: str
    aliases: tuple[str, ...]


PDF = FileKind("application/pdf", "pdf", "PDF", ("pdf",))
DOCX = FileKind("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx", "Word (DOCX)",
                ("docx",))
XLSX = FileKind("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx", "Excel (XLSX)",
                ("xlsx",))
PPTX = FileKind("application/vnd.openxmlformats-officedocument.presentationml.presentation", "pptx",
                "PowerPoint (PPTX)", ("pptx",))
ODT = FileKind("application/vnd.oasis.opendocument.text", "odt", "OpenDocument (ODT)", ("odt",))
JPEG = FileKind("image/jpeg", "jpg", "JPEG", ("jpg", "jpeg", "jpe", "jfif"))
PNG = FileKind("image/png", "png", "PNG", ("png",))
WEBP = FileKind("image/webp", "webp", "WebP", ("webp",))

KINDS: tuple[FileKind, ...] = (PDF, DOCX, XLSX, PPTX, ODT, JPEG, PNG, WEBP)
KIND_BY_CONTENT_TYPE = {kind.content_type: kind for kind in KINDS}
KNOWN_EXTENSIONS = frozenset(alias for kind in KINDS for alias in kind.aliases)
# What the refusal message and the form hint list (file-format names, the same in every language).
ALLOWED_TYPES_TEXT = "PDF, DOCX, XLSX, PPTX, ODT, JPG, PNG, WebP"
# The file input's ``accept`` attribute: only a convenience for the browser's file picker.
ACCEPT = ",".join(f".{alias}" for kind in KINDS for alias in kind.aliases if alias not in ("jpe", "jfif"))

# The main part of an Office Open XML package, as [Content_Types].xml declares it (macro-enabled and template
# variants have other types and are refused).
OOXML_MAIN_TYPES = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml": DOCX,
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml": XLSX,
    "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml": PPTX,
}
MAX_XML_BYTES = 1024 * 1024  # [Content_Types].xml is a few KB; never inflate more than this to look at it

NO_FILE = _l("Choose a file to upload.")
EMPTY_FILE = _l("The file is empty. Choose the file again, or another one.")
BAD_NAME = _l("The file name must not contain “..”, “/” or “\\”. Rename the file and try again.")
EMPTY_NAME = _l("The file name is empty. Rename the file and try again.")


class AttachmentTooLarge(ValidationFailed):
    """The file is over the per-file limit (the views answer it with the 413 page)."""


# --- configuration and display helpers ------------------------------------------------------------------


def max_bytes() -> int:
    """The per-file limit in bytes (``ATTACHMENT_MAX_BYTES``, default 20 MB)."""
    return int(current_app.config.get("ATTACHMENT_MAX_BYTES", DEFAULT_MAX_BYTES))


def max_files() -> int:
    """How many files one case study may have (``ATTACHMENT_MAX_FILES``, default 10)."""
    return int(current_app.config.get("ATTACHMENT_MAX_FILES", DEFAULT_MAX_FILES))


def upload_dir() -> Path:
    """The folder files are stored in (``UPLOAD_DIR``), created when missing."""
    folder = Path(current_app.config["UPLOAD_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def file_path(attachment: Attachment) -> Path:
    """Where ``attachment``'s bytes are stored."""
    return Path(current_app.config["UPLOAD_DIR"]) / attachment.stored_name


def format_size(size: int) -> str:
    """A size for people, in the current locale: "850 KB", "1,5 MB" (at least 1 KB)."""
    if size >= MB:
        return _("%(size)s MB", size=format_decimal(round(size / MB, 1), format="#,##0.#"))
    return _("%(size)s KB", size=format_decimal(max(1, round(size / 1024)), format="#,##0"))


def label_for(content_type: str) -> str:
    """The label of a stored content type ("Word (DOCX)"), or the content type itself."""
    kind = KIND_BY_CONTENT_TYPE.get(content_type)
    return kind.label if kind else content_type


# --- content sniffing -----------------------------------------------------------------------------------


def sniff(stream: BinaryIO) -> FileKind | None:
    """Tell the type of a file from its bytes; None when it is not one of :data:`KINDS`.

    Signatures: ``%PDF-``; PNG's 8-byte signature followed by the IHDR chunk; JPEG's ``FF D8 FF``;
    ``RIFF....WEBP`` with a VP8/VP8L/VP8X chunk. DOCX, XLSX and PPTX are ZIP packages whose
    ``[Content_Types].xml`` declares the main part of that application (which must be present); ODT is a ZIP
    whose first member ``mimetype`` holds ``application/vnd.oasis.opendocument.text``. Any other ZIP (or a file
    that only starts like one) is refused. ``stream`` must be seekable; it is left at its start.
    """
    stream.seek(0)
    head = stream.read(32)
    stream.seek(0)
    if head.startswith(b"%PDF-") and head[5:6].isdigit():
        return PDF
    if head.startswith(b"\x89PNG\r\n\x1a\n") and head[12:16] == b"IHDR":
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP" and head[12:16] in (b"VP8 ", b"VP8L", b"VP8X"):
        return WEBP
    if head.startswith(b"PK\x03\x04"):  # at the very start: a program with a ZIP appended is not a document
        try:
            return _sniff_zip(stream)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, ET.ParseError, zlib.error, OSError, EOFError, KeyError,
                ValueError, RuntimeError, NotImplementedError):
            return None  # damaged, encrypted or otherwise unreadable: not a document we accept
        finally:
            stream.seek(0)
    return None


def _sniff_zip(stream: BinaryIO) -> FileKind | None:
    with zipfile.ZipFile(stream) as archive:
        members = archive.infolist()
        if not members:
            return None
        names = {member.filename.lower(): member for member in members}
        first = members[0]
        if first.filename == "mimetype":
            if first.file_size > 200:
                return None
            mimetype = archive.read(first).strip()
            if mimetype == ODT.content_type.encode() and "content.xml" in names:
                return ODT
            return None  # another OpenDocument type (spreadsheet, presentation, ...)
        types = names.get("[content_types].xml")
        if types is None or types.file_size > MAX_XML_BYTES:
            return None
        with archive.open(types) as member:
            data = member.read(MAX_XML_BYTES + 1)
        if len(data) > MAX_XML_BYTES or b"<!DOCTYPE" in data.upper():
            return None  # no DTDs (entity expansion) in a file we parse
        root = ET.fromstring(data)
        for element in root.iter():
            if not element.tag.endswith("Override"):
                continue
            kind = OOXML_MAIN_TYPES.get((element.get("ContentType") or "").strip().lower())
            part = (element.get("PartName") or "").lstrip("/").lower()
            if kind is not None and part in names:
                return kind
    return None


# --- names ----------------------------------------------------------------------------------------------


def clean_filename(name: str | None) -> str:
    """The user's file name, made fit to show and store: NFC-normalised, control and format characters
    (including bidirectional overrides) removed, runs of white space collapsed, leading and trailing dots and
    spaces dropped, at most 255 characters (the extension kept). Cyrillic, Kazakh and other letters stay.

    :raise ValidationFailed: the name contains ``..``, ``/`` or ``\\`` (a path, not a name), or nothing is left.
    """
    text = unicodedata.normalize("NFC", name or "")
    text = "".join(ch for ch in text if not unicodedata.category(ch).startswith("C") or ch.isspace())
    text = " ".join(text.split())
    if ".." in text or "/" in text or "\\" in text:
        raise ValidationFailed([(FIELD, BAD_NAME)])
    text = text.strip(" .")
    if not text:
        raise ValidationFailed([(FIELD, EMPTY_NAME)])
    return _cap(text)


def _cap(name: str, limit: int = MAX_NAME_CHARS) -> str:
    """Shorten ``name`` to ``limit`` characters, keeping a short extension."""
    if len(name) <= limit:
        return name
    stem, dot, extension = name.rpartition(".")
    if dot and stem and len(extension) <= 10:
        return stem[: limit - len(extension) - 1].rstrip(" .") + "." + extension
    return name[:limit].rstrip(" .")


def name_for(name: str, kind: FileKind) -> str:
    """The cleaned name with an extension that matches the detected type: kept when it already does,
    replaced when it names another accepted type ("scan.png" holding a PDF becomes "scan.pdf"), added
    otherwise ("Отчёт" becomes "Отчёт.pdf")."""
    stem, dot, extension = name.rpartition(".")
    if dot and stem and extension.lower() in kind.aliases:
        return name
    if dot and stem and extension.lower() in KNOWN_EXTENSIONS:
        name = stem
    return _cap(f"{name}.{kind.extension}")


# Latin letters for the ASCII fallback name of old browsers.
_TRANSLIT = ASCII_NAMES
_FALLBACK_UNSAFE = set('"\\%;')


def ascii_filename(name: str, extension: str) -> str:
    """A plain-ASCII stand-in for ``name`` (transliterated), for clients that ignore ``filename*``."""
    out = []
    for ch in name:
        lower = ch.lower()
        if lower in _TRANSLIT:
            latin = _TRANSLIT[lower]
            out.append(latin.capitalize() if ch != lower else latin)
        elif 32 <= ord(ch) < 127:
            out.append("_" if ch in _FALLBACK_UNSAFE else ch)
        else:
            out.append(unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode() or "_")
    text = " ".join("".join(out).split()).strip(" .")
    if text.lower().endswith("." + extension):
        text = text[: -len(extension) - 1]
    if not text.strip(" ._"):
        text = "attachment"
    return f"{text}.{extension}"


def content_disposition(name: str, extension: str) -> str:
    """``attachment; filename="<ASCII>"; filename*=UTF-8''<percent-encoded name>`` (RFC 6266 / 8187)."""
    encoded = quote(name, safe="!#$&+-.^_`|~")
    return f"attachment; filename=\"{ascii_filename(name, extension)}\"; filename*=UTF-8''{encoded}"


# --- storing and deleting -------------------------------------------------------------------------------


def _too_large() -> AttachmentTooLarge:
    return AttachmentTooLarge([(FIELD, _l("The file is larger than the limit of %(size)s.",
                                          size=format_size(max_bytes())))])


def _copy(source: BinaryIO, target: BinaryIO, limit: int) -> tuple[int, str]:
    """Copy ``source`` into ``target``; return the size and SHA-256, refusing more than ``limit`` bytes."""
    digest = hashlib.sha256()
    size = 0
    while True:
        chunk = source.read(CHUNK)
        if not chunk:
            break
        size += len(chunk)
        if size > limit:
            raise _too_large()
        digest.update(chunk)
        target.write(chunk)
    return size, digest.hexdigest()


@dataclass(frozen=True)
class StoredUpload:
    """A checked upload, stored under its generated name in ``UPLOAD_DIR``."""

    path: Path
    kind: FileKind
    size: int
    sha256: str


def write_upload(stream: BinaryIO, kinds: tuple[FileKind, ...] = KINDS,
                 types_text: str = ALLOWED_TYPES_TEXT) -> StoredUpload:
    """Check an upload (size, not empty, type from its bytes among ``kinds``) and store it under a generated
    name. Nothing is left behind when it is refused; the caller adds its row and then calls
    :func:`keep_if_committed` (or deletes the file when adding the row fails).

    :param types_text: the accepted types as the refusal lists them.
    :raise AttachmentTooLarge: over ``ATTACHMENT_MAX_BYTES``.
    :raise ValidationFailed: an empty file, a type not among ``kinds``.
    """
    folder = upload_dir()
    descriptor, temporary = tempfile.mkstemp(dir=folder, prefix=".upload-", suffix=".part")
    try:
        with os.fdopen(descriptor, "w+b") as out:
            size, sha256 = _copy(stream, out, max_bytes())
            if size == 0:
                raise ValidationFailed([(FIELD, EMPTY_FILE)])
            out.flush()
            kind = sniff(out)
        if kind is None or kind not in kinds:
            raise ValidationFailed([(FIELD, _l(
                "This type of file is not accepted. Upload one of: %(types)s.", types=types_text))])
        final = folder / f"{uuid.uuid4().hex}.{kind.extension}"
        os.replace(temporary, final)  # mkstemp made it 0600: readable by the app's user only
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return StoredUpload(final, kind, size, sha256)


def keep_if_committed(path: Path) -> None:
    """Keep the stored file ``path`` if the session's outermost transaction commits, delete it otherwise."""
    db.session.info.setdefault(_PENDING, set()).add(str(path))


def delete_if_committed(path: Path) -> None:
    """Delete the stored file ``path`` once the session's outermost transaction commits (a rollback keeps it)."""
    db.session.info.setdefault(_DOOMED, set()).add(str(path))


def count_for(case: CaseStudy) -> int:
    """How many files ``case`` has."""
    return db.session.scalar(sa.select(sa.func.count(Attachment.id)).where(Attachment.case_study_id == case.id))


def store_attachment(user, case: CaseStudy, filename: str | None, stream: BinaryIO | None) -> Attachment:
    """Check and store an uploaded file as an attachment of ``case`` (permission is the caller's business).

    :param filename: the name the user's browser sent (only shown and stored, never used as a path).
    :param stream: the file's bytes; read once, up to the limit.
    :raise AttachmentTooLarge: over ``ATTACHMENT_MAX_BYTES``.
    :raise ValidationFailed: no file, a name that is a path, too many files, an empty file, a type not accepted.
    """
    if stream is None or not filename:
        raise ValidationFailed([(FIELD, NO_FILE)])
    name = clean_filename(filename)
    # Lock the case row (PostgreSQL) so that two uploads at once cannot both pass the count.
    db.session.execute(sa.select(CaseStudy.id).where(CaseStudy.id == case.id).with_for_update())
    limit_files = max_files()
    if count_for(case) >= limit_files:
        raise ValidationFailed([(FIELD, _l(
            "A case study can have at most %(max)d files. Delete one before adding another.", max=limit_files))])

    stored = write_upload(stream)
    final = stored.path
    try:
        attachment = Attachment(
            case_study_id=case.id, original_name=name_for(name, stored.kind), stored_name=final.name,
            content_type=stored.kind.content_type, size=stored.size, sha256=stored.sha256,
            uploaded_by_id=user.id if user else None,
        )
        db.session.add(attachment)
        db.session.flush()
        audit.record(user, "attachment.uploaded", case, {
            "attachment_id": attachment.id, "name": attachment.original_name, "size": stored.size,
            "sha256": stored.sha256,
        })
    except BaseException:
        final.unlink(missing_ok=True)
        raise
    keep_if_committed(final)
    return attachment


def delete_attachment(user, attachment: Attachment) -> None:
    """Delete the row now and the file once the transaction commits (a rollback keeps both).

    :raise ValidationFailed: it is the only evidence of a published case study's evidence level 3 to 5 (the rule
        of :func:`app.case_studies.services.evidence_problem`).
    """
    path = file_path(attachment)
    case = attachment.case_study
    if case.is_published and evidence_problem(case.evidence_level, case.evidence_url, len(case.attachments) - 1):
        raise ValidationFailed([(FIELD, _l(
            "This file is the only evidence for evidence level %(level)s. Add a link to the evaluation, or lower "
            "the level, before deleting it.", level=case.evidence_level))])
    details = {"attachment_id": attachment.id, "name": attachment.original_name, "sha256": attachment.sha256}
    if attachment in case.attachments:
        case.attachments.remove(attachment)
    db.session.delete(attachment)
    db.session.flush()
    audit.record(user, "attachment.deleted", case, details)
    delete_if_committed(path)


def unlink_quietly(path: str | Path) -> None:
    """Remove a file; a file already gone is fine, and a failure is logged, not raised (after the commit)."""
    try:
        Path(path).unlink(missing_ok=True)
    except OSError:
        current_app.logger.exception("Could not delete the attachment file %s", path)


@event.listens_for(FlaskSQLAlchemySession, "after_commit")
def _after_commit(session) -> None:
    """The outermost transaction committed: new files stay, deleted attachments' files go."""
    if session.in_nested_transaction():
        return  # a SAVEPOINT released: the outer transaction may still roll back
    session.info.pop(_PENDING, None)
    for path in session.info.pop(_DOOMED, ()):
        unlink_quietly(path)


@event.listens_for(FlaskSQLAlchemySession, "after_transaction_end")
def _after_transaction_end(session, transaction) -> None:
    """The outermost transaction ended without a commit (rollback, failed commit, closed session): files
    stored in it are deleted, files of deletions it undid are kept."""
    if transaction.parent is not None:
        return
    for path in session.info.pop(_PENDING, ()):
        unlink_quietly(path)
    session.info.pop(_DOOMED, None)

