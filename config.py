"""Application configuration.

Every setting can be overridden from the environment (see CONTRACTS.md §5). ``APP_ENV`` picks the class:
``development`` (default), ``testing`` or ``production``. Production refuses to start without a real
``SECRET_KEY``, ``DATABASE_URL`` and ``BASE_URL``; development without ``SECRET_KEY`` makes a random key once and
keeps it in ``instance/secret_key``.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("INSTANCE_DIR", BASE_DIR / "instance"))
DEFAULT_DATABASE_URI = f"sqlite:///{INSTANCE_DIR / 'exchange.sqlite3'}"


def _env_int(name: str, default: int) -> int:
    """Read an integer setting from the environment."""
    return int(os.environ.get(name, default))


def _env_list(name: str) -> list[str] | None:
    """Read a comma-separated list from the environment (None when unset or empty)."""
    items = [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]
    return items or None


def instance_secret_key(folder: Path = INSTANCE_DIR) -> str:
    """Return the development key kept in ``instance/secret_key``, making a random one the first time.

    A published default key would let anyone sign an administrator's session cookie; a key made on this
    machine and kept (mode 0600) survives restarts, so sessions do too.
    """
    path = folder / "secret_key"
    try:
        key = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        key = ""
    if len(key) >= 32:
        return key
    folder.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key + "\n")
    return key


def _env_bool(name: str, default: bool) -> bool:
    """Read a boolean setting (1/true/yes/on) from the environment."""
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


class Config:
    """Settings shared by every environment; the development defaults."""

    APP_ENV = "development"
    DEBUG = _env_bool("FLASK_DEBUG", False)
    # Unset: development reads (or makes) instance/secret_key when the app is created; production refuses.
    SECRET_KEY = os.environ.get("SECRET_KEY") or None

    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URI
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    # SQLite waits this long for the write lock instead of failing with "database is locked".
    SQLITE_BUSY_TIMEOUT_MS = _env_int("SQLITE_BUSY_TIMEOUT_MS", 15000)

    MIGRATIONS_DIR = str(BASE_DIR / "migrations")  # absolute, so `flask db upgrade` works from any folder
    SEARCH_INDEX_DIR = os.environ.get("SEARCH_INDEX_DIR", str(BASE_DIR / "search_index"))
    # Embedded mode (development default): the web process applies committed index updates before answering.
    # Production runs `flask search worker` beside gunicorn and turns this off (ProdConfig): publishing is
    # faster, and a search still applies what is pending before it runs, so read-your-writes holds either way.
    SEARCH_APPLY_IN_REQUEST = _env_bool("SEARCH_APPLY_IN_REQUEST", True)
    SEARCH_REQUEST_BATCH = _env_int("SEARCH_REQUEST_BATCH", 50)  # outbox rows a request applies, at most
    SEARCH_MAX_SEGMENTS = _env_int("SEARCH_MAX_SEGMENTS", 8)  # the worker merges small segments past this many
    # `flask search reindex`: build processes (0: one per core; from SEARCH_REINDEX_PARALLEL_MIN cases up) and each
    # one's posting buffer in MB (0: a share of the available memory, app/search/building.py).
    SEARCH_REINDEX_PROCS = _env_int("SEARCH_REINDEX_PROCS", 0)
    SEARCH_REINDEX_LIMITMB = _env_int("SEARCH_REINDEX_LIMITMB", 0)
    SEARCH_REINDEX_PARALLEL_MIN = _env_int("SEARCH_REINDEX_PARALLEL_MIN", 2000)
    # Seconds a search may spend collecting its best hits; past it, the best found so far are shown.
    SEARCH_TIME_LIMIT = float(os.environ.get("SEARCH_TIME_LIMIT", "0.5"))
    UPLOAD_DIR = os.environ.get("UPLOAD_DIR", str(INSTANCE_DIR / "uploads"))
    ATTACHMENT_MAX_BYTES = _env_int("ATTACHMENT_MAX_BYTES", 20 * 1024 * 1024)  # below MAX_CONTENT_LENGTH
    ATTACHMENT_MAX_FILES = _env_int("ATTACHMENT_MAX_FILES", 10)
    # Text of attached files for the search index (app/search/extract.py): seconds per file, seconds for
    # all new files of one case, characters per file, pages per PDF.
    SEARCH_EXTRACT_TIMEOUT = float(os.environ.get("SEARCH_EXTRACT_TIMEOUT", 10))
    SEARCH_EXTRACT_CASE_BUDGET = float(os.environ.get("SEARCH_EXTRACT_CASE_BUDGET", 30))
    SEARCH_EXTRACT_MAX_CHARS = _env_int("SEARCH_EXTRACT_MAX_CHARS", 100_000)
    SEARCH_EXTRACT_MAX_PAGES = _env_int("SEARCH_EXTRACT_MAX_PAGES", 50)
    # OCR of attached images and scanned PDF pages (`make ocr` installs Debian's packages): the Tesseract and
    # poppler pdftoppm programs, names on PATH or paths. Missing (or "" to turn OCR off): that text is not searched.
    SEARCH_OCR_TESSERACT = os.environ.get("SEARCH_OCR_TESSERACT", "tesseract")
    SEARCH_OCR_PDFTOPPM = os.environ.get("SEARCH_OCR_PDFTOPPM", "pdftoppm")
    MAIL_OUTBOX_DIR = os.environ.get("MAIL_OUTBOX_DIR", str(INSTANCE_DIR / "outbox"))

    MAIL_SERVER = os.environ.get("MAIL_SERVER")
    MAIL_PORT = _env_int("MAIL_PORT", 587)
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD")
    MAIL_USE_TLS = _env_bool("MAIL_USE_TLS", True)
    MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "Akims' Experience Exchange <noreply@localhost>")
    # Whom people write to about their data and about accessibility (the privacy and accessibility pages).
    CONTACT_EMAIL = os.environ.get("CONTACT_EMAIL") or None

    # memory:// counts per process: with several gunicorn workers use Redis (redis://host:6379/0).
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    # Prefix of every counter's key: several instances (or a test run) may share one Redis.
    RATELIMIT_KEY_PREFIX = os.environ.get("RATELIMIT_KEY_PREFIX", "")
    # Off: Flask-Limiter's headers would give the login page the Retry-After of a limit that was not the one hit
    # (app/main/errors.py sets Retry-After on its 429 pages, app/auth/throttle.py on the login page's).
    RATELIMIT_HEADERS_ENABLED = False
    # Failed logins (app/auth/throttle.py). From one address, whatever the account:
    LOGIN_LIMIT_PER_IP = os.environ.get("LOGIN_LIMIT_PER_IP", "30 per minute; 300 per hour")
    # On one account from one address: refused (429) past this.
    LOGIN_LIMIT_PER_ACCOUNT_ADDRESS = os.environ.get("LOGIN_LIMIT_PER_ACCOUNT_ADDRESS", "10 per minute; 50 per hour")
    # On one account from all addresses together: past this the account is not locked, it is slowed: each
    # address may try it once every LOGIN_SLOWDOWN_SECONDS, so its owner still gets in with the right password.
    LOGIN_LIMIT_PER_ACCOUNT = os.environ.get("LOGIN_LIMIT_PER_ACCOUNT", "20 per minute; 100 per hour")
    LOGIN_SLOWDOWN_SECONDS = _env_int("LOGIN_SLOWDOWN_SECONDS", 10)
    PASSWORD_RESET_LIMIT = os.environ.get("PASSWORD_RESET_LIMIT", "5 per minute; 20 per hour")

    # Werkzeug's scrypt defaults (N=2**15, r=8, p=1); tests use a cheaper N, still real scrypt.
    PASSWORD_HASH_METHOD = "scrypt"
    # The public address (scheme://host[:port]). When set, every absolute link (e-mails, feeds, calendars) is
    # built from it, never from the request's Host header; unset (development), requests use their own host
    # and jobs outside a request http://127.0.0.1:5000. Required in production.
    BASE_URL = os.environ.get("BASE_URL") or None
    # Host names this site answers to; any other Host header gets a 400. Production defaults to BASE_URL's host.
    TRUSTED_HOSTS = _env_list("TRUSTED_HOSTS")
    # How many reverse proxies in front of the app set X-Forwarded-For/-Proto/-Host/-Port/-Prefix (0: none,
    # the headers are ignored; 1: one nginx). Only count proxies you run: each one is trusted with the headers.
    TRUSTED_PROXIES = _env_int("TRUSTED_PROXIES", 0)
    QUESTION_LIMIT = os.environ.get("QUESTION_LIMIT", "10 per hour; 30 per day")
    PASSWORD_RESET_MAX_AGE = _env_int("PASSWORD_RESET_MAX_AGE", 3600)  # seconds

    # Requests larger than this are refused with a 413 page before a view runs.
    MAX_CONTENT_LENGTH = _env_int("MAX_CONTENT_LENGTH", 25 * 1024 * 1024)

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", False)
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", False)
    REMEMBER_COOKIE_DURATION = timedelta(days=30)
    PERMANENT_SESSION_LIFETIME = timedelta(hours=12)
    HSTS = False

    WTF_CSRF_TIME_LIMIT = 8 * 3600

    LANGUAGES = ("kk", "ru", "en")
    BABEL_DEFAULT_LOCALE = os.environ.get("BABEL_DEFAULT_LOCALE", "ru")
    # Kazakhstan keeps one zone, UTC+5, since March 2024; tzdata knows it as Asia/Almaty.
    BABEL_DEFAULT_TIMEZONE = "Asia/Almaty"

    USERS_PER_PAGE = 50
    # /healthz answers 503 when the oldest pending search-index update is older than this (seconds).
    HEALTH_OUTBOX_MAX_AGE = _env_int("HEALTH_OUTBOX_MAX_AGE", 300)

    @classmethod
    def validate(cls, config: dict) -> None:
        """Check (and complete) the final settings of an app; each environment says what it needs."""


class DevConfig(Config):
    """Embedded default: SQLite file under instance/, local Whoosh index."""

    @classmethod
    def validate(cls, config: dict) -> None:
        """Fill in the per-machine development key when no ``SECRET_KEY`` is set."""
        if not config.get("SECRET_KEY"):
            config["SECRET_KEY"] = instance_secret_key()


class TestConfig(Config):
    """Tests: every path is replaced per test by the fixtures (tmp dirs)."""

    APP_ENV = "testing"
    TESTING = True
    SECRET_KEY = "testing-secret-key-not-for-production"
    SQLALCHEMY_DATABASE_URI = "sqlite://"
    RATELIMIT_STORAGE_URI = "memory://"
    PASSWORD_HASH_METHOD = "scrypt:1024:8:1"


class ProdConfig(Config):
    """Production: PostgreSQL, secure cookies, HSTS, trusted hosts; fails fast on missing settings."""

    APP_ENV = "production"
    SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", True)
    REMEMBER_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", True)
    HSTS = True

    @classmethod
    def validate(cls, config: dict) -> None:
        """Refuse to run with a missing or weak secret, without a database URL or a public address; default
        ``TRUSTED_HOSTS`` to the host of ``BASE_URL``.

        Checks the final settings (environment and overrides alike), so a test sees what gunicorn sees.

        :raise RuntimeError: when a setting is missing or unsafe, naming it.
        """
        key = config.get("SECRET_KEY") or ""
        if len(key) < 32 or key in KNOWN_KEYS:
            raise RuntimeError("APP_ENV=production needs SECRET_KEY set to a random value of 32+ characters")
        if config.get("SQLALCHEMY_DATABASE_URI") in (None, "", DEFAULT_DATABASE_URI):
            raise RuntimeError("APP_ENV=production needs DATABASE_URL (PostgreSQL)")
        base = urlsplit(config.get("BASE_URL") or "")
        if base.scheme not in {"http", "https"} or not base.hostname:
            raise RuntimeError("APP_ENV=production needs BASE_URL, the public address, e.g. https://exchange.gov.kz")
        if not config.get("TRUSTED_HOSTS"):
            config["TRUSTED_HOSTS"] = [base.hostname]


# Keys that are public (earlier defaults, the test key): never accepted in production.
KNOWN_KEYS = {"dev-only-insecure-key-change-me", TestConfig.SECRET_KEY}


CONFIGS: dict[str, type[Config]] = {"development": DevConfig, "testing": TestConfig, "production": ProdConfig}


def config_from_env() -> type[Config]:
    """Return the configuration class that ``APP_ENV`` names.

    :raise RuntimeError: on an unknown ``APP_ENV``.
    """
    name = os.environ.get("APP_ENV", "development")
    try:
        return CONFIGS[name]
    except KeyError:
        raise RuntimeError(f"APP_ENV must be one of {sorted(CONFIGS)}, not {name!r}") from None
