"""Search queries over the case-study index: the public entry point (``search()``, and the names views import).

Searches never write the index (the committing request and the worker apply the outbox): stale index entries are
masked, and then one search runs on the shared searcher (``SearchIndex.read``, which reopens it once if a segment
vanished under it): :mod:`~app.search.parsing` reads the query,
:mod:`~app.search.matching` finds, scores and counts the matches, :mod:`~app.search.highlighting` marks the shown
hits and :mod:`~app.search.suggestions` proposes a "did you mean". Every hit is re-checked against the database:
only published cases are shown, and highlights are built from the database text, never from the index.

Query syntax (Google-like, never an error): words are ANDed (falling back to OR, flagged, when AND finds
nothing), ``"quoted phrases"`` match exact word forms in sequence, ``-word`` excludes, ``title:word`` and
``title:"a phrase"`` restrict to the title. Anything else is treated as words.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app
from markupsafe import Markup
from sqlalchemy.orm import selectinload

from app.case_studies.models import CaseStudy
from app.extensions import db
from app.search.highlighting import Marker
from app.search.highlighting import query_phrases
from app.search.highlighting import query_terms
from app.search.index import IndexUnavailable
from app.search.matching import RELAXATIONS
from app.search.matching import allowed_docs
from app.search.matching import build_query
from app.search.matching import count
from app.search.matching import facet_counts
from app.search.matching import find
from app.search.matching import restriction as restrict
from app.search.models import SearchOutbox
from app.search.outbox import DOC_CASE
from app.search.parsing import DEFAULT_PER_PAGE
from app.search.parsing import MAX_PER_PAGE
from app.search.parsing import BadParam
from app.search.parsing import SearchParams
from app.search.parsing import parse_params
from app.search.parsing import parse_query
from app.search.suggestions import suggest

__all__ = ["DEFAULT_PER_PAGE", "BadParam", "IndexUnavailable", "SearchParams", "SearchResult", "parse_params",
           "search"]

FEW_RESULTS = 3  # below this many results a did-you-mean is proposed
RELAX_BELOW = 6  # below this many full matches the near ones follow them (measured: bench/relevance.py, tune half)
MAX_STALE = 1000  # masked stale slugs per search (more would only be hidden page by page)


# --------------------------------------------------------------------------------------------------------------
# Results


@dataclass
class Hit:
    case: CaseStudy
    score: float
    title: Markup
    snippet: Markup
    partial: bool = False  # a near match (a relaxation found it): listed after the exact ones


@dataclass
class SearchResult:
    query: str
    total: int  # published matches, exact: stale index entries are masked (_stale_slugs)
    page: int
    per_page: int
    hits: list[Hit]
    facets: dict[str, dict[str, int]]
    suggestion: str | None
    fallback: bool = False  # nothing matches the query as it is: these have most of its words, or some

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _stale_slugs() -> tuple[str, ...]:
    """Slugs the index may still hold although their case is not published (any more): those of pending outbox
    rows (left pending because another writer holds the index lock, or the worker is behind) whose case is now
    a draft, withdrawn or deleted. Searches mask them out, so ``total``, facet counts and pages are exact.

    Differences that bypass the outbox (a restored old index, a hand-edited one) are not known here: such hits
    are still hidden by the database re-check of the shown page (and subtracted from ``total``), and
    ``flask search check`` reports them.
    """
    published = sa.select(CaseStudy.slug).where(CaseStudy.is_published)
    return tuple(db.session.scalars(
        sa.select(SearchOutbox.doc_key).where(SearchOutbox.done_at.is_(None), SearchOutbox.doc_type == DOC_CASE,
                                              SearchOutbox.doc_key.not_in(published))
        .distinct().limit(MAX_STALE)
    ))


# --------------------------------------------------------------------------------------------------------------
# Search


def search(q: str, filters: SearchParams | None = None) -> SearchResult:
    """Run a search for ``q`` with the filters, sort order and page of ``filters`` (a :class:`SearchParams`).

    :raise IndexUnavailable: the index is missing or unreadable.
    """
    params = filters or SearchParams()
    params = SearchParams(q=q or "", filters=dict(params.filters), year_from=params.year_from,
                          year_to=params.year_to, sort=params.sort, page=max(1, params.page),
                          per_page=min(MAX_PER_PAGE, max(1, params.per_page)), only=params.only)
    # Searches never write: the committing request and the worker apply the outbox; rows still pending are
    # masked out when their case is no longer published.
    params.exclude = _stale_slugs()
    return current_app.extensions["search"].read(lambda searcher: _run(searcher, searcher.schema, params))


def _relax(searcher, schema, clauses, params: SearchParams, restriction, limit: int, first):
    """Fewer than ``RELAX_BELOW`` documents match the query as it is (``first``: ``find()``'s answer): add the
    near matches of the relaxations (``matching.RELAXATIONS``, closest first: a concept's words translated one by
    one, a named place no longer required, all units but one, then, if nothing matched the query as it is, any
    unit) until there are enough. The exact matches stay first, in their order (sorted by relevance; newest first
    is by date only).

    :return: ``find()``'s four values for the relaxed search, the exact matches (a boolean array), and whether the
        query as it is found nothing and only the loosest relaxations did (the page says so).
    """
    matches, found, ranking, scores = first
    exact = found
    any_exact = count(exact) > 0
    loose = False
    positive = sum(1 for c in clauses if not c.negated)
    for mode in RELAXATIONS:
        if count(found) >= RELAX_BELOW or (mode == "or" and (any_exact or positive < 2)):
            break
        relaxed = build_query(schema, clauses, mode=mode)
        if relaxed is None:
            continue
        attempt = find(searcher, relaxed, params, restriction, limit)
        if count(attempt[1]) <= count(found):
            continue
        kept = [d for d in ranking if exact[d]]
        matches, found, new_ranking, scores = attempt
        ranking = new_ranking if params.sort == "newest" else kept + [d for d in new_ranking if not exact[d]]
        loose = loose or (not any_exact and mode in ("most", "or"))
    return matches, found, ranking, scores, exact, loose


def _run(searcher, schema, params: SearchParams) -> SearchResult:
    clauses = parse_query(params.q)
    query = build_query(schema, clauses)
    fallback = False
    offset = (params.page - 1) * params.per_page
    doc_count = searcher.doc_count_all()
    limit = max(1, min(offset + params.per_page, doc_count + 1))
    allowed = allowed_docs(searcher, params)
    restriction = restrict(allowed)

    matches, found, ranking, scores = find(searcher, query, params, restriction, limit)
    complete = found
    if count(found) < RELAX_BELOW and query is not None:
        matches, found, ranking, scores, complete, fallback = _relax(
            searcher, schema, clauses, params, restriction, limit, (matches, found, ranking, scores))
    total = count(found)
    stored = searcher.reader().stored_fields
    shown = [(stored(d)["id"], float(scores[d])) for d in ranking[offset:offset + params.per_page]
             ] if offset < total else []
    docnums = {stored(d)["id"]: d for d in ranking[offset:offset + params.per_page]}
    facets = facet_counts(searcher, matches, allowed)
    suggestion = suggest(searcher, clauses) if total < FEW_RESULTS else None

    hits: list[Hit] = []
    if shown:
        cases = {c.slug: c for c in db.session.scalars(
            sa.select(CaseStudy).where(CaseStudy.slug.in_([s for s, _ in shown]),
                                       CaseStudy.is_published)
            .options(selectinload(CaseStudy.region)))}
        marker = Marker(query_terms(clauses), query_phrases(clauses))
        for slug, score in shown:
            case = cases.get(slug)
            if case is None:  # stale hit: withdrawn or deleted since it was indexed
                total -= 1
                continue
            hits.append(Hit(case=case, score=float(score or 0.0), partial=not complete[docnums[slug]],
                            title=marker.mark(case.title),
                            snippet=marker.snippet([case.summary, case.problem, case.solution, case.challenges,
                                                    case.results, case.lessons])))
    return SearchResult(query=params.q, total=max(total, 0), page=params.page, per_page=params.per_page,
                        hits=hits, facets=facets, suggestion=suggestion, fallback=fallback)
