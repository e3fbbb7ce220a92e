"""The Whoosh index of published case studies and the ``SearchIndex`` extension that keeps it in step with the
database.

Layout under ``SEARCH_INDEX_DIR``: ``generations/<n>/`` holds complete indexes, each with an ``ANALYSIS_VERSION``
file (the analyzer it was built with: ``check()`` reports an older one); the ``CURRENT`` file names the one in
use. ``reindex()`` builds a new generation beside the current one and switches the pointer with ``os.replace``
(atomic), so readers never see an empty or half-built index; a reader opened on the previous generation keeps
working (the previous generation is kept, older ones are removed).

The index is written only from committed outbox rows (:mod:`app.search.outbox`): ``apply_pending()`` takes
Whoosh's writer lock with a short timeout (whoever holds it finishes the job), brings each outbox row's document
in line with the database (re-read now, so replays and reordering are harmless), commits Whoosh, then marks
the rows done. In a request it applies one small batch and leaves merging segments to the worker
(``merge_segments``); full builds (``reindex``, ``bulk_rebuild`` after a large import) go through
:mod:`app.search.building`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
import threading
import time
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from flask import Flask
from flask import current_app
from flask import g
from flask import has_request_context
from sqlalchemy.orm import selectinload
from whoosh import index as whoosh_index
from whoosh.fields import DATETIME
from whoosh.fields import ID
from whoosh.fields import KEYWORD
from whoosh.fields import NUMERIC
from whoosh.fields import STORED
from whoosh.fields import TEXT
from whoosh.fields import Schema
from whoosh.index import LockError
from whoosh.reading import ReaderClosed
from whoosh.reading import SegmentReader

from app.case_studies.models import CaseStudy
from app.clock import utcnow
from app.extensions import db
from app.search import building
from app.search import outbox
from app.search.analysis import ANALYSIS_VERSION
from app.search.analysis import exact_analyzer
from app.search.analysis import fold_analyzer
from app.search.analysis import stem_analyzer
from app.search.documents import FIELD_BOOSTS
from app.search.documents import VARIANT_BOOSTS
from app.search.documents import case_document
from app.search.documents import updated_stamp
from app.search.models import SearchOutbox
from app.search.ranking import PRIOR_FIELD
from app.search.ranking import prior_column
from app.search.whoosh_internals import snapshot_index

log = logging.getLogger(__name__)

CURRENT_FILE = "CURRENT"
GENERATIONS_DIR = "generations"
ANALYSIS_FILE = "ANALYSIS_VERSION"  # in a generation: the analysis.ANALYSIS_VERSION it was built with (none: 1)
LOCK_TIMEOUT = 0.5  # seconds: in a request, never wait long for another writer
# Segments as separate files, not one compound file: Whoosh 2.7.4 reads a compound segment through
# BufferFile(memoryview(mmap)), whose BytesIO copies every part into the process (RSS ≈ index size); separate
# files are read in place. Every writer passes this, so segments written by merges are separate files too.
WRITER_OPTIONS = {"compound": False}
REINDEX_CHUNK = 500  # cases a build process reads from the database at a time
MARK_CHUNK = 1000  # outbox rows marked done per statement
REQUEST_MERGE_FACTOR = 4  # a request merges segments only past this many times SEARCH_MAX_SEGMENTS (no worker runs)
RESYNC_MARGIN = timedelta(seconds=60)  # clock skew (and transaction length) allowance when reindex re-applies rows


def _create_index(path: Path):
    """Create an empty index in ``path``, recording the analysis version it is built with (``ANALYSIS_FILE``)."""
    ix = whoosh_index.create_in(str(path), case_schema())
    (path / ANALYSIS_FILE).write_text(f"{ANALYSIS_VERSION}\n", encoding="utf-8")
    return ix


def analysis_version(path: Path | None) -> int:
    """The analysis version the generation in ``path`` was built with (1: no record, built before they were kept)."""
    if path is None:
        return 1
    try:
        return int((path / ANALYSIS_FILE).read_text(encoding="utf-8").strip())
    except (FileNotFoundError, ValueError):
        return 1


class IndexUnavailable(Exception):
    """The index is missing or unreadable (``flask search reindex`` repairs it)."""



def case_schema() -> Schema:
    """The Whoosh schema of case-study documents.

    Text: ``title_*`` holds the title, ``text_*`` the rest of a case's text (summary, sections, places,
    attachments, each part weighted: :data:`app.search.documents.PART_BOOSTS`); each in three variants (exact,
    stem, fold: :mod:`app.search.analysis`), weighted by ``FIELD_BOOSTS`` × ``VARIANT_BOOSTS``. Six fields instead
    of fifteen (one per part and variant): far fewer terms to look up per query word.
    """
    fields = {
        "id": ID(unique=True, stored=True),
        "updated_at": STORED(),
        "region": ID(),
        "district": ID(),
        "level": ID(),
        "topics": KEYWORD(commas=True, lowercase=True),
        "language": ID(),
        "status": ID(),
        "evidence": ID(),  # the evidence level, "1".."5" ("": not assessed); an index without it: check() says so
        "year": NUMERIC(int, bits=32, signed=False, sortable=True),
        "published": DATETIME(sortable=True),
        PRIOR_FIELD: prior_column(),  # ranking prior (status, adoptions): app.search.ranking
    }
    analyzers = {"exact": exact_analyzer, "stem": stem_analyzer, "fold": fold_analyzer}
    for field, boost in FIELD_BOOSTS.items():
        for variant, make in analyzers.items():
            # Positions (phrases) only in the exact variants: the others are matched word by word.
            options = {} if variant == "exact" else {"multitoken_query": "or", "phrase": False}
            fields[f"{field}_{variant}"] = TEXT(analyzer=make(), field_boost=boost * VARIANT_BOOSTS[variant],
                                                **options)
    return Schema(**fields)


def _published_cases(slugs: list[str] | None = None, ids: list[int] | None = None):
    """A select of published cases (optionally only ``slugs``, or ``ids``), with what their documents need."""
    stmt = (
        sa.select(CaseStudy)
        .where(CaseStudy.is_published)
        .options(selectinload(CaseStudy.topic_rows), selectinload(CaseStudy.region),
                 selectinload(CaseStudy.municipality), selectinload(CaseStudy.adoptions),
                 selectinload(CaseStudy.attachments))
        .order_by(CaseStudy.id)
    )
    if slugs is not None:
        stmt = stmt.where(CaseStudy.slug.in_(slugs))
    if ids is not None:
        stmt = stmt.where(CaseStudy.id.in_(ids))
    return stmt


def _write_cases(writer, ids: list[int]) -> int:
    """Add the documents of the published cases among ``ids`` to ``writer`` (a part of a full build); return how
    many. Reads ``REINDEX_CHUNK`` cases at a time: a 100k-case build must not hold every case in the session."""
    count = 0
    db.session.rollback()
    # One read transaction that takes no write lock (SQLite): build processes read side by side.
    db.session.connection(execution_options={"sqlite_begin": "DEFERRED"})
    for start in range(0, len(ids), REINDEX_CHUNK):
        for case in db.session.scalars(_published_cases(ids=ids[start:start + REINDEX_CHUNK])):
            writer.add_document(**case_document(case))
            count += 1
        db.session.expunge_all()
    db.session.rollback()
    return count


def _child_init() -> None:
    """In a forked build process: open connections of its own (the parent's pool is not ours to close)."""
    db.engine.dispose(close=False)


def request_batch() -> int | None:
    """The most outbox rows the web process applies after a request or before a search (``SEARCH_REQUEST_BATCH``);
    None outside requests (commands, the worker: no limit)."""
    return current_app.config["SEARCH_REQUEST_BATCH"] if has_request_context() else None


def merge_policy(max_segments: int):
    """A Whoosh merge policy: with more than ``max_segments`` segments, the largest half of ``max_segments`` stay
    and all the others (the small ones, left by updates) are merged into the new segment; otherwise none is."""

    def policy(writer, segments):
        if len(segments) + 1 <= max_segments:  # + the one being written
            return list(segments)
        ordered = sorted(segments, key=lambda seg: seg.doc_count_all(), reverse=True)
        keep = max(max_segments // 2, 1)
        for segment in ordered[keep:]:
            reader = SegmentReader(writer.storage, writer.schema, segment)
            writer.add_reader(reader)
            reader.close()
        return ordered[:keep]

    return policy


class SearchIndex:
    """Flask extension owning the case-study index of an app (``app.extensions["search"]``)."""

    def __init__(self, app: Flask | None = None):
        self.app = app
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Read the settings, register the outbox listeners and the embedded-mode hooks."""
        app.config.setdefault("SEARCH_INDEX_DIR", str(Path(app.root_path).parent / "search_index"))
        app.config.setdefault("SEARCH_APPLY_IN_REQUEST", True)
        app.config.setdefault("SEARCH_BATCH_SIZE", 500)
        app.config.setdefault("SEARCH_REQUEST_BATCH", 50)
        app.config.setdefault("SEARCH_MAX_SEGMENTS", 8)
        app.config.setdefault("SEARCH_BULK_MIN", 300)
        app.config.setdefault("SEARCH_BULK_SHARE", 0.1)
        app.config.setdefault("SEARCH_REINDEX_PROCS", 0)
        app.config.setdefault("SEARCH_REINDEX_LIMITMB", 0)
        app.config.setdefault("SEARCH_REINDEX_PARALLEL_MIN", 2000)
        app.extensions["search"] = self
        outbox.register()
        app.after_request(_apply_after_request)
        app.teardown_appcontext(_apply_on_teardown)

    # -- locations ------------------------------------------------------------------------------------------

    @property
    def root(self) -> Path:
        """``SEARCH_INDEX_DIR`` of the current app."""
        return Path(current_app.config["SEARCH_INDEX_DIR"])

    def current_dir(self) -> Path | None:
        """The directory of the generation in use (None if there is none)."""
        try:
            name = (self.root / CURRENT_FILE).read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        return self.root / GENERATIONS_DIR / name if name else None

    def _switch(self, name: str) -> None:
        """Point ``CURRENT`` at generation ``name`` atomically."""
        self.root.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".CURRENT.")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(name + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.root / CURRENT_FILE)

    def _new_generation(self) -> tuple[str, Path]:
        """Create an empty directory for the next generation."""
        base = self.root / GENERATIONS_DIR
        base.mkdir(parents=True, exist_ok=True)
        numbers = [int(p.name) for p in base.iterdir() if p.name.isdigit()]
        n = max(numbers, default=0) + 1
        while True:
            try:
                (base / str(n)).mkdir()
                return str(n), base / str(n)
            except FileExistsError:  # a concurrent reindex took it
                n += 1

    # -- opening --------------------------------------------------------------------------------------------

    @contextmanager
    def searcher(self):
        """``with search.searcher() as s:`` the process's shared searcher of the current generation (refreshed
        when the index changed), for the duration of the block; other threads search with it at the same time
        (its files are read through per-thread positions: ``whoosh_internals.ConcurrentStorage``).

        :raise IndexUnavailable: there is no index, or it cannot be read.
        """
        yield _shared_searcher(self)

    def read(self, work):
        """``work(searcher)`` on the shared searcher; return its result.

        The searcher reads a snapshot of one generation (``whoosh_internals.SnapshotStorage``): another process's
        merge or reindex deleting its files meanwhile does not affect it.

        :raise IndexUnavailable: no index, or it cannot be read.
        """
        try:
            return work(_shared_searcher(self))
        except (OSError, EOFError, ReaderClosed) as exc:
            raise IndexUnavailable(f"the search index cannot be read: {exc}") from exc

    def open(self):
        """Open the current generation (only :meth:`reindex` creates one: a missing index is never silently
        replaced by an empty one, which would answer "nothing found" to every search).

        :raise IndexUnavailable: no index, or it cannot be read.
        """
        path = self.current_dir()
        if path is None or not path.is_dir():
            raise IndexUnavailable(f"no search index in {self.root} (run `flask search reindex`)")
        try:
            return whoosh_index.open_dir(str(path))
        except Exception as exc:  # whoosh raises EmptyIndexError, OSError, pickling errors...
            raise IndexUnavailable(f"the search index in {path} cannot be read: {exc}") from exc

    # -- writing --------------------------------------------------------------------------------------------

    def _sync_keys(self, writer, slugs: list[str]) -> None:
        """Make the documents of ``slugs`` match the database: published → update, otherwise delete."""
        cases = {c.slug: c for c in db.session.scalars(_published_cases(list(dict.fromkeys(slugs))))}
        for slug in dict.fromkeys(slugs):
            case = cases.get(slug)
            if case is not None:
                # An index built before a field was added lacks it (check() asks for a reindex); until then its
                # documents are kept up to date without that field, instead of every write failing.
                writer.update_document(**{name: value for name, value in case_document(case).items()
                                          if name in writer.schema})
            else:
                writer.delete_by_term("id", slug)

    def apply_pending(self, limit: int | None = None, timeout: float = LOCK_TIMEOUT, prefer=()) -> int:
        """Apply pending outbox rows (oldest first; the rows of the documents ``prefer`` first) to the index; return
        how many were applied.

        Returns 0 at once if another writer holds the lock: it will finish the job. In a request the new segment
        is not merged with others (the worker does that: :meth:`merge_segments`) unless they have piled up far
        past ``SEARCH_MAX_SEGMENTS`` (an instance without a worker).

        :raise IndexUnavailable: there is no index (the rows stay pending until ``flask search reindex``).
        """
        limit = limit or current_app.config["SEARCH_BATCH_SIZE"]
        ix = self.open()
        try:
            writer = ix.writer(timeout=timeout, **WRITER_OPTIONS)
        except LockError:
            return 0
        try:
            pending = sa.select(SearchOutbox).where(SearchOutbox.done_at.is_(None)).order_by(SearchOutbox.id)
            rows = []
            if prefer:
                rows = db.session.scalars(
                    pending.where(SearchOutbox.doc_type == outbox.DOC_CASE,
                                  SearchOutbox.doc_key.in_(list(prefer)[:limit])).limit(limit)
                ).all()
            if len(rows) < limit:
                taken = [row.id for row in rows]
                rows += db.session.scalars(
                    (pending.where(SearchOutbox.id.not_in(taken)) if taken else pending).limit(limit - len(rows))
                ).all()
            if not rows:
                writer.cancel()
                db.session.rollback()
                return 0
            for row in rows:
                row.attempts += 1
            self._sync_keys(writer, [row.doc_key for row in rows if row.doc_type == outbox.DOC_CASE])
            max_segments = current_app.config["SEARCH_MAX_SEGMENTS"]
            if has_request_context() and len(ix._segments()) < REQUEST_MERGE_FACTOR * max_segments:
                writer.commit(merge=False)
            else:
                writer.commit(mergetype=merge_policy(max_segments))
        except BaseException:
            writer.cancel()
            db.session.rollback()
            raise
        if self.current_dir() != Path(ix.storage.folder):
            # A reindex switched generations while we wrote to the old one, possibly after its catch-up had read
            # the outbox: leave the rows pending so that they reach the new generation too.
            db.session.rollback()
            return 0
        # Whoosh first, then the rows: a crash in between only means they are applied again (harmless).
        now = utcnow()
        for row in rows:
            row.done_at = now
        db.session.commit()
        return len(rows)

    def apply_all(self, timeout: float = LOCK_TIMEOUT, prefer=()) -> int:
        """Apply pending rows in batches until none are left (or another writer holds the lock).

        In a request, at most one batch of :func:`request_batch` rows (``prefer``'s first): the web process never
        spends long on indexing after a response, and the worker (or the next requests) applies the rest.
        """
        cap = request_batch()
        if cap is not None:
            return self.apply_pending(limit=cap, timeout=timeout, prefer=prefer)
        total = 0
        while True:
            count = self.apply_pending(timeout=timeout, prefer=prefer)
            prefer = ()
            total += count
            if count == 0:
                return total

    def merge_segments(self, timeout: float = LOCK_TIMEOUT) -> int:
        """Merge the small segments of the current generation when there are more than ``SEARCH_MAX_SEGMENTS``
        (``merge_policy``); return how many were merged (0: nothing to do, or another writer holds the lock).

        For the worker, between batches: updates applied in requests each leave a small segment, and every search
        reads every segment.
        """
        max_segments = current_app.config["SEARCH_MAX_SEGMENTS"]
        ix = self.open()
        before = len(ix._segments())
        if before <= max_segments:
            return 0
        try:
            writer = ix.writer(timeout=timeout, **WRITER_OPTIONS)
        except LockError:
            return 0
        try:
            writer.commit(mergetype=merge_policy(max_segments))
        except BaseException:
            writer.cancel()
            raise
        return before - len(ix.refresh()._segments()) + 1

    def bulk_rebuild(self, changed: int) -> int | None:
        """After a commit that changed ``changed`` case documents at once (``flask cases import``): rebuild the
        index (:meth:`reindex`) when that is quicker than applying their outbox rows one by one — from
        ``SEARCH_BULK_MIN`` changed documents, and at least ``SEARCH_BULK_SHARE`` of the published ones. Return
        the number of documents indexed, or None when the rows are left to the usual path."""
        config = current_app.config
        if changed < config["SEARCH_BULK_MIN"]:
            return None
        published = db.session.scalar(sa.select(sa.func.count()).where(CaseStudy.is_published)) or 0
        db.session.rollback()
        if changed < config["SEARCH_BULK_SHARE"] * published:
            return None
        return self.reindex()

    def _build_plan(self, total: int) -> tuple[int, int]:
        """(processes, posting pool MB of each) of a full build of ``total`` documents.

        ``SEARCH_REINDEX_PROCS`` processes (0: one per core), each writing its own segment; a small corpus
        (below ``SEARCH_REINDEX_PARALLEL_MIN``) is not worth starting processes for, nor can forked processes
        share an in-memory database. ``limitmb``, the in-memory posting pool of each process before it spills
        sorted runs to disk, is ``SEARCH_REINDEX_LIMITMB`` or (0) a share of the available memory.
        """
        config = current_app.config
        procs = config["SEARCH_REINDEX_PROCS"] or building.cores()
        if total < config["SEARCH_REINDEX_PARALLEL_MIN"] or db.engine.url.database in (None, "", ":memory:"):
            procs = 1
        return procs, building.limitmb_for(procs, config["SEARCH_REINDEX_LIMITMB"])

    def reindex(self) -> int:
        """Build a complete new generation from the database, switch to it, then catch up; return the count.

        The outbox rows pending when the build starts are reflected in it (their changes are committed, the build
        reads after them): they are marked done once the new generation is in use, not applied again one by one.
        Rows committed later, and rows applied to the old generation meanwhile, are re-synced into the new one.
        """
        started = utcnow()
        covered = set(db.session.scalars(sa.select(SearchOutbox.id).where(SearchOutbox.done_at.is_(None))))
        ids = list(db.session.scalars(sa.select(CaseStudy.id).where(CaseStudy.is_published).order_by(CaseStudy.id)))
        db.session.rollback()  # end the read snapshot
        name, path = self._new_generation()
        ix = _create_index(path)
        procs, limitmb = self._build_plan(len(ids))
        if procs > 1:
            db.session.close()
            db.engine.dispose()  # forked build processes must not share the pooled connections
        try:
            count = building.build(ix, building.split(ids, procs), _write_cases, procs, limitmb, WRITER_OPTIONS,
                                   child_init=_child_init)
        except BaseException:
            shutil.rmtree(path, ignore_errors=True)
            raise
        previous = self.current_dir()
        self._switch(name)
        # Changes committed while the build ran are pending, or were applied to the old generation after we
        # started: re-sync both kinds of row into the new one. (Rows written before we started and applied just
        # before, e.g. by the rebuild of the `cases import` an operator runs right before this, are in the build:
        # re-syncing them rewrote every document once more.)
        since = started - RESYNC_MARGIN
        recent = db.session.execute(
            sa.select(SearchOutbox.id, SearchOutbox.doc_key)
            .where(SearchOutbox.doc_type == outbox.DOC_CASE)
            .where(sa.or_(SearchOutbox.done_at.is_(None),
                          sa.and_(SearchOutbox.done_at >= since, SearchOutbox.created_at >= since)))
            .order_by(SearchOutbox.id)
        ).all()
        keys = [key for row_id, key in recent if row_id not in covered]
        if keys:
            writer = ix.writer(timeout=10.0, **WRITER_OPTIONS)
            try:
                self._sync_keys(writer, keys)
                writer.commit()
            except BaseException:
                writer.cancel()
                raise
        db.session.rollback()
        self._mark_done(sorted(covered))
        self.apply_all(timeout=10.0)
        self._prune(keep={name, previous.name if previous else ""})
        return count

    def _mark_done(self, ids: list[int]) -> None:
        """Mark the outbox rows ``ids`` done (those still pending), and commit."""
        now = utcnow()
        for start in range(0, len(ids), MARK_CHUNK):
            db.session.execute(
                sa.update(SearchOutbox)
                .where(SearchOutbox.id.in_(ids[start:start + MARK_CHUNK]), SearchOutbox.done_at.is_(None))
                .values(done_at=now)
            )
        db.session.commit()

    def _prune(self, keep: set[str]) -> None:
        """Remove generations other than ``keep`` (the new one and the one readers may still hold)."""
        base = self.root / GENERATIONS_DIR
        for path in base.iterdir():
            if path.is_dir() and path.name not in keep:
                shutil.rmtree(path, ignore_errors=True)

    # -- checking -------------------------------------------------------------------------------------------

    def check(self) -> list[str]:
        """Differences between the index and the database, as readable lines (empty: consistent).

        Reports an index built with another analyzer, or without a field of :func:`case_schema` (built before
        the field was added); otherwise compares {slug: updated_at} of the index with the published cases of the
        database.
        """
        try:
            ix = self.open()
            with ix.searcher() as searcher:
                indexed = {f["id"]: f.get("updated_at", "") for f in searcher.all_stored_fields()}
                missing_fields = sorted(set(case_schema().names()) - set(searcher.schema.names()))
        except IndexUnavailable as exc:
            return [f"index unavailable: {exc}"]
        except Exception as exc:  # a corrupt segment shows up only when read
            return [f"index unavailable: the search index cannot be read: {exc}"]
        built = analysis_version(self.current_dir())
        if built != ANALYSIS_VERSION:
            # Its terms differ from what queries now look for (e.g. no phrase keys): every document is affected.
            age = "an older" if built < ANALYSIS_VERSION else "a newer"
            return [f"index built with {age} analyzer (version {built}, this code {ANALYSIS_VERSION}): "
                    "run `flask search reindex`"]
        if missing_fields:
            # Built by older code: filters and facets on these fields would find nothing.
            return [f"index built without the field(s) {', '.join(missing_fields)}: run `flask search reindex`"]
        rows = db.session.execute(
            sa.select(CaseStudy.slug, CaseStudy.updated_at).where(CaseStudy.is_published)
        ).all()
        db.session.rollback()
        expected = {slug: updated_stamp(updated) for slug, updated in rows}
        problems = [f"missing from index: {slug}" for slug in sorted(expected.keys() - indexed.keys())]
        problems += [f"in index but not published: {slug}" for slug in sorted(indexed.keys() - expected.keys())]
        problems += [
            f"stale: {slug} (index {indexed[slug]}, database {expected[slug]})"
            for slug in sorted(expected.keys() & indexed.keys())
            if indexed[slug] != expected[slug]
        ]
        return problems


def _apply_now() -> None:
    """Embedded mode: apply rows this app context committed (in a request, one small batch with those first:
    :func:`request_batch`); never let indexing break the response."""
    keys = g.pop(outbox.COMMITTED_KEYS, {})
    if not g.pop(outbox.PENDING_FLAG, False) or not current_app.config["SEARCH_APPLY_IN_REQUEST"]:
        return
    try:
        current_app.extensions["search"].apply_all(prefer=tuple(keys))
    except IndexUnavailable as exc:
        db.session.rollback()
        log.warning("search outbox rows left pending: %s", exc)
    except Exception:
        db.session.rollback()
        log.exception("applying search outbox rows failed; `flask search worker` will retry")


def _apply_after_request(response):
    """Apply committed outbox rows before the response leaves (read-your-writes)."""
    _apply_now()
    return response


def _apply_on_teardown(exc: BaseException | None) -> None:
    """Outside requests (CLI, scripts), apply committed outbox rows when the app context ends."""
    if exc is None:
        _apply_now()


# --------------------------------------------------------------------------------------------------------------
# The searcher cache: one searcher per index root and process, lent out by SearchIndex.searcher()


_lock = threading.Lock()
_searchers: dict[str, tuple[str, object, object]] = {}  # index root → (generation dir, index, searcher)
# No lock is held while searching: the searcher's files are memory maps read through per-thread positions
# (Whoosh 2.7.4's own shared file objects, seek then read, garble the postings of two threads at once), and a
# searcher another thread may still be using is never closed at once, only retired (_retire).
_MAX_ROOTS = 4


def _shared_searcher(ext: SearchIndex):
    """The process's searcher of ``ext``'s current generation, refreshed if the index changed."""
    root = str(ext.root)
    path = ext.current_dir()
    if path is None or not path.is_dir():
        raise IndexUnavailable(f"no search index in {root} (run `flask search reindex`)")
    with _lock:
        _close_retired()
        cached = _searchers.get(root)
        if cached is not None and cached[0] == str(path):
            gen, ix, searcher = cached
            try:
                if not searcher.up_to_date():
                    # A new snapshot and searcher, not searcher.refresh(): that closes the old readers, which a
                    # request in another thread may still be using (and Whoosh 2.7.4's refresh() never reuses a
                    # reader: it looks them up by generation instead of segment id). The old one is closed later.
                    _retire(searcher)
                    ix = snapshot_index(ix)
                    searcher = ix.searcher()
                    _searchers[root] = (gen, ix, searcher)
            except Exception as exc:
                _searchers.pop(root, None)
                raise IndexUnavailable(f"the search index cannot be read: {exc}") from exc
            return searcher
        if cached is not None:
            _retire(cached[2])
        try:
            ix = snapshot_index(ext.open())
            searcher = ix.searcher()
        except IndexUnavailable:
            raise
        except Exception as exc:
            raise IndexUnavailable(f"the search index cannot be read: {exc}") from exc
        while len(_searchers) >= _MAX_ROOTS:
            _retire(_searchers.pop(next(iter(_searchers)))[2])
        _searchers[root] = (str(path), ix, searcher)
        return searcher


_retired: list[tuple[float, object]] = []  # (when, searcher) replaced by a refresh, closed after RETIRE_GRACE
RETIRE_GRACE = 30.0  # seconds: longer than any request that may still be using a replaced searcher


def _retire(searcher) -> None:
    """Close the readers of a searcher replaced by a refresh once requests still using it are done."""
    _retired.append((time.monotonic(), searcher))


def _close_retired() -> None:
    """Close retired searchers older than ``RETIRE_GRACE`` (caller holds ``_lock``)."""
    now = time.monotonic()
    while _retired and now - _retired[0][0] > RETIRE_GRACE:
        _, old = _retired.pop(0)
        for leaf, _offset in old.reader().leaf_readers():
            with contextlib.suppress(Exception):  # the one refresh() closed raises ReaderClosed
                leaf.close()


search = SearchIndex()
"""The extension object (bound in :func:`app.create_app`)."""
