"""Language selection: the user's profile, then the ``lang`` cookie (the language switch), then Accept-Language;
at login the cookie's language is saved to the profile. Also the alphabetical sort key of the UI language."""

from __future__ import annotations

from flask import Flask
from flask import current_app
from flask import has_request_context
from flask import request
from flask_babel import get_locale
from flask_login import current_user

from app.collation import sort_key
from app.extensions import babel

LANGUAGES = ("kk", "ru", "en")
LANGUAGE_COOKIE = "lang"
# Each language named in itself, as the switch shows it.
LANGUAGE_NAMES = {"kk": "Қазақша", "ru": "Русский", "en": "English"}


def select_locale() -> str:
    """Return the language code for this request."""
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # CLI commands and mail outside a request
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    if current_user and current_user.is_authenticated and current_user.preferred_language in languages:
        return current_user.preferred_language
    return (chosen_language() or request.accept_languages.best_match(languages)
            or current_app.config["BABEL_DEFAULT_LOCALE"])


def chosen_language() -> str | None:
    """The language this browser chose with the language switch (the ``lang`` cookie), if any."""
    cookie = request.cookies.get(LANGUAGE_COOKIE)
    return cookie if cookie in current_app.config["LANGUAGES"] else None


def remember_language(response, language: str):
    """Set the ``lang`` cookie of ``response`` to ``language`` for a year (the browser's choice)."""
    response.set_cookie(LANGUAGE_COOKIE, language, max_age=365 * 24 * 3600, samesite="Lax",
                        secure=current_app.config["SESSION_COOKIE_SECURE"], httponly=True)
    return response


def current_language() -> str:
    """Return the two-letter UI language of the request (``en`` outside one)."""
    locale = get_locale()
    return locale.language if locale is not None and locale.language in LANGUAGES else "en"


def collation_key(text: str, language: str | None = None) -> tuple:
    """A sort key ordering ``text`` alphabetically in ``language`` (default: the UI language): see
    :mod:`app.collation`. Every list sorted by a name goes through this."""
    return sort_key(text, language or current_language())


def init_app(app: Flask) -> None:
    """Bind Flask-Babel with our selector and expose the language list to templates."""
    babel.init_app(app, locale_selector=select_locale)

    from app.auth.models import ROLE_LABELS  # the models import this module: not at its top

    app.jinja_env.globals.update(
        LANGUAGE_NAMES=LANGUAGE_NAMES,
        current_language=current_language,
        role_label=lambda role: ROLE_LABELS.get(role, role),
    )
