"""The index's consistency guarantees (search issue, "Always consistent with the database"), tested with real
processes on the real database (SQLite file / PostgreSQL schema) and a real Whoosh index in ``tmp_path``:

- a process killed (SIGKILL) between its commit and indexing leaves an outbox row that the worker or the next
  request applies;
- two processes publishing, editing and withdrawing at once (each applying the outbox itself, contending for
  Whoosh's single writer lock) lose nothing;
- ``flask search reindex`` running again and again (another process) never gives the searches of two threads an
  empty answer or an error;
- a rolled-back transaction (or savepoint) leaves no outbox row and nothing in the index.

Child processes run :data:`CHILD` (``python -c``) from the repository root with the test's ``DATABASE_URL`` and
``SEARCH_INDEX_DIR`` (on PostgreSQL the URL carries the test's schema as ``search_path``). No mocks: time limits
below are safety nets against hangs, never assertions.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from dataclasses import replace
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.case_studies import services
from app.case_studies.models import CaseStudy
from app.search.documents import updated_stamp as iso_utc
from app.search.models import SearchOutbox
from tests.functional.test_search_index import index_dir
from tests.functional.test_search_index import indexed
from tests.functional.test_search_index import pending

ROOT = Path(__file__).resolve().parents[2]
HANG = 120  # seconds: a safety net against a hung child, never expected to be reached

CHILD = r'''
import json
import logging
import os
import sys
import time
from dataclasses import replace

import sqlalchemy as sa
from flask import g

from app import create_app
from app.case_studies import services
from app.case_studies.models import CaseStudy
from app.extensions import db
from app.regions.services import find_akimat
from app.search.outbox import PENDING_FLAG
from config import TestConfig
from tests.conftest import case_data

errors = []


class Errors(logging.Handler):
    def emit(self, record):
        errors.append(self.format(record))


logging.getLogger().addHandler(Errors(level=logging.ERROR))
app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=os.environ["DATABASE_URL"],
                 SEARCH_INDEX_DIR=os.environ["SEARCH_INDEX_DIR"], UPLOAD_DIR=os.environ["UPLOAD_DIR"],
                 MAIL_OUTBOX_DIR=os.environ["MAIL_OUTBOX_DIR"])
mode, args = sys.argv[1], sys.argv[2:]


def load(slug):
    return db.session.scalar(sa.select(CaseStudy).where(CaseStudy.slug == slug))


if mode == "publish-then-hang":
    # Embedded mode is on: the outbox rows would be applied when this app context ends. It never ends.
    with app.app_context():
        services.publish(None, load(args[0]))
        db.session.commit()
        db.session.close()
        print("committed", flush=True)
        time.sleep(float(args[1]))
    print("not killed", flush=True)

elif mode == "writer":
    # Case studies of our own: each created and published in one transaction, then, once all are, edited (every
    # third one withdrawn) in another, so every case's last change comes late. One transaction and one app context
    # per operation. This process applies the outbox itself: after odd operations at once, without waiting for the
    # writer lock (timeout 0: the other process often holds it, and then it must finish the job), after even ones
    # as the embedded mode does when the app context ends (lock timeout 0.5 s).
    writer, count = int(args[0]), int(args[1])
    operations = [("publish", k) for k in range(count)]
    operations += [("withdraw" if k % 3 == 2 else "edit", k) for k in range(count)]
    slugs = []
    print("ready", flush=True)
    sys.stdin.readline()
    for i, (operation, k) in enumerate(operations):
        with app.app_context():
            if operation == "publish":
                case = services.create_case(None, find_akimat("KZ-75", None),
                                            case_data(title=f"Writer {writer} practice {k}"))
                services.publish(None, case)
                slugs.append(case.slug)
            elif operation == "edit":
                case = load(slugs[k])
                edit = replace(services.data_from_case(case), results=f"Edited by writer {writer}.")
                services.update_case(None, case, edit, None)
            else:
                services.withdraw(None, load(slugs[k]), f"Withdrawn by writer {writer}")
            db.session.commit()
            if i % 2:
                g.pop(PENDING_FLAG)
                app.extensions["search"].apply_all(timeout=0.0)
    with app.app_context():
        print(json.dumps({slug: load(slug).state for slug in slugs}), flush=True)

elif mode == "reindex":
    print("ready", flush=True)
    sys.stdin.readline()
    runner = app.test_cli_runner()
    for _ in range(int(args[0])):
        result = runner.invoke(args=["search", "reindex"])
        print(result.output.strip(), flush=True)
        if result.exit_code != 0:
            print(result.exception, flush=True)
            sys.exit(2)

if errors:
    print("\n".join(errors), flush=True)
    sys.exit(3)
'''


def child_env(app) -> dict[str, str]:
    """The environment of a child process: the test's database and index, nothing from the parent's app."""
    env = dict(os.environ)
    env.pop("SEARCH_APPLY_IN_REQUEST", None)
    env.update(
        DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
        SEARCH_INDEX_DIR=app.config["SEARCH_INDEX_DIR"],
        UPLOAD_DIR=app.config["UPLOAD_DIR"],
        MAIL_OUTBOX_DIR=app.config["MAIL_OUTBOX_DIR"],
        INSTANCE_DIR=str(Path(app.config["SEARCH_INDEX_DIR"]).parent / "instance"),
        PYTHONPATH=str(ROOT),
        APP_ENV="development",
    )
    return env


def start_child(app, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", CHILD, *args], cwd=ROOT, env=child_env(app), text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def finish(child: subprocess.Popen) -> str:
    """Wait for a child; return its output, failing the test if it failed."""
    try:
        output, _ = child.communicate(timeout=HANG)
    except subprocess.TimeoutExpired:
        child.kill()
        output, _ = child.communicate()
        pytest.fail(f"child process hung:\n{output}")
    assert child.returncode == 0, output
    return output


def flask_cli(app, *args: str) -> subprocess.CompletedProcess:
    """Run ``flask --app wsgi <args>`` as its own process on the test's database and index."""
    return subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=ROOT, env=child_env(app),
                          capture_output=True, text=True, timeout=HANG)


def api_search(client, **params):
    response = client.get("/api/v1/search", query_string=params)
    return response.status_code, response.get_json()


# --------------------------------------------------------------------------------------------------------------
# A process killed between its commit and indexing


@pytest.mark.parametrize("recovery", ["worker", "next publish"])
def test_process_killed_after_commit_leaves_a_row_that_is_applied_later(app, client, runner, db_session,
                                                                          make_case, recovery):
    other = make_case("published")  # an index exists and agrees with the database
    slug = make_case("draft", title="Snowplough tracking for Almaty streets")
    assert runner.invoke(args=["search", "check"]).exit_code == 0
    assert set(indexed(app)) == {other}

    child = start_child(app, "publish-then-hang", slug, str(HANG))
    line = child.stdout.readline()  # blocks until the child has committed (or died)
    if line.strip() != "committed":
        child.kill()
        pytest.fail(f"the child did not commit: {line}{child.communicate()[0]}")
    child.kill()  # SIGKILL: no teardown, no atexit, no apply
    output, _ = child.communicate(timeout=HANG)
    assert child.returncode == -9 and output == ""

    # The publication is committed, its index update is not: the outbox row says so, and check reports it.
    assert db_session.scalar(sa.select(CaseStudy.state).where(CaseStudy.slug == slug)) == "published"
    assert [(row.doc_key, row.op) for row in pending(db_session)] == [(slug, "upsert")]
    assert slug not in indexed(app)
    result = runner.invoke(args=["search", "check"])
    assert result.exit_code == 1
    assert result.output.splitlines()[0] == f"missing from index: {slug}"

    if recovery == "worker":
        done = flask_cli(app, "search", "worker", "--once")
        assert done.returncode == 0, done.stdout + done.stderr
        assert "Applied 1 index update(s)." in done.stdout
        assert pending(db_session) == []
    else:
        # Searches never write: until a writer applies it, the published case is simply not found yet.
        status, body = api_search(client, q="snowplough")
        assert status == 200 and body["total"] == 0
        assert [(row.doc_key, row.op) for row in pending(db_session)] == [(slug, "upsert")]
        # The next commit that carries outbox rows applies its own and the oldest pending ones (embedded mode).
        third = make_case("published", title="Street lighting audit")
        assert third in indexed(app)
    status, body = api_search(client, q="snowplough")
    assert status == 200
    assert [hit["id"] for hit in body["results"]] == [slug] and body["total"] == 1

    assert pending(db_session) == []
    updated = db_session.scalar(sa.select(CaseStudy.updated_at).where(CaseStudy.slug == slug))
    assert {other, slug} <= set(indexed(app)) and indexed(app)[slug] == iso_utc(updated)
    assert runner.invoke(args=["search", "check"]).exit_code == 0


# --------------------------------------------------------------------------------------------------------------
# Two processes writing at once


def test_two_processes_writing_at_once_lose_nothing(app, runner, db_session):
    writers, per_writer = 2, 10
    children = [start_child(app, "writer", str(w), str(per_writer)) for w in range(writers)]
    for child in children:
        assert child.stdout.readline().strip() == "ready"
    for child in children:  # as close to the same instant as we can
        child.stdin.write("go\n")
        child.stdin.flush()
    reported: dict[str, str] = {}
    for child in children:
        reported.update(json.loads(finish(child).strip().splitlines()[-1]))

    states = dict(db_session.execute(sa.select(CaseStudy.slug, CaseStudy.state)).all())
    assert reported == states  # every committed operation is in the database
    assert len(states) == writers * per_writer
    assert sorted(states.values()).count("withdrawn") == writers * len(range(2, per_writer, 3))
    rows = db_session.scalar(sa.select(sa.func.count()).select_from(SearchOutbox))
    assert rows == writers * per_writer * 2  # one row per transaction

    # One final pass applies whatever was committed while the other process held the writer lock.
    result = runner.invoke(args=["search", "worker", "--once"])
    assert result.exit_code == 0, result.output
    assert pending(db_session) == []
    published = {slug: iso_utc(updated) for slug, updated in db_session.execute(
        sa.select(CaseStudy.slug, CaseStudy.updated_at).where(CaseStudy.state == "published")).all()}
    assert indexed(app) == published  # withdrawn ones absent, published ones with the database's updated_at
    result = runner.invoke(args=["search", "check"])
    assert result.exit_code == 0, result.output


# --------------------------------------------------------------------------------------------------------------
# Reindex during searches


def test_reindex_during_searches_never_gives_an_empty_answer(app, make_case):
    cases = 20
    for k in range(cases):
        make_case("published", title=f"Electronic bus card Onay, stage {k}")
    generation = int(index_dir(app).name)
    reindexes = 6
    child = start_child(app, "reindex", str(reindexes))
    assert child.stdout.readline().strip() == "ready"

    answers: list[tuple[int, int | None]] = []
    failures: list[BaseException] = []
    stop = threading.Event()
    # Two threads, as in a threaded server: they share the process's searcher, and each may find the generation
    # switched under the other one.
    queries = [{"q": "onay"}, {"q": "onay card", "sort": "newest", "topic": "transport"}]

    def searching(params) -> None:
        client = app.test_client()
        try:
            while not stop.is_set():
                status, body = api_search(client, **params)
                answers.append((status, (body or {}).get("total")))
        except BaseException as exc:  # a 500 propagates here (TESTING): reported by the main thread
            failures.append(exc)

    threads = [threading.Thread(target=searching, args=(params,)) for params in queries]
    for thread in threads:
        thread.start()
    try:
        while not answers and not failures and all(t.is_alive() for t in threads):
            threading.Event().wait(0.01)
        child.stdin.write("go\n")
        child.stdin.flush()
        output = finish(child)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=HANG)
    assert not failures, failures
    assert output.splitlines()[-reindexes:] == [f"Indexed {cases} published case studies."] * reindexes
    assert int(index_dir(app).name) == generation + reindexes
    assert answers and {status for status, _ in answers} == {200}, answers
    assert {total for _, total in answers} == {cases}, answers


# --------------------------------------------------------------------------------------------------------------
# A rollback leaves nothing in the index


def test_rolled_back_publication_leaves_nothing_in_the_index(app, client, runner, db_session, in_db, make_case):
    kept = make_case("published")
    slug = make_case("draft", title="Snowplough tracking for Almaty streets")
    other = make_case("draft", title="Gritting lorries tracked by satellite")

    with in_db() as session:  # a whole transaction that published, then rolled back
        services.publish(None, session.scalar(sa.select(CaseStudy).where(CaseStudy.slug == slug)))
        session.flush()
        assert session.scalar(sa.select(SearchOutbox.op).where(SearchOutbox.doc_key == slug,
                                                               SearchOutbox.done_at.is_(None))) == "upsert"
        session.rollback()

    with in_db() as session:  # a savepoint that published, rolled back; the outer transaction commits
        outer = session.scalar(sa.select(CaseStudy).where(CaseStudy.slug == other))
        edit = replace(services.data_from_case(outer), results="Lorries report their routes.")
        services.update_case(None, outer, edit, None)
        savepoint = session.begin_nested()
        services.publish(None, session.scalar(sa.select(CaseStudy).where(CaseStudy.slug == slug)))
        session.flush()
        savepoint.rollback()
        session.commit()

    states = dict(db_session.execute(sa.select(CaseStudy.slug, CaseStudy.state)).all())
    assert states == {kept: "published", slug: "draft", other: "draft"}
    keys = db_session.execute(sa.select(SearchOutbox.doc_key, SearchOutbox.op).order_by(SearchOutbox.id)).all()
    assert (slug, "upsert") not in keys
    assert keys[-1] == (other, "delete")  # the outer edit of a draft: its own row, applied on commit

    for q in ("snowplough", "gritting"):
        status, body = api_search(client, q=q)
        assert status == 200 and body["total"] == 0 and body["results"] == []
    assert runner.invoke(args=["search", "worker", "--once"]).exit_code == 0
    assert set(indexed(app)) == {kept}
    assert pending(db_session) == []
    assert runner.invoke(args=["search", "check"]).exit_code == 0


# --------------------------------------------------------------------------------------------------------------
# The worker outlives a database that refuses it for a while


@pytest.mark.parametrize("app_overrides", [{"SEARCH_APPLY_IN_REQUEST": False}])
def test_the_worker_survives_a_locked_or_dropped_database_and_goes_on(app, backend, db_session, make_case):
    """SQLite: another process holds the write lock for 2 s (the worker's busy timeout is 100 ms), so applying
    fails with "database is locked"; PostgreSQL: the server terminates the worker's connections. The worker must
    say so, wait, and apply the rows once the database answers again, never exiting (it once died on the first
    "database is locked" and stayed dead without a supervisor)."""
    import sqlite3
    import time

    def found(slug: str) -> bool:
        return slug in indexed(app)

    def wait_until(condition) -> bool:
        deadline = time.monotonic() + HANG
        while not condition() and time.monotonic() < deadline:
            time.sleep(0.2)
        return condition()

    first = make_case("published")  # pending: nothing is applied in requests here
    blocker = None
    if backend == "sqlite":
        blocker = sqlite3.connect(app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///"), timeout=5,
                                  isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")  # another writer holds the lock before the worker starts
    env = {**child_env(app), "SQLITE_BUSY_TIMEOUT_MS": "100", "SEARCH_APPLY_IN_REQUEST": "false",
           "PGAPPNAME": "search-worker-under-test"}
    worker = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "search", "worker", "--idle-sleep",
                               "0.1"], cwd=ROOT, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        if blocker is not None:
            time.sleep(2)
            blocker.execute("ROLLBACK")
            blocker.close()
        assert wait_until(lambda: found(first)), "the worker applied nothing"
        if backend == "postgresql":
            for _round in range(3):
                db_session.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                           "WHERE application_name = 'search-worker-under-test'"))
                db_session.commit()
                time.sleep(0.5)
        second = make_case("published", title="Snow clearing schedule by district")
        assert wait_until(lambda: found(second)), "the worker did not go on"
        assert worker.poll() is None, "the worker exited"
    finally:
        worker.terminate()
        output, _ = worker.communicate(timeout=HANG)
    if backend == "sqlite":
        assert "database is locked; retrying in" in output, output


# --------------------------------------------------------------------------------------------------------------
# A deleted index is never silently replaced by an empty one


def test_a_deleted_index_stays_missing_and_says_so_until_reindex(app, client, runner, db_session, make_case):
    """The index directory disappears (a wrong `rm`, a lost volume) while the worker runs and akims publish.
    Nothing may create an empty index in its place: that would answer "nothing found" with a 200. The page, the
    API and /healthz answer 503, the worker says why and keeps trying, the outbox keeps every change, and
    ``flask search reindex`` brings everything back."""
    import shutil
    import time

    first = make_case("published")
    root = Path(app.config["SEARCH_INDEX_DIR"])
    env = {**child_env(app), "SEARCH_APPLY_IN_REQUEST": "false", "PGAPPNAME": "search-worker-under-test"}
    worker = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "search", "worker", "--idle-sleep",
                               "0.1"], cwd=ROOT, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        time.sleep(1)
        shutil.rmtree(root)
        second = make_case("published", title="Snow clearing schedule by district")  # its commit cannot apply
        time.sleep(2)  # the worker polls every 0.1 s (backing off once it fails)
        assert not root.exists(), "an empty index replaced the deleted one"
        assert worker.poll() is None, "the worker exited"
        assert [row.doc_key for row in db_session.scalars(
            sa.select(SearchOutbox).where(SearchOutbox.done_at.is_(None)))] == [second]
        db_session.rollback()
        assert client.get("/api/v1/search", query_string={"q": "snow"}).status_code == 503
        assert client.get("/search", query_string={"q": "snow"}).status_code == 503
        health = client.get("/healthz")
        assert health.status_code == 503 and health.get_json()["failed"] == ["search_index"]

        assert runner.invoke(args=["search", "reindex"]).exit_code == 0
        status, body = api_search(client, q="snow")
        assert status == 200 and [hit["id"] for hit in body["results"]] == [second]
        assert runner.invoke(args=["search", "check"]).exit_code == 0
        assert set(indexed(app)) == {first, second}
    finally:
        worker.terminate()
        output, _ = worker.communicate(timeout=HANG)
    assert "IndexUnavailable: no search index in" in output and "retrying in" in output, output


def test_a_searcher_reads_its_generation_after_another_process_merged_its_segments_away(app, client, db_session,
                                                                                       make_case):
    """Whoosh opens a segment's column files (stored fields, field lengths, sort keys) only when a search first
    reads them. The worker in another process merges the segments and deletes their files after a searcher was
    lent but before it read them: that read once failed ("'NoneType' object is not subscriptable" in
    stored_fields, a 500) or, for field lengths, silently read zeros. The searcher holds a snapshot of its
    generation's files, so it answers as if nothing happened, and the next search sees the merged index."""
    from app.search.query import SearchParams
    from app.search.query import search as run_search

    app.config["SEARCH_MAX_SEGMENTS"] = 100  # the publishes below each leave a segment; nothing merges them
    slugs = [make_case("published", title=f"Snow clearing of district {n}") for n in range(3)]
    with app.app_context():
        ext = app.extensions["search"]
        before = len(ext.open()._segments())
        assert before >= 3

        def merge_then_read(searcher):
            env = {**child_env(app), "SEARCH_MAX_SEGMENTS": "1"}
            done = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "search", "worker", "--once"],
                                  cwd=ROOT, env=env, capture_output=True, text=True, timeout=HANG)
            assert "Merged" in done.stdout, done.stdout + done.stderr
            reader = searcher.reader()
            lengths = [reader.doc_field_length(n, "title_stem") for n in range(searcher.doc_count_all())]
            return sorted(searcher.stored_fields(n)["id"] for n in range(searcher.doc_count_all())), lengths

        ids, lengths = ext.read(merge_then_read)
        assert ids == sorted(slugs) and all(lengths), lengths
        assert len(ext.open()._segments()) < before
        result = run_search("snow", SearchParams())
        assert sorted(hit.case.slug for hit in result.hits) == sorted(slugs) and result.total == 3
    status, body = api_search(client, q="snow")
    assert status == 200 and body["total"] == 3
