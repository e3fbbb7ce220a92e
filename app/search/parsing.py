"""Search input: the request parameters (filters, sort, page) and the query string (words, ``"phrases"``,
``-exclusions``, ``title:`` restrictions) read into plain data; never an error, bad values are dropped and reported.

The query string is cut at ``MAX_QUERY_CHARS`` characters and ``MAX_WORDS`` clauses; an unbalanced quote is closed
at the end. Turning the clauses into a Whoosh query is :mod:`app.search.matching`'s job.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from dataclasses import field

import sqlalchemy as sa

from app.case_studies.constants import CASE_LANGUAGES
from app.case_studies.constants import EVIDENCE_LEVELS
from app.case_studies.constants import LEVELS
from app.case_studies.constants import STATUSES
from app.case_studies.constants import TOPICS
from app.extensions import db
from app.inputs import parse_int
from app.regions.models import Region
from app.search.analysis import TOKEN_PATTERN

SORTS = ("relevance", "newest")
MAX_QUERY_CHARS = 1000
MAX_WORDS = 24
MAX_PER_PAGE = 100
DEFAULT_PER_PAGE = 20


# --------------------------------------------------------------------------------------------------------------
# Parameters


class BadParam(ValueError):
    """One bad request parameter: ``name`` and a readable message."""

    def __init__(self, name: str, message: str):
        super().__init__(message)
        self.name = name
        self.message = message


@dataclass
class SearchParams:
    q: str = ""
    filters: dict[str, list[str]] = field(default_factory=dict)
    year_from: int | None = None
    year_to: int | None = None
    sort: str = "relevance"
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE
    exclude: tuple[str, ...] = ()  # slugs known to be stale in the index (see query._stale_slugs): masked out
    only: tuple[str, ...] | None = None  # when set, only these slugs can match (the saved searches' alerts)


def _int(args, name: str, problems: list[BadParam], minimum: int | None = None) -> int | None:
    raw = args.get(name, "").strip()
    if not raw:
        return None
    value = parse_int(raw, minimum=None, maximum=None)  # pages and years of the index, not columns: any size
    if value is None:
        problems.append(BadParam(name, f"{name} must be an integer"))
        return None
    if minimum is not None and value < minimum:
        problems.append(BadParam(name, f"{name} must be at least {minimum}"))
        return None
    return value


def parse_params(args) -> tuple[SearchParams, list[BadParam]]:
    """Read the query string; return the usable parameters and the problems found (bad values are dropped)."""
    problems: list[BadParam] = []
    params = SearchParams(q=(args.get("q") or "")[:MAX_QUERY_CHARS * 10])
    valid = {
        "region": set(db.session.scalars(sa.select(Region.iso_code))),
        "topic": set(TOPICS),
        "level": set(LEVELS),
        "language": set(CASE_LANGUAGES),
        "status": set(STATUSES),
        "evidence": {str(level) for level in EVIDENCE_LEVELS},
    }
    for name, allowed in valid.items():
        values = [v for v in args.getlist(name) if v != ""]
        good = list(dict.fromkeys(v for v in values if v in allowed))
        for bad in (v for v in values if v not in allowed):
            problems.append(BadParam(name, f"unknown {name}: {bad[:40]}"))
        if good:
            params.filters[name] = good
    params.year_from = _int(args, "year_from", problems)
    params.year_to = _int(args, "year_to", problems)
    sort = args.get("sort") or "relevance"
    if sort in SORTS:
        params.sort = sort
    else:
        problems.append(BadParam("sort", "sort must be relevance or newest"))
    page = _int(args, "page", problems, minimum=1)
    params.page = page if page is not None else 1
    per_page = _int(args, "per_page", problems, minimum=1)
    params.per_page = min(per_page, MAX_PER_PAGE) if per_page is not None else DEFAULT_PER_PAGE
    return params, problems


# --------------------------------------------------------------------------------------------------------------
# The query string


@dataclass
class Clause:
    text: str
    phrase: bool = False
    title_only: bool = False
    negated: bool = False


_CLAUSE = re.compile(r'(-?)((?:title:)?)(?:"([^"]*)"|(\S+))', re.IGNORECASE)


def parse_query(q: str) -> list[Clause]:
    """Split a raw query into clauses; never fails. Unbalanced quotes are closed at the end."""
    q = q[:MAX_QUERY_CHARS]
    if q.count('"') % 2:
        q += '"'
    clauses = []
    for m in _CLAUSE.finditer(q):
        negated, prefix, quoted, word = m.group(1) == "-", bool(m.group(2)), m.group(3), m.group(4)
        if quoted is not None:
            words = TOKEN_PATTERN.findall(quoted)
            if len(words) == 1:
                clauses.append(Clause(words[0], title_only=prefix, negated=negated))
            elif words:
                clauses.append(Clause(" ".join(words), phrase=True, title_only=prefix, negated=negated))
            continue
        for token in TOKEN_PATTERN.findall(word):
            clauses.append(Clause(token, title_only=prefix, negated=negated))
    return clauses[:MAX_WORDS]
