"""JSON API v1, case studies (CONTRACTS.md §2): ``GET /api/v1/cases/<id>``.

The API is the public read side: only published case studies exist here. A draft or a withdrawn case
study answers 404 to everyone, its own akimat included, exactly like an id that was never used.
"""

from __future__ import annotations

from flask import Blueprint
from flask import abort
from flask import url_for

from app.api import json_response
from app.case_studies import services
from app.case_studies.interchange import ID_PATTERN
from app.case_studies.interchange import case_to_interchange
from app.case_studies.models import CaseStudy
from app.clock import iso_utc
from app.search import related

bp = Blueprint("cases_api", __name__, url_prefix="/api/v1")


def related_ids(case: CaseStudy) -> list[str]:
    """Ids of up to 5 similar published case studies, most similar first (empty without a search index)."""
    return related.related_ids(case, limit=5)


def case_payload(case: CaseStudy) -> dict:
    """The case study in the interchange format plus ``url``, ``published_at``, ``updated_at``, ``related``."""
    payload = case_to_interchange(case)
    payload["evidence_url"] = case.evidence_url  # always in the API (the interchange file writes it when set)
    payload["url"] = url_for("case_studies.detail", slug=case.slug)
    payload["published_at"] = iso_utc(case.published_at)
    payload["updated_at"] = iso_utc(case.updated_at)
    payload["related"] = related_ids(case)
    return payload


@bp.route("/cases/<case_id>")
def get_case(case_id: str):
    """``GET /api/v1/cases/<id>``: a published case study; 404 JSON for anything else."""
    case = services.get_by_slug(case_id) if ID_PATTERN.fullmatch(case_id) else None
    if case is None or not case.is_published:
        abort(404)
    return json_response(case_payload(case))
