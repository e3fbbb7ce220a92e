"""JSON API v1, the host rotation (CONTRACTS.md §2): ``GET /api/v1/rotation/plan``.

``?scope=national&from=2027&years=20&per_year=1``: every parameter is optional (defaults: ``national``, this year
in Kazakhstan, 10 years, one meeting a year). Answer: ``{"scope": ..., "plan": [{"year", "slot", "host",
"reason"}]}``, one entry per (year, slot) in order. Held meetings appear with the reason ``held``; the plan takes
the recorded history, pins, scheduled meetings and exclusions into account. When no host can be given a slot
(every host excluded), ``host`` is ``null`` and ``reason`` is ``"no eligible host"``.

Bad parameters (an unknown scope, a non-integer, ``years`` outside 1..50, ``per_year`` other than 1 or 2, a
``from`` outside 1991..2200) answer 400 with ``{"error": {"code": "bad_request", "message": ...}}``.
"""

from __future__ import annotations

from flask import Blueprint
from flask import Response
from flask import request

from app.api import BAD_REQUEST
from app.api import json_error
from app.api import json_response
from app.inputs import parse_int
from app.meetings.hosts import is_valid_scope
from app.meetings.models import NATIONAL
from app.meetings.rotation import services

bp = Blueprint("rotation_api", __name__, url_prefix="/api/v1")

FIRST_YEAR, LAST_YEAR = 1991, 2200  # independent Kazakhstan; and far enough ahead for any plan


def _bad(message: str) -> Response:
    return json_error(400, BAD_REQUEST, message)


def _integer(name: str, default: int) -> int | None:
    """The integer query parameter ``name`` (``default`` when absent); None when it is not an integer."""
    raw = request.args.get(name)
    return default if raw is None else parse_int(raw)


@bp.route("/rotation/plan")
def plan():
    """``GET /api/v1/rotation/plan``: the rotation plan of a scope (CONTRACTS.md §2)."""
    scope = request.args.get("scope", NATIONAL).strip()
    if not is_valid_scope(scope):
        return _bad(f"Unknown scope {scope!r}: use 'national' or a region's ISO 3166-2 code such as 'KZ-61'.")
    start = _integer("from", services.this_year())
    if start is None or not FIRST_YEAR <= start <= LAST_YEAR:
        return _bad(f"'from' must be a year from {FIRST_YEAR} to {LAST_YEAR}.")
    years = _integer("years", services.PLAN_YEARS)
    if years is None or not 1 <= years <= services.MAX_YEARS:
        return _bad(f"'years' must be an integer from 1 to {services.MAX_YEARS}.")
    per_year = _integer("per_year", 1)
    if per_year not in services.PER_YEAR_CHOICES:
        return _bad("'per_year' must be 1 or 2.")
    two = services.needs_two_per_year(scope, start, years) if per_year == 1 else None
    if two is not None:
        return _bad(f"Two meetings were held in {two}: ask for per_year=2 to see this window.")
    result = services.build(scope, start_year=start, years=years, per_year=per_year)
    return json_response({
        "scope": scope,
        "plan": [{"year": s.year, "slot": s.slot, "host": s.host, "reason": s.reason} for s in result.slots],
    })
