"""Shared fixtures: the app on a real database (SQLite always, PostgreSQL when reachable), clients,
the CLI runner, ``login_as``, factories and the captured mail outbox.

Every test that uses ``app`` runs once per backend: ``[sqlite]`` and ``[postgresql]``. PostgreSQL tests get a
schema of their own (so parallel runs on a shared server do not collide), dropped afterwards. Where
PostgreSQL is not reachable the ``[postgresql]`` variants are skipped with a one-line reason; under
``CI=true`` they fail instead.
"""

from __future__ import annotations

import email
import email.policy
import os
import shutil
import uuid
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import psycopg
import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from app import create_app
from app.auth.models import ClaimStatus
from app.auth.models import User
from app.auth.services import hash_password
from app.extensions import db
from app.regions.models import Municipality
from app.regions.models import Region
from app.regions.services import find_akimat
from app.regions.services import sync_reference_data
from config import TestConfig

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() == "true"
PASSWORD = "correct horse battery staple"


def sqlalchemy_pg_url(url: str) -> str:
    """Use the psycopg 3 driver for a plain ``postgresql://`` URL."""
    return url.replace("postgresql://", "postgresql+psycopg://", 1) if url.startswith("postgresql://") else url


_pg_state: dict[str, str | None] = {}


def postgres_unavailable() -> str | None:
    """Return why PostgreSQL cannot be used (None when it can). Checked once per run."""
    if "reason" not in _pg_state:
        try:
            with psycopg.connect(TEST_DATABASE_URL, connect_timeout=3) as conn:
                conn.execute("SELECT 1")
            _pg_state["reason"] = None
        except Exception as exc:  # any failure means "not reachable"; the reason is printed
            _pg_state["reason"] = f"PostgreSQL not reachable at {TEST_DATABASE_URL}: {type(exc).__name__}"
    return _pg_state["reason"]


def skip_or_fail(reason: str | None, service: str) -> None:
    """Skip with ``reason`` (or, under CI=true, fail) when a service the test needs is missing."""
    if reason:
        if IN_CI:
            pytest.fail(f"{reason} (CI=true: a missing {service} is a failure, not a skip)")
        pytest.skip(reason)


def require_postgres() -> None:
    """Skip (or, under CI=true, fail) when PostgreSQL is unreachable."""
    skip_or_fail(postgres_unavailable(), "PostgreSQL")


@contextmanager
def new_pg_schema(prefix: str = "t"):
    """A new, empty PostgreSQL schema of its own (so parallel runs do not collide); yields its URL, then drops it."""
    require_postgres()
    schema = f"{prefix}_{uuid.uuid4().hex[:16]}"
    admin = sa.create_engine(sqlalchemy_pg_url(TEST_DATABASE_URL))
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield pg_schema_url(schema)
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def pg_schema_url(schema: str) -> str:
    """The SQLAlchemy URL of the test database with ``schema`` first on the search path."""
    separator = "&" if "?" in TEST_DATABASE_URL else "?"
    return sqlalchemy_pg_url(TEST_DATABASE_URL) + f"{separator}options=-csearch_path%3D{schema}"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """A fresh, empty database for one test: an SQLite file, or a PostgreSQL schema of its own."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.sqlite3'}"
        return
    with new_pg_schema() as url:
        yield url


class EnglishClient(FlaskClient):
    """A test client whose browser asks for English unless a test sends its own Accept-Language
    (the app's default for a browser without a preference is Russian)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.environ_base.setdefault("HTTP_ACCEPT_LANGUAGE", "en")


def make_app(database_url: str, tmp_path: Path, **overrides):
    """Build an app on ``database_url`` with every path under ``tmp_path``."""
    settings = {
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SEARCH_INDEX_DIR": str(tmp_path / "search_index"),
        "UPLOAD_DIR": str(tmp_path / "uploads"),
        "MAIL_OUTBOX_DIR": str(tmp_path / "outbox"),
        "WTF_CSRF_ENABLED": False,
        "SERVER_NAME": None,
    }
    settings.update(overrides)
    application = create_app(TestConfig, **settings)
    application.test_client_class = EnglishClient
    return application


def create_schema(app) -> None:
    """Create the tables from the models and load the reference data (tests only; the app uses Alembic)."""
    with app.app_context():
        db.create_all()
        sync_reference_data(db.session.connection())
        db.session.commit()


@pytest.fixture
def app_overrides():
    """Settings a test module can override (e.g. ``WTF_CSRF_ENABLED``)."""
    return {}


REFERENCE_TABLES = {"region", "municipality", "akimat"}


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """An SQLite file with the schema and reference data, built once; each test gets a copy."""
    folder = tmp_path_factory.mktemp("sqlite-template")
    path = folder / "template.sqlite3"
    template_app = make_app(f"sqlite:///{path}", folder)
    create_schema(template_app)
    with template_app.app_context():
        db.session.remove()
        db.engine.dispose()  # the last connection's close checkpoints the WAL into the file
    return path


@pytest.fixture(scope="session")
def postgres_schema(tmp_path_factory):
    """A PostgreSQL schema with the tables and reference data, built once per test process; tests
    empty its other tables before they start (much faster than creating a schema per test)."""
    require_postgres()
    schema = f"s_{uuid.uuid4().hex[:16]}"
    admin = sa.create_engine(sqlalchemy_pg_url(TEST_DATABASE_URL))
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = pg_schema_url(schema)
    template_app = make_app(url, tmp_path_factory.mktemp("pg-template"))
    create_schema(template_app)
    with template_app.app_context():
        tables = [t.name for t in db.metadata.sorted_tables if t.name not in REFERENCE_TABLES]
        db.session.remove()
        db.engine.dispose()
    yield url, tables
    with admin.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def prepared_database_url(request, tmp_path):
    """A database with the schema and reference data and nothing else, for one test."""
    if request.param == "sqlite":
        target = tmp_path / "test.sqlite3"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), target)
        return f"sqlite:///{target}"
    url, tables = request.getfixturevalue("postgres_schema")
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        # DELETE is quicker than TRUNCATE on tables this small; children first.
        for table in reversed(tables):
            conn.execute(sa.text(f'DELETE FROM "{table}"'))
        sync_reference_data(conn)  # undo any change a previous test made to the reference rows
    engine.dispose()
    return url


@pytest.fixture(scope="session")
def empty_index_template(tmp_path_factory, sqlite_template) -> Path:
    """An empty search index made as an operator makes one (``flask search reindex`` of an empty database),
    built once; each test's app gets a copy (only reindex creates an index)."""
    folder = tmp_path_factory.mktemp("index-template")
    target = folder / "test.sqlite3"
    shutil.copyfile(sqlite_template, target)
    template_app = make_app(f"sqlite:///{target}", folder)
    with template_app.app_context():
        assert template_app.extensions["search"].reindex() == 0
        db.session.remove()
        db.engine.dispose()
    return folder / "search_index"


@pytest.fixture
def app(prepared_database_url, tmp_path, app_overrides, empty_index_template):
    """The application on a fresh database with the regions loaded and an empty search index."""
    application = make_app(prepared_database_url, tmp_path, **app_overrides)
    index_dir = Path(application.config["SEARCH_INDEX_DIR"])
    if not index_dir.exists():
        shutil.copytree(empty_index_template, index_dir)
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def backend(prepared_database_url) -> str:
    """The name of the database backend under test."""
    return "sqlite" if prepared_database_url.startswith("sqlite") else "postgresql"


@pytest.fixture
def client(app):
    """A test client."""
    return app.test_client()


@pytest.fixture
def runner(app):
    """A CLI runner for ``flask`` commands."""
    return app.test_cli_runner()


@pytest.fixture
def make_user(app):
    """Factory: create a user and return a plain record (id, email, password, role, session_version)."""
    counter = iter(range(1, 10_000))

    def _make(role: str = "reader", *, email: str | None = None, password: str = PASSWORD, full_name=None,
              akimat: tuple[str, str | None] | None = None, claim: tuple[str, str | None] | None = None,
              language: str = "en", active: bool = True):
        n = next(counter)
        with app.app_context():
            user = User(
                email=email or f"user{n}-{role}@example.kz",
                full_name=full_name or f"Test {role.title()} {n}",
                password_hash=hash_password(password),
                role=role,
                preferred_language=language,
                active=active,
            )
            if akimat:
                user.akimat = find_akimat(*akimat)
                user.position = "Akim"
                user.claim_status = ClaimStatus.APPROVED
            if claim:
                user.claimed_akimat = find_akimat(*claim)
                user.claimed_position = "Deputy akim"
                user.claim_status = ClaimStatus.PENDING
            db.session.add(user)
            db.session.commit()
            return SimpleNamespace(id=user.id, email=user.email, password=password, role=user.role,
                                   full_name=user.full_name, session_version=user.session_version)

    return _make


@pytest.fixture
def login_as(client, app):
    """Log ``client`` in as a user record from ``make_user`` (sets the Flask-Login session directly)."""

    def _login(user, target_client=None):
        target = target_client or client
        with app.app_context():
            version = db.session.get(User, user.id).session_version
        with target.session_transaction() as session:
            session["_user_id"] = f"{user.id}:{version}"
            session["_fresh"] = True
        return target

    return _login


@pytest.fixture
def outbox(app):
    """Return a function listing the e-mails written to the outbox folder, oldest first, parsed."""

    def _read():
        folder = Path(app.config["MAIL_OUTBOX_DIR"])
        if not folder.exists():
            return []
        return [
            email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            for path in sorted(folder.glob("*.eml"))
        ]

    return _read


@pytest.fixture
def db_session(app):
    """A session of its own for direct database checks. No app context is left pushed, so requests made by
    the test client run in their own contexts, as in production. It runs in autocommit mode: every check
    sees the latest committed data and never holds a lock (or an old snapshot) while the app works."""
    with app.app_context():
        engine = db.engine
    session = sa.orm.scoped_session(sa.orm.sessionmaker(bind=engine.execution_options(isolation_level="AUTOCOMMIT")))
    yield session
    session.remove()


def case_data(**overrides):
    """Valid :class:`CaseData` for an Almaty city case study (region looked up by ISO code)."""
    from app.case_studies.services import CaseData

    iso = overrides.pop("region", "KZ-75")
    district = overrides.pop("district", None)
    region = db.session.scalar(sa.select(Region).where(Region.iso_code == iso))
    municipality_id = None
    if district:
        municipality_id = db.session.scalar(
            sa.select(Municipality.id).where(Municipality.region_id == region.id, Municipality.name_en == district)
        )
    values = {
        "title": "Electronic bus card Onay",
        "summary": "Almaty replaced paper tickets with a contactless card.",
        "region_id": region.id,
        "municipality_id": municipality_id,
        "level": "city",
        "language": "en",
        "started": 2015,
        "ended": None,
        "status": "scaled",
        "problem": "Cash fares were **slow** and leaked money.",
        "solution": "A contactless card with validators on every bus.",
        "challenges": "Validators failed in the first winter; queues for cards.",
        "results": "Boarding time fell; revenue became visible.",
        "lessons": "Run paper and card in parallel for three months.",
        "budget_kzt": None,
        "author_name": "Dana Seitova",
        "author_position": "Deputy akim",
        "contact": None,
        "topics": ["transport", "digital-services"],
    }
    values.update(overrides)
    return CaseData(**values)


@pytest.fixture
def make_case(app):
    """Factory: create a case study owned by the akimat of ``akimat`` (ISO, municipality) and return its slug.

    ``state``: "draft" (default), "published" or "withdrawn".
    """

    def _make(state: str = "draft", akimat: tuple[str, str | None] = ("KZ-75", None), **overrides) -> str:
        from app.case_studies import services

        with app.app_context():
            case = services.create_case(None, find_akimat(*akimat), case_data(**overrides))
            if state in ("published", "withdrawn"):
                services.publish(None, case)
            if state == "withdrawn":
                services.withdraw(None, case, "Outdated")
            db.session.commit()
            return case.slug

    return _make


@pytest.fixture
def in_db(app):
    """Context manager: ``db.session`` in an app context of its own, removed (and popped) afterwards."""

    @contextmanager
    def _open():
        with app.app_context():
            try:
                yield db.session
            finally:
                db.session.remove()

    return _open


@pytest.fixture
def make_meeting(app):
    """Factory: create a meeting and return its id.

    ``host`` is a host code of ``scope`` (a region's ISO code, or a municipality's English name in a regional
    scope). Dates default to a one-day meeting at 10:00 Kazakhstan time 60 days ahead (a held meeting: 60 days
    ago) with registration open from yesterday until the day before; any Meeting column can be overridden.
    """
    counter = iter(range(1, 10_000))

    def _make(state: str = "registration_open", capacity: int = 10, scope: str = "national", host: str = "KZ-75",
              **overrides) -> int:
        from datetime import UTC
        from datetime import datetime
        from datetime import timedelta

        from app.meetings.hosts import resolve_host
        from app.meetings.models import Meeting

        n = next(counter)
        with app.app_context():
            resolved = resolve_host(scope, host)
            assert resolved is not None, f"{host!r} is not a host of scope {scope!r}"
            now = datetime.now(UTC).replace(microsecond=0)
            # 10:00 Kazakhstan time (05:00 UTC), so the meeting stays on one local day.
            default_start = (now + timedelta(days=-60 if state == "held" else 60)).replace(hour=5, minute=0, second=0)
            starts = overrides.pop("starts_at", default_start)
            values = {
                "uid": f"meeting-test-{uuid.uuid4().hex}@akims-exchange.kz",
                "scope": scope,
                "year": starts.year,
                "slot": 1,
                "edition": n,
                "title": f"Exchange meeting {n}",
                "description": "Akims present their practices to each other.",
                "host_region_id": resolved.region.id,
                "host_municipality_id": resolved.municipality.id if resolved.municipality else None,
                "host_akimat_id": (akimat.id if (akimat := resolved.akimat()) else None),
                "city": "Almaty",
                "venue": "Palace of the Republic",
                "address": "Dostyk Avenue 56",
                "format": "in_person",
                "starts_at": starts,
                "ends_at": starts + timedelta(hours=8),
                "registration_opens_at": min(now - timedelta(days=1), starts - timedelta(days=2)),
                "registration_closes_at": starts - timedelta(days=1),
                "capacity": capacity,
                "contact_name": "Aigerim Nurlanova",
                "contact_email": "meetings@almaty.example.kz",
                "state": state,
            }
            values.update(overrides)
            meeting = Meeting(**values)
            db.session.add(meeting)
            db.session.commit()
            return meeting.id

    return _make
