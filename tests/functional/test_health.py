"""``GET /healthz`` (CONTRACTS.md §2): 200 when the database and the index answer, 503 with what failed."""

from __future__ import annotations

import shutil
from datetime import UTC
from datetime import datetime
from datetime import timedelta

from app.extensions import db
from app.search.models import SearchOutbox


def test_healthy_instance_reports_ok_with_index_and_outbox(app, client, make_case):
    make_case("published")
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert body["status"] == "ok" and body["failed"] == []
    assert body["database"] == "ok"
    assert body["search_index"] == {"status": "ok", "documents": 1}
    assert body["outbox"] == {"status": "ok", "pending": 0, "oldest_seconds": None}


def test_a_missing_index_answers_503_and_says_so(app, client, make_case):
    make_case("published")
    shutil.rmtree(app.config["SEARCH_INDEX_DIR"])
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "fail"
    assert body["failed"] == ["search_index"]
    assert body["search_index"]["status"] == "unavailable"
    assert body["database"] == "ok"
    # The check itself must not create an empty index in its place.
    assert client.get("/healthz").status_code == 503


def test_a_stalled_outbox_answers_503_with_its_depth_and_age(app, client, make_case):
    make_case("published")
    with app.app_context():
        app.config["SEARCH_APPLY_IN_REQUEST"] = False  # as in production, where the worker applies rows
        old = datetime.now(UTC) - timedelta(seconds=app.config["HEALTH_OUTBOX_MAX_AGE"] + 60)
        db.session.add_all([SearchOutbox(doc_type="case", doc_key="some-case", op="upsert", created_at=old),
                            SearchOutbox(doc_type="case", doc_key="other-case", op="upsert")])
        db.session.commit()
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["failed"] == ["outbox"]
    assert body["outbox"]["status"] == "stalled"
    assert body["outbox"]["pending"] == 2
    assert body["outbox"]["oldest_seconds"] >= app.config["HEALTH_OUTBOX_MAX_AGE"] + 60


def test_a_young_backlog_is_still_healthy(app, client, make_case):
    make_case("published")
    with app.app_context():
        app.config["SEARCH_APPLY_IN_REQUEST"] = False
        db.session.add(SearchOutbox(doc_type="case", doc_key="some-case", op="upsert"))
        db.session.commit()
    body = client.get("/healthz").get_json()
    assert body["status"] == "ok"
    assert body["outbox"]["pending"] == 1
    assert 0 <= body["outbox"]["oldest_seconds"] < 60


def test_an_unreachable_database_answers_503(app, client, backend, tmp_path):
    make_broken = {"sqlite": f"sqlite:///{tmp_path}",  # a directory: SQLite cannot open it
                   "postgresql": "postgresql+psycopg://postgres@127.0.0.1:1/none"}[backend]
    from tests.conftest import make_app

    broken = make_app(make_broken, tmp_path / "broken")
    response = broken.test_client().get("/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["database"] == "unavailable"
    assert "database" in body["failed"]
    assert body["outbox"]["status"] == "unavailable"
