"""Helpers for the browser tests: navigation that always runs the accessibility check.

Every page a test reaches must go through :func:`visit` (typed address) or :func:`follow` (a click that loads a
new page: a link or a form's submit button). Both wait for the page to load, check the HTTP status and run
:func:`assert_accessible`. The ``page`` fixtures also watch every main-frame navigation and fail the test at
teardown when one was never checked, so a forgotten check cannot pass silently.
"""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass
from dataclasses import field
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import urldefrag
from urllib.parse import urlsplit

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Locator
from playwright.sync_api import Page

AXE = Axe()
BLOCKING_IMPACTS = ("serious", "critical")
TARGETS_SHOWN = 3


@dataclass
class NavigationLog:
    """The main-frame documents a page has loaded, and which of them passed through the a11y check."""

    urls: list[str] = field(default_factory=list)
    checked: set[int] = field(default_factory=set)

    def unchecked(self) -> list[str]:
        return [url for index, url in enumerate(self.urls) if index not in self.checked]


_LOGS: dict[Page, NavigationLog] = {}

# The HTML of every page the browser tests reached (as the server sent it), for the Nu HTML Checker run of
# tests/browser/test_zz_html_checker.py: {"<path> [<lang>]": html}. Bounded: later pages of one path replace
# earlier ones.
VISITED_HTML: dict[str, str] = {}
MAX_VISITED_HTML = 600


def keep_html(page: Page, response) -> None:
    """Remember the server's HTML of a page just reached (nothing for files, JSON or a missing response)."""
    if response is None or "text/html" not in (response.headers.get("content-type") or ""):
        return
    try:
        html = response.text()
    except Exception:  # a redirect's body or a closed page: nothing to check
        return
    key = f"{path_of(page)} [{html_lang(page)}]"
    if key in VISITED_HTML or len(VISITED_HTML) < MAX_VISITED_HTML:
        VISITED_HTML[key] = html


def track(page: Page) -> Page:
    """Start recording ``page``'s navigations (called by the fixtures for every page they create)."""
    if page in _LOGS:
        return page
    log = _LOGS[page] = NavigationLog()

    def on_navigated(frame) -> None:
        if frame != page.main_frame or frame.url in ("", "about:blank"):
            return
        # A fragment change (#main) stays on the same document: nothing new to check.
        if log.urls and urldefrag(log.urls[-1]).url == urldefrag(frame.url).url:
            return
        log.urls.append(frame.url)

    page.on("framenavigated", on_navigated)
    return page


def untrack(page: Page) -> list[str]:
    """Stop recording ``page``; return the URLs it loaded that were never accessibility-checked."""
    log = _LOGS.pop(page, None)
    return log.unchecked() if log else []


def assert_accessible(page: Page) -> None:
    """Run axe-core on the current page; fail listing every "serious" or "critical" violation."""
    page.wait_for_load_state("load")
    results = AXE.run(page)
    blocking = [v for v in results.response["violations"] if v.get("impact") in BLOCKING_IMPACTS]
    log = _LOGS.get(page)
    if log is not None and log.urls:
        log.checked.add(len(log.urls) - 1)
    if blocking:
        lines = [f"{len(blocking)} serious/critical accessibility violation(s) on {page.url}:"]
        for violation in blocking:
            targets = [
                " ".join(map(str, node["target"])) if isinstance(node["target"], list) else str(node["target"])
                for node in violation["nodes"][:TARGETS_SHOWN]
            ]
            more = len(violation["nodes"]) - TARGETS_SHOWN
            lines.append(
                f"  - {violation['id']} ({violation['impact']}): {violation['help']} "
                f"[{len(violation['nodes'])} element(s): {', '.join(targets)}{f', +{more} more' if more > 0 else ''}]"
                f" {violation.get('helpUrl', '')}"
            )
        pytest.fail("\n".join(lines), pytrace=False)


def _check_status(page: Page, response, expect_status: int | None) -> None:
    if expect_status is None:
        return
    assert response is not None, f"no HTTP response for {page.url}"
    assert response.status == expect_status, f"{page.url}: HTTP {response.status}, expected {expect_status}"


def visit(page: Page, path: str, *, expect_status: int | None = 200) -> Page:
    """Open ``path`` (relative to the context's base URL), check the status and the accessibility."""
    response = page.goto(path, wait_until="load")
    _check_status(page, response, expect_status)
    assert_accessible(page)
    assert_fits(page)
    keep_html(page, response)
    return page


def follow(page: Page, target: Locator, *, expect_status: int | None = 200) -> Page:
    """Click ``target`` (a link or submit button), wait for the new page, check status and accessibility."""
    with page.expect_navigation(wait_until="load") as navigation:
        target.click()
    _check_status(page, navigation.value, expect_status)
    assert_accessible(page)
    assert_fits(page)
    keep_html(page, navigation.value)
    return page


def path_of(page: Page) -> str:
    """The path (and query) of the page's URL."""
    parts = urlsplit(page.url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def html_lang(page: Page) -> str | None:
    return page.locator("html").get_attribute("lang")


def read_outbox(folder: str | Path, to: str | None = None) -> list[EmailMessage]:
    """The .eml files the app wrote to ``folder``, oldest first, parsed; only those to ``to`` if given."""
    folder = Path(folder)
    if not folder.exists():
        return []
    messages = [
        email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        for path in sorted(folder.glob("*.eml"))
    ]
    if to is not None:
        messages = [m for m in messages if to.lower() in str(m["To"]).lower()]
    return messages


def squash(text: str) -> str:
    """Collapse runs of whitespace (e-mail bodies wrap and indent)."""
    return re.sub(r"\s+", " ", text).strip()


def log_in(page: Page, email: str, password: str) -> None:
    """Fill the login form (already open, in English) and submit it."""
    page.get_by_label("E-mail", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    follow(page, page.get_by_role("button", name="Log in", exact=True))


# A phone: 375 CSS pixels wide, as in the layout tests.
PHONE_WIDTH = 375
PHONE = {
    "viewport": {"width": PHONE_WIDTH, "height": 812},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}

# Elements whose right edge passes ``width`` (outermost ones only): what to fix when a page scrolls sideways.
_OVERFLOWING_JS = """width => {
  const describe = el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
    + (el.classList.length ? '.' + [...el.classList].join('.') : '');
  return [...document.querySelectorAll('body *')]
    .filter(el => el.getBoundingClientRect().right > width + 0.5)
    .filter(el => !el.parentElement || el.parentElement.getBoundingClientRect().right <= width + 0.5)
    .slice(0, 10)
    .map(el => `${describe(el)} (right edge ${Math.round(el.getBoundingClientRect().right)}px)`);
}"""


def assert_fits(page: Page) -> None:
    """Every page a browser test visits, at any width: nothing wider than the viewport (no sideways scrolling)."""
    width = page.viewport_size["width"] if page.viewport_size else None
    if width is not None:
        assert_no_horizontal_scroll(page, width)


def assert_no_horizontal_scroll(page: Page, width: int = PHONE_WIDTH) -> None:
    """Fail when the page is wider than ``width`` (the layout viewport of a phone), naming the culprits."""
    scroll_width, inner_width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    # A mobile browser widens the layout viewport to fit content that is too wide, so both must stay at width.
    assert scroll_width <= inner_width == width, (
        f"{path_of(page)} scrolls sideways on a {width}px phone: scrollWidth {scroll_width}px, "
        f"innerWidth {inner_width}px; too wide: {page.evaluate(_OVERFLOWING_JS, width)}"
    )
