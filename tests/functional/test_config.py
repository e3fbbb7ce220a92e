"""Configuration: production fails fast, cookies and headers, SQLite pragmas."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from app import create_app
from app.extensions import db
from config import ProdConfig
from config import TestConfig
from config import instance_secret_key
from tests.conftest import make_app

REPO = Path(__file__).resolve().parents[2]
PROD_KEY = secrets.token_urlsafe(48)


def run_production(tmp_path, code: str, **env_overrides) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter that imports the app with APP_ENV=production from the environment,
    as gunicorn and ``flask --app wsgi`` do (settings read at import, not passed as overrides)."""
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DATABASE_URL", "BASE_URL",
                                                            "TRUSTED_HOSTS", "TRUSTED_PROXIES"}}
    env.update(APP_ENV="production", SECRET_KEY=PROD_KEY, DATABASE_URL=f"sqlite:///{tmp_path / 'prod.sqlite3'}",
               BASE_URL="https://exchange.example.kz", INSTANCE_DIR=str(tmp_path / "instance"),
               SEARCH_INDEX_DIR=str(tmp_path / "index"))
    for name, value in env_overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=120)


def test_production_starts_with_its_settings_from_the_environment(tmp_path):
    result = run_production(tmp_path, "import wsgi; c = wsgi.app.config; "
                                      "print(c['APP_ENV'], c['SESSION_COOKIE_SECURE'], c['REMEMBER_COOKIE_SECURE'], "
                                      "c['HSTS'], c['TRUSTED_HOSTS'], c['SEARCH_APPLY_IN_REQUEST'])")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["production", "True", "True", "True", "['exchange.example.kz']", "True"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"SECRET_KEY": None}, "SECRET_KEY"),
        ({"SECRET_KEY": ""}, "SECRET_KEY"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY"),
        ({"SECRET_KEY": "dev-only-insecure-key-change-me"}, "SECRET_KEY"),
        ({"DATABASE_URL": None}, "DATABASE_URL"),
        ({"BASE_URL": None}, "BASE_URL"),
        ({"BASE_URL": "exchange.example.kz"}, "BASE_URL"),
    ],
)
def test_production_refuses_to_start_without_a_safe_setting(tmp_path, overrides, message):
    result = run_production(tmp_path, "import wsgi", **overrides)
    assert result.returncode != 0
    assert f"APP_ENV=production needs {message}" in result.stderr


def test_production_refuses_the_testing_key():
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(ProdConfig, SECRET_KEY=TestConfig.SECRET_KEY, SQLALCHEMY_DATABASE_URI="sqlite://",
                   BASE_URL="https://exchange.example.kz")


def test_development_without_secret_key_makes_one_and_keeps_it(tmp_path):
    folder = tmp_path / "instance"
    first = instance_secret_key(folder)
    assert len(first) >= 48
    assert (folder / "secret_key").stat().st_mode & 0o777 == 0o600
    assert instance_secret_key(folder) == first
    assert instance_secret_key(tmp_path / "elsewhere") != first


def test_development_app_without_secret_key_signs_with_the_instance_key(tmp_path):
    env = {"APP_ENV": "development", "SECRET_KEY": None, "BASE_URL": None}
    code = "import wsgi; print(wsgi.app.config['SECRET_KEY'])"
    first = run_production(tmp_path, code, **env)
    second = run_production(tmp_path, code, **env)
    assert first.returncode == 0, first.stderr
    key = first.stdout.strip()
    assert key == second.stdout.strip() == (tmp_path / "instance" / "secret_key").read_text().strip()
    assert key != "dev-only-insecure-key-change-me" and len(key) >= 48


def prod_app(tmp_path, **overrides):
    settings = {"SECRET_KEY": PROD_KEY, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'p.sqlite3'}",
                "BASE_URL": "https://exchange.example.kz", "SEARCH_INDEX_DIR": str(tmp_path / "index")}
    settings.update(overrides)
    return create_app(ProdConfig, **settings)


def test_production_has_secure_cookies_and_hsts(tmp_path):
    app = prod_app(tmp_path)
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["REMEMBER_COOKIE_SECURE"] is True
    response = app.test_client().get("/static/img/logo.svg", base_url="https://exchange.example.kz")
    response.close()
    assert "max-age" in response.headers["Strict-Transport-Security"]


def test_production_refuses_an_untrusted_host(tmp_path):
    client = prod_app(tmp_path).test_client()
    refused = client.get("/about", base_url="https://evil.example")
    assert refused.status_code == 400
    assert "evil.example" not in refused.get_data(as_text=True)
    assert client.get("/about", base_url="https://exchange.example.kz").status_code == 200


@pytest.mark.parametrize(("proxies", "address"), [(0, "127.0.0.1"), (1, "203.0.113.9")])
def test_proxy_headers_count_only_when_proxies_are_trusted(tmp_path, caplog, proxies, address):
    client = prod_app(tmp_path, TRUSTED_PROXIES=proxies).test_client()
    forwarded = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https",
                 "X-Forwarded-Host": "exchange.example.kz", "X-Request-ID": "proxy-request-0001"}
    with caplog.at_level("INFO", logger="app.requests"):
        response = client.get("/about", headers=forwarded, base_url="http://exchange.example.kz")
    assert response.headers["X-Request-ID"] == "proxy-request-0001"
    lines = [r for r in caplog.records if r.name == "app.requests"]
    assert lines[-1].getMessage() == f"GET /about 200 {lines[-1].args[3]:.1f}ms {address}"
    assert lines[-1].request_id == "proxy-request-0001"


def test_a_form_over_plain_http_with_secure_cookies_says_https_not_expired(tmp_path):
    behind_proxy = prod_app(tmp_path, TRUSTED_PROXIES=1).test_client()
    behind_proxy.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    plain = behind_proxy.post("/login", data={"email": "a@b.kz", "password": "x"},
                              base_url="http://exchange.example.kz")
    assert plain.status_code == 400
    assert "https://" in plain.get_data(as_text=True)
    assert "expired" not in plain.get_data(as_text=True)
    over_tls = behind_proxy.post("/login", data={"email": "a@b.kz", "password": "x"},
                                 headers={"X-Forwarded-Proto": "https"}, base_url="http://exchange.example.kz")
    assert over_tls.status_code == 400
    assert "expired" in over_tls.get_data(as_text=True)


def test_absolute_links_come_from_base_url_not_the_host_header(tmp_path):
    app = prod_app(tmp_path)
    app.config["TRUSTED_HOSTS"] = None  # even if the host check were switched off
    with app.test_request_context("/", base_url="http://evil.example"):
        from flask import url_for

        assert url_for("main.about", _external=True) == "https://exchange.example.kz/about"
        assert url_for("main.about") == "/about"


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
