"""Turn a case study into the dict of fields the Whoosh index stores (see :func:`app.search.index.case_schema`).

Only what search needs goes in: the text to match and the columns to filter and facet on. Pages are rendered
from the database, never from the index.
"""

from __future__ import annotations

from datetime import datetime

from flask import current_app

from app.case_studies.models import CaseStudy
from app.clock import as_utc
from app.search.analysis import weighted
from app.search.extract import case_attachments_text
from app.search.ranking import PRIOR_FIELD
from app.search.ranking import case_prior

SECTIONS = ("problem", "solution", "challenges", "results", "lessons")
LANGUAGES = ("kk", "ru", "en")
# The title, and the rest of the text (weighted parts). The title is a field of its own, not a part: a title match
# then adds its own saturated BM25 score, as it should (as a part, its weight would saturate together with the
# body's mentions of the same word, and a long text mentioning a word often would outrank the case named after it).
FIELD_BOOSTS = {"title": 4.0, "text": 1.0}
# Weights of the parts of the text: summary > sections = metadata names (places) > attached PDF/DOCX text.
PART_BOOSTS = {"summary": 2.0, "section": 1.0, "places": 1.0, "attachments": 0.5}
# Within a field, exact forms outrank stems, stems outrank cross-script folds.
VARIANT_BOOSTS = {"exact": 1.5, "stem": 1.0, "fold": 0.7}


def updated_stamp(value: datetime | None) -> str:
    """The ``updated_at`` stamp the index stores and ``flask search check`` compares ("" for None).

    Not :func:`app.clock.iso_utc`: it keeps microseconds and "+00:00", the form every existing index already
    holds, so an index built before this function was named still checks clean.
    """
    return as_utc(value).isoformat(timespec="microseconds") if value is not None else ""


def _naive_utc(value: datetime | None) -> datetime | None:
    """Whoosh's DATETIME field wants naive datetimes; ours are aware UTC."""
    return as_utc(value).replace(tzinfo=None) if value is not None else None


def _names(place) -> list[str]:
    """The names of a region or municipality in the three languages (plus Kazakh Latin where known)."""
    if place is None:
        return []
    names = [getattr(place, f"name_{lang}") for lang in LANGUAGES]
    latin = getattr(place, "name_kk_latn", None)
    if latin:
        names.append(latin)
    return list(dict.fromkeys(n for n in names if n))


def case_document(case: CaseStudy) -> dict:
    """The index document of a (published) case study.

    Text goes into three variants (``*_exact``, ``*_stem``, ``*_fold``: see :mod:`app.search.analysis`) of two
    fields: ``title``, and ``text``, the rest as weighted parts (``PART_BOOSTS``: summary, each section, places,
    attachments). Places are the region and district names in kk/ru/en, the author and
    the topics, so "Шымкент" or "transport" finds a case that only says so in its metadata; attachments are
    the text of its PDF and DOCX files (:mod:`app.search.extract`: capped, cached, never an error).
    ``prior`` is the ranking prior of :func:`app.search.ranking.case_prior` (status, adoptions).
    """
    topics = case.topics
    places = [*_names(case.region), *_names(case.municipality), case.author_name or "", *topics]
    doc = {
        "id": case.slug,
        "updated_at": updated_stamp(case.updated_at),
        "region": case.region.iso_code if case.region else "",
        "district": str(case.municipality_id) if case.municipality_id else "",
        "level": case.level or "",
        "topics": ",".join(topics),
        "language": case.language or "",
        "status": case.status or "",
        "year": int(case.started) if case.started is not None else 0,
        "evidence": str(case.evidence_level) if case.evidence_level else "",  # "": not assessed (no facet value)
        PRIOR_FIELD: case_prior(case.status, sum(1 for a in case.adoptions if a.status != "abandoned")),
    }
    attachments = case_attachments_text(case, current_app.config) if case.attachments else ""
    text = weighted([
        (PART_BOOSTS["summary"], case.summary or ""),
        *((PART_BOOSTS["section"], getattr(case, name) or "") for name in SECTIONS),
        (PART_BOOSTS["places"], " ".join(p for p in places if p)),
        (PART_BOOSTS["attachments"], attachments),
    ])
    for variant in VARIANT_BOOSTS:
        doc[f"text_{variant}"] = text
        doc[f"title_{variant}"] = case.title or ""
    published = _naive_utc(case.published_at)
    if published is not None:
        doc["published"] = published
    return doc
