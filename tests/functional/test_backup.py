"""``flask backup FILE`` / ``flask restore FILE`` (CONTRACTS.md §4) on real SQLite files and PostgreSQL schemas.

Every database here is made by the migrations (``flask db upgrade``), as in production: this module replaces the
``app`` fixture with one on a fresh migrated database (``database_url``: an empty SQLite file or PostgreSQL
schema), so the shared factories (``make_user``, ``make_case``, ``make_meeting``) work on it. The commands run
through ``app.test_cli_runner()`` and, where an operator's view matters, as real ``.venv/bin/flask --app wsgi``
processes configured only by environment variables.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from app.auth.models import User
from app.auth.services import verify_password
from app.backup.archive import FORMAT_NAME
from app.extensions import db
from tests.conftest import create_schema
from tests.conftest import make_app
from tests.conftest import new_pg_schema
from tests.unit.test_attachments import pdf_bytes
from tests.unit.test_attachments import png_bytes

ROOT = Path(__file__).resolve().parents[2]
MIGRATIONS = str(ROOT / "migrations")
FLASK = Path(sys.executable).parent / "flask"  # .venv/bin/flask beside the interpreter running the tests
HEAD = "b7c2e9f4a1d6"
BEFORE_MEETINGS = "d1607b0e2f8f"  # the revision before the meetings tables existed
LATER_CASE_COLUMNS = ("evidence_level", "evidence_url")  # case_study columns added after BEFORE_MEETINGS
MEETING_TABLES = ["meeting", "rotation_exclusion", "rotation_pin", "meeting_proposal", "meeting_registration",
                  "agenda_item", "meeting_commitment", "meeting_commitment_update", "meeting_registration_question",
                  "meeting_registration_answer", "meeting_certificate"]
LATER_TABLES = [*MEETING_TABLES, "saved_search"]  # every table added after BEFORE_MEETINGS


# --- databases and apps -----------------------------------------------------------------------------------


@contextmanager
def empty_database(kind: str, folder: Path) -> Iterator[str]:
    """A new, empty database of ``kind`` ("sqlite": a file under ``folder``; "postgresql": a schema of its own)."""
    if kind == "sqlite":
        folder.mkdir(parents=True, exist_ok=True)
        yield f"sqlite:///{folder / 'exchange.sqlite3'}"
        return
    with new_pg_schema("b") as url:
        yield url


def kind_of(url: str) -> str:
    return "sqlite" if url.startswith("sqlite") else "postgresql"


@contextmanager
def instance(url: str, folder: Path) -> Iterator:
    """An app on ``url`` with its own UPLOAD_DIR and SEARCH_INDEX_DIR under ``folder``; disposed afterwards."""
    folder.mkdir(parents=True, exist_ok=True)
    application = make_app(url, folder)
    try:
        yield application
    finally:
        with application.app_context():
            db.session.remove()
            db.engine.dispose()


def migrate(application) -> None:
    with application.app_context():
        upgrade(directory=MIGRATIONS)
        db.session.remove()


@pytest.fixture
def app(database_url, tmp_path):
    """The source instance: a migrated database (SQLite or PostgreSQL) with the reference data and nothing else."""
    with instance(database_url, tmp_path / "source") as application:
        migrate(application)
        yield application


def operator_env(url: str, folder: Path) -> dict[str, str]:
    """What an operator sets for ``flask --app wsgi ...`` (CONTRACTS.md §5), nothing else. APP_ENV stays at its
    default: on this branch ProdConfig compares SECRET_KEY with the class default read from the same variable, so
    production refuses every key (fixed on main by the production-config work)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SEARCH_", "DATABASE_", "UPLOAD_", "APP_"))}
    env.update(
        SECRET_KEY="backup-test-secret-key-0123456789abcdef",
        DATABASE_URL=url,
        UPLOAD_DIR=str(folder / "uploads"),
        SEARCH_INDEX_DIR=str(folder / "search_index"),
        MAIL_OUTBOX_DIR=str(folder / "outbox"),
        INSTANCE_DIR=str(folder / "instance"),
    )
    return env


def flask_process(url: str, folder: Path, *args: str) -> subprocess.CompletedProcess:
    """Run ``.venv/bin/flask --app wsgi ARGS`` as its own process, configured by environment variables only."""
    return subprocess.run([str(FLASK), "--app", "wsgi", *args], cwd=ROOT, env=operator_env(url, folder),
                          capture_output=True, text=True, timeout=300)


def cli(application, *args: str):
    return application.test_cli_runner().invoke(args=list(args))


# --- looking at archives and databases --------------------------------------------------------------------


def members_of(path: Path) -> dict[str, bytes]:
    with tarfile.open(path) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers()}


def write_members(path: Path, members: dict[str, bytes], *, rehash: bool = False) -> None:
    """Write an archive from ``members``; ``rehash`` makes the manifest's sizes and hashes match them."""
    if rehash:
        manifest = json.loads(members["manifest.json"])
        manifest["files"] = [
            {"path": e["path"], "size": len(members[e["path"]]),
             "sha256": hashlib.sha256(members[e["path"]]).hexdigest()}
            for e in manifest["files"] if e["path"] in members
        ]
        members = {**members, "manifest.json": json.dumps(manifest).encode()}
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def manifest_of(path: Path) -> dict:
    return json.loads(members_of(path)["manifest.json"])


def table_dumps(path: Path) -> dict[str, bytes]:
    return {name: data for name, data in members_of(path).items() if name.startswith("db/")}


def normalised_rows(path: Path) -> dict[str, list[dict]]:
    """Every table's rows with datetimes as aware UTC instants: SQLite stores naive UTC wall times, PostgreSQL
    instants, so this is what must agree between a dump of each."""
    members = members_of(path)
    result = {}
    for table in json.loads(members["manifest.json"])["tables"]:
        kinds = {c["name"]: c["kind"] for c in table["columns"]}
        rows = []
        for line in members[table["file"]].decode().splitlines():
            row = json.loads(line)
            for name, kind in kinds.items():
                if kind == "datetime" and row[name] is not None:
                    value = datetime.fromisoformat(row[name])
                    row[name] = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC).isoformat()
            rows.append(row)
        result[table["name"]] = rows
    return result


def row_counts(application) -> dict[str, int]:
    with application.app_context():
        names = sa.inspect(db.engine).get_table_names()
        counts = {name: db.session.execute(sa.select(sa.func.count()).select_from(sa.table(name))).scalar_one()
                  for name in names}
        db.session.remove()
    return counts


def histories(application) -> dict[str, dict[int, dict]]:
    """Every case study's revisions as the history and diff pages read them: slug → number → content."""
    from app.case_studies.models import CaseStudy
    from app.case_studies.services import revision_snapshots

    with application.app_context():
        result = {case.slug: revision_snapshots(case) for case in db.session.scalars(sa.select(CaseStudy))}
        db.session.remove()
    return result


def table_names(application) -> list[str]:
    with application.app_context():
        names = sa.inspect(db.engine).get_table_names()
        db.engine.dispose()
    return names


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()} \
        if folder.exists() else {}


def uploads_of(application) -> dict[str, bytes]:
    return files_of(Path(application.config["UPLOAD_DIR"]))


def assert_clean_failure(result, message: str) -> None:
    """A refusal: non-zero exit, the message, no traceback."""
    assert result.exit_code != 0, result.output
    assert message in result.output, result.output
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit), result.exception


# --- content ----------------------------------------------------------------------------------------------


def seed_everything(application) -> dict:
    """``flask seed-demo`` (accounts with password hashes, case studies with revisions, Q&A, adoptions, meetings
    with agenda items, a proposal and commitments, audit entries) plus what it lacks: attachments (real files),
    another revision, a withdrawn case, follows, a saved search, registrations with answers, a revoked certificate,
    rotation pins and exclusions, a local region name. Returns slugs and titles to look for afterwards."""
    from app.case_studies import services as case_services
    from app.case_studies.attachments.services import store_attachment
    from app.case_studies.engagement import services as engagement
    from app.case_studies.models import CaseStudy
    from app.meetings import services as meeting_services
    from app.meetings.certificates import services as certificate_services
    from app.meetings.models import Meeting
    from app.meetings.models import Registration
    from app.meetings.rotation import services as rotation_services
    from app.search.parsing import SearchParams
    from app.search.saved import services as saved_searches

    result = cli(application, "seed-demo")
    assert result.exit_code == 0, result.output
    with application.app_context():
        def user(email: str) -> User:
            return db.session.scalar(sa.select(User).where(User.email == email))

        admin, organiser = user("admin@demo.example.kz"), user("organiser@demo.example.kz")
        akim, reader = user("akim@demo.example.kz"), user("reader@demo.example.kz")
        district_akim = user("akim.district@demo.example.kz")
        published = db.session.scalars(
            sa.select(CaseStudy).where(CaseStudy.state == "published").order_by(CaseStudy.slug)).all()
        own = next(c for c in published if c.akimat_id == akim.akimat_id)
        store_attachment(akim, own, "Отчёт о пилоте.pdf", io.BytesIO(pdf_bytes(padding=300)))
        store_attachment(akim, own, "validator.png", io.BytesIO(png_bytes()))
        case_services.update_case(akim, own, replace(case_services.data_from_case(own),
                                                     summary=own.summary + " Updated after the first winter."),
                                  own.version)
        withdrawn = next(c for c in published if c.id != own.id)
        case_services.withdraw(admin, withdrawn, "Outdated figures")
        engagement.follow(reader, "region", "KZ-75")
        engagement.follow(reader, "topic", "transport")
        engagement.follow(reader, "case", own.slug)
        saved_searches.save(reader, SearchParams(q="автобус", filters={"region": ["KZ-75"]}, year_from=2015,
                                                 sort="newest"), "Автобусы Алматы")
        engagement.record_adoption(district_akim, own, 2025, "piloting", "Trying it in Saryagash.")
        engagement.ask_question(reader, own, "How long did the validators take to install?")
        open_meeting = db.session.scalar(sa.select(Meeting).where(Meeting.state == "registration_open"))
        role = next(q for q in open_meeting.registration_questions if q.required)  # the demo's required question
        for person in (reader, akim, district_akim):
            meeting_services.register(person, open_meeting, {role.id: role.option_list[0]},
                                      show_publicly=person is akim)
        meeting_services.cancel_registration(district_akim, open_meeting)
        held = db.session.scalar(sa.select(Meeting).where(Meeting.state == "held").order_by(Meeting.id))
        attendance = Registration(meeting_id=held.id, user_id=reader.id, state="registered", attended=True)
        db.session.add(attendance)
        db.session.flush()
        certificate_services.set_revoked(organiser, certificate_services.issue(attendance), True)
        year = rotation_services.this_year() + 5
        rotation_services.add_pin(organiser, "national", year, 1, "KZ-63", "The region asked to host its jubilee.")
        rotation_services.add_exclusion(organiser, "national", "KZ-10", year - 2, "Venue under reconstruction.")
        db.session.execute(sa.text("UPDATE region SET name_en = 'Almaty (city of republican significance)' "
                                   "WHERE iso_code = 'KZ-75'"))
        db.session.commit()
        found = {"slug": own.slug, "title": own.title, "withdrawn_slug": withdrawn.slug,
                 "withdrawn_title": withdrawn.title}
        db.session.remove()
    return found


def insert_more(application) -> None:
    """New rows after a restore get fresh ids (on PostgreSQL only if the sequences were reset)."""
    from app.case_studies import services as case_services
    from app.case_studies.attachments.services import store_attachment
    from app.case_studies.models import Attachment
    from app.case_studies.models import CaseStudy
    from app.regions.services import find_akimat
    from tests.conftest import case_data

    with application.app_context():
        before = {model: db.session.scalar(sa.select(sa.func.max(model.id))) for model in (User, CaseStudy)}
        person = User(email="after-restore@example.kz", full_name="After Restore", password_hash="x")
        db.session.add(person)
        case = case_services.create_case(None, find_akimat("KZ-75"), case_data(title="Tram line after restore"))
        case_services.publish(None, case)
        store_attachment(None, case, "after.png", io.BytesIO(png_bytes()))
        db.session.commit()
        assert person.id == before[User] + 1
        assert case.id == before[CaseStudy] + 1
        assert db.session.scalar(sa.select(sa.func.count(Attachment.id)).where(Attachment.case_study_id == case.id))
        db.session.remove()


def search_ids(application, query: str) -> list[str]:
    response = application.test_client().get("/api/v1/search", query_string={"q": query})
    assert response.status_code == 200, response.get_data(as_text=True)
    return [hit["id"] for hit in response.get_json()["results"]]


# --- the round trip ---------------------------------------------------------------------------------------


def test_round_trip_through_the_other_backend_keeps_every_row_and_file(app, database_url, tmp_path):
    """SQLite → PostgreSQL → SQLite (and PostgreSQL → SQLite → PostgreSQL): the dump of every table is identical,
    the files are byte-identical, search finds the restored cases and agrees with the database, and new rows
    can be inserted."""
    source_kind = kind_of(database_url)
    other_kind = "postgresql" if source_kind == "sqlite" else "sqlite"
    found = seed_everything(app)
    source_uploads = uploads_of(app)
    source_histories = histories(app)
    assert any(len(revisions) > 1 for revisions in source_histories.values())
    assert len(source_uploads) == 2

    # The operator's backup: a separate process, configured by the environment only.
    first = tmp_path / "first.tar.gz"
    done = flask_process(database_url, tmp_path / "source", "backup", str(first))
    assert done.returncode == 0, done.stderr
    assert "Backup written to" in done.stdout and "Traceback" not in done.stderr
    manifest = manifest_of(first)
    assert manifest["format"] == FORMAT_NAME and manifest["schema_revision"] == HEAD
    assert manifest["source_database"] == source_kind
    with app.app_context():
        model_tables = [t.name for t in db.metadata.sorted_tables]
    skipped = ("search_outbox", "form_submission")
    assert [t["name"] for t in manifest["tables"]] == [t for t in model_tables if t not in skipped]
    assert manifest["skipped_tables"].keys() == set(skipped)
    empty_tables = [t["name"] for t in manifest["tables"] if t["rows"] == 0]
    assert empty_tables == [], f"the round trip must cover every table; empty: {empty_tables}"
    counts = row_counts(app)
    assert {t["name"]: t["rows"] for t in manifest["tables"]} == {
        name: count for name, count in counts.items() if name not in ("alembic_version", *skipped)}
    for entry in manifest["files"]:
        data = members_of(first)[entry["path"]]
        assert (len(data), hashlib.sha256(data).hexdigest()) == (entry["size"], entry["sha256"])
    assert {f["path"].removeprefix("uploads/") for f in manifest["files"] if f["path"].startswith("uploads/")} \
        == source_uploads.keys()

    with empty_database(other_kind, tmp_path / "middle") as middle_url:
        # Restore into a database without any table, again as the operator would.
        done = flask_process(middle_url, tmp_path / "middle", "restore", str(first))
        assert done.returncode == 0, done.stderr
        assert "Restored" in done.stdout and "Traceback" not in done.stderr
        with instance(middle_url, tmp_path / "middle") as middle:
            assert cli(middle, "search", "check").exit_code == 0
            assert found["slug"] in search_ids(middle, found["title"])
            assert found["withdrawn_slug"] not in search_ids(middle, found["withdrawn_title"])
            assert uploads_of(middle) == source_uploads
            assert histories(middle) == source_histories
            second = tmp_path / "second.tar.gz"
            result = cli(middle, "backup", str(second))
            assert result.exit_code == 0, result.output
            insert_more(middle)

        assert normalised_rows(second) == normalised_rows(first)
        assert manifest_of(second)["source_database"] == other_kind

        with empty_database(source_kind, tmp_path / "back") as back_url, \
                instance(back_url, tmp_path / "back") as back:
            result = cli(back, "restore", str(second))
            assert result.exit_code == 0, result.output
            third = tmp_path / "third.tar.gz"
            result = cli(back, "backup", str(third))
            assert result.exit_code == 0, result.output
            assert table_dumps(third) == table_dumps(first)  # byte for byte, every table
            assert uploads_of(back) == source_uploads
            assert histories(back) == source_histories
            assert cli(back, "search", "check").exit_code == 0
            assert found["slug"] in search_ids(back, found["title"])
            with back.app_context():
                admin = db.session.scalar(sa.select(User).where(User.email == "admin@demo.example.kz"))
                assert verify_password(admin, "steppe-exchange-2026")
                db.session.remove()
            insert_more(back)


# --- refusals ---------------------------------------------------------------------------------------------


def test_restore_refuses_a_database_that_holds_data_and_changes_nothing(app, make_user, make_case, tmp_path):
    make_user("akim", akimat=("KZ-75", None))
    make_case("published")
    archive = tmp_path / "backup.tar.gz"
    assert cli(app, "backup", str(archive)).exit_code == 0
    before, uploads_before = row_counts(app), uploads_of(app)

    result = cli(app, "restore", str(archive))
    assert_clean_failure(result, "the database already holds data")
    assert "user (1)" in result.output and "case_study (1)" in result.output
    assert row_counts(app) == before
    assert uploads_of(app) == uploads_before


def test_restore_into_a_migrated_empty_database_replaces_the_reference_rows(app, database_url, make_user, tmp_path):
    """`flask db upgrade` loaded the regions already: the archive's reference rows (ids and names) win."""
    make_user("akim", akimat=("KZ-75", None))
    with app.app_context():
        db.session.execute(sa.text("UPDATE region SET name_en = 'Renamed for the test' WHERE iso_code = 'KZ-75'"))
        db.session.execute(sa.text("DELETE FROM akimat WHERE municipality_id IS NOT NULL AND id = "
                                   "(SELECT MAX(id) FROM akimat)"))
        db.session.commit()
    archive = tmp_path / "backup.tar.gz"
    assert cli(app, "backup", str(archive)).exit_code == 0

    with empty_database(kind_of(database_url), tmp_path / "target") as url, \
            instance(url, tmp_path / "target") as target:
        migrate(target)
        assert row_counts(target)["akimat"] == row_counts(app)["akimat"] + 1
        result = cli(target, "restore", str(archive))
        assert result.exit_code == 0, result.output
        assert row_counts(target) == {**row_counts(app), "search_outbox": 0}
        with target.app_context():
            assert db.session.scalar(sa.text("SELECT name_en FROM region WHERE iso_code = 'KZ-75'")) \
                == "Renamed for the test"
            db.session.remove()
        copy = tmp_path / "copy.tar.gz"
        assert cli(target, "backup", str(copy)).exit_code == 0
        assert table_dumps(copy) == table_dumps(archive) if kind_of(database_url) == "sqlite" else \
            normalised_rows(copy) == normalised_rows(archive)


@pytest.mark.parametrize("damage", ["changed byte", "truncated", "unknown revision", "path traversal"])
def test_restore_refuses_a_damaged_or_tampered_archive_before_writing_anything(app, database_url, make_user,
                                                                               make_case, tmp_path, damage):
    from app.case_studies.attachments.services import store_attachment
    from app.case_studies.models import CaseStudy

    make_user()
    slug = make_case("published")
    with app.app_context():
        case = db.session.scalar(sa.select(CaseStudy).where(CaseStudy.slug == slug))
        store_attachment(None, case, "plan.pdf", io.BytesIO(pdf_bytes()))
        db.session.commit()
    archive = tmp_path / "backup.tar.gz"
    assert cli(app, "backup", str(archive)).exit_code == 0
    members = members_of(archive)
    if damage == "changed byte":
        members["db/user.jsonl"] = members["db/user.jsonl"].replace(b"@example.kz", b"@example.kk", 1)
        write_members(archive, members)
        message = "db/user.jsonl does not match the manifest"
    elif damage == "truncated":
        archive.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
        message = "cannot be read as a backup archive"
    elif damage == "unknown revision":
        manifest = json.loads(members["manifest.json"])
        members["manifest.json"] = json.dumps({**manifest, "schema_revision": "0123456789ab"}).encode()
        write_members(archive, members, rehash=True)
        message = "schema revision 0123456789ab is unknown to this code"
    else:
        write_members(archive, {**members, "uploads/../../../planted.pdf": b"%PDF-1.4"}, rehash=False)
        message = "unsafe or unexpected member name"

    with empty_database(kind_of(database_url), tmp_path / "target") as url, \
            instance(url, tmp_path / "target") as target:
        result = cli(target, "restore", str(archive))
        assert_clean_failure(result, message)
        assert "nothing was changed" in result.output
        assert table_names(target) == []
        assert not Path(target.config["UPLOAD_DIR"]).exists()
        assert not Path(target.config["SEARCH_INDEX_DIR"]).exists()
    assert not (tmp_path.parent / "planted.pdf").exists()


def test_an_older_archive_restores_into_newer_code(app, database_url, make_user, make_case, tmp_path):
    """An archive made at the revision before the meetings tables (whose revisions were full snapshots): restore
    migrates to that revision, loads the rows, then migrates to this code's head, and the history reads as in the
    source."""
    from app.case_studies import services as case_services
    from app.case_studies.models import CaseStudy

    make_user("akim", akimat=("KZ-75", None))
    slug = make_case("published")
    with app.app_context():
        case = db.session.scalar(sa.select(CaseStudy).where(CaseStudy.slug == slug))
        case_services.update_case(None, case, replace(case_services.data_from_case(case),
                                                      results="Время посадки сократилось вдвое."), None)
        db.session.commit()
        db.session.remove()
    source_history = histories(app)
    assert len(source_history[slug]) == 2
    archive = tmp_path / "backup.tar.gz"
    assert cli(app, "backup", str(archive)).exit_code == 0
    members = members_of(archive)
    manifest = json.loads(members["manifest.json"])
    manifest["schema_revision"] = BEFORE_MEETINGS
    manifest["tables"] = [t for t in manifest["tables"] if t["name"] not in LATER_TABLES]
    old = {name: data for name, data in members.items()
           if name.removeprefix("db/").removesuffix(".jsonl") not in LATER_TABLES}
    # Revisions as that schema stored them: the full content of each in ``snapshot``.
    for table in manifest["tables"]:
        if table["name"] == "case_revision":
            table["columns"] = [{**c, "name": "snapshot"} if c["name"] == "changes" else c for c in table["columns"]]
    # ... and case studies without the columns added since (evidence level and link).
    for table in manifest["tables"]:
        if table["name"] == "case_study":
            table["columns"] = [c for c in table["columns"] if c["name"] not in LATER_CASE_COLUMNS]
    old["db/case_study.jsonl"] = "".join(
        json.dumps({key: value for key, value in json.loads(line).items() if key not in LATER_CASE_COLUMNS},
                   ensure_ascii=False) + "\n"
        for line in old["db/case_study.jsonl"].decode().splitlines()).encode()
    rows = [json.loads(line) for line in old["db/case_revision.jsonl"].decode().splitlines()]
    old["db/case_revision.jsonl"] = "".join(
        json.dumps({("snapshot" if key == "changes" else key): (source_history[slug][row["number"]]
                                                                 if key == "changes" else value)
                    for key, value in row.items()}, ensure_ascii=False) + "\n"
        for row in rows).encode()
    write_members(archive, {**old, "manifest.json": json.dumps(manifest).encode()}, rehash=True)

    with empty_database(kind_of(database_url), tmp_path / "ahead") as url, instance(url, tmp_path / "ahead") as ahead:
        migrate(ahead)  # already at head: it cannot go back to the archive's revision
        before = row_counts(ahead)
        assert_clean_failure(cli(ahead, "restore", str(archive)), f"not older than the archive's {BEFORE_MEETINGS}")
        assert row_counts(ahead) == before

    with empty_database(kind_of(database_url), tmp_path / "target") as url, \
            instance(url, tmp_path / "target") as target:
        result = cli(target, "restore", str(archive))
        assert result.exit_code == 0, result.output
        assert f"schema revision {BEFORE_MEETINGS} → {HEAD}" in result.output
        counts = row_counts(target)
        assert all(counts[table] == 0 for table in LATER_TABLES)
        assert counts["user"] == 1 and counts["case_study"] == 1
        with target.app_context():
            assert db.session.scalar(sa.text("SELECT version_num FROM alembic_version")) == HEAD
            db.session.remove()
        assert cli(target, "search", "check").exit_code == 0
        assert search_ids(target, "Electronic bus card Onay") == [slug]
        assert histories(target) == source_history


# --- backup -----------------------------------------------------------------------------------------------


def test_backup_of_a_live_sqlite_database_includes_rows_still_in_the_wal(tmp_path):
    """Rows committed to the WAL but not yet checkpointed into the main file are in the backup; a write
    transaction still open during the backup neither blocks it nor appears in it."""
    path = tmp_path / "live.sqlite3"
    url = f"sqlite:///{path}"
    with instance(url, tmp_path) as application:
        migrate(application)
        with application.app_context():
            db.engine.dispose()  # the last connection's close checkpoints: the main file is complete so far

    writer = sqlite3.connect(path, isolation_level=None)
    other = sqlite3.connect(path, isolation_level=None)
    try:
        assert writer.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        writer.execute("PRAGMA wal_autocheckpoint = 0")  # keep the commits in the WAL file
        writer.execute("BEGIN")
        for n in range(50):
            writer.execute('INSERT INTO "user" (email, full_name, password_hash, preferred_language, role, active, '
                           "session_version, claim_status, digest_enabled, created_at) VALUES (?, ?, 'h', 'ru', "
                           "'reader', 1, 1, 'none', 1, '2026-12-07 10:00:00.000000')", (f"wal{n}@example.kz", f"W {n}"))
        writer.execute("COMMIT")
        # The premise: a plain copy of the main file (what `cp` of the database alone gives) misses them.
        shutil.copyfile(path, tmp_path / "copy.sqlite3")
        copied = sqlite3.connect(tmp_path / "copy.sqlite3")
        assert copied.execute('SELECT COUNT(*) FROM "user"').fetchone()[0] == 0
        copied.close()
        other.execute("BEGIN IMMEDIATE")  # a writer in the middle of its transaction during the backup
        other.execute('INSERT INTO "user" (email, full_name, password_hash, created_at, preferred_language, role, '
                      "active, session_version, claim_status, digest_enabled) VALUES ('uncommitted@example.kz', "
                      "'U', 'h', '2026-12-07 10:00:00', 'ru', 'reader', 1, 1, 'none', 1)")

        archive = tmp_path / "live.tar.gz"
        done = flask_process(url, tmp_path, "backup", str(archive))
        assert done.returncode == 0, done.stderr
        other.execute("ROLLBACK")
    finally:
        writer.close()
        other.close()
    users = [json.loads(line)["email"] for line in members_of(archive)["db/user.jsonl"].decode().splitlines()]
    assert users == [f"wal{n}@example.kz" for n in range(50)]
    assert next(t["rows"] for t in manifest_of(archive)["tables"] if t["name"] == "user") == 50


def test_a_failed_backup_leaves_no_partial_archive_and_keeps_the_old_one(tmp_path):
    """A value the archive cannot hold (SQLite lets a text sit in an integer column) stops the backup halfway:
    a clean message, no temporary file, and the previous archive under FILE is untouched."""
    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    with instance(url, tmp_path) as application:
        migrate(application)
        with application.app_context():
            db.session.add(User(email="a@example.kz", full_name="A", password_hash="x"))
            db.session.commit()
        archive = tmp_path / "backups" / "exchange.tar.gz"
        archive.parent.mkdir()
        assert cli(application, "backup", str(archive)).exit_code == 0
        before = archive.read_bytes()

        assert_clean_failure(cli(application, "backup", str(archive)), "already exists")
        with application.app_context():
            db.session.execute(sa.text("UPDATE \"user\" SET session_version = 'not a number'"))
            db.session.commit()
        result = cli(application, "backup", "--overwrite", str(archive))
        assert_clean_failure(result, "table user, row 1")
        assert archive.read_bytes() == before
        assert [p.name for p in archive.parent.iterdir()] == ["exchange.tar.gz"]


def test_backup_refuses_a_database_that_was_never_migrated(tmp_path):
    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    with instance(url, tmp_path) as application:
        create_schema(application)  # tables, but no alembic_version
        result = cli(application, "backup", str(tmp_path / "x.tar.gz"))
        assert_clean_failure(result, "never migrated")
        assert not (tmp_path / "x.tar.gz").exists()


def test_help_explains_both_commands_in_the_operators_terms(app):
    backup_help = cli(app, "backup", "--help").output
    assert "SHA-256" in backup_help and "UPLOAD_DIR" in backup_help and "--overwrite" in backup_help
    restore_help = cli(app, "restore", "--help").output
    assert "empty database" in restore_help and "search index" in restore_help


def test_manifest_columns_keep_the_stored_datetime_type():
    """``UTCDateTime`` columns are recorded as what the database stores: timezone-aware datetimes."""
    from app.backup.services import columns_of
    from app.search.models import SearchOutbox

    columns = {c.name: c for c in columns_of(SearchOutbox.__table__)}
    assert columns["created_at"].kind == "datetime"
    assert columns["created_at"].timezone is True
    assert columns["doc_key"].timezone is None
