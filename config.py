"""Application configuration.

Every setting can be overridden from the environment (see CONTRACTS.md §5). ``APP_ENV`` picks the class:
``development`` (default), ``testing`` or ``production``. Production refuses to start without a real
``SECRET_KEY`` and ``DATABASE_URL``.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("INSTANCE_DIR", BASE_DIR / "instance"))


def _env_int(name: str, default: int) -> int:
    """Read an integer setting from the environment."""
    return int(os.environ.get(name, default))


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
    SECRET_KEY = os.environ.get("SECRET_KEY", "dev-only-insecure-key-change-me")

    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'exchange.sqlite3'}")
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    # SQLite waits this long for the write lock instead of failing with "database is locked".
    SQLITE_BUSY_TIMEOUT_MS = _env_int("SQLITE_BUSY_TIMEOUT_MS", 15000)

    MIGRATIONS_DIR = str(BASE_DIR / "migrations")  # absolute, so `flask db upgrade` works from any folder
    SEARCH_INDEX_DIR = os.environ.get("SEARCH_INDEX_DIR", str(BASE_DIR / "search_index"))
    # Embedded mode: the web process applies committed index updates before answering. Off when
    # `flask search worker` runs beside gunicorn.
    SEARCH_APPLY_IN_REQUEST = _env_bool("SEARCH_APPLY_IN_REQUEST", True)
    # `flask search reindex`: build processes (from 2,000 cases up) and each one's posting buffer in MB.
    SEARCH_REINDEX_PROCS = _env_int("SEARCH_REINDEX_PROCS", 2)
    SEARCH_REINDEX_LIMITMB = _env_int("SEARCH_REINDEX_LIMITMB", 256)
    # Seconds a search may spend collecting its best hits; past it, the best found so far are shown.
    SEARCH_TIME_LIMIT = float(os.environ.get("SEARCH_TIME_LIMIT", "0.5"))
    UPLOAD_DIR = os.environ.get("UPLOAD_DIR", str(INSTANCE_DIR / "uploads"))
    ATTACHMENT_MAX_BYTES = _env_int("ATTACHMENT_MAX_BYTES", 20 * 1024 * 1024)  # below MAX_CONTENT_LENGTH
    ATTACHMENT_MAX_FILES = _env_int("ATTACHMENT_MAX_FILES", 10)
    # Text of attached PDF/DOCX files for the search index (app/search/extract.py): seconds per file, seconds for
    # all new files of one case, characters per file, pages per PDF.
    SEARCH_EXTRACT_TIMEOUT = float(os.environ.get("SEARCH_EXTRACT_TIMEOUT", 10))
    SEARCH_EXTRACT_CASE_BUDGET = float(os.environ.get("SEARCH_EXTRACT_CASE_BUDGET", 30))
    SEARCH_EXTRACT_MAX_CHARS = _env_int("SEARCH_EXTRACT_MAX_CHARS", 100_000)
    SEARCH_EXTRACT_MAX_PAGES = _env_int("SEARCH_EXTRACT_MAX_PAGES", 50)
    MAIL_OUTBOX_DIR = os.environ.get("MAIL_OUTBOX_DIR", str(INSTANCE_DIR / "outbox"))

    MAIL_SERVER = os.environ.get("MAIL_SERVER")
    MAIL_PORT = _env_int("MAIL_PORT", 587)
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD")
    MAIL_USE_TLS = _env_bool("MAIL_USE_TLS", True)
    MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "Akims' Experience Exchange <noreply@localhost>")

    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    RATELIMIT_HEADERS_ENABLED = True
    LOGIN_LIMIT_PER_IP = os.environ.get("LOGIN_LIMIT_PER_IP", "30 per minute; 300 per hour")
    LOGIN_LIMIT_PER_ACCOUNT = os.environ.get("LOGIN_LIMIT_PER_ACCOUNT", "10 per minute; 50 per hour")
    PASSWORD_RESET_LIMIT = os.environ.get("PASSWORD_RESET_LIMIT", "5 per minute; 20 per hour")

    # Werkzeug's scrypt defaults (N=2**15, r=8, p=1); tests use a cheaper N, still real scrypt.
    PASSWORD_HASH_METHOD = "scrypt"
    # Absolute links in e-mails sent outside a request (the digest cron job).
    BASE_URL = os.environ.get("BASE_URL", "http://127.0.0.1:5000")
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


class DevConfig(Config):
    """Embedded default: SQLite file under instance/, local Whoosh index."""


class TestConfig(Config):
    """Tests: every path is replaced per test by the fixtures (tmp dirs)."""

    APP_ENV = "testing"
    TESTING = True
    SECRET_KEY = "testing-secret-key-not-for-production"
    SQLALCHEMY_DATABASE_URI = "sqlite://"
    RATELIMIT_STORAGE_URI = "memory://"
    PASSWORD_HASH_METHOD = "scrypt:1024:8:1"


class ProdConfig(Config):
    """Production: PostgreSQL, secure cookies, HSTS; fails fast on missing secrets."""

    APP_ENV = "production"
    SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", True)
    REMEMBER_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", True)
    HSTS = True

    @classmethod
    def validate(cls, config: dict) -> None:
        """Refuse to run with a default secret or the embedded database.

        :raise RuntimeError: when ``SECRET_KEY`` or ``DATABASE_URL`` is missing or unsafe.
        """
        key = config.get("SECRET_KEY") or ""
        if not os.environ.get("SECRET_KEY") or key == Config.SECRET_KEY or len(key) < 32:
            raise RuntimeError("APP_ENV=production needs SECRET_KEY set to a random value of 32+ characters")
        if not os.environ.get("DATABASE_URL"):
            raise RuntimeError("APP_ENV=production needs DATABASE_URL (PostgreSQL)")


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
