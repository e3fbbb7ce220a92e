"""Saved searches: save, rename, delete, rotate the feed token, and read one back as search parameters.

A saved search keeps the search page's own parameters (:class:`~app.search.parsing.SearchParams` without the page),
so opening it, its feed and its digest alerts run exactly the search the user saw. Functions flush, never commit.
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import MultiDict

from app.auth.models import User
from app.case_studies.constants import CASE_LANGUAGES
from app.case_studies.constants import LEVELS
from app.case_studies.constants import STATUSES
from app.case_studies.constants import TOPICS
from app.case_studies.constants import evidence_options
from app.errors import ValidationFailed
from app.extensions import db
from app.inputs import single_line
from app.regions.models import Region
from app.search.parsing import SearchParams
from app.search.parsing import parse_params
from app.search.saved.models import NAME_MAX
from app.search.saved.models import QUERY_MAX
from app.search.saved.models import TOKEN_CHARS
from app.search.saved.models import SavedSearch

MAX_PER_USER = 50
FILTER_NAMES = ("region", "topic", "level", "language", "status", "evidence")  # in the order names list them


def new_token() -> str:
    """A fresh feed token: 32 URL-safe characters, 192 random bits."""
    return secrets.token_urlsafe(TOKEN_CHARS * 3 // 4)


def filters_of(params: SearchParams) -> dict:
    """What a saved search stores of ``params`` besides the words: the filters, the year range, the sort (only
    those set)."""
    stored: dict = {name: list(params.filters[name]) for name in FILTER_NAMES if params.filters.get(name)}
    if params.year_from is not None:
        stored["year_from"] = params.year_from
    if params.year_to is not None:
        stored["year_to"] = params.year_to
    if params.sort != "relevance":
        stored["sort"] = params.sort
    return stored


def args_of(saved: SavedSearch) -> dict:
    """The query-string arguments of the search page for ``saved`` (for ``url_for("search.results", **args)``)."""
    args: dict = {"q": saved.query} if saved.query else {}
    args.update((key, value) for key, value in (saved.filters or {}).items() if value not in (None, "", []))
    return args


def params_of(saved: SavedSearch) -> SearchParams:
    """``saved`` as search parameters, read as the search page reads its query string (a value that no longer
    exists, such as a topic taken out of the vocabulary, is dropped)."""
    args = MultiDict()
    for key, value in args_of(saved).items():
        for item in value if isinstance(value, list) else [value]:
            args.add(key, str(item))
    params, _problems = parse_params(args)
    return params


def default_name(params: SearchParams) -> str:
    """A name that says what the search is: its words and its filters' labels in the current language
    ("bus lanes · Almaty · Transport · 2015–2020"), or "All case studies"."""
    regions = {}
    if params.filters.get("region"):
        regions = {r.iso_code: r.name() for r in db.session.scalars(
            sa.select(Region).where(Region.iso_code.in_(params.filters["region"])))}
    labels = {"region": regions, "topic": TOPICS, "level": LEVELS, "language": CASE_LANGUAGES, "status": STATUSES,
              "evidence": {str(level): label for level, label in evidence_options().items()}}
    parts = [params.q.strip()] if params.q.strip() else []
    for name in FILTER_NAMES:
        values = params.filters.get(name) or []
        if values:
            parts.append(", ".join(str(labels[name].get(v, v)) for v in values))
    if params.year_from is not None and params.year_to is not None:
        parts.append(f"{params.year_from}–{params.year_to}")
    elif params.year_from is not None:
        parts.append(_("from %(year)s", year=params.year_from))
    elif params.year_to is not None:
        parts.append(_("until %(year)s", year=params.year_to))
    name = " · ".join(parts) or _("All case studies")
    return name if len(name) <= NAME_MAX else name[:NAME_MAX - 1].rstrip() + "…"


def _clean_name(name: str | None) -> str:
    """``name`` as stored: one line, trimmed.

    :raise ValidationFailed: empty or longer than ``NAME_MAX``.
    """
    name = (single_line(name) or "").strip()
    if not name:
        raise ValidationFailed([("name", _l("Give the saved search a name."))])
    if len(name) > NAME_MAX:
        raise ValidationFailed([("name", _l("The name can be at most %(max)d characters long.", max=NAME_MAX))])
    return name


def for_user(user) -> list[SavedSearch]:
    """``user``'s saved searches, oldest first (the order the digest lists them in)."""
    return list(db.session.scalars(
        sa.select(SavedSearch).where(SavedSearch.user_id == user.id).order_by(SavedSearch.id)))


def save(user, params: SearchParams, name: str | None = None) -> SavedSearch:
    """Save ``params`` (words, filters, years, sort; not the page) for ``user`` under ``name`` (empty: the
    :func:`default_name`).

    :raise ValidationFailed: a bad name, the same search saved already, or ``MAX_PER_USER`` reached.
    """
    # Lock the owner's row: two saves at once must not both pass the limit (SQLite: the write transaction is
    # BEGIN IMMEDIATE already, so they run one after the other).
    db.session.execute(sa.select(User.id).where(User.id == user.id).with_for_update())
    query = params.q.strip()[:QUERY_MAX]
    filters = filters_of(params)
    mine = for_user(user)
    for existing in mine:
        if existing.query == query and (existing.filters or {}) == filters:
            raise ValidationFailed([(None, _l("You saved this search already, as “%(name)s”.", name=existing.name))])
    if len(mine) >= MAX_PER_USER:
        raise ValidationFailed([(None, _l(
            "You have %(max)d saved searches, the most one account can keep. Delete one in your profile to save "
            "this search.", max=MAX_PER_USER))])
    saved = SavedSearch(user_id=user.id, name=_clean_name(name or default_name(params)), query=query,
                        filters=filters, feed_token=new_token())
    db.session.add(saved)
    db.session.flush()
    return saved


def rename(saved: SavedSearch, name: str | None) -> None:
    """Give ``saved`` a new name.

    :raise ValidationFailed: empty or too long.
    """
    saved.name = _clean_name(name)
    db.session.flush()


def delete(saved: SavedSearch) -> None:
    """Delete ``saved`` (its feed link stops working)."""
    db.session.delete(saved)
    db.session.flush()


def rotate_token(saved: SavedSearch) -> None:
    """Give ``saved`` a new feed token: the old feed link stops working."""
    saved.feed_token = new_token()
    db.session.flush()


def by_token(token: str) -> SavedSearch | None:
    """The saved search whose feed token is ``token`` (of an active user), or None."""
    if not token or len(token) != TOKEN_CHARS or not all(c.isascii() and (c.isalnum() or c in "-_") for c in token):
        return None
    return db.session.scalar(
        sa.select(SavedSearch).join(User, SavedSearch.user_id == User.id)
        .where(SavedSearch.feed_token == token, User.active.is_(True)))
