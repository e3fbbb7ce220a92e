"""Browser-test fixtures: the app served for real (Alembic schema, demo accounts and demo case studies, CSRF on)
and headless Chromium.

The server runs once per test session on an SQLite file in a temporary folder; each test gets fresh browser
contexts (no shared cookies). Chromium is the system one (``CHROMIUM_PATH``, default ``/usr/bin/chromium``);
nothing is downloaded. Without it the tests are skipped with a one-line reason, or fail under ``CI=true``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from collections.abc import Iterator
from pathlib import Path

import flask_migrate
import pytest
from babel.support import Translations
from flask import Flask
from flask_babel import force_locale
from flask_babel import gettext
from flask_babel import ngettext
from playwright.sync_api import Browser
from playwright.sync_api import BrowserContext
from playwright.sync_api import Page
from playwright.sync_api import sync_playwright
from werkzeug.serving import make_server

from app.case_studies.commands import seed_demo_content
from app.cli import seed_demo_accounts
from app.extensions import db
from tests.browser.helpers import track
from tests.browser.helpers import untrack
from tests.conftest import find_akimat
from tests.conftest import make_app

ROOT = Path(__file__).resolve().parents[2]
MIGRATIONS_DIR = ROOT / "migrations"
TRANSLATIONS_DIR = ROOT / "app" / "translations"
CHROMIUM_PATH = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
IN_CI = os.environ.get("CI") == "true"
CHROMIUM_ARGS = [
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-gpu",
]
TIMEOUT_MS = 15_000


@pytest.fixture(scope="session")
def live_app(tmp_path_factory) -> Iterator[Flask]:
    """The app on an SQLite file, schema from the real migrations, demo accounts and demo content (case studies,
    questions) seeded as ``flask seed-demo`` does, CSRF enabled. What the demo import reported is kept in
    ``app.extensions["browser_tests.demo_content"]`` (see the ``demo_content`` fixture)."""
    folder = tmp_path_factory.mktemp("live")
    application = make_app(
        f"sqlite:///{folder / 'live.sqlite3'}",
        folder,
        WTF_CSRF_ENABLED=True,
        MIGRATIONS_DIR=str(MIGRATIONS_DIR),
    )
    with application.app_context():
        flask_migrate.upgrade()
        seed_demo_accounts()
        content = seed_demo_content()
        db.session.commit()
        application.extensions["search"].reindex()  # as `make run` does: only reindex creates an index
        report = content["report"]
        application.extensions["browser_tests.demo_content"] = {
            "cases": len(report.created) if report is not None else 0,
            "questions": content["questions"],
            "answers": content["answers"],
            "problems": [str(problem) for problem in content["problems"]],
        }
        db.session.remove()
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="session")
def demo_content(live_app) -> dict:
    """What seeding the demo content reported: ``{"cases", "questions", "answers", "problems"}`` (counts of what
    was created, and the importer's complaints as text)."""
    return live_app.extensions["browser_tests.demo_content"]


@pytest.fixture(scope="session")
def live_server(live_app) -> Iterator[str]:
    """Serve ``live_app`` on a free local port in a daemon thread; yield its base URL."""
    server = make_server("127.0.0.1", 0, live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def outbox_dir(live_app) -> Path:
    """Where the live app writes its e-mails (.eml files)."""
    return Path(live_app.config["MAIL_OUTBOX_DIR"])


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    """Headless system Chromium, driven by Playwright (never ``playwright install``)."""
    if not Path(CHROMIUM_PATH).is_file():
        reason = (
            f"BROWSER TESTS NOT RUN: no Chromium at {CHROMIUM_PATH} (install Debian's chromium or set CHROMIUM_PATH)"
        )
        if IN_CI:
            pytest.fail(reason + " -- CI=true, so this is a failure", pytrace=False)
        pytest.skip(reason)
    args = CHROMIUM_ARGS + (["--no-sandbox"] if os.geteuid() == 0 else [])
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=CHROMIUM_PATH, headless=True, args=args)
    except Exception:
        playwright.stop()
        raise
    yield browser
    browser.close()
    playwright.stop()


@pytest.fixture
def new_context(chromium, live_server) -> Iterator[Callable[..., BrowserContext]]:
    """Factory: a fresh browser context (own cookies) on the live server; English unless ``locale`` says otherwise.

    Every page opened in it is tracked, and the test fails when a page it loaded was never accessibility-checked.
    """
    contexts: list[BrowserContext] = []
    pages: list[Page] = []

    def _new(**options) -> BrowserContext:
        options.setdefault("locale", "en-US")
        context = chromium.new_context(base_url=live_server, **options)
        context.set_default_timeout(TIMEOUT_MS)
        context.set_default_navigation_timeout(TIMEOUT_MS)
        context.on("page", lambda page: pages.append(track(page)))
        contexts.append(context)
        return context

    yield _new
    unchecked = [url for page in pages for url in untrack(page)]
    for context in contexts:
        context.close()
    if unchecked:
        pytest.fail(f"pages loaded without assert_accessible(): {unchecked}", pytrace=False)


@pytest.fixture
def page(new_context) -> Page:
    """A page in a fresh context."""
    return new_context().new_page()


@pytest.fixture(scope="session")
def akimat_name(live_app) -> Callable[..., str]:
    """The display name the app gives an akimat (as in its select boxes), e.g. for ("KZ-39", None) in English."""

    def _name(iso: str, municipality: str | None = None, language: str = "en") -> str:
        with live_app.test_request_context(), force_locale(language):
            return find_akimat(iso, municipality).name(language)

    return _name


@pytest.fixture(scope="session")
def app_text(live_app) -> Callable[..., str]:
    """A message as the app renders it in ``language`` (e.g. the page's ``<html lang>``), through Flask-Babel:
    ``app_text("ru", "Adopted in %(num)d region", "Adopted in %(num)d regions", num=1)`` (a plural form when a
    plural is given, else ``gettext``; keyword arguments are the message's parameters)."""

    def _text(language: str, message: str, plural: str | None = None, **params) -> str:
        with live_app.test_request_context(), force_locale(language):
            if plural is not None:
                return str(ngettext(message, plural, params.pop("num"), **params))
            return str(gettext(message, **params))

    return _text


@pytest.fixture(scope="session")
def kk_gettext() -> Callable[[str], str]:
    """The Kazakh translation of a message from the app's compiled catalog; fails if it has none."""
    translations = Translations.load(str(TRANSLATIONS_DIR), ["kk"])
    catalog = TRANSLATIONS_DIR / "kk" / "LC_MESSAGES" / "messages.mo"

    def _gettext(message: str) -> str:
        translated = translations.gettext(message)
        if translated == message:
            pytest.fail(
                f"no Kazakh translation of {message!r} in the compiled catalog {catalog} "
                f"({'present' if catalog.exists() else 'MISSING'}): translate it in messages.po and run "
                "`pybabel compile -d app/translations`",
                pytrace=False,
            )
        return translated

    return _gettext
