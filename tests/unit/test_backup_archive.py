"""The backup archive format (app/backup/archive.py): value kinds, member names, atomic writing, verification.

No app and no database: the module is pure. Tampered archives are built by rewriting a real one member by member.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import math
import tarfile
import tempfile
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from datetime import timezone
from decimal import Decimal
from pathlib import Path

import pytest

from app.backup import archive
from app.backup.archive import ArchiveError
from app.backup.archive import ArchiveWriter
from app.backup.archive import Column

CREATED = datetime(2026, 12, 7, 15, 30, tzinfo=UTC)
ALMATY = timezone(timedelta(hours=5))

COLUMNS = [
    Column("id", "int"),
    Column("name", "str"),
    Column("active", "bool"),
    Column("ratio", "float"),
    Column("budget", "decimal"),
    Column("created_at", "datetime", True),
    Column("local", "datetime", False),
    Column("due", "date"),
    Column("at", "time"),
    Column("blob", "bytes"),
    Column("details", "json"),
]
ROWS = [
    {"id": 1, "name": "Алматы — Қазақстан", "active": True, "ratio": 0.1, "budget": Decimal("1234567890123456.78"),
     "created_at": datetime(2026, 12, 7, 20, 30, 1, 123456, tzinfo=ALMATY), "local": datetime(2026, 1, 2, 3, 4, 5),
     "due": date(2027, 3, 1), "at": time(9, 30), "blob": bytes(range(256)),
     "details": {"b": [1, 2.5, None, "x"], "a": {"nested": True}}},
    {"id": 2, "name": "", "active": False, "ratio": math.inf, "budget": Decimal("0.10"),
     "created_at": datetime(2026, 12, 7, 15, 30), "local": None, "due": None, "at": None, "blob": b"",
     "details": []},
    {"id": 3, "name": None, "active": None, "ratio": None, "budget": None, "created_at": None, "local": None,
     "due": None, "at": None, "blob": None, "details": None},
]


# --- values -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind, value", [
    ("int", 0), ("int", -(2**63)), ("int", 2**63 - 1), ("str", "a\nb\"c\\ü😀"), ("bool", True), ("bool", False),
    ("float", 0.1), ("float", -1e300), ("float", 5e-324), ("float", math.inf), ("float", -math.inf),
    ("decimal", Decimal("0.10")), ("decimal", Decimal("-99999999999999999.99")), ("decimal", Decimal("1E+2")),
    ("datetime", datetime(2026, 12, 7, 15, 30, 0, 1)), ("datetime", datetime(2026, 12, 7, 15, 30, tzinfo=UTC)),
    ("date", date(1, 1, 1)), ("time", time(23, 59, 59, 999999)), ("bytes", b"\x00\xff" * 10),
    ("json", {"k": [1, "two", None, {"3": 4.5}]}), ("json", "text"), ("json", 7),
])
def test_every_kind_comes_back_as_the_same_value(kind, value):
    decoded = archive.decode_value(kind, json.loads(json.dumps(archive.encode_value(kind, value))))
    assert decoded == value
    assert type(decoded) is type(value)
    if kind == "decimal":
        assert str(decoded) == str(value)  # the exponent (scale) too, not just the number
    if kind == "datetime":
        assert (decoded.tzinfo is None) == (value.tzinfo is None)


def test_nan_and_null_survive():
    assert math.isnan(archive.decode_value("float", archive.encode_value("float", math.nan)))
    for kind in archive.KINDS:
        assert archive.encode_value(kind, None) is None
        assert archive.decode_value(kind, None) is None


def test_an_aware_datetime_is_written_in_utc_as_the_same_instant():
    value = datetime(2026, 12, 7, 20, 30, tzinfo=ALMATY)
    encoded = archive.encode_value("datetime", value)
    assert encoded == "2026-12-07T15:30:00+00:00"
    assert archive.decode_value("datetime", encoded) == value


@pytest.mark.parametrize("kind, value", [
    ("int", "5"), ("int", True), ("str", 5), ("bool", 1), ("datetime", "2026-12-07"), ("date", datetime(2026, 1, 1)),
    ("float", "1.5"), ("decimal", "NaN-ish"),
])
def test_a_value_of_another_kind_is_refused_when_written(kind, value):
    with pytest.raises(ArchiveError):
        archive.encode_value(kind, value)


@pytest.mark.parametrize("kind, value", [
    ("int", "5"), ("int", 1.5), ("int", True), ("str", 5), ("bool", 1), ("bool", "true"), ("float", "1.5"),
    ("decimal", 1.5), ("decimal", "abc"), ("decimal", "NaN"), ("datetime", "yesterday"), ("date", "2026-13-01"),
    ("time", 930), ("bytes", "not base64!"), ("kind-that-does-not-exist", 1),
])
def test_a_value_that_is_not_of_its_kind_is_refused_when_read(kind, value):
    with pytest.raises(ArchiveError):
        archive.decode_value(kind, value)


def test_rows_round_trip_and_keep_column_order():
    lines = [archive.encode_row(COLUMNS, row) for row in ROWS]
    assert all(line.endswith("\n") and line.count("\n") == 1 for line in lines)
    assert list(json.loads(lines[0])) == [c.name for c in COLUMNS]
    assert [archive.decode_row(COLUMNS, line) for line in lines] == ROWS


@pytest.mark.parametrize("line", ['{"id": 1}', '[1, 2]', "not json", '{"id": 1, "name": "x", "extra": 2}'])
def test_a_row_without_exactly_its_columns_is_refused(line):
    with pytest.raises(ArchiveError):
        archive.decode_row([Column("id", "int"), Column("name", "str")], line)


# --- member names -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["manifest.json", "db/user.jsonl", "uploads/ab12.pdf", "uploads/sub/dir/f.png"])
def test_safe_member_names(name):
    assert archive.check_member_name(name) == name


@pytest.mark.parametrize("name", [
    "", "/etc/passwd", "../evil", "uploads/../../evil", "uploads/./x", "uploads//x", "uploads/", "uploads",
    "db/a/b.jsonl", "db/", "other/file", "uploads\\..\\evil", "uploads/x\x00y", "manifest.json/x", "./manifest.json",
])
def test_unsafe_or_unexpected_member_names_are_refused(name):
    with pytest.raises(ArchiveError):
        archive.check_member_name(name)


# --- writing and reading ----------------------------------------------------------------------------------


def write_sample(target: Path, upload: bytes = b"%PDF-1.4 attachment bytes") -> dict:
    source = target.parent / "source-upload.pdf"
    source.write_bytes(upload)
    with ArchiveWriter(target, CREATED) as writer:
        writer.add_table("thing", COLUMNS, ROWS)
        writer.add_table("empty", [Column("id", "int")], [])
        writer.add_file("ab12.pdf", source)
        return writer.finish("072cee0ee0a9", "sqlite", {"search_outbox": "rebuilt"})


def test_written_archive_reads_back_verified(tmp_path):
    target = tmp_path / "backup.tar.gz"
    manifest = write_sample(target)
    assert {p.name for p in tmp_path.iterdir()} == {"backup.tar.gz", "source-upload.pdf"}  # no temporary file left

    with tarfile.open(target) as tar:
        names = tar.getnames()
    assert names == ["db/thing.jsonl", "db/empty.jsonl", "uploads/ab12.pdf", "manifest.json"]
    assert manifest["format"] == archive.FORMAT_NAME and manifest["format_version"] == archive.FORMAT_VERSION
    assert manifest["created_at"] == "2026-12-07T15:30:00+00:00"
    assert manifest["schema_revision"] == "072cee0ee0a9"
    assert [(t["name"], t["rows"]) for t in manifest["tables"]] == [("thing", 3), ("empty", 0)]
    upload = next(f for f in manifest["files"] if f["path"] == "uploads/ab12.pdf")
    assert upload == {"path": "uploads/ab12.pdf", "size": 25,
                      "sha256": hashlib.sha256(b"%PDF-1.4 attachment bytes").hexdigest()}

    dest = tmp_path / "staging"
    dest.mkdir()
    read = archive.extract_verified(target, dest)
    assert read.schema_revision == "072cee0ee0a9"
    assert read.skipped_tables == {"search_outbox": "rebuilt"}
    assert [t.name for t in read.tables] == ["thing", "empty"]
    assert list(read.tables[0].read_rows()) == ROWS
    assert list(read.tables[1].read_rows()) == []
    assert read.uploads == {"ab12.pdf": {"size": 25, "sha256": upload["sha256"]}}
    assert read.upload_path("ab12.pdf").read_bytes() == b"%PDF-1.4 attachment bytes"


def test_a_failed_write_leaves_neither_the_target_nor_a_temporary_file(tmp_path):
    target = tmp_path / "backup.tar.gz"
    bad_rows = [*ROWS, {**ROWS[0], "id": "not an int"}]
    with pytest.raises(ArchiveError, match="table thing, row 4"), ArchiveWriter(target, CREATED) as writer:
        writer.add_table("thing", COLUMNS, bad_rows)
    assert list(tmp_path.iterdir()) == []


def test_a_failed_write_keeps_an_existing_archive_intact(tmp_path):
    target = tmp_path / "backup.tar.gz"
    write_sample(target)
    before = target.read_bytes()
    with pytest.raises(RuntimeError), ArchiveWriter(target, CREATED) as writer:
        writer.add_table("thing", COLUMNS, ROWS)
        raise RuntimeError("disk full, say")
    assert target.read_bytes() == before
    assert {p.name for p in tmp_path.iterdir()} == {"backup.tar.gz", "source-upload.pdf"}


# --- tampering --------------------------------------------------------------------------------------------


def members_of(path: Path) -> dict[str, bytes]:
    with tarfile.open(path) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers()}


def rewrite(path: Path, members: dict[str, bytes], *, rehash: bool = False, extra: list[tarfile.TarInfo] = ()) -> None:
    """Write ``members`` back as a tar.gz; ``rehash`` updates the manifest's sizes and hashes (a careful forger)."""
    if rehash:
        manifest = json.loads(members["manifest.json"])
        for entry in manifest["files"]:
            data = members[entry["path"]]
            entry["size"], entry["sha256"] = len(data), hashlib.sha256(data).hexdigest()
        members["manifest.json"] = json.dumps(manifest).encode()
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for info in extra:
            tar.addfile(info)


def refused(path: Path, tmp_path: Path, match: str) -> None:
    """Assert that ``path`` is refused with a message matching ``match`` (into a fresh staging folder)."""
    dest = Path(tempfile.mkdtemp(dir=tmp_path, prefix="staging-"))
    with pytest.raises(ArchiveError, match=match):
        archive.extract_verified(path, dest)


@pytest.fixture
def sample(tmp_path) -> Path:
    target = tmp_path / "backup.tar.gz"
    write_sample(target)
    return target


def test_a_changed_byte_in_a_table_dump_is_refused(sample, tmp_path):
    members = members_of(sample)
    members["db/thing.jsonl"] = members["db/thing.jsonl"].replace(b'"id":2', b'"id":9')
    rewrite(sample, members)
    refused(sample, tmp_path, "db/thing.jsonl does not match the manifest")


def test_a_changed_upload_is_refused(sample, tmp_path):
    members = members_of(sample)
    members["uploads/ab12.pdf"] = b"%PDF-1.4 attachment bytez"
    rewrite(sample, members)
    refused(sample, tmp_path, "uploads/ab12.pdf does not match the manifest")


def test_an_extra_or_a_missing_member_is_refused(sample, tmp_path):
    members = members_of(sample)
    rewrite(sample, {**members, "uploads/planted.pdf": b"x"})
    refused(sample, tmp_path, "does not list")
    del members["uploads/ab12.pdf"]
    rewrite(sample, members)
    refused(sample, tmp_path, "missing from the archive")


@pytest.mark.parametrize("keep", [0.3, 0.7, 0.98, "all but the gzip trailer's last byte"])
def test_a_truncated_archive_is_refused(sample, tmp_path, keep):
    data = sample.read_bytes()
    sample.write_bytes(data[:-1] if isinstance(keep, str) else data[: int(len(data) * keep)])
    refused(sample, tmp_path, "cannot be read|no manifest.json")


def test_a_file_that_is_not_an_archive_is_refused(tmp_path):
    path = tmp_path / "notes.tar.gz"
    path.write_bytes(b"just some text\n")
    refused(path, tmp_path, "cannot be read")
    path.write_bytes(gzip.compress(b"gzip but not tar"))
    refused(path, tmp_path, "cannot be read")


def test_a_member_escaping_the_folder_is_refused_and_nothing_is_written_outside(sample, tmp_path):
    members = members_of(sample)
    members = {"../../escaped.txt": b"owned", **members}
    rewrite(sample, members)
    refused(sample, tmp_path, "unsafe or unexpected member name")
    assert not (tmp_path.parent / "escaped.txt").exists()
    assert not (tmp_path / "escaped.txt").exists()


def test_links_and_devices_are_refused(sample, tmp_path):
    link = tarfile.TarInfo("uploads/link.pdf")
    link.type = tarfile.SYMTYPE
    link.linkname = "/etc/passwd"
    rewrite(sample, members_of(sample), extra=[link])
    refused(sample, tmp_path, "not a regular file")


def test_a_manifest_of_another_format_or_a_newer_version_is_refused(sample, tmp_path):
    members = members_of(sample)
    manifest = json.loads(members["manifest.json"])
    rewrite(sample, {**members, "manifest.json": json.dumps({**manifest, "format": "other"}).encode()})
    refused(sample, tmp_path, "not a backup of this application")
    rewrite(sample, {**members, "manifest.json": json.dumps({**manifest, "format_version": 2}).encode()})
    refused(sample, tmp_path, "format version 2")
    rewrite(sample, {**members, "manifest.json": b"{not json"})
    refused(sample, tmp_path, "not valid JSON")


def test_consistent_hashes_do_not_hide_a_wrong_row_count_or_a_badly_typed_value(sample, tmp_path):
    """A forger who also rewrites the hashes still cannot smuggle in rows the manifest does not count, or values
    of the wrong kind: every row is decoded before anything is written."""
    members = members_of(sample)
    extra_row = archive.encode_row(COLUMNS, {**ROWS[2], "id": 4}).encode()
    rewrite(sample, {**members, "db/thing.jsonl": members["db/thing.jsonl"] + extra_row}, rehash=True)
    refused(sample, tmp_path, "has 4 rows, the manifest says 3")

    members = members_of(sample)
    bad = members["db/thing.jsonl"].replace(b'"active":true', b'"active":"yes"')
    rewrite(sample, {**members, "db/thing.jsonl": bad}, rehash=True)
    refused(sample, tmp_path, "table thing, row 1")
