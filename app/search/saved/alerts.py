"""What saved searches bring to the e-mail digest, and the newest matches of their Atom feeds.

The digest (:mod:`app.case_studies.digest`) calls :func:`collect_alerts` for each user: every saved search is run
with the app's own :func:`~app.search.query.search`, restricted to the published case studies that were published
or updated in the digest's window (as the digest does for follows) and, for a search saved during the window, since
it was saved. Only exact matches count (the near matches the results page adds below a short list would be noise in
an e-mail). A case study is listed once per e-mail: under the follows when they list it, else under the first saved
search (oldest first) that matches it.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from datetime import datetime

import sqlalchemy as sa
from flask import url_for

from app.auth.models import User
from app.case_studies.models import CaseStudy
from app.extensions import db
from app.search.parsing import MAX_PER_PAGE
from app.search.parsing import SearchParams
from app.search.query import search
from app.search.saved import services
from app.search.saved.models import SavedSearch

ALERT_CAP = 20  # matches listed per saved search in one e-mail; the link shows them all
MAX_CANDIDATES = 1000  # changed case studies one digest window looks at (a week of a busy site is far fewer)


@dataclass
class Alert:
    """One saved search's part of a digest: its new matches (``{"case", "url", "updated"}``), whether more matched
    than are listed, and the absolute link to its results."""

    saved: SavedSearch
    url: str
    items: list[dict] = field(default_factory=list)
    more: bool = False


def owner_exists():
    """An EXISTS clause: the user of the enclosing ``User`` query has a saved search (for the digest's users)."""
    return sa.select(SavedSearch.id).where(SavedSearch.user_id == User.id).exists()


def _changed(since: datetime, until: datetime) -> list[tuple[str, datetime, bool]]:
    """(slug, when it last changed in the window, whether it was published in it) of the published case studies
    published or updated after ``since`` and at the latest ``until``, newest first."""
    rows = db.session.execute(
        sa.select(CaseStudy.slug, CaseStudy.published_at, CaseStudy.updated_at)
        .where(CaseStudy.is_published,
               sa.or_(sa.and_(CaseStudy.published_at > since, CaseStudy.published_at <= until),
                      sa.and_(CaseStudy.updated_at > since, CaseStudy.updated_at <= until)))
        .order_by(CaseStudy.updated_at.desc(), CaseStudy.id.desc())
        .limit(MAX_CANDIDATES)
    ).all()
    out = []
    for slug, published, updated in rows:
        times = [t for t in (published, updated) if t is not None and since < t <= until]
        out.append((slug, max(times), published is not None and since < published <= until))
    return out


def _exact_matches(saved: SavedSearch, only: tuple[str, ...] | None, sort: str, limit: int) -> tuple[list, bool]:
    """The exact matches of ``saved`` (case studies, in ``sort`` order) among ``only`` (None: all), at most
    ``limit``, and whether there were more.

    :raise IndexUnavailable: the search index is missing or unreadable.
    """
    params = services.params_of(saved)
    params = SearchParams(q=params.q, filters=params.filters, year_from=params.year_from, year_to=params.year_to,
                          sort=sort, page=1, per_page=MAX_PER_PAGE, only=only)
    result = search(params.q, params)
    cases = [hit.case for hit in result.hits if not hit.partial]
    return cases[:limit], len(cases) > limit or (result.total > len(result.hits) and len(cases) >= limit)


def collect_alerts(user, since: datetime, until: datetime, seen: set[str]) -> list[Alert]:
    """The saved searches of ``user`` with new matches between ``since`` (excluded) and ``until`` (included), each
    listing only case studies not in ``seen`` (which grows with those listed). Needs a request context for the
    absolute links.

    :raise IndexUnavailable: the search index is missing or unreadable (the digest tries again next time).
    """
    saved_searches = services.for_user(user)
    if not saved_searches:
        return []
    changed = _changed(since, until)
    if not changed:
        return []
    published_in_window = {slug for slug, _when, new in changed if new}
    alerts = []
    for saved in saved_searches:
        start = max(since, saved.created_at)
        only = tuple(slug for slug, when, _new in changed if when > start and slug not in seen)
        if not only:
            continue
        cases, more = _exact_matches(saved, only, "newest", ALERT_CAP)
        if not cases:
            continue
        alert = Alert(saved=saved, more=more,
                      url=url_for("search.results", _external=True, **services.args_of(saved)))
        for case in cases:
            seen.add(case.slug)
            alert.items.append({"case": case, "url": url_for("case_studies.detail", slug=case.slug, _external=True),
                                "updated": case.slug not in published_in_window})
        alerts.append(alert)
    return alerts


def mark_alerted(ids: list[int], when: datetime) -> None:
    """Record that a digest sent at ``when`` listed matches of the saved searches ``ids`` (flushes)."""
    for start in range(0, len(ids), 500):
        db.session.execute(sa.update(SavedSearch).where(SavedSearch.id.in_(ids[start:start + 500]))
                           .values(last_alerted_at=when), execution_options={"synchronize_session": False})


def feed_cases(saved: SavedSearch, limit: int) -> list[CaseStudy]:
    """The newest ``limit`` published case studies that match ``saved`` exactly (its feed's entries).

    :raise IndexUnavailable: the search index is missing or unreadable.
    """
    cases, _more = _exact_matches(saved, None, "newest", limit)
    return cases
