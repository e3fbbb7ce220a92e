"""The API page (``/api``): reached from About, readable on a phone in every language, and its link gives the
OpenAPI document."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import PHONE
from tests.browser.helpers import assert_no_horizontal_scroll
from tests.browser.helpers import follow
from tests.browser.helpers import path_of
from tests.browser.helpers import visit

pytestmark = pytest.mark.browser

HEADINGS = {"en-US": "API for developers", "ru-RU": "API для разработчиков", "kk-KZ": "Әзірлеушілерге арналған API"}


@pytest.mark.parametrize("locale", list(HEADINGS))
def test_api_page_from_about_on_a_phone(new_context, locale, tmp_path):
    page = new_context(**PHONE, locale=locale).new_page()
    visit(page, "/about")
    follow(page, page.locator("main a[href='/api']"))
    assert path_of(page) == "/api"
    expect(page.locator("h1")).to_have_text(HEADINGS[locale])
    assert_no_horizontal_scroll(page)
    page.screenshot(path=str(tmp_path / f"api-{locale}.png"), full_page=True)

    link = page.locator("main a[href='/api/v1/openapi.json']")
    expect(link).to_be_visible()
    response = page.request.get(link.get_attribute("href"))
    assert response.status == 200 and response.headers["content-type"].startswith("application/json")
    assert response.json()["openapi"].startswith("3.1.")
