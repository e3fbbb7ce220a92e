"""Search: the results page (``GET /search``) and the JSON API (``GET /api/v1/search``, CONTRACTS.md §2)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.api import BAD_REQUEST
from app.api import SEARCH_UNAVAILABLE
from app.api import json_error
from app.api import json_response
from app.case_studies.constants import CASE_LANGUAGES
from app.case_studies.constants import EVIDENCE_LEVELS
from app.case_studies.constants import LEVELS
from app.case_studies.constants import STATUSES
from app.case_studies.constants import TOPICS
from app.case_studies.constants import evidence_options
from app.extensions import db
from app.regions.models import Region
from app.search.query import DEFAULT_PER_PAGE
from app.search.query import IndexUnavailable
from app.search.query import parse_params
from app.search.query import search as run_search
from app.search.saved import services as saved_searches

bp = Blueprint("search", __name__)
api_bp = Blueprint("search_api", __name__, url_prefix="/api/v1")


@api_bp.route("/search")
def search():
    """``GET /api/v1/search``: exactly the shape of CONTRACTS.md §2."""
    params, problems = parse_params(request.args)
    if problems:
        return json_error(400, BAD_REQUEST, problems[0].message)
    try:
        result = run_search(params.q, params)
    except IndexUnavailable:
        return json_error(503, SEARCH_UNAVAILABLE, "The search index is unavailable; try again later.")
    return json_response({
        "query": result.query,
        "total": result.total,
        "page": result.page,
        "per_page": result.per_page,
        "results": [
            {
                "id": hit.case.slug,
                "title": hit.case.title,
                "summary": hit.case.summary,
                "region": hit.case.region.iso_code if hit.case.region else None,
                "year": hit.case.started,
                "evidence_level": hit.case.evidence_level,
                "score": round(hit.score, 4),
                "highlights": {"title": str(hit.title), "body": str(hit.snippet)},
                "url": url_for("case_studies.detail", slug=hit.case.slug),
            }
            for hit in result.hits
        ],
        "facets": result.facets,
        "suggestion": result.suggestion,
    })


def _url_args(params, **changes) -> dict:
    """The query-string arguments of ``params`` (for links), with ``changes`` applied."""
    args: dict = {}
    if params.q:
        args["q"] = params.q
    for name, values in params.filters.items():
        args[name] = values
    if params.year_from is not None:
        args["year_from"] = params.year_from
    if params.year_to is not None:
        args["year_to"] = params.year_to
    if params.sort != "relevance":
        args["sort"] = params.sort
    if params.per_page != DEFAULT_PER_PAGE:  # the page links must keep it, or page 2 would not follow page 1
        args["per_page"] = params.per_page
    args.update(changes)
    return {k: v for k, v in args.items() if v not in (None, "", [])}


# The names the results page gives the parameters (the sidebar's headings), for notices about bad values.
PARAM_LABELS = {
    "region": _l("Region"), "topic": _l("Topic"), "level": _l("Level"), "status": _l("Status"),
    "language": _l("Language of the text"), "evidence": _l("Evidence level"), "year_from": _l("Year started"),
    "year_to": _l("Year started"),
    "sort": _l("Sort"), "page": _l("Page"), "per_page": _l("Results per page"),
}


@bp.route("/search")
def results():
    """The results page: search box, facets with counts, highlighted results; works without JavaScript."""
    params, problems = parse_params(request.args)
    notices = [_("Ignored an invalid value for “%(name)s”.", name=PARAM_LABELS.get(p.name, p.name)) for p in problems]
    regions = {r.iso_code: r for r in db.session.scalars(sa.select(Region))}
    result = None
    unavailable = False
    try:
        result = run_search(params.q, params)
        if result.total and not result.hits and params.page > result.pages:
            # A page past the end (an old bookmark, a typed address): show the last one, not "N case studies"
            # above "nothing matches" with no link to them.
            params.page = result.pages
            result = run_search(params.q, params)
    except IndexUnavailable:
        unavailable = True
    labels = {"topic": TOPICS, "level": LEVELS, "status": STATUSES, "language": CASE_LANGUAGES,
              "region": {code: r.name() for code, r in regions.items()},
              "evidence": {str(level): label for level, label in evidence_options().items()}}
    # What "Save this search" posts: the words and exactly the filters, years and sort in effect (not the page).
    save_fields = [("q", params.q)] if params.q else []
    for name, value in saved_searches.filters_of(params).items():
        save_fields += [(name, v) for v in value] if isinstance(value, list) else [(name, value)]
    default_name = saved_searches.default_name(params) if current_user.is_authenticated else None
    # 503 when the index is missing or unreadable, as the API and /healthz answer: monitoring must see it.
    return render_template(
        "search/results.html", params=params, result=result, unavailable=unavailable, notices=notices,
        labels=labels, evidence_meanings=EVIDENCE_LEVELS, url_args=lambda **changes: _url_args(params, **changes),
        save_fields=save_fields, default_saved_name=default_name,
    ), 503 if unavailable else 200
