"""Dump the database and the uploaded files into a backup archive, and load one into an empty database.

Functions here never commit the data they load: :func:`load_tables` writes in the session's transaction and the
``restore`` command commits once. The exception is :func:`migrate_to`, which runs Alembic (Alembic commits its
own migrations).

Decisions recorded here:

* ``search_outbox`` and ``form_submission`` are not backed up (:data:`SKIPPED_TABLES`): the outbox rows only
  say which index updates were pending or done, and a restore rebuilds the whole index from the restored case
  studies anyway; the one-time form tokens only matter for two days.
* The reference tables (region, municipality, akimat; :data:`REFERENCE_TABLES`) are loaded by a data migration
  into every new database. A restore deletes them and inserts the archive's rows with their ids, so every
  foreign key in the archive points at the row it pointed at in the source.
* Datetimes: PostgreSQL hands back aware values (stored as UTC in the archive), SQLite naive ones (SQLite stores
  no offset; the application writes UTC). Loading into PostgreSQL reads a naive value of a ``timestamptz``
  column as UTC; loading into SQLite writes the UTC wall time (what SQLAlchemy itself would store).
* JSON columns: SQL NULL and a JSON ``null`` both read back as ``None``, and ``None`` is loaded as JSON ``null``,
  which is what the ORM stores for ``None`` (``sa.JSON(none_as_null=False)``). No JSON column is nullable today.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterable
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command as alembic_command
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from flask import current_app
from sqlalchemy.engine import Connection

from app.backup.archive import ArchiveError
from app.backup.archive import ArchiveWriter
from app.backup.archive import Column
from app.backup.archive import Manifest
from app.extensions import db

SKIPPED_TABLES = {
    "search_outbox": "pending search-index updates; a restore rebuilds the whole index from the database",
    "form_submission": "one-time form tokens of the last two days; a restored site starts without them",
}
REFERENCE_TABLES = frozenset({"region", "municipality", "akimat"})
ALEMBIC_TABLE = "alembic_version"
INSERT_BATCH = 500
READ_BATCH = 1000


class RestoreRefused(Exception):
    """The database (or ``UPLOAD_DIR``) cannot take this archive; nothing was changed. The message says why."""


class BackupRefused(Exception):
    """A backup cannot be made from this database; the message says why."""


# --- Alembic ----------------------------------------------------------------------------------------------


def _alembic_config():
    return current_app.extensions["migrate"].migrate.get_config()


def script_directory() -> ScriptDirectory:
    """The migration scripts of this code."""
    return ScriptDirectory.from_config(_alembic_config())


def code_head() -> str:
    """The newest migration of this code (there is exactly one head)."""
    heads = script_directory().get_heads()
    if len(heads) != 1:
        raise RuntimeError(f"the migrations have {len(heads)} heads, expected one: {heads}")
    return heads[0]


def database_revision(connection: Connection) -> str | None:
    """The ``alembic_version`` of the database (None when it has never been migrated).

    :raise BackupRefused: more than one revision recorded (a branched history this code does not make).
    """
    if not sa.inspect(connection).has_table(ALEMBIC_TABLE):
        return None
    versions = connection.execute(sa.text(f"SELECT version_num FROM {ALEMBIC_TABLE}")).scalars().all()
    if len(versions) > 1:
        raise BackupRefused(f"the database records several schema revisions: {versions}")
    return versions[0] if versions else None


def _is_known(revision: str) -> bool:
    try:
        return script_directory().get_revision(revision) is not None
    except CommandError:  # alembic's ResolutionError is a CommandError
        return False


def _ancestors(revision: str) -> set[str]:
    """``revision`` and every revision below it."""
    return {script.revision for script in script_directory().iterate_revisions(revision, "base")}


def migrate_to(revision: str) -> None:
    """Run Alembic's upgrade to ``revision`` (or ``"head"``) on the app's database; Alembic commits.

    :raise RestoreRefused: Alembic refused (e.g. an unknown revision).
    """
    try:
        alembic_command.upgrade(_alembic_config(), revision)
    except CommandError as exc:
        raise RestoreRefused(f"migrating the database to {revision} failed: {exc}") from exc


# --- column kinds -----------------------------------------------------------------------------------------


def _stored_type(type_: sa.types.TypeEngine) -> sa.types.TypeEngine:
    """The type the database stores for ``type_`` (a TypeDecorator such as ``UTCDateTime`` unwrapped)."""
    return type_.impl_instance if isinstance(type_, sa.types.TypeDecorator) else type_


def column_kind(type_: sa.types.TypeEngine) -> str:
    """The archive value kind (:data:`app.backup.archive.KINDS`) of a column type.

    :raise BackupRefused: a type the archive format has no kind for (add one rather than guess).
    """
    type_ = _stored_type(type_)
    checks: list[tuple[type, str]] = [
        (sa.Boolean, "bool"),
        (sa.Integer, "int"),
        (sa.Float, "float"),  # before Numeric: Float is a Numeric
        (sa.Numeric, "decimal"),
        (sa.DateTime, "datetime"),
        (sa.Date, "date"),
        (sa.Time, "time"),
        (sa.LargeBinary, "bytes"),
        (sa.JSON, "json"),
        (sa.String, "str"),  # Text, Enum and Unicode are Strings
    ]
    for cls, kind in checks:
        if isinstance(type_, cls):
            if kind == "decimal" and not type_.asdecimal:
                return "float"
            return kind
    raise BackupRefused(f"column type {type_!r} has no backup format; add a kind to app/backup/archive.py")


def columns_of(table: sa.Table) -> list[Column]:
    """The archive columns of a model table."""
    columns = []
    for c in table.columns:
        stored = _stored_type(c.type)
        timezone = stored.timezone if isinstance(stored, sa.DateTime) else None
        columns.append(Column(c.name, column_kind(stored), timezone))
    return columns


# --- backup -----------------------------------------------------------------------------------------------


@dataclass
class BackupReport:
    """What :func:`write_backup` wrote."""

    path: Path
    manifest: dict
    missing_files: list[str] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(t["rows"] for t in self.manifest["tables"])

    @property
    def uploads(self) -> int:
        return sum(1 for f in self.manifest["files"] if f["path"].startswith("uploads/"))


def _snapshot_connection(connection: Connection) -> Connection:
    """Options for one consistent read-only snapshot of the whole database.

    PostgreSQL: a REPEATABLE READ, READ ONLY transaction (one snapshot for every statement). SQLite: a plain
    (deferred) BEGIN, whose first read fixes the snapshot in WAL mode, including commits still in the WAL file,
    without taking the write lock, so the live site keeps writing meanwhile.
    """
    if connection.dialect.name == "postgresql":
        return connection.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
    return connection.execution_options(sqlite_begin="DEFERRED")


def _order_by(connection: Connection, table: sa.Table) -> list:
    """A deterministic row order: the primary key, text compared by code point on every backend."""
    columns = list(table.primary_key.columns) or list(table.columns)
    if connection.dialect.name == "postgresql":
        # The database's collation would sort text differently from SQLite; "C" sorts by code point as SQLite does.
        return [c.collate("C") if isinstance(c.type, sa.String) else c for c in columns]
    return columns


def _rows(connection: Connection, table: sa.Table) -> Iterator[dict[str, Any]]:
    result = connection.execution_options(yield_per=READ_BATCH).execute(
        sa.select(table).order_by(*_order_by(connection, table))
    )
    for row in result.mappings():
        yield dict(row)


def upload_files(upload_dir: Path) -> list[tuple[str, Path]]:
    """(relative ``/`` path, file) of every uploaded file, sorted. Hidden files (an upload still being written
    is ``.upload-*.part``) and anything but regular files are left out."""
    if not upload_dir.is_dir():
        return []
    found = []
    for path in upload_dir.rglob("*"):
        relative = path.relative_to(upload_dir)
        if any(part.startswith(".") for part in relative.parts) or path.is_symlink() or not path.is_file():
            continue
        found.append((relative.as_posix(), path))
    return sorted(found)


def write_backup(target: Path, upload_dir: Path) -> BackupReport:
    """Write the database (one snapshot) and ``upload_dir`` into the archive ``target``, atomically.

    :raise BackupRefused: the database is not migrated to this code's schema.
    :raise ArchiveError: the archive cannot be written (then no file is left under ``target``).
    """
    created_at = datetime.now(UTC)
    with db.engine.connect() as raw:
        connection = _snapshot_connection(raw)
        with connection.begin():
            revision = database_revision(connection)
            head = code_head()
            if revision is None:
                raise BackupRefused("the database has no schema revision (alembic_version): it was never migrated "
                                    "with `flask db upgrade`, so there is nothing this command can back up")
            if revision != head:
                raise BackupRefused(f"the database is at schema revision {revision}, this code at {head}: run "
                                    "`flask db upgrade` first, or back up with the code version that matches")
            stored_names: set[str] = set()
            with ArchiveWriter(target, created_at) as writer:
                for table in db.metadata.sorted_tables:
                    if table.name in SKIPPED_TABLES:
                        continue
                    writer.add_table(table.name, columns_of(table), _rows(connection, table))
                if "attachment" in db.metadata.tables:
                    stored_names = set(connection.execute(
                        sa.select(db.metadata.tables["attachment"].c.stored_name)).scalars())
                # The files after the snapshot: a file committed later is only an orphan in the archive; one
                # deleted since (its row is in the snapshot) is reported below.
                files = upload_files(upload_dir)
                for relative, path in files:
                    try:
                        writer.add_file(relative, path)
                    except FileNotFoundError:  # deleted between listing and reading
                        continue
                manifest = writer.finish(revision, connection.dialect.name, SKIPPED_TABLES)
    archived = {f["path"].removeprefix("uploads/") for f in manifest["files"]}
    return BackupReport(Path(target), manifest, sorted(stored_names - archived))


# --- restore: checks --------------------------------------------------------------------------------------


def tables_with_rows(connection: Connection) -> dict[str, int]:
    """Row counts of the tables that hold data (all but the reference tables and ``alembic_version``)."""
    counts = {}
    for name in sa.inspect(connection).get_table_names():
        if name in REFERENCE_TABLES or name == ALEMBIC_TABLE:
            continue
        count = connection.execute(sa.select(sa.func.count()).select_from(sa.table(name))).scalar_one()
        if count:
            counts[name] = count
    return counts


def _refuse_if_holding_data(connection: Connection) -> None:
    counts = tables_with_rows(connection)
    if counts:
        listed = ", ".join(f"{name} ({count})" for name, count in sorted(counts.items()))
        raise RestoreRefused(f"the database already holds data: {listed}. Restore only into an empty database "
                             "(a new SQLite file or an empty PostgreSQL database); nothing was changed")


def _inside(folder: Path, relative: str) -> Path:
    """``folder/relative``, refusing a path that leaves ``folder`` (e.g. through a symlink in it)."""
    target = folder / relative
    if not target.resolve().is_relative_to(folder.resolve()):
        raise RestoreRefused(f"uploads/{relative} would be written outside UPLOAD_DIR ({folder}); nothing was changed")
    return target


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def check_restorable(manifest: Manifest, upload_dir: Path) -> str | None:
    """Everything that can be checked before changing anything; return the database's revision (None: no tables).

    :raise RestoreRefused: the archive's revision is unknown to this code, the database is ahead of the archive
        or holds data, or a file in ``UPLOAD_DIR`` would be overwritten with other content.
    """
    revision = manifest.schema_revision
    if not _is_known(revision):
        raise RestoreRefused(f"the archive's schema revision {revision} is unknown to this code (made by a newer "
                             "version of the application?): restore it with that version; nothing was changed")
    if any(t.name == ALEMBIC_TABLE for t in manifest.tables):
        raise RestoreRefused("the archive contains alembic_version as a table; nothing was changed")
    # The files first: this needs no database connection (which would create a missing SQLite file).
    for relative, entry in manifest.uploads.items():
        target = _inside(upload_dir, relative)
        if target.exists() and (not target.is_file() or _sha256(target) != entry["sha256"]):
            raise RestoreRefused(f"{target} already exists with other content; restore into an empty UPLOAD_DIR; "
                                 "nothing was changed")
    with db.engine.connect() as raw:
        connection = raw.execution_options(sqlite_begin="DEFERRED")
        with connection.begin():
            names = set(sa.inspect(connection).get_table_names())
            current = database_revision(connection) if ALEMBIC_TABLE in names else None
            if names and ALEMBIC_TABLE not in names:
                raise RestoreRefused(f"the database has tables ({', '.join(sorted(names)[:5])}…) but no schema "
                                     "revision: it was not made by `flask db upgrade`; nothing was changed")
            if current is not None and current not in _ancestors(revision):
                raise RestoreRefused(f"the database is already at schema revision {current}, which is not older "
                                     f"than the archive's {revision}: restore into a database without tables; "
                                     "nothing was changed")
            _refuse_if_holding_data(connection)
    return current


# --- restore: writing -------------------------------------------------------------------------------------


def place_uploads(manifest: Manifest, upload_dir: Path) -> list[Path]:
    """Copy the archive's (verified) files into ``upload_dir``, each atomically; return the files created.

    A file already there with the same content is left alone. On an error the files created so far are removed.
    """
    created: list[Path] = []
    try:
        for relative in sorted(manifest.uploads):
            target = _inside(upload_dir, relative)
            if target.exists():
                continue  # check_restorable found the same content there
            target.parent.mkdir(parents=True, exist_ok=True)
            descriptor, tmp = tempfile.mkstemp(dir=target.parent, prefix=".restore-", suffix=".part")
            try:
                with os.fdopen(descriptor, "wb") as out, manifest.upload_path(relative).open("rb") as source:
                    shutil.copyfileobj(source, out)  # mkstemp made it 0600, as uploads are
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
            created.append(target)
    except BaseException:
        remove_files(created)
        raise
    return created


def remove_files(paths: Iterable[Path]) -> None:
    """Delete ``paths`` (missing ones are fine)."""
    for path in paths:
        path.unlink(missing_ok=True)


def _converter(dialect: str, column: sa.Column):
    """A function fitting a decoded value to the target column (only datetimes need it)."""
    stored = _stored_type(column.type)
    if not isinstance(stored, sa.DateTime):
        return None
    aware_target = dialect == "postgresql" and bool(stored.timezone)

    def convert(value):
        if not isinstance(value, datetime):
            return value
        if aware_target:
            return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo is not None else value

    return convert


def _batches(rows: Iterable[dict], size: int) -> Iterator[list[dict]]:
    batch: list[dict] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def reset_sequences(connection: Connection, tables: Iterable[sa.Table]) -> None:
    """PostgreSQL: set each serial/identity sequence so that the next id is max(id) + 1 (rows were inserted with
    explicit ids, which do not advance the sequence)."""
    if connection.dialect.name != "postgresql":
        return  # SQLite takes max(rowid) + 1 by itself
    quote = connection.dialect.identifier_preparer.quote
    for table in tables:
        pk = list(table.primary_key.columns)
        if len(pk) != 1 or not isinstance(pk[0].type, sa.Integer):
            continue
        sequence = connection.execute(sa.text("SELECT pg_get_serial_sequence(:table, :column)"),
                                      {"table": quote(table.name), "column": pk[0].name}).scalar()
        if sequence:
            connection.execute(
                sa.text(f"SELECT setval(:sequence, COALESCE((SELECT MAX({quote(pk[0].name)}) FROM "
                        f"{quote(table.name)}), 0) + 1, false)"),
                {"sequence": sequence},
            )


def load_tables(manifest: Manifest) -> dict[str, int]:
    """Load every table of the archive into the (empty) database, in the session's transaction; no commit.

    The database must be at the archive's schema revision: the tables are reflected from it, not taken from
    this code's models, so an older archive loads into its own schema before the newer migrations run.

    :return: rows inserted per table.
    :raise RestoreRefused: the database holds data, or the archive's tables or columns do not exist in it.
    """
    connection = db.session.connection()
    _refuse_if_holding_data(connection)  # again, inside the loading transaction
    metadata = sa.MetaData()
    metadata.reflect(bind=connection)
    order = [t for t in metadata.sorted_tables if t.name != ALEMBIC_TABLE]
    dumps = {dump.name: dump for dump in manifest.tables}
    missing = sorted(dumps.keys() - {t.name for t in order})
    if missing:
        raise RestoreRefused(f"tables of the archive that the database (at revision {manifest.schema_revision}) "
                             f"does not have: {missing}")
    absent = [t.name for t in order if t.name not in dumps and t.name not in manifest.skipped_tables]
    if absent:
        raise RestoreRefused(f"the archive has no dump of the tables {absent} (nor says why it skipped them)")
    for table in order:
        if table.name in dumps:
            unknown = [c.name for c in dumps[table.name].columns if c.name not in table.c]
            if unknown:
                raise RestoreRefused(f"columns of {table.name} in the archive that the database does not have: "
                                     f"{unknown}")

    # Children first: only the reference rows a data migration loaded are there to delete.
    for table in reversed(order):
        connection.execute(table.delete())
    counts: dict[str, int] = {}
    dialect = connection.dialect.name
    for table in order:
        dump = dumps.get(table.name)
        if dump is None:
            continue
        converters = {c.name: f for c in dump.columns if (f := _converter(dialect, table.c[c.name])) is not None}
        count = 0
        for batch in _batches(dump.read_rows(), INSERT_BATCH):
            for row in batch:
                for name, convert in converters.items():
                    row[name] = convert(row[name])
            connection.execute(table.insert(), batch)
            count += len(batch)
        counts[table.name] = count
    reset_sequences(connection, order)
    return counts


def archive_problem(exc: ArchiveError) -> str:
    """The operator's message for a refused archive."""
    return f"the archive was refused, nothing was changed: {exc}"
