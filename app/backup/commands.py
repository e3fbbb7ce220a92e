"""``flask backup FILE`` and ``flask restore FILE`` (CONTRACTS.md §4). Output is plain English; every failure is
a one-paragraph message and a non-zero exit status, never a traceback."""

from __future__ import annotations

import tempfile
from pathlib import Path

import click
import sqlalchemy as sa
from flask import Flask
from flask import current_app
from flask.cli import with_appcontext

from app.backup import services
from app.backup.archive import ArchiveError
from app.backup.archive import extract_verified
from app.extensions import db


def _fail(message: str) -> click.ClickException:
    db.session.rollback()
    return click.ClickException(message)


@click.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, writable=True, path_type=Path))
@click.option("--overwrite", is_flag=True, help="Replace FILE if it exists (by default an existing file is kept).")
@with_appcontext
def backup_command(file: Path, overwrite: bool) -> None:
    """Write a backup of this instance to FILE (a .tar.gz archive).

    The archive holds the whole database in a database-neutral form (so it restores into SQLite or PostgreSQL),
    every uploaded file from UPLOAD_DIR, and a manifest with the schema revision, the row count of every table
    and the size and SHA-256 of every file. The database is read in one consistent snapshot while the site keeps
    running. FILE appears only when the archive is complete. The search outbox is not included (a restore
    rebuilds the search index).

    Example: flask --app wsgi backup /var/backups/exchange-2026-12-07.tar.gz
    """
    if file.exists() and not overwrite:
        raise click.ClickException(f"{file} already exists; choose another name or pass --overwrite")
    if not file.parent.is_dir():
        raise click.ClickException(f"folder {file.parent} does not exist")
    upload_dir = Path(current_app.config["UPLOAD_DIR"])
    try:
        report = services.write_backup(file, upload_dir)
    except (services.BackupRefused, ArchiveError) as exc:
        raise _fail(f"backup refused: {exc}") from exc
    except sa.exc.SQLAlchemyError as exc:
        raise _fail(f"backup failed, no archive written: database error: {exc}") from exc
    except OSError as exc:
        raise _fail(f"backup failed, no archive written: {exc}") from exc
    manifest = report.manifest
    click.echo(f"Backup written to {file}: {len(manifest['tables'])} tables, {report.rows} rows, "
               f"{report.uploads} uploaded files, schema revision {manifest['schema_revision']}.")
    for name in report.missing_files:
        click.echo(f"warning: attachment file {name} is missing from UPLOAD_DIR ({upload_dir})", err=True)


@click.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, readable=True, path_type=Path))
@with_appcontext
def restore_command(file: Path) -> None:
    """Restore the backup FILE into an empty database (SQLite or PostgreSQL, from DATABASE_URL).

    In order: every file of the archive is checked against the SHA-256 in its manifest; the database must be
    empty (no tables, or only what `flask db upgrade` creates) and UPLOAD_DIR must not hold other files of the
    same names, otherwise nothing is changed. Then the database is migrated to the archive's schema revision,
    the uploaded files are copied into UPLOAD_DIR, all rows are loaded in one transaction, the database is
    migrated to this code's newest revision, and the search index is rebuilt. Stop the web and worker processes
    first. The archive is unpacked into TMPDIR while it is checked (room for one copy is needed).

    Example: DATABASE_URL=postgresql+psycopg://exchange@db/exchange flask --app wsgi restore exchange.tar.gz
    """
    upload_dir = Path(current_app.config["UPLOAD_DIR"])
    with tempfile.TemporaryDirectory(prefix="exchange-restore-") as staging:
        try:
            manifest = extract_verified(file, Path(staging))
        except ArchiveError as exc:
            raise _fail(services.archive_problem(exc)) from exc
        try:
            services.check_restorable(manifest, upload_dir)
        except services.RestoreRefused as exc:
            raise _fail(f"restore refused: {exc}") from exc
        except sa.exc.SQLAlchemyError as exc:
            raise _fail(f"restore refused, nothing was changed: cannot read the database: {exc}") from exc

        revision = manifest.schema_revision
        try:
            services.migrate_to(revision)
        except (services.RestoreRefused, sa.exc.SQLAlchemyError) as exc:
            raise _fail(f"restore failed while migrating the empty database to {revision}: {exc}") from exc

        created: list[Path] = []
        try:
            created = services.place_uploads(manifest, upload_dir)
            counts = services.load_tables(manifest)
            db.session.commit()
        except (services.RestoreRefused, sa.exc.SQLAlchemyError, OSError) as exc:
            db.session.rollback()
            services.remove_files(created)
            raise _fail(f"restore failed, no rows were loaded (the database is migrated to {revision} and still "
                        f"empty; fix the cause and run restore again): {exc}") from exc

    try:
        services.migrate_to("head")
    except (services.RestoreRefused, sa.exc.SQLAlchemyError) as exc:
        raise _fail(f"the data were restored, but migrating to this code's schema failed: {exc}. Fix the cause, "
                    "then run `flask --app wsgi db upgrade` and `flask --app wsgi search reindex`") from exc
    try:
        indexed = current_app.extensions["search"].reindex()
    except Exception as exc:  # any index failure: the data are in, so say how to finish
        raise _fail(f"the data were restored, but rebuilding the search index failed: {exc}. Fix the cause, "
                    "then run `flask --app wsgi search reindex`") from exc
    click.echo(f"Restored {file}: {sum(counts.values())} rows in {len(counts)} tables, {len(manifest.uploads)} "
               f"uploaded files; schema revision {revision} → {services.code_head()}; "
               f"{indexed} published case studies indexed.")


def init_app(app: Flask) -> None:
    """Register ``backup`` and ``restore``."""
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
