"""The backup archive format: pure functions and classes, no Flask and no database imports.

An archive is one gzip-compressed tar file::

    db/<table>.jsonl     one file per table, in foreign-key dependency order, one JSON object per row
    uploads/<name>       every uploaded file (``UPLOAD_DIR``), byte for byte
    manifest.json        written last: format, creation time, schema revision, tables, files and hashes

The manifest (:data:`FORMAT_NAME`, version :data:`FORMAT_VERSION`)::

    {"format": "akims-exchange-backup", "format_version": 1, "created_at": "2026-12-07T15:30:00+00:00",
     "schema_revision": "072cee0ee0a9", "source_database": "sqlite",
     "tables": [{"name": "region", "file": "db/region.jsonl", "rows": 20,
                 "columns": [{"name": "id", "kind": "int"}, {"name": "created_at", "kind": "datetime",
                              "timezone": true}, ...]}, ...],
     "skipped_tables": {"search_outbox": "why"},
     "files": [{"path": "db/region.jsonl", "size": 1234, "sha256": "..."}, ...]}

Values are typed by their column's *kind* (:data:`KINDS`), so that every value comes back as the same Python
value: ``int``, ``str``, ``bool`` and ``json`` as JSON; ``decimal`` as its exact decimal string; ``float`` as a
JSON number (``"NaN"``, ``"Infinity"``, ``"-Infinity"`` as strings); ``datetime``, ``date`` and ``time`` in ISO
8601 (a naive datetime stays naive; an aware one is written in UTC with ``+00:00``, the same instant); ``bytes``
in base64. NULL is JSON ``null`` for every kind.

Reading (:func:`extract_verified`) checks everything before anyone writes anything: member names (no absolute
paths, no ``..``, nothing but regular files, nothing outside ``db/`` and ``uploads/``), that the members are
exactly the files the manifest lists, every size and SHA-256, and that every row decodes with its columns' kinds
and the row counts match. Any problem raises :class:`ArchiveError` with a message for the operator.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import math
import os
import tarfile
import tempfile
import zlib
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import time
from decimal import Decimal
from decimal import InvalidOperation
from pathlib import Path
from typing import IO
from typing import Any

FORMAT_NAME = "akims-exchange-backup"
FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"
TABLES_DIR = "db"
UPLOADS_DIR = "uploads"
KINDS = frozenset({"int", "str", "bool", "float", "decimal", "datetime", "date", "time", "bytes", "json"})
CHUNK = 1024 * 1024
_NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


class ArchiveError(Exception):
    """The file is not a usable backup archive (damaged, tampered with, of another format), or one cannot be
    written. The message is meant for the operator."""


# --- values -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """A column of a table dump: its name, its value kind and (datetimes) whether the source was tz-aware."""

    name: str
    kind: str
    timezone: bool | None = None

    def as_dict(self) -> dict:
        """The manifest entry."""
        entry: dict[str, Any] = {"name": self.name, "kind": self.kind}
        if self.timezone is not None:
            entry["timezone"] = self.timezone
        return entry


def encode_value(kind: str, value: Any) -> Any:
    """Turn a database value of ``kind`` into a JSON value (see the module docstring).

    :raise ArchiveError: ``value`` is not of ``kind``.
    """
    if value is None:
        return None
    try:
        match kind:
            case "int":
                return value if isinstance(value, int) and not isinstance(value, bool) else _wrong(kind, value)
            case "str":
                return value if isinstance(value, str) else _wrong(kind, value)
            case "bool":
                return value if isinstance(value, bool) else _wrong(kind, value)
            case "float":
                if isinstance(value, (bool, str, bytes)):
                    return _wrong(kind, value)
                number = float(value)
                if math.isfinite(number):
                    return number
                return "NaN" if math.isnan(number) else ("Infinity" if number > 0 else "-Infinity")
            case "decimal":
                return str(value if isinstance(value, Decimal) else Decimal(str(value)))
            case "datetime":
                if not isinstance(value, datetime):
                    return _wrong(kind, value)
                # An aware value is kept as the same instant in UTC: PostgreSQL stores instants, and the offset
                # it hands back is only its session's time zone.
                return (value.astimezone(UTC) if value.tzinfo is not None else value).isoformat()
            case "date":
                return value.isoformat() if type(value) is date else _wrong(kind, value)
            case "time":
                return value.isoformat() if isinstance(value, time) else _wrong(kind, value)
            case "bytes":
                return base64.b64encode(bytes(value)).decode("ascii")
            case "json":
                return value
    except (TypeError, ValueError, InvalidOperation) as exc:
        raise ArchiveError(f"cannot store {value!r} as {kind}: {exc}") from exc
    raise ArchiveError(f"unknown value kind {kind!r}")


def _wrong(kind: str, value: Any):
    raise ArchiveError(f"cannot store {type(value).__name__} value {value!r} as {kind}")


def decode_value(kind: str, value: Any) -> Any:
    """Turn a JSON value written by :func:`encode_value` back into the Python value.

    :raise ArchiveError: ``value`` is not a valid encoding of ``kind``.
    """
    if value is None:
        return None
    try:
        match kind:
            case "int":
                if isinstance(value, int) and not isinstance(value, bool):
                    return value
            case "str":
                if isinstance(value, str):
                    return value
            case "bool":
                if isinstance(value, bool):
                    return value
            case "float":
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    return float(value)
                if isinstance(value, str) and value in _NON_FINITE:
                    return _NON_FINITE[value]
            case "decimal":
                if isinstance(value, str):
                    number = Decimal(value)
                    if number.is_finite():
                        return number
            case "datetime":
                if isinstance(value, str):
                    return datetime.fromisoformat(value)
            case "date":
                if isinstance(value, str):
                    return date.fromisoformat(value)
            case "time":
                if isinstance(value, str):
                    return time.fromisoformat(value)
            case "bytes":
                if isinstance(value, str):
                    return base64.b64decode(value.encode("ascii"), validate=True)
            case "json":
                return value
            case _:
                raise ArchiveError(f"unknown value kind {kind!r}")
    except (ValueError, InvalidOperation) as exc:  # binascii.Error is a ValueError
        raise ArchiveError(f"{value!r} is not a valid {kind} value: {exc}") from exc
    raise ArchiveError(f"{value!r} is not a valid {kind} value")


def encode_row(columns: list[Column], row: Mapping[str, Any]) -> str:
    """One JSON Lines line (with its newline) for ``row``, keys in column order."""
    values = {column.name: encode_value(column.kind, row[column.name]) for column in columns}
    return json.dumps(values, ensure_ascii=False, separators=(",", ":"), allow_nan=False) + "\n"


def decode_row(columns: list[Column], line: str) -> dict[str, Any]:
    """The row a line of :func:`encode_row` stands for.

    :raise ArchiveError: not a JSON object with exactly the columns' names, or a value of the wrong kind.
    """
    try:
        values = json.loads(line)
    except ValueError as exc:
        raise ArchiveError(f"not a JSON line: {exc}") from exc
    names = [column.name for column in columns]
    if not isinstance(values, dict) or set(values) != set(names):
        raise ArchiveError(f"a row must have exactly the columns {names}")
    return {column.name: decode_value(column.kind, values[column.name]) for column in columns}


# --- member names -----------------------------------------------------------------------------------------


def check_member_name(name: str) -> str:
    """Return ``name`` if it is a safe archive member name for a backup, else raise :class:`ArchiveError`.

    Safe: relative, ``/``-separated, no empty, ``.`` or ``..`` part, no backslash or NUL, and either
    ``manifest.json``, ``db/<file>`` or ``uploads/<path>``.
    """
    parts = name.split("/")
    if (
        not name
        or name.startswith("/")
        or "\\" in name
        or "\x00" in name
        or any(part in ("", ".", "..") for part in parts)
        or not (name == MANIFEST_NAME or (parts[0] == TABLES_DIR and len(parts) == 2)
                or (parts[0] == UPLOADS_DIR and len(parts) >= 2))
    ):
        raise ArchiveError(f"unsafe or unexpected member name in the archive: {name!r}")
    return name


def table_file(table: str) -> str:
    """The member name of a table's dump."""
    return check_member_name(f"{TABLES_DIR}/{table}.jsonl")


def upload_member(relative: str) -> str:
    """The member name of an uploaded file at ``relative`` (``/``-separated) inside ``UPLOAD_DIR``."""
    return check_member_name(f"{UPLOADS_DIR}/{relative}")


# --- writing ----------------------------------------------------------------------------------------------


class _HashingReader(io.RawIOBase):
    """A read-only stream over ``source`` that counts and hashes what passes through."""

    def __init__(self, source: IO[bytes]):
        self.source = source
        self.digest = hashlib.sha256()
        self.size = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self.source.read(size)
        self.digest.update(data)
        self.size += len(data)
        return data


class ArchiveWriter:
    """Write a backup archive atomically: to a temporary file beside ``target``, renamed over it by
    :meth:`finish`. Leaving the ``with`` block without :meth:`finish` (an error) removes the temporary file, so a
    failed backup never leaves a partial archive under ``target``."""

    def __init__(self, target: Path, created_at: datetime):
        self.target = Path(target)
        self.created_at = created_at
        self.tables: list[dict] = []
        self.files: list[dict] = []
        self._names: set[str] = set()
        self._tmp: Path | None = None
        self._tar: tarfile.TarFile | None = None
        self._raw: IO[bytes] | None = None

    def __enter__(self) -> ArchiveWriter:
        try:
            descriptor, tmp = tempfile.mkstemp(dir=self.target.parent, prefix=f".{self.target.name}.",
                                               suffix=".part")
        except OSError as exc:
            raise ArchiveError(f"cannot write in {self.target.parent}: {exc.strerror or exc}") from exc
        self._tmp = Path(tmp)
        self._raw = os.fdopen(descriptor, "w+b")
        self._tar = tarfile.open(fileobj=self._raw, mode="w:gz", format=tarfile.PAX_FORMAT)
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if self._tmp is not None:  # not finished: throw the partial file away
            for closing in (self._tar, self._raw):
                try:
                    if closing is not None:
                        closing.close()
                except Exception:  # already failing: the original error is the one to report
                    pass
            self._tmp.unlink(missing_ok=True)
            self._tmp = None

    def _info(self, name: str, size: int, mode: int) -> tarfile.TarInfo:
        if name in self._names:
            raise ArchiveError(f"duplicate archive member {name!r}")
        self._names.add(name)
        info = tarfile.TarInfo(name)
        info.size = size
        info.mode = mode
        info.mtime = int(self.created_at.timestamp())
        return info

    def _add(self, name: str, stream: IO[bytes], size: int, mode: int) -> dict:
        assert self._tar is not None, "use ArchiveWriter in a with block"
        reader = _HashingReader(stream)
        self._tar.addfile(self._info(name, size, mode), reader)
        if reader.size != size:
            raise ArchiveError(f"{name} changed size while it was being archived")
        entry = {"path": name, "size": size, "sha256": reader.digest.hexdigest()}
        self.files.append(entry)
        return entry

    def add_table(self, name: str, columns: list[Column], rows: Iterable[Mapping[str, Any]]) -> int:
        """Add the dump of table ``name`` (rows in the order given); return the number of rows."""
        count = 0
        with tempfile.TemporaryFile() as spool:  # a tar member needs its size before its bytes
            for row in rows:
                try:
                    spool.write(encode_row(columns, row).encode("utf-8"))
                except ArchiveError as exc:
                    raise ArchiveError(f"table {name}, row {count + 1}: {exc}") from exc
                count += 1
            size = spool.tell()
            spool.seek(0)
            member = table_file(name)
            self._add(member, spool, size, 0o644)
        self.tables.append({"name": name, "file": member, "rows": count,
                            "columns": [column.as_dict() for column in columns]})
        return count

    def add_file(self, relative: str, source: Path) -> dict:
        """Add the uploaded file ``source``, stored as ``relative`` inside ``UPLOAD_DIR``."""
        with open(source, "rb") as stream:
            size = os.fstat(stream.fileno()).st_size
            return self._add(upload_member(relative), stream, size, 0o600)

    def finish(self, schema_revision: str, source_database: str, skipped_tables: Mapping[str, str]) -> dict:
        """Write the manifest, close, flush to disk and rename the archive into place; return the manifest."""
        assert self._tar is not None and self._raw is not None and self._tmp is not None
        manifest = {
            "format": FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            "created_at": self.created_at.astimezone(UTC).isoformat(),
            "schema_revision": schema_revision,
            "source_database": source_database,
            "tables": self.tables,
            "skipped_tables": dict(skipped_tables),
            "files": self.files,
        }
        data = json.dumps(manifest, ensure_ascii=False, indent=2).encode("utf-8") + b"\n"
        self._tar.addfile(self._info(MANIFEST_NAME, len(data), 0o644), io.BytesIO(data))
        self._tar.close()
        self._raw.flush()
        os.fsync(self._raw.fileno())
        self._raw.close()
        os.replace(self._tmp, self.target)
        self._tmp = None
        _fsync_dir(self.target.parent)
        return manifest


def _fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (where the platform allows opening a directory)."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


# --- reading ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TableDump:
    """A table of a verified archive: where its rows are on disk and how to decode them."""

    name: str
    path: Path
    rows: int
    columns: list[Column]

    def read_rows(self) -> Iterable[dict[str, Any]]:
        """The decoded rows, in the archive's order."""
        with self.path.open(encoding="utf-8") as lines:
            for line in lines:
                yield decode_row(self.columns, line)


@dataclass(frozen=True)
class Manifest:
    """What a verified archive holds; its files are extracted under ``root``."""

    root: Path
    data: dict
    tables: list[TableDump]
    uploads: dict[str, dict] = field(default_factory=dict)  # path inside UPLOAD_DIR -> {"size", "sha256"}

    @property
    def schema_revision(self) -> str:
        return self.data["schema_revision"]

    @property
    def skipped_tables(self) -> dict[str, str]:
        return self.data.get("skipped_tables") or {}

    def upload_path(self, relative: str) -> Path:
        """The extracted (verified) copy of the uploaded file ``relative``."""
        return self.root / UPLOADS_DIR / relative


def _copy_hashing(source: IO[bytes], target: IO[bytes]) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    while chunk := source.read(CHUNK):
        digest.update(chunk)
        target.write(chunk)
        size += len(chunk)
    return size, digest.hexdigest()


def extract_verified(archive: Path, dest: Path) -> Manifest:
    """Extract ``archive`` into the empty folder ``dest`` and verify all of it (see the module docstring).

    :return: the manifest, its table dumps and uploads pointing into ``dest``.
    :raise ArchiveError: anything at all wrong with the archive; then nothing but ``dest`` was written.
    """
    archive = Path(archive)
    seen: dict[str, tuple[int, str]] = {}
    try:
        with tarfile.open(archive, mode="r:gz") as tar:
            for member in tar:
                name = check_member_name(member.name)
                if not member.isfile():
                    raise ArchiveError(f"archive member {name!r} is not a regular file")
                if name in seen:
                    raise ArchiveError(f"archive member {name!r} appears twice")
                target = dest / name
                target.parent.mkdir(parents=True, exist_ok=True)
                source = tar.extractfile(member)
                assert source is not None  # a regular file always has content
                with source, open(target, "xb") as out:
                    seen[name] = _copy_hashing(source, out)
            # Read the compressed stream to its end, so that gzip checks its CRC and length: tarfile stops at the
            # end-of-archive blocks and would not notice a file cut off after them.
            while tar.fileobj.read(CHUNK):
                pass
    except FileNotFoundError as exc:
        raise ArchiveError(f"{archive}: no such file") from exc
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        raise ArchiveError(f"{archive} cannot be read as a backup archive (damaged, truncated or not a "
                           f".tar.gz file): {exc}") from exc
    if MANIFEST_NAME not in seen:
        raise ArchiveError(f"{archive} has no {MANIFEST_NAME}: not a backup archive, or a truncated one")
    manifest = _read_manifest(dest / MANIFEST_NAME)

    listed = {entry["path"]: entry for entry in manifest["files"]}
    extracted = set(seen) - {MANIFEST_NAME}
    if unlisted := sorted(extracted - listed.keys()):
        raise ArchiveError(f"files in the archive that the manifest does not list: {unlisted}")
    if absent := sorted(listed.keys() - extracted):
        raise ArchiveError(f"files the manifest lists are missing from the archive: {absent}")
    for path, entry in listed.items():
        size, sha256 = seen[path]
        if size != entry["size"] or sha256 != entry["sha256"]:
            raise ArchiveError(f"{path} does not match the manifest (size {size} vs {entry['size']}, SHA-256 "
                               f"{sha256} vs {entry['sha256']}): the archive is damaged or was altered")

    tables = []
    for entry in manifest["tables"]:
        if entry["file"] not in listed:
            raise ArchiveError(f"the dump of table {entry['name']} ({entry['file']}) is not in the manifest's files")
        dump = TableDump(entry["name"], dest / entry["file"], entry["rows"],
                         [Column(c["name"], c["kind"], c.get("timezone")) for c in entry["columns"]])
        count = 0
        try:
            for _row in dump.read_rows():
                count += 1
        except (ArchiveError, UnicodeDecodeError) as exc:
            raise ArchiveError(f"table {dump.name}, row {count + 1}: {exc}") from exc
        if count != dump.rows:
            raise ArchiveError(f"table {dump.name} has {count} rows, the manifest says {dump.rows}")
        tables.append(dump)
    prefix = UPLOADS_DIR + "/"
    uploads = {path[len(prefix):]: {"size": e["size"], "sha256": e["sha256"]}
               for path, e in listed.items() if path.startswith(prefix)}
    return Manifest(root=dest, data=manifest, tables=tables, uploads=uploads)


def _read_manifest(path: Path) -> dict:
    """Parse and check the shape of ``manifest.json``."""
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ArchiveError(f"{MANIFEST_NAME} is not valid JSON: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_NAME:
        raise ArchiveError(f"not a backup of this application ({MANIFEST_NAME} has no format {FORMAT_NAME!r})")
    version = manifest.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ArchiveError(f"{MANIFEST_NAME}: format_version must be a positive integer")
    if version > FORMAT_VERSION:
        raise ArchiveError(f"the archive has format version {version}; this code reads up to {FORMAT_VERSION}: "
                           "restore it with a newer version of the application")
    problems = []
    if not isinstance(manifest.get("schema_revision"), str) or not manifest["schema_revision"]:
        problems.append("schema_revision must be a non-empty string")
    if not isinstance(manifest.get("skipped_tables", {}), dict):
        problems.append("skipped_tables must be an object")
    files = manifest.get("files")
    if not isinstance(files, list) or not all(
        isinstance(e, dict) and isinstance(e.get("path"), str) and isinstance(e.get("size"), int)
        and isinstance(e.get("sha256"), str) for e in files
    ):
        problems.append("files must be a list of {path, size, sha256}")
    else:
        paths = [e["path"] for e in files]
        if len(set(paths)) != len(paths):
            problems.append("files lists a path twice")
        for p in paths:
            check_member_name(p)
    tables = manifest.get("tables")
    if not isinstance(tables, list) or not all(_table_entry_ok(t) for t in tables):
        problems.append("tables must be a list of {name, file, rows, columns: [{name, kind}]} with known kinds")
    elif len({t["name"] for t in tables}) != len(tables):
        problems.append("tables lists a table twice")
    if problems:
        raise ArchiveError(f"{MANIFEST_NAME} is malformed: " + "; ".join(problems))
    return manifest


def _table_entry_ok(entry: Any) -> bool:
    return (
        isinstance(entry, dict)
        and isinstance(entry.get("name"), str)
        and isinstance(entry.get("file"), str)
        and isinstance(entry.get("rows"), int)
        and isinstance(entry.get("columns"), list)
        and bool(entry["columns"])
        and all(isinstance(c, dict) and isinstance(c.get("name"), str) and c.get("kind") in KINDS
                for c in entry["columns"])
        and len({c["name"] for c in entry["columns"]}) == len(entry["columns"])
    )
