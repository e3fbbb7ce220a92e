"""The search index follows the database through the outbox: publish, edit, withdraw, rollback, crash recovery,
``flask search worker|reindex|check``. A real Whoosh index in a tmp dir, inspected with Whoosh directly."""

from __future__ import annotations

from datetime import datetime
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from whoosh import index as whoosh_index
from whoosh.query import Term

from app.case_studies import services
from app.case_studies.models import CaseStudy
from app.extensions import db
from app.regions.services import find_akimat
from app.search.models import SearchOutbox
from tests.conftest import case_data
from tests.functional.test_case_studies import form_data

ALMATY = ("KZ-75", None)


def index_dir(app) -> Path:
    """The directory of the current generation, resolved like a reader does."""
    root = Path(app.config["SEARCH_INDEX_DIR"])
    return root / "generations" / (root / "CURRENT").read_text().strip()


def indexed(app) -> dict[str, str]:
    """{slug: updated_at} of every document in the current index."""
    ix = whoosh_index.open_dir(str(index_dir(app)))
    with ix.searcher() as searcher:
        return {f["id"]: f["updated_at"] for f in searcher.all_stored_fields()}


def hits(app, field: str, text: str) -> list[str]:
    ix = whoosh_index.open_dir(str(index_dir(app)))
    with ix.searcher() as searcher:
        return [hit["id"] for hit in searcher.search(Term(field, text))]


def pending(db_session) -> list[SearchOutbox]:
    return db_session.scalars(sa.select(SearchOutbox).where(SearchOutbox.done_at.is_(None))).all()


def test_publish_edit_withdraw_are_visible_by_the_next_request(app, client, make_user, login_as, db_session,
                                                                make_case):
    slug = make_case("draft")
    login_as(make_user("akim", akimat=ALMATY))
    assert slug not in indexed(app)  # a draft has a "delete" row: applied, nothing indexed

    assert client.post(f"/cases/{slug}/publish").status_code == 302
    case = db_session.scalar(sa.select(CaseStudy).where(CaseStudy.slug == slug))
    assert slug in indexed(app)
    assert hits(app, "title_exact", "onay") == [slug]
    assert hits(app, "text_exact", "алматы") == [slug]  # region names in all three languages

    data = form_data(db_session, title="Transport card Onay for Almaty", version=str(case.version))
    assert client.post(f"/cases/{slug}/edit", data=data).status_code == 302
    assert hits(app, "title_exact", "transport") == [slug]
    updated = db_session.scalar(sa.select(CaseStudy.updated_at).where(CaseStudy.slug == slug))
    assert indexed(app)[slug][:19] == updated.isoformat()[:19]

    assert client.post(f"/cases/{slug}/withdraw", data={"reason": "Outdated"}).status_code == 302
    assert slug not in indexed(app)
    assert pending(db_session) == []
    assert app.test_cli_runner().invoke(args=["search", "check"]).exit_code == 0


def test_outbox_row_is_written_in_the_same_transaction(app, db_session):
    with app.app_context():
        case = services.create_case(None, find_akimat(*ALMATY), case_data())
        services.publish(None, case)
        services.update_case(None, case, case_data(results="Better."), None)
        db.session.flush()
        rows = db.session.scalars(sa.select(SearchOutbox)).all()
        assert [(r.doc_key, r.op) for r in rows] == [(case.slug, "upsert")]  # one row per case per transaction
        slug = case.slug
        db.session.rollback()
    assert db_session.scalars(sa.select(SearchOutbox)).all() == []
    runner = app.test_cli_runner()
    assert runner.invoke(args=["search", "worker", "--once"]).exit_code == 0  # nothing to apply
    assert slug not in indexed(app)
    assert runner.invoke(args=["search", "check"]).exit_code == 0


@pytest.mark.parametrize("app_overrides", [{"SEARCH_APPLY_IN_REQUEST": False}])
def test_worker_applies_rows_left_pending_by_a_crash(app, runner, db_session, make_case):
    slug = make_case("published")
    rows = pending(db_session)
    assert [(r.doc_key, r.op) for r in rows] == [(slug, "upsert")]
    result = runner.invoke(args=["search", "check"])
    assert result.exit_code == 1 and "missing from index" in result.output  # nothing was ever applied

    result = runner.invoke(args=["search", "worker", "--once"])
    assert result.exit_code == 0, result.output
    assert slug in indexed(app) and pending(db_session) == []

    # Applying again (a replay after a crash between the Whoosh and the database commit) is harmless.
    db_session.execute(sa.update(SearchOutbox).values(done_at=None))
    assert runner.invoke(args=["search", "worker", "--once"]).exit_code == 0
    assert list(indexed(app)) == [slug]
    with app.app_context():
        assert app.extensions["search"].apply_pending() == 0
    assert runner.invoke(args=["search", "check"]).exit_code == 0


def test_reindex_switches_generation_and_old_readers_keep_working(app, runner, make_case):
    first = make_case("published")
    before = index_dir(app)
    old = whoosh_index.open_dir(str(before)).searcher()
    try:
        second = make_case("published", title="Public council of Shymkent")
        assert runner.invoke(args=["search", "reindex"]).exit_code == 0
        assert index_dir(app) != before
        assert set(indexed(app)) == {first, second}
        assert [f["id"] for f in old.all_stored_fields()] == [first]  # the old generation, still readable
        assert old.document(id=first)["id"] == first
    finally:
        old.close()
    assert runner.invoke(args=["search", "check"]).exit_code == 0


def test_check_reports_differences_and_reindex_repairs(app, runner, db_session, make_case):
    slug = make_case("published")
    other = make_case("published", title="Public council of Shymkent")
    assert runner.invoke(args=["search", "check"]).exit_code == 0

    ix = whoosh_index.open_dir(str(index_dir(app)))
    with ix.writer() as writer:
        writer.delete_by_term("id", slug)
    result = runner.invoke(args=["search", "check"])
    assert result.exit_code == 1 and f"missing from index: {slug}" in result.output

    db_session.execute(sa.text("UPDATE case_study SET updated_at = :t WHERE slug = :s"),
                       {"t": datetime(2020, 1, 1) + timedelta(hours=1), "s": other})
    result = runner.invoke(args=["search", "check"])
    assert result.exit_code == 1 and f"stale: {other}" in result.output

    assert runner.invoke(args=["search", "reindex"]).exit_code == 0
    assert runner.invoke(args=["search", "check"]).exit_code == 0


def test_missing_index_is_reported_and_repaired(app, runner, make_case):
    import shutil

    slug = make_case("published")
    shutil.rmtree(app.config["SEARCH_INDEX_DIR"])
    result = runner.invoke(args=["search", "check"])
    assert result.exit_code == 1 and "index unavailable" in result.output
    result = runner.invoke(args=["search", "reindex"])
    assert result.exit_code == 0 and "Indexed 1" in result.output
    assert list(indexed(app)) == [slug]
    assert runner.invoke(args=["search", "check"]).exit_code == 0


def test_an_index_built_by_an_older_analyzer_is_reported_and_reindex_repairs_it(app, runner, make_case):
    from app.search.analysis import ANALYSIS_VERSION
    from app.search.analysis import phrase_key
    from app.search.analysis import query_positions

    council = phrase_key(tuple(query_positions("public council")))
    slug = make_case("published", title="Public councils of Shymkent")
    version = index_dir(app) / "ANALYSIS_VERSION"
    assert version.read_text().strip() == str(ANALYSIS_VERSION)
    assert hits(app, "title_fold", council) == [slug]
    version.unlink()  # as in a generation built before analysis versions were kept (no phrase keys)
    result = runner.invoke(args=["search", "check"])
    assert result.exit_code == 1
    assert "index built with an older analyzer" in result.output and "flask search reindex" in result.output

    assert runner.invoke(args=["search", "reindex"]).exit_code == 0
    assert (index_dir(app) / "ANALYSIS_VERSION").read_text().strip() == str(ANALYSIS_VERSION)
    other = make_case("published", title="A public council in Oral")  # an update commit keeps the version file
    assert sorted(hits(app, "title_fold", council)) == sorted([slug, other])
    assert runner.invoke(args=["search", "check"]).exit_code == 0


def test_rows_written_to_a_generation_replaced_meanwhile_stay_pending(app, runner, db_session, make_case,
                                                                     monkeypatch):
    # The race: a writer opens generation N; a reindex elsewhere switches to N+1 and catches up on the outbox;
    # the writer then commits rows the catch-up never saw into N. They must stay pending, or N+1 lacks them.
    from app.search import index as search_index

    first = make_case("published")
    assert runner.invoke(args=["search", "reindex"]).exit_code == 0
    app.config["SEARCH_APPLY_IN_REQUEST"] = False  # as in a process that committed and has not applied yet
    second = make_case("published", title="Public council of Shymkent")  # committed, its outbox row pending
    original = search_index.SearchIndex._sync_keys

    def sync_while_a_reindex_switches(self, writer, slugs):
        original(self, writer, slugs)
        name, path = self._new_generation()  # the other process's reindex, switched in at this very moment
        search_index._create_index(path)
        self._switch(name)

    monkeypatch.setattr(search_index.SearchIndex, "_sync_keys", sync_while_a_reindex_switches)
    with app.app_context():
        assert app.extensions["search"].apply_pending() == 0
    assert [row.doc_key for row in pending(db_session)] == [second]
    monkeypatch.undo()
    with app.app_context():
        assert app.extensions["search"].apply_pending() == 1
    assert second in indexed(app) and pending(db_session) == []
    assert first not in indexed(app)  # the stand-in reindex built an empty generation: check says so
    assert runner.invoke(args=["search", "check"]).exit_code == 1
