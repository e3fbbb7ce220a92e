"""Akims' Experience Exchange: the application factory."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from app.security import TrustedHostMiddleware
from config import Config
from config import config_from_env


class ExchangeFlask(Flask):
    """Flask, with absolute URLs built from ``BASE_URL`` when it is set.

    E-mails, feeds and calendars are read away from the request that made them: their links must point at the
    public address, never at whatever Host header the request carried (a forged one would put an attacker's
    host in a password-reset mail). ``TRUSTED_HOSTS`` refuses such requests too; this is the second lock.
    """

    def url_for(self, endpoint: str, *, _anchor=None, _method=None, _scheme=None, _external=None, **values) -> str:
        """Build a URL as Flask does; an external one starts with ``BASE_URL``'s scheme and host."""
        base = self.config.get("BASE_URL")
        if not base or not _external:
            return super().url_for(endpoint, _anchor=_anchor, _method=_method, _scheme=_scheme,
                                   _external=_external, **values)
        path = super().url_for(endpoint, _anchor=_anchor, _method=_method, _external=False, **values)
        origin = urlsplit(base)
        return f"{_scheme or origin.scheme}://{origin.netloc}{path}"


def create_app(config_class: type[Config] | None = None, **overrides) -> Flask:
    """Build the Flask application.

    :param config_class: configuration class; default from ``APP_ENV``.
    :param overrides: individual settings that win over the class (used by tests).
    """
    config_class = config_class or config_from_env()
    app = ExchangeFlask(__name__, template_folder="../templates", static_folder="../static")
    app.config.from_object(config_class)
    app.config.update(overrides)
    app.json.ensure_ascii = False  # UTF-8 JSON: Cyrillic stays readable in the API
    config_class.validate(app.config)
    if app.config.get("TRUSTED_HOSTS"):
        app.wsgi_app = TrustedHostMiddleware(app.wsgi_app, app.config["TRUSTED_HOSTS"])
    if app.config.get("TRUSTED_PROXIES"):  # outermost, so the host check sees the client's forwarded host
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops, x_prefix=hops)

    _ensure_dirs(app)
    register_extensions(app)
    register_blueprints(app)
    register_commands(app)
    return app


def _ensure_dirs(app: Flask) -> None:
    """Create the folder of an SQLite database file, so a fresh checkout runs as it is."""
    from sqlalchemy.engine import make_url

    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)


def register_extensions(app: Flask) -> None:
    """Bind the extension objects to ``app``."""
    from app import api
    from app import database
    from app import i18n
    from app import mail
    from app import markdown
    from app import policy
    from app import requestlog
    from app import security
    from app import urls
    from app.auth import session as auth_session
    from app.extensions import csrf
    from app.extensions import db
    from app.extensions import limiter
    from app.extensions import migrate
    from app.search.index import search

    requestlog.init_app(app)
    urls.init_app(app)  # first: the blueprints' rules bind their converters when they are added
    api.init_app(app)
    database.set_engine_options(app)
    db.init_app(app)
    database.configure_engine(app)
    migrate.init_app(app, db, directory=app.config["MIGRATIONS_DIR"])
    csrf.init_app(app)
    limiter.init_app(app)
    i18n.init_app(app)
    auth_session.init_app(app)
    mail.init_app(app)
    security.init_app(app)
    search.init_app(app)
    app.jinja_env.filters["markdown"] = markdown.render  # long texts (descriptions, agenda items) as Markdown
    app.before_request(policy.enforce)


def register_blueprints(app: Flask) -> None:
    """Register every feature's blueprints and the error handlers."""
    from app import openapi
    from app.admin.views import bp as admin_bp
    from app.auth.views import bp as auth_bp
    from app.case_studies.api import bp as cases_api_bp
    from app.case_studies.attachments.views import bp as attachments_bp
    from app.case_studies.engagement.views import bp as engagement_bp
    from app.case_studies.feeds import bp as feeds_bp
    from app.case_studies.views import bp as case_studies_bp
    from app.main import errors
    from app.main.views import bp as main_bp
    from app.meetings.api import bp as meetings_api_bp
    from app.meetings.certificates.views import bp as certificates_bp
    from app.meetings.commitments.views import bp as commitments_bp
    from app.meetings.programme.views import bp as programme_bp
    from app.meetings.questions.views import bp as questions_bp
    from app.meetings.rotation.api import bp as rotation_api_bp
    from app.meetings.rotation.views import bp as rotation_bp
    from app.meetings.views import bp as meetings_bp
    from app.regions.views import api_bp as regions_api_bp
    from app.regions.views import bp as regions_bp
    from app.search.saved.views import bp as saved_searches_bp
    from app.search.views import api_bp as search_api_bp
    from app.search.views import bp as search_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(case_studies_bp)
    app.register_blueprint(attachments_bp)
    app.register_blueprint(engagement_bp)
    app.register_blueprint(feeds_bp)
    app.register_blueprint(cases_api_bp)
    app.register_blueprint(regions_bp)
    app.register_blueprint(regions_api_bp)
    app.register_blueprint(search_bp)
    app.register_blueprint(search_api_bp)
    app.register_blueprint(saved_searches_bp)
    app.register_blueprint(meetings_bp)
    app.register_blueprint(meetings_api_bp)
    app.register_blueprint(rotation_bp)
    app.register_blueprint(rotation_api_bp)
    app.register_blueprint(programme_bp)
    app.register_blueprint(questions_bp)
    app.register_blueprint(commitments_bp)
    app.register_blueprint(certificates_bp)
    app.register_blueprint(openapi.bp)
    errors.init_app(app)


def register_commands(app: Flask) -> None:
    """Register the ``flask`` CLI commands."""
    from app import cli
    from app.backup import commands as backup_commands
    from app.case_studies import commands as case_commands
    from app.case_studies import digest
    from app.meetings import commands as meeting_commands
    from app.search import commands as search_commands

    cli.init_app(app)
    case_commands.init_app(app)
    digest.init_app(app)
    meeting_commands.init_app(app)
    search_commands.init_app(app)
    backup_commands.init_app(app)
