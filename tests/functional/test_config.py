"""Configuration: production fails fast, cookies and headers, SQLite pragmas."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app import create_app
from app.extensions import db
from config import ProdConfig
from tests.conftest import make_app


def test_production_refuses_without_secret_key(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(ProdConfig)


def test_production_refuses_short_secret_key(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "short")
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(ProdConfig, SECRET_KEY="short")


def test_production_refuses_without_database_url(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    with pytest.raises(RuntimeError, match="DATABASE_URL"):
        create_app(ProdConfig, SECRET_KEY="x" * 40)


def test_production_has_secure_cookies_and_hsts(monkeypatch, tmp_path):
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'p.sqlite3'}")
    app = create_app(ProdConfig, SECRET_KEY="x" * 40, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'p.sqlite3'}")
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["REMEMBER_COOKIE_SECURE"] is True
    response = app.test_client().get("/static/img/logo.svg")
    response.close()
    assert "max-age" in response.headers["Strict-Transport-Security"]


def test_security_headers_on_every_response(client, make_user, login_as):
    for url in ["/", "/login", "/nope", "/api/v1/regions"]:
        response = client.get(url)
        csp = response.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"]
        assert "Strict-Transport-Security" not in response.headers  # development/testing: no HSTS
    assert "no-store" not in client.get("/").headers.get("Cache-Control", "")
    login_as(make_user())
    assert client.get("/").headers["Cache-Control"] == "no-store"
    assert client.get("/account").headers["Cache-Control"] == "no-store"


def test_session_cookie_flags(client, make_user):
    user = make_user()
    response = client.post("/login", data={"email": user.email, "password": user.password, "remember": "y"})
    cookies = response.headers.getlist("Set-Cookie")
    session_cookie = next(c for c in cookies if c.startswith("session="))
    remember_cookie = next(c for c in cookies if c.startswith("remember_token="))
    for cookie in (session_cookie, remember_cookie):
        assert "HttpOnly" in cookie
        assert "SameSite=Lax" in cookie


def test_max_content_length_gives_413_page(app, client):
    app.config["MAX_CONTENT_LENGTH"] = 1000
    response = client.post("/login", data={"email": "a@b.kz", "password": "x" * 5000})
    assert response.status_code == 413
    assert b"<html" in response.data


def test_sqlite_runs_in_wal_mode_with_busy_timeout(tmp_path):
    app = make_app(f"sqlite:///{tmp_path / 'wal.sqlite3'}", tmp_path)
    with app.app_context(), db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == app.config["SQLITE_BUSY_TIMEOUT_MS"]
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        conn.execute(sa.text("SELECT 1"))
