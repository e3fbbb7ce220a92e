"""Search in a real browser: a reader in the Kazakh interface types a Latin-script query into the header search
box, finds Kazakh (Cyrillic) demo case studies with the matched words highlighted, narrows the results by the
region facet and then the topic facet (plain GET form, bookmarkable URL), opens a result and sees its related
practices; an unknown filter value in the address gives a translated notice and is ignored; the results page on
a phone's width.

The queries rely on the imported demo case studies (app/case_studies/demo/case_studies.jsonl): "qogamdyq kenes"
(Latin letters for қоғамдық кеңес, "public council") finds the Kazakh case study of Almaty's public council
(``almaty-public-councils``: Almaty, topics civic participation and public councils) and, through the synonym
list, Russian texts about общественный совет; in Almaty it finds exactly that case study and the Onay transit card
(``almaty-onay-transit-card``: digital services, transport). The browser tests of case studies add Almaty case
studies of their own, none of them about public councils.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from flask_babel import force_locale
from playwright.sync_api import Locator
from playwright.sync_api import Page
from playwright.sync_api import expect

from app.case_studies.constants import TOPICS
from app.extensions import db
from app.regions.models import Region
from tests.browser.helpers import PHONE
from tests.browser.helpers import assert_no_horizontal_scroll
from tests.browser.helpers import follow
from tests.browser.helpers import html_lang
from tests.browser.helpers import path_of
from tests.browser.helpers import squash
from tests.browser.helpers import visit

pytestmark = pytest.mark.browser

QUERY = "qogamdyq kenes"  # Latin letters; the demo text says "қоғамдық кеңесі"
KAZAKH_CASE = "almaty-public-councils"
REGION = "KZ-75"  # Almaty
TOPIC = "public-councils"
ALMATY_MATCHES = {KAZAKH_CASE, "almaty-onay-transit-card"}


# --- helpers --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def kk(app_text) -> Callable[..., str]:
    """A message as the app renders it in Kazakh."""
    return lambda message, plural=None, **params: app_text("kk", message, plural, **params)


@pytest.fixture(scope="module")
def kk_name(live_app) -> Callable[[str, str], str]:
    """What the results page calls a region or a topic in Kazakh: ``kk_name("region", "KZ-75")``."""

    def _name(facet: str, code: str) -> str:
        with live_app.test_request_context(), force_locale("kk"):
            if facet == "region":
                return db.session.scalar(sa.select(Region).where(Region.iso_code == code)).name("kk")
            return str(TOPICS[code])

    return _name


def switch_to_kazakh(page: Page) -> None:
    follow(page, page.get_by_role("button", name="Қазақша", exact=True))
    assert html_lang(page) == "kk"


def hits(page: Page) -> Locator:
    return page.locator("article.search-hit")


def hit_slugs(page: Page) -> list[str]:
    """The case studies the results page lists, in order (their slugs)."""
    links = page.locator("article.search-hit h3 a")
    return [links.nth(i).get_attribute("href").removeprefix("/cases/") for i in range(links.count())]


def shown_count(page: Page) -> str:
    """The "N case studies" part of the result line (before the sort link)."""
    return squash(page.locator("p.result-count").text_content()).split(" · ")[0]


def query_args(page: Page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


def facet_checkbox(page: Page, kk, legend: str, label: str) -> tuple[Locator, int]:
    """The checkbox of ``label`` in the facet titled ``legend`` (Kazakh), and the count printed next to it."""
    fieldset = page.locator("aside.filters fieldset").filter(has=page.locator("legend", has_text=kk(legend)))
    box = fieldset.get_by_role("checkbox", name=re.compile(rf"^{re.escape(label)} \(\d+\)$"))
    expect(box).to_have_count(1)
    count = re.search(r"\((\d+)\)$", squash(box.locator("xpath=..").text_content())).group(1)
    return box, int(count)


def apply_filters(page: Page, kk) -> None:
    follow(page, page.locator("aside.filters").get_by_role("button", name=kk("Apply"), exact=True))


# --- 1. Latin query in the Kazakh interface, region and topic facets, a result and its related practices -----


def test_latin_query_in_kazakh_finds_kazakh_cases_narrows_by_region_and_topic_and_opens_one(
    new_context, demo_content, kk, kk_name
):
    assert not demo_content["problems"], f"the demo content did not load cleanly: {demo_content['problems']}"
    page = new_context().new_page()
    visit(page, "/about")
    switch_to_kazakh(page)

    # The header search box, typed into like anyone would, and the search button.
    header = page.locator("form.header-search")
    header.get_by_label(kk("Search case studies"), exact=True).fill(QUERY)
    follow(page, header.get_by_role("button", name=kk("Search"), exact=True))
    assert urlsplit(page.url).path == "/search"
    assert query_args(page) == {"q": [QUERY]}
    assert html_lang(page) == "kk"
    expect(page.locator("#search-q")).to_have_value(QUERY)

    found = hit_slugs(page)
    assert KAZAKH_CASE in found, f"{QUERY!r} did not find {KAZAKH_CASE}: {found}"
    assert len(found) > len(ALMATY_MATCHES), f"expected matches outside Almaty too: {found}"
    assert shown_count(page) == kk("%(num)s case study", "%(num)s case studies", num=len(found))

    # The Kazakh words the Latin query matched are highlighted in the title and the snippet.
    kazakh_hit = hits(page).filter(has=page.locator(f"h3 a[href='/cases/{KAZAKH_CASE}']"))
    title_marks = [m.lower() for m in kazakh_hit.locator("h3 mark").all_text_contents()]
    assert "қоғамдық" in title_marks and any(m.startswith("кеңес") for m in title_marks), title_marks
    snippet_marks = [m.lower() for m in kazakh_hit.locator("p.snippet mark").all_text_contents()]
    assert "қоғамдық" in snippet_marks, snippet_marks
    assert page.locator("article.search-hit mark").count() >= len(found)  # every hit shows why it matched

    # Region facet: Almaty, with the count the sidebar announces.
    region_box, region_count = facet_checkbox(page, kk, "Region", kk_name("region", REGION))
    expect(region_box).not_to_be_checked()
    region_box.check()
    apply_filters(page, kk)
    assert urlsplit(page.url).path == "/search"
    assert query_args(page) == {"q": [QUERY], "region": [REGION]}
    in_almaty = hit_slugs(page)
    assert set(in_almaty) == ALMATY_MATCHES, in_almaty
    assert region_count == len(in_almaty)
    assert shown_count(page) == kk("%(num)s case study", "%(num)s case studies", num=len(in_almaty))
    almaty = kk_name("region", REGION)
    metas = [squash(t) for t in page.locator("article.search-hit p.meta").all_text_contents()]
    assert all(meta.startswith(f"{almaty} · ") for meta in metas), metas
    expect(facet_checkbox(page, kk, "Region", almaty)[0]).to_be_checked()

    # Topic facet: public councils, on top of the region.
    topic_box, topic_count = facet_checkbox(page, kk, "Topic", kk_name("topic", TOPIC))
    topic_box.check()
    apply_filters(page, kk)
    assert query_args(page) == {"q": [QUERY], "region": [REGION], "topic": [TOPIC]}
    assert hit_slugs(page) == [KAZAKH_CASE]
    assert topic_count == 1
    assert shown_count(page) == kk("%(num)s case study", "%(num)s case studies", num=1)
    expect(facet_checkbox(page, kk, "Region", almaty)[0]).to_be_checked()
    expect(facet_checkbox(page, kk, "Topic", kk_name("topic", TOPIC))[0]).to_be_checked()
    expect(hits(page).locator("h3 mark").first).to_be_visible()
    bookmark = path_of(page)

    # The address is a bookmark: a new browser (its own cookies, asking for Kazakh) gets the same page.
    other = new_context(locale="kk-KZ").new_page()
    visit(other, bookmark)
    assert html_lang(other) == "kk"
    assert hit_slugs(other) == [KAZAKH_CASE]
    assert shown_count(other) == shown_count(page)
    expect(facet_checkbox(other, kk, "Topic", kk_name("topic", TOPIC))[0]).to_be_checked()

    # Open the result: the case page, in Kazakh, with links to related practices that open.
    follow(page, hits(page).get_by_role("link").first)
    assert path_of(page) == f"/cases/{KAZAKH_CASE}"
    assert html_lang(page) == "kk"
    expect(page.locator("h1")).to_contain_text("қоғамдық кеңесі")
    related = page.locator("section.related-practices")
    expect(related.get_by_role("heading", name=kk("Related practices"), exact=True)).to_be_visible()
    links = related.get_by_role("link")
    hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
    assert hrefs, "no related practices on the case page"
    assert all(re.fullmatch(r"/cases/[a-z0-9-]+", href) for href in hrefs), hrefs
    assert f"/cases/{KAZAKH_CASE}" not in hrefs, "the case study is listed as related to itself"
    assert len(set(hrefs)) == len(hrefs), hrefs
    first_title = squash(links.first.text_content())
    follow(page, links.first)
    assert path_of(page) == hrefs[0]
    expect(page.locator("h1")).to_have_text(first_title)


# --- 2. an unknown filter value typed into the address ---------------------------------------------------


def test_unknown_filter_value_gives_a_kazakh_notice_and_is_ignored(new_context, kk, kk_name):
    page = new_context(locale="kk-KZ").new_page()
    visit(page, f"/search?q=qogamdyq+kenes&topic={TOPIC}")
    expected = hit_slugs(page)
    assert KAZAKH_CASE in expected

    visit(page, f"/search?q=qogamdyq+kenes&topic={TOPIC}&region=XX-99")
    assert html_lang(page) == "kk"
    notices = [squash(t) for t in page.locator(".flash-warning").all_text_contents()]
    assert notices == [kk("Ignored an invalid value for “%(name)s”.", name=kk("Region"))]  # the facet's own name
    assert hit_slugs(page) == expected  # as if the bad value had not been there; the good filter still applies
    expect(page.locator("input[name='region'][value='XX-99']")).to_have_count(0)
    expect(facet_checkbox(page, kk, "Topic", kk_name("topic", TOPIC))[0]).to_be_checked()


# --- 3. phone -------------------------------------------------------------------------------------------


def test_results_page_in_kazakh_has_no_horizontal_scrolling_on_a_phone(new_context):
    page = new_context(locale="kk-KZ", **PHONE).new_page()
    visit(page, f"/search?q=qogamdyq+kenes&region={REGION}")
    assert html_lang(page) == "kk"
    expect(page.locator("article.search-hit").first).to_be_visible()
    assert_no_horizontal_scroll(page)
