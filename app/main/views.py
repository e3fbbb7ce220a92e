"""Home page, the static pages (about, privacy notice, accessibility statement), the language switch, the crawler
files (robots.txt, sitemap.xml, favicon.ico) and the health check."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask import Blueprint
from flask import abort
from flask import current_app
from flask import jsonify
from flask import make_response
from flask import render_template
from flask import request
from flask import send_from_directory
from flask_babel import gettext as _
from flask_login import current_user

from app.case_studies import services as case_services
from app.case_studies.constants import case_labels
from app.case_studies.models import CaseStudy
from app.extensions import db
from app.i18n import remember_language
from app.main import health
from app.main import sitemap as site_map
from app.regions.models import Region
from app.regions.services import map_context
from app.urls import redirect_next

bp = Blueprint("main", __name__)

# When the accessibility statement was last reviewed against what the tests check: change it with the text.
ACCESSIBILITY_STATEMENT_DATE = date(2026, 12, 7)


@bp.route("/")
def home():
    """The front page."""
    region_count = db.session.scalar(sa.select(sa.func.count(Region.id)))
    latest = db.session.scalars(case_services.published_query().limit(6)).all()
    case_count = db.session.scalar(
        sa.select(sa.func.count(CaseStudy.id)).where(CaseStudy.is_published)
    )
    return render_template(
        "main/home.html", region_count=region_count, latest=latest, case_count=case_count, labels=case_labels(),
        **map_context(case_services.counts_by_region(), "case_studies.index"),
    )


@bp.route("/about")
def about():
    """What the exchange is, and the data credits."""
    return render_template("main/about.html")


@bp.route("/api")
def api():
    """The JSON API for developers: what it offers, and the link to its OpenAPI document."""
    return render_template("main/api.html")
@bp.route("/privacy")
def privacy():
    """The privacy notice: what the platform stores about people, why, for how long, and their rights."""
    return render_template("main/privacy.html", contact=current_app.config.get("CONTACT_EMAIL"))


@bp.route("/accessibility")
def accessibility():
    """The accessibility statement: the standards aimed at, what was tested, known limitations, whom to tell."""
    return render_template("main/accessibility.html", contact=current_app.config.get("CONTACT_EMAIL"),
                           statement_date=ACCESSIBILITY_STATEMENT_DATE)


@bp.route("/robots.txt")
def robots():
    """Crawler rules: public pages allowed, administration, accounts, write forms and the API not."""
    response = make_response("\n".join(site_map.robots_lines()) + "\n")
    response.mimetype = "text/plain"
    return response


@bp.route("/sitemap.xml")
def sitemap():
    """The sitemaps.org list of public pages with their last change."""
    response = make_response(render_template("main/sitemap.xml", entries=site_map.entries()))
    response.mimetype = "application/xml"
    return response


@bp.route("/favicon.ico")
def favicon():
    """The icon browsers ask for at the site root (pages also link the SVG one)."""
    return send_from_directory(current_app.static_folder, "favicon.ico", mimetype="image/vnd.microsoft.icon",
                               max_age=7 * 24 * 3600)


@bp.route("/language", methods=["POST"])
def set_language():
    """Switch the UI language: saved in the profile when logged in, in a cookie always."""
    lang = request.form.get("lang", "")
    if lang not in current_app.config["LANGUAGES"]:
        abort(400, description=_("Unknown language. Choose Kazakh, Russian or English."))
    if current_user.is_authenticated:
        current_user.preferred_language = lang
        db.session.commit()
    return remember_language(redirect_next(target=request.form.get("next")), lang)


@bp.route("/healthz")
def healthz():
    """Database, search index and outbox check for load balancers and monitoring (200, or 503)."""
    body, healthy = health.report()
    response = jsonify(body)
    response.status_code = 200 if healthy else 503
    response.headers["Cache-Control"] = "no-store"
    return response
