"""What ``/sitemap.xml`` and ``/robots.txt`` list: public pages with absolute URLs and their last change.

URLs are built with ``url_for(..., _external=True)``, which starts them with ``BASE_URL`` when it is set (see
``ExchangeFlask.url_for``) and otherwise with the host that ProxyFix took from the trusted proxy, as the feeds do.
The language is chosen by cookie or profile, not by URL (``app/i18n.py``), so one URL serves all three languages
and the sitemap has no ``hreflang`` alternates.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from datetime import datetime

import sqlalchemy as sa
from flask import request
from flask import url_for

from app.case_studies.models import CaseStudy
from app.extensions import db
from app.meetings.models import Meeting
from app.regions.models import Region

# Pages without a record behind them, in the order the sitemap lists them.
STATIC_ENDPOINTS = ("main.home", "case_studies.index", "meetings.index", "regions.index", "rotation.plan",
                    "main.about", "main.privacy", "main.accessibility")

# Paths a crawler has no business in: administration, accounts, forms that write, and the JSON API (a machine
# interface; its read side is documented for integrators, not for search engines). Crawlers follow no POST
# form, so POST-only URLs need no line. ``*`` is a wildcard (RFC 9309, section 2.2.3).
DISALLOWED = ("/admin/", "/account", "/login", "/logout", "/register", "/password/", "/language", "/api/",
              "/cases/new", "/cases/mine", "/cases/following", "/cases/*/edit", "/meetings/new",
              "/meetings/*/edit", "/meetings/*/registrations", "/meetings/*/programme", "/meetings/*/propose",
              "/meetings/*/agenda/new", "/meetings/*/agenda/*/edit")


@dataclass(frozen=True)
class Entry:
    """One ``<url>`` of the sitemap."""

    loc: str
    lastmod: date | None = None


def _day(moment: datetime | None) -> date | None:
    return moment.date() if moment is not None else None


def entries() -> list[Entry]:
    """Every public page worth crawling: the static pages, published case studies, meetings and regions.

    A region's last change is that of its most recently updated published case study (the profile lists them).
    """
    found = [Entry(url_for(endpoint, _external=True)) for endpoint in STATIC_ENDPOINTS]
    cases = db.session.execute(
        sa.select(CaseStudy.slug, CaseStudy.updated_at).where(CaseStudy.is_published).order_by(CaseStudy.slug)
    )
    found += [Entry(url_for("case_studies.detail", slug=slug, _external=True), _day(updated))
              for slug, updated in cases]
    meetings = db.session.execute(sa.select(Meeting.id, Meeting.updated_at).order_by(Meeting.id))
    found += [Entry(url_for("meetings.detail", meeting_id=mid, _external=True), _day(updated))
              for mid, updated in meetings]
    latest = (
        sa.select(CaseStudy.region_id, sa.func.max(CaseStudy.updated_at).label("updated"))
        .where(CaseStudy.is_published).group_by(CaseStudy.region_id).subquery()
    )
    regions = db.session.execute(
        sa.select(Region.iso_code, latest.c.updated).outerjoin(latest, latest.c.region_id == Region.id)
        .order_by(Region.iso_code)
    )
    found += [Entry(url_for("regions.profile", iso_code=iso, _external=True), _day(updated))
              for iso, updated in regions]
    return found


def robots_lines() -> list[str]:
    """The lines of ``robots.txt``: everything allowed but :data:`DISALLOWED`, and where the sitemap is."""
    root = request.script_root  # behind a proxy that mounts the app under a prefix (X-Forwarded-Prefix)
    return [
        "User-agent: *",
        f"Allow: {root}/",
        *(f"Disallow: {root}{path}" for path in DISALLOWED),
        "",
        f"Sitemap: {url_for('main.sitemap', _external=True)}",
    ]
