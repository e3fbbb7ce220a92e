"""Atom 1.0 feeds (RFC 4287) of published case studies: all, per region, per topic.

Only published case studies appear (drafts and withdrawn ones never do): the feeds are built on
``services.published_query``. Feed titles are in the request's language; each entry carries the case
study's own language in ``xml:lang``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime

import sqlalchemy as sa
from flask import Blueprint
from flask import Response
from flask import abort
from flask import url_for
from flask_babel import gettext as _

from app.case_studies import services
from app.case_studies.constants import TOPICS
from app.case_studies.models import CaseStudy
from app.clock import iso_utc
from app.clock import utcnow
from app.extensions import db
from app.i18n import current_language
from app.inputs import xml_text
from app.markdown import plain_text
from app.regions.models import Region

bp = Blueprint("feeds", __name__, url_prefix="/feeds")

ATOM_NS = "http://www.w3.org/2005/Atom"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
ATOM_CONTENT_TYPE = "application/atom+xml; charset=utf-8"
FEED_SIZE = 50
SUMMARY_CHARS = 500


def atom_time(value: datetime | None) -> str:
    """An RFC 3339 timestamp in UTC, to the second (now for None)."""
    return iso_utc(value or utcnow())


def _el(parent: ET.Element, name: str, text: str | None = None, **attrs) -> ET.Element:
    # ElementTree writes control characters as they are, and one in any title makes the whole feed ill-formed.
    element = ET.SubElement(parent, name, {k: xml_text(str(v)) for k, v in attrs.items()})
    if text is not None:
        element.text = xml_text(text)
    return element


def _entry(feed: ET.Element, case: CaseStudy) -> None:
    url = url_for("case_studies.detail", slug=case.slug, _external=True)
    entry = _el(feed, "entry", **{XML_LANG: case.language})
    _el(entry, "id", url)
    _el(entry, "title", case.title, type="text")
    _el(entry, "updated", atom_time(case.updated_at))
    _el(entry, "published", atom_time(case.published_at or case.updated_at))
    author = _el(entry, "author")
    _el(author, "name", case.author_name or case.akimat.name())
    _el(entry, "link", rel="alternate", type="text/html", href=url)
    for topic in case.topics:
        _el(entry, "category", term=topic, label=str(TOPICS.get(topic, topic)))
    summary = case.summary or plain_text(case.problem, SUMMARY_CHARS)
    _el(entry, "summary", summary, type="text")


def build_feed(cases: list[CaseStudy], *, title: str, self_url: str, alternate_url: str) -> bytes:
    """Serialise ``cases`` as an Atom feed document (UTF-8 bytes with an XML declaration)."""
    # Unprefixed Atom elements under a default namespace declared by hand (ElementTree's default_namespace
    # option refuses unqualified attributes such as rel and href).
    feed = ET.Element("feed", {"xmlns": ATOM_NS, XML_LANG: current_language()})
    _el(feed, "id", self_url)
    _el(feed, "title", title, type="text")
    _el(feed, "updated", max((atom_time(case.updated_at) for case in cases), default=atom_time(None)))
    _el(feed, "link", rel="self", type="application/atom+xml", href=self_url)
    _el(feed, "link", rel="alternate", type="text/html", href=alternate_url)
    author = _el(feed, "author")
    _el(author, "name", _("Akims' Experience Exchange"))
    _el(feed, "generator", "Akims' Experience Exchange")
    for case in cases:
        _entry(feed, case)
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


def _respond(filters: services.ListFilters, *, title: str, self_url: str, alternate_url: str) -> Response:
    cases = list(db.session.scalars(services.published_query(filters).limit(FEED_SIZE)))
    body = build_feed(cases, title=title, self_url=self_url, alternate_url=alternate_url)
    response = Response(body, content_type=ATOM_CONTENT_TYPE)
    response.vary.update(("Accept-Language", "Cookie"))  # the feed title follows the reader's language
    return response


@bp.route("/cases.atom")
def all_cases():
    """The 50 most recently published case studies."""
    return _respond(
        services.ListFilters(),
        title=_("Case studies of akimats of Kazakhstan"),
        self_url=url_for("feeds.all_cases", _external=True),
        alternate_url=url_for("case_studies.index", _external=True),
    )


@bp.route("/regions/<iso_code>.atom")
def region_cases(iso_code: str):
    """The 50 most recently published case studies of one region (ISO 3166-2 code, e.g. KZ-75)."""
    code = iso_code.upper()
    region = db.session.scalar(sa.select(Region).where(Region.iso_code == code)) if len(code) <= 6 else None
    if region is None:
        abort(404)
    return _respond(
        services.ListFilters(regions=[region.iso_code]),
        title=_("Case studies: %(region)s", region=region.name()),
        self_url=url_for("feeds.region_cases", iso_code=region.iso_code, _external=True),
        alternate_url=url_for("case_studies.index", region=region.iso_code, _external=True),
    )


@bp.route("/topics/<topic>.atom")
def topic_cases(topic: str):
    """The 50 most recently published case studies on one topic."""
    if topic not in TOPICS:
        abort(404)
    return _respond(
        services.ListFilters(topics=[topic]),
        title=_("Case studies: %(topic)s", topic=TOPICS[topic]),
        self_url=url_for("feeds.topic_cases", topic=topic, _external=True),
        alternate_url=url_for("case_studies.index", topic=topic, _external=True),
    )
