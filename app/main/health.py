"""What ``GET /healthz`` reports (CONTRACTS.md §2): the database, the search index and the outbox.

Public and cheap: no personal data, no error details (those go to the log, with the request id).
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import current_app

from app.clock import utcnow
from app.extensions import db
from app.search.models import SearchOutbox

log = logging.getLogger(__name__)


def _database() -> str:
    try:
        db.session.execute(sa.text("SELECT 1"))
    except Exception:  # any failure means "not reachable"; the details are logged
        db.session.rollback()
        log.exception("health check: the database does not answer")
        return "unavailable"
    return "ok"


def _outbox() -> dict:
    try:
        pending, oldest = db.session.execute(
            sa.select(sa.func.count(SearchOutbox.id), sa.func.min(SearchOutbox.created_at))
            .where(SearchOutbox.done_at.is_(None))
        ).one()
    except Exception:
        db.session.rollback()
        log.exception("health check: the search outbox cannot be read")
        return {"status": "unavailable", "pending": None, "oldest_seconds": None}
    age = None
    if oldest is not None:
        age = max(0, round((utcnow() - oldest).total_seconds()))
    stalled = age is not None and age > current_app.config["HEALTH_OUTBOX_MAX_AGE"]
    return {"status": "stalled" if stalled else "ok", "pending": pending, "oldest_seconds": age}


def _search_index() -> dict:
    from app.search.index import IndexUnavailable

    try:
        ix = current_app.extensions["search"].open()
        documents = ix.doc_count()
    except IndexUnavailable:
        log.exception("health check: the search index cannot be opened")
        return {"status": "unavailable", "documents": None}
    return {"status": "ok", "documents": documents}


def report() -> tuple[dict, bool]:
    """Return the health report and whether everything answers (HTTP 200) or not (503).

    Unhealthy: the database does not answer, the index cannot be opened, or the oldest pending index update
    is older than ``HEALTH_OUTBOX_MAX_AGE`` seconds (the search worker has stopped).
    """
    database = _database()
    search_index = _search_index()
    outbox = _outbox() if database == "ok" else {"status": "unavailable", "pending": None, "oldest_seconds": None}
    healthy = database == "ok" and search_index["status"] == "ok" and outbox["status"] == "ok"
    failed = [name for name, status in (("database", database), ("search_index", search_index["status"]),
                                        ("outbox", outbox["status"])) if status != "ok"]
    body = {"status": "ok" if healthy else "fail", "failed": failed, "database": database,
            "search_index": search_index, "outbox": outbox}
    return body, healthy
