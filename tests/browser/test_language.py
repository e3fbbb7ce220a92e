"""The header language switch for a visitor who is not logged in."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import follow
from tests.browser.helpers import html_lang
from tests.browser.helpers import path_of
from tests.browser.helpers import visit

pytestmark = pytest.mark.browser


def test_anonymous_language_switch_is_remembered_by_cookie(page):
    visit(page, "/about")
    assert html_lang(page) == "en"  # from the browser's Accept-Language (en-US)
    expect(page.get_by_role("button", name="English", exact=True)).to_have_attribute("aria-pressed", "true")

    follow(page, page.get_by_role("button", name="Русский", exact=True))
    assert path_of(page) == "/about"  # back on the page where the switch was pressed
    assert html_lang(page) == "ru"
    expect(page.get_by_role("button", name="Русский", exact=True)).to_have_attribute("aria-pressed", "true")
    expect(page.get_by_role("button", name="English", exact=True)).to_have_attribute("aria-pressed", "false")
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["lang"]["value"] == "ru"
    assert cookies["lang"]["httpOnly"] is True

    # The next page, reached by typing its address, is still Russian although the browser asks for English.
    visit(page, "/regions/")
    assert html_lang(page) == "ru"
    expect(page.get_by_role("button", name="Русский", exact=True)).to_have_attribute("aria-pressed", "true")

    # And a new tab in the same browser too.
    other = page.context.new_page()
    visit(other, "/register")
    assert html_lang(other) == "ru"
    # The registration form proposes the visitor's current language as the preferred one.
    assert other.locator("select[name='preferred_language']").input_value() == "ru"
