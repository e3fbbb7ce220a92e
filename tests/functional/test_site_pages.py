"""The pages around the content: robots.txt, sitemap.xml, the favicon, the privacy notice and the accessibility
statement (in Kazakh, Russian and English, linked from every page's footer)."""

from __future__ import annotations

import io
from datetime import UTC
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from lxml import etree
from PIL import Image

from app.case_studies.models import CaseStudy
from tests.helpers import page_text
from tests.helpers import translated

ROOT = Path(__file__).resolve().parents[2]
SITEMAP_XSD = ROOT / "tests" / "data" / "sitemap.xsd"
NS = {"sm": "http://www.sitemaps.org/schemas/sitemap/0.9"}
LANGUAGES = ["kk", "ru", "en"]


def sitemap_urls(response) -> dict[str, str | None]:
    """``{loc: lastmod or None}`` of a sitemap response, after validating it against the sitemaps.org schema."""
    document = etree.fromstring(response.data)
    schema = etree.XMLSchema(etree.parse(str(SITEMAP_XSD)))
    assert schema.validate(document), schema.error_log
    return {url.findtext("sm:loc", namespaces=NS): url.findtext("sm:lastmod", namespaces=NS)
            for url in document.findall("sm:url", NS)}


# --- robots.txt ----------------------------------------------------------------------------------------


def test_robots_allows_public_pages_and_names_the_sitemap(client):
    response = client.get("/robots.txt")

    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    lines = response.get_data(as_text=True).splitlines()
    assert lines[0] == "User-agent: *"
    assert "Allow: /" in lines
    disallowed = {line.removeprefix("Disallow: ") for line in lines if line.startswith("Disallow: ")}
    assert {"/admin/", "/account", "/login", "/register", "/password/", "/api/", "/cases/new", "/cases/*/edit",
            "/meetings/new", "/meetings/*/registrations"} <= disallowed
    # Nothing public is shut out: the lists, the case pages, meetings, regions, search.
    for public in ["/cases/", "/cases/x", "/meetings", "/regions/", "/search", "/about", "/privacy"]:
        assert not any(public.startswith(rule.split("*")[0]) and "*" not in rule for rule in disallowed), public
    assert "Sitemap: http://localhost/sitemap.xml" in lines


@pytest.mark.parametrize("app_overrides", [{"TRUSTED_PROXIES": 1}])
def test_robots_behind_the_proxy_uses_the_forwarded_address_and_prefix(client):
    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "exchange.example.kz",
               "X-Forwarded-Prefix": "/exchange"}
    lines = client.get("/robots.txt", headers=headers).get_data(as_text=True).splitlines()
    assert "Sitemap: https://exchange.example.kz/exchange/sitemap.xml" in lines
    assert "Disallow: /exchange/admin/" in lines


# --- sitemap.xml ---------------------------------------------------------------------------------------


def test_sitemap_lists_published_content_only(client, make_case, make_meeting, db_session):
    published = make_case("published")
    draft = make_case("draft", title="A draft nobody may see")
    withdrawn = make_case("withdrawn", title="An outdated practice")
    meeting = make_meeting()
    db_session.execute(sa.update(CaseStudy).where(CaseStudy.slug == published)
                       .values(updated_at=datetime(2026, 3, 4, 22, 30, tzinfo=UTC)))
    db_session.commit()

    response = client.get("/sitemap.xml")

    assert response.status_code == 200
    assert response.mimetype == "application/xml"
    urls = sitemap_urls(response)
    base = "http://localhost"
    assert urls[f"{base}/cases/{published}"] == "2026-03-04"
    assert f"{base}/cases/{draft}" not in urls and f"{base}/cases/{withdrawn}" not in urls
    assert f"{base}/meetings/{meeting}" in urls
    regions = [loc for loc in urls if "/regions/KZ-" in loc]
    assert len(regions) == 20
    # A region's last change is its newest published case study's (Almaty, KZ-75, owns the published one).
    assert urls[f"{base}/regions/KZ-75"] == "2026-03-04"
    assert urls[f"{base}/regions/KZ-11"] is None
    for page in ["/", "/cases/", "/meetings", "/regions/", "/rotation", "/about", "/privacy", "/accessibility"]:
        assert f"{base}{page}" in urls, page
    assert not any("/admin" in loc or "/login" in loc or "/api/" in loc for loc in urls)


def test_every_sitemap_url_answers(client, make_case, make_meeting):
    make_case("published")
    make_meeting()
    urls = sitemap_urls(client.get("/sitemap.xml"))
    assert len(urls) == 8 + 1 + 1 + 20  # static pages, the case, the meeting, the regions
    for loc in urls:
        assert client.get(urlsplit(loc).path).status_code == 200, loc


@pytest.mark.parametrize("app_overrides", [{"BASE_URL": "https://exchange.example.kz"}])
def test_sitemap_urls_start_with_base_url(client, make_case):
    slug = make_case("published")
    urls = sitemap_urls(client.get("/sitemap.xml", headers={"Host": "attacker.example"}))
    assert f"https://exchange.example.kz/cases/{slug}" in urls
    assert all(loc.startswith("https://exchange.example.kz/") for loc in urls)


# --- favicon -------------------------------------------------------------------------------------------


def test_favicon_ico_is_a_real_icon(client):
    with client.get("/favicon.ico") as response:  # a file response: closed, or the file stays open
        assert response.status_code == 200
        assert response.mimetype == "image/vnd.microsoft.icon"
        assert response.data == (ROOT / "static" / "favicon.ico").read_bytes()
    icon = Image.open(io.BytesIO(response.data))
    assert icon.format == "ICO"
    assert {(16, 16), (32, 32)} <= set(icon.info["sizes"])


def test_pages_link_both_icons(client):
    page = client.get("/").get_data(as_text=True)
    assert '<link rel="icon" href="/favicon.ico"' in page
    assert '<link rel="icon" href="/static/img/favicon.svg" type="image/svg+xml">' in page
    with client.get("/static/img/favicon.svg") as svg:
        assert svg.status_code == 200 and svg.data.startswith(b"<svg")


# --- privacy notice and accessibility statement ----------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_privacy_notice_in_each_language(app, client, language):
    client.set_cookie("lang", language)
    response = client.get("/privacy")

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert f'<html lang="{language}">' in page
    body = page_text(response)
    assert translated(app, "Privacy notice", language) in body
    assert "94-V" in body and "2013" in body
    for message in ["The audit log", "Request logs", "Rate limits", "Cookies", "Your rights"]:
        assert translated(app, message, language) in body, message
    for cookie in ["session", "remember_token", "lang"]:
        assert f"<code>{cookie}</code>" in page
    if language != "en":
        assert "Privacy notice" not in body, "an untranslated heading"


@pytest.mark.parametrize("language", LANGUAGES)
def test_accessibility_statement_in_each_language(app, client, language):
    client.set_cookie("lang", language)
    response = client.get("/accessibility")

    assert response.status_code == 200
    assert f'<html lang="{language}">' in response.get_data(as_text=True)
    body = page_text(response)
    assert translated(app, "Accessibility statement", language) in body
    assert "СТ РК 2191-2023" in body and "WCAG" in body and "2.1" in body and "axe-core" in body
    for message in ["How it was checked", "Known limitations", "Tell us about a barrier"]:
        assert translated(app, message, language) in body, message
    assert "2026" in body  # the date of the statement
    if language != "en":
        assert "Known limitations" not in body


@pytest.mark.parametrize("app_overrides", [{"CONTACT_EMAIL": "dpo@exchange.example.kz"}])
@pytest.mark.parametrize("path", ["/privacy", "/accessibility"])
def test_statements_give_the_configured_contact(client, path):
    page = client.get(path).get_data(as_text=True)
    assert '<a href="mailto:dpo@exchange.example.kz">dpo@exchange.example.kz</a>' in page


def test_without_a_configured_contact_the_pages_say_so(client):
    body = page_text(client.get("/privacy"))
    assert "the operator has not yet published a contact address here" in body
    assert "mailto:" not in client.get("/accessibility").get_data(as_text=True)


@pytest.mark.parametrize("language", LANGUAGES)
def test_footer_links_the_statements(app, client, language):
    client.set_cookie("lang", language)
    page = client.get("/meetings").get_data(as_text=True)
    footer = page[page.index('<footer class="site-footer">'):]
    assert f'href="/privacy">{translated(app, "Privacy notice", language)}</a>' in footer
    assert f'href="/accessibility">{translated(app, "Accessibility statement", language)}</a>' in footer


def test_the_notice_names_every_cookie_the_app_sets(client, make_user):
    """The notice lists session, remember_token and lang: a cookie the app sets must be among them."""
    user = make_user("reader")
    set_cookies = []
    responses = [
        client.get("/login"),
        client.post("/login", data={"email": user.email, "password": user.password, "remember": "y"}),
        client.post("/language", data={"lang": "kk", "next": "/"}),
        client.get("/"),
    ]
    for response in responses:
        set_cookies += [header.split("=", 1)[0] for header in response.headers.getlist("Set-Cookie")]
    assert set(set_cookies) == {"session", "remember_token", "lang"}
