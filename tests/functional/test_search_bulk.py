"""Bulk paths of the search index (issue 14): a large import builds a new generation in parallel instead of applying
its outbox rows one by one; the web process applies one small batch at most; the worker merges small segments."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from whoosh import index as whoosh_index

from app.case_studies.models import CaseStudy
from app.extensions import db
from app.search.models import SearchOutbox
from tests.functional.test_interchange import SAMPLE
from tests.functional.test_search_index import index_dir
from tests.functional.test_search_index import indexed

# Tiny thresholds so that the 40 cases of the shared sample take the bulk path, with two build processes; SQLite
# gives up on a lock at once, so build processes that took the write lock to read would fail each other.
BULK = {"SEARCH_BULK_MIN": 5, "SEARCH_BULK_SHARE": 0.0, "SEARCH_REINDEX_PARALLEL_MIN": 2,
        "SEARCH_REINDEX_PROCS": 2, "SQLITE_BUSY_TIMEOUT_MS": 1}


def pending(db_session) -> list[SearchOutbox]:
    return db_session.scalars(sa.select(SearchOutbox).where(SearchOutbox.done_at.is_(None))).all()


def segment_count(app) -> int:
    return len(whoosh_index.open_dir(str(index_dir(app)))._segments())


def published(db_session) -> dict[str, str]:
    from app.search.documents import updated_stamp

    rows = db_session.execute(sa.select(CaseStudy.slug, CaseStudy.updated_at).where(CaseStudy.is_published)).all()
    return {slug: updated_stamp(updated) for slug, updated in rows}


def api_ids(client, q: str) -> list[str]:
    response = client.get("/api/v1/search", query_string={"q": q, "per_page": 50})
    assert response.status_code == 200, response.get_data(as_text=True)
    return [hit["id"] for hit in response.get_json()["results"]]


@pytest.mark.parametrize("app_overrides", [BULK])
def test_a_large_import_builds_a_new_generation_and_checks_clean(app, runner, client, db_session):
    lines = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines()]
    result = runner.invoke(args=["cases", "import", str(SAMPLE)])
    assert result.exit_code == 0, result.output
    assert f"Rebuilt the search index: {len(lines)} published case studies." in result.output
    assert pending(db_session) == []
    assert indexed(app) == published(db_session) and len(indexed(app)) == len(lines)
    assert segment_count(app) == 2  # one per build process
    check = runner.invoke(args=["search", "check"])
    assert check.exit_code == 0, check.output
    # Every imported case is found by its own title (read-your-writes: right after the command).
    for line in lines:
        assert line["id"] in api_ids(client, f'"{line["title"]}"'), line["title"]


@pytest.mark.parametrize("app_overrides", [BULK])
def test_reindex_right_after_an_import_does_not_write_every_document_twice(app, runner, db_session):
    """The runbook's step 3 is `cases import` then `search reindex`. The import's rebuild marks its rows done
    moments before the reindex starts; the reindex re-synced every row done within its clock-skew margin, i.e.
    rewrote all documents into a third segment (the index doubled, the rebuild took twice as long: 10k cases,
    682 MB instead of ~340). Rows written before the reindex started are in its build."""
    from datetime import timedelta

    from app.clock import utcnow

    result = runner.invoke(args=["cases", "import", str(SAMPLE)])
    assert result.exit_code == 0 and "Rebuilt the search index" in result.output, result.output
    # The import wrote its rows a while ago (its database part), its rebuild applied them just now.
    db_session.execute(sa.update(SearchOutbox).values(created_at=utcnow() - timedelta(minutes=5)))
    db_session.commit()
    assert runner.invoke(args=["search", "reindex"]).exit_code == 0
    with whoosh_index.open_dir(str(index_dir(app))).reader() as reader:
        counts = (reader.doc_count_all(), reader.doc_count())
    assert segment_count(app) == 2 and counts == (len(published(db_session)),) * 2
    assert runner.invoke(args=["search", "check"]).exit_code == 0


@pytest.mark.parametrize("app_overrides", [{**BULK, "SEARCH_BULK_MIN": 1000}])
def test_a_small_import_applies_its_rows_as_before(app, runner, db_session):
    result = runner.invoke(args=["cases", "import", str(SAMPLE)])
    assert result.exit_code == 0, result.output
    assert "Rebuilt" not in result.output
    assert pending(db_session) == []
    assert indexed(app) == published(db_session)
    assert runner.invoke(args=["search", "check"]).exit_code == 0


@pytest.mark.parametrize("app_overrides", [BULK])
def test_changes_committed_during_a_bulk_build_reach_the_new_generation(app, runner, db_session, make_case,
                                                                        monkeypatch):
    from app.case_studies import services
    from app.search import index as search_index

    assert runner.invoke(args=["cases", "import", str(SAMPLE)]).exit_code == 0
    build = search_index.building.build
    late = {}

    def build_then_change(*args, **kwargs):
        count = build(*args, **kwargs)
        # Committed after the build read the database (its outbox row is pending, not covered by the build).
        late["slug"] = make_case(state="published", title="Committed while the index was being built")
        with app.app_context():
            others = sa.select(CaseStudy).where(CaseStudy.is_published, CaseStudy.slug != late["slug"])
            victim = db.session.scalar(others.order_by(CaseStudy.id))
            services.withdraw(None, victim, "testing")
            late["withdrawn"] = victim.slug
            db.session.commit()
        return count

    monkeypatch.setattr(search_index.building, "build", build_then_change)
    assert runner.invoke(args=["search", "reindex"]).exit_code == 0
    db_session.expire_all()
    assert pending(db_session) == []
    assert late["slug"] in indexed(app) and late["withdrawn"] not in indexed(app)
    assert indexed(app) == published(db_session)


@pytest.mark.parametrize("app_overrides", [{"SEARCH_REQUEST_BATCH": 3}])
def test_a_request_applies_one_small_batch_with_its_own_rows_first(app, runner, db_session, make_case):
    assert runner.invoke(args=["search", "reindex"]).exit_code == 0
    app.config["SEARCH_APPLY_IN_REQUEST"] = False  # leave the rows of these commits pending
    slugs = [make_case(state="published", title=f"Pending case number {n}") for n in range(8)]
    app.config["SEARCH_APPLY_IN_REQUEST"] = True
    assert len(pending(db_session)) == 8
    with app.test_request_context("/"):
        assert app.extensions["search"].apply_all(prefer=(slugs[-1],)) == 3
    db_session.expire_all()
    left = {row.doc_key for row in pending(db_session)}
    assert len(left) == 5 and slugs[-1] not in left  # the preferred document first, then the oldest
    assert set(slugs[:2]).isdisjoint(left)
    # Outside a request (a command, the worker) there is no cap.
    with app.app_context():
        assert app.extensions["search"].apply_all() == 5
    assert pending(db_session) == []


@pytest.mark.parametrize("app_overrides", [{"SEARCH_MAX_SEGMENTS": 4}])
def test_the_worker_merges_the_small_segments_requests_leave(app, runner, client, db_session, make_case):
    assert runner.invoke(args=["search", "reindex"]).exit_code == 0
    slugs = []
    for n in range(7):
        # As a request does: a commit, then its rows applied after it (no merge in the request path).
        with app.test_request_context("/"):
            slugs.append(make_case(state="published", title=f"Segmented update number {n}"))
    assert pending(db_session) == []
    assert segment_count(app) == 7
    before = set(indexed(app))
    result = runner.invoke(args=["search", "worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "Merged 5 small index segments into one." in result.output
    assert segment_count(app) == 3  # the 2 largest kept, the rest merged into one
    assert set(indexed(app)) == before == set(published(db_session))
    assert runner.invoke(args=["search", "check"]).exit_code == 0
    assert slugs[0] in api_ids(client, "Segmented update")
    # Nothing more to merge.
    assert "Merged" not in runner.invoke(args=["search", "worker", "--once"]).output


def test_build_uses_available_memory_and_cores():
    from app.search import building

    assert building.cores() >= 1
    assert building.limitmb_for(2, 300) == 300
    assert building.MIN_LIMITMB <= building.limitmb_for(2) <= building.MAX_LIMITMB


