"""Related practices ("more like this") for a case page and ``GET /api/v1/cases/<id>``.

The key terms of the case's own text (title, summary, the five sections, read from the database) are chosen
with Whoosh's Bo1 model (``Searcher.key_terms_from_text``) on the folded field, so that they carry across
scripts (Онай/Onay) and Kazakh/Russian inflection; they are searched in the folded text (its parts weighted as
for any search), together with the case's topics (a shared topic is a strong hint when the texts are in
different languages). The case itself never comes back, and every hit is re-checked against the database:
only published case studies are returned. With no index (or an unreadable one)
the answer is an empty list, never an error.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import selectinload
from whoosh.query import And
from whoosh.query import Not
from whoosh.query import Or
from whoosh.query import Term

from app.case_studies.models import CaseStudy
from app.extensions import db
from app.search.documents import SECTIONS
from app.search.index import IndexUnavailable
from app.search.ranking import ranked

KEY_TERMS = 20
TERM_FIELD = "text_fold"  # where key terms are weighed: all of the text, folded
SEARCH_FIELDS = {"title_fold": 1.0, "text_fold": 1.0}  # weighted at index time (title ×4, summary ×2, …)
TOPIC_BOOST = 5.0  # a shared topic is worth a strong key term: it bridges languages
MAX_TEXT_CHARS = 20_000  # key terms come from the start of a very long case


def _text(case: CaseStudy) -> str:
    parts = [case.title or "", case.summary or "", *(getattr(case, name) or "" for name in SECTIONS)]
    return "\n\n".join(p for p in parts if p)[:MAX_TEXT_CHARS]


def related_query(searcher, case: CaseStudy):
    """The Whoosh query for cases like ``case`` (its key terms in the folded fields, its topics), without it.

    None when the case has no usable words and no topics.
    """
    terms = searcher.key_terms_from_text(TERM_FIELD, _text(case), numterms=KEY_TERMS, normalize=True)
    parts = [Term(field, term, boost=weight * boost) for term, weight in terms
             for field, boost in SEARCH_FIELDS.items()]
    parts += [Term("topics", topic.lower(), boost=TOPIC_BOOST) for topic in case.topics]
    if not parts:
        return None
    return And([Or(parts), Not(Term("id", case.slug))])


_cache: OrderedDict[tuple, tuple[object, list[str]]] = OrderedDict()
_cache_lock = threading.Lock()
CACHE_SIZE = 2048


def _candidates(searcher, case: CaseStudy, count: int) -> list[str]:
    """Slugs of the ``count`` best candidates from the index, remembered per searcher (a new searcher, i.e. a
    changed index, starts afresh) and per version of the case, so a popular case page costs one search."""
    key = (id(searcher), case.slug, case.updated_at, count)
    with _cache_lock:
        cached = _cache.get(key)
        if cached is not None and cached[0]() is searcher:
            _cache.move_to_end(key)
            return cached[1]
    query = related_query(searcher, case)
    slugs = [] if query is None else [hit["id"] for hit in searcher.search(ranked(query), limit=count)]
    with _cache_lock:
        _cache[key] = (weakref.ref(searcher), slugs)  # weak: an old searcher must be free to go
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return slugs


def related(case: CaseStudy | str, limit: int = 5) -> list[CaseStudy]:
    """Up to ``limit`` published case studies most like ``case`` (a case study or its slug), best first.

    Never the case itself; [] when the case is unknown, nothing is alike, or the index is missing or unreadable.
    """
    if isinstance(case, str):
        case = db.session.scalar(sa.select(CaseStudy).where(CaseStudy.slug == case))
        if case is None:
            return []
    try:
        slugs = current_app.extensions["search"].read(lambda searcher: _candidates(searcher, case, limit * 3 + 5))
    except IndexUnavailable:
        return []
    except Exception:  # a broken index must not break the case page
        current_app.logger.exception("related practices of %s failed", case.slug)
        return []
    slugs = [s for s in slugs if s != case.slug]
    if not slugs:
        return []
    found = {c.slug: c for c in db.session.scalars(
        sa.select(CaseStudy).where(CaseStudy.slug.in_(slugs), CaseStudy.is_published)
        .options(selectinload(CaseStudy.region)))}
    return [found[s] for s in slugs if s in found][:limit]


def related_ids(case: CaseStudy | str, limit: int = 5) -> list[str]:
    """The slugs of :func:`related` (for the API)."""
    return [c.slug for c in related(case, limit)]
