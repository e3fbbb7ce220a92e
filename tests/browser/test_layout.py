"""Layout and keyboard: no sideways scrolling on a phone, and a skip link reached first with Tab."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import PHONE
from tests.browser.helpers import assert_no_horizontal_scroll
from tests.browser.helpers import path_of
from tests.browser.helpers import visit

pytestmark = pytest.mark.browser

# Whether an element is really on screen: a real size, inside the viewport, not hidden or clipped away.
ON_SCREEN_JS = """el => {
  const r = el.getBoundingClientRect();
  const s = getComputedStyle(el);
  const clipped = (s.clip && s.clip !== 'auto' && /rect\\(0(px)?,? 0(px)?,? 0(px)?,? 0(px)?\\)/.test(s.clip))
    || (s.clipPath && s.clipPath !== 'none' && /inset\\(50%\\)|circle\\(0/.test(s.clipPath));
  return r.width > 1 && r.height > 1 && r.right > 0 && r.bottom > 0
    && r.left < window.innerWidth && r.top < window.innerHeight
    && s.visibility !== 'hidden' && s.display !== 'none' && Number(s.opacity) > 0 && !clipped;
}"""


@pytest.mark.parametrize("path", ["/", "/regions/", "/register", "/search?q=%D0%B0%D1%83%D0%B4%D0%B0%D0%BD",
                                  "/privacy", "/accessibility"])
def test_phone_width_has_no_horizontal_scrolling(new_context, path):
    page = new_context(**PHONE).new_page()
    visit(page, path)
    assert_no_horizontal_scroll(page)


def test_tab_from_the_top_focuses_the_visible_skip_link(page):
    visit(page, "/")
    skip_link = page.locator("a.skip-link")
    expect(skip_link).to_have_attribute("href", "#main")

    page.keyboard.press("Tab")
    expect(skip_link).to_be_focused()
    assert skip_link.evaluate(ON_SCREEN_JS), (
        f"the focused skip link is not visible on screen: box {skip_link.bounding_box()}"
    )

    # Following it puts the keyboard focus on the main content.
    page.keyboard.press("Enter")
    expect(page.locator("main#main")).to_be_focused()
    assert path_of(page) == "/"


LABELS_BESIDE_CHECKBOXES_JS = """() => [...document.querySelectorAll('.filters .checkbox-list label')]
  .filter(l => l.offsetParent !== null)
  .map(l => {
    const box = l.querySelector('input').getBoundingClientRect();
    const text = l.querySelector('span').getBoundingClientRect();
    return {text: l.textContent.trim(), beside: text.left >= box.right - 0.5,
            oneLine: text.height < 2 * parseFloat(getComputedStyle(l).lineHeight || '20') + 2};
  })"""


@pytest.mark.parametrize("path", ["/search?q=%D0%B0%D1%83%D0%B4%D0%B0%D0%BD", "/cases/?topic=transport"])
def test_on_a_phone_the_filters_wait_behind_one_control_and_the_results_come_first(new_context, path):
    page = new_context(**PHONE).new_page()
    visit(page, path)
    toggle = page.locator("summary.filters-toggle")
    expect(toggle).to_be_visible()
    expect(toggle).to_contain_text("(1)" if "topic=" in path else "(0)")
    expect(page.locator(".filters-panel form")).to_be_hidden()
    first = page.locator("article.search-hit, article.case-card").first
    assert first.bounding_box()["y"] < PHONE["viewport"]["height"], "the first result is below the first screen"
    toggle.click()
    expect(page.locator(".filters-panel form")).to_be_visible()
    labels = page.evaluate(LABELS_BESIDE_CHECKBOXES_JS)
    assert labels and all(label["beside"] for label in labels), labels
    assert all(label["oneLine"] for label in labels if len(label["text"]) < 24), labels
    assert_no_horizontal_scroll(page)


def test_on_a_wide_screen_the_filters_are_open_and_long_labels_wrap_beside_their_checkbox(page):
    page.set_viewport_size({"width": 1280, "height": 900})
    visit(page, "/cases/")
    expect(page.locator("summary.filters-toggle")).to_be_hidden()
    expect(page.locator(".filters-panel form")).to_be_visible()
    labels = page.evaluate(LABELS_BESIDE_CHECKBOXES_JS)
    assert labels and all(label["beside"] for label in labels), [label for label in labels if not label["beside"]]
