"""The privacy notice, the accessibility statement and the audit log in a real browser: axe-clean (``visit`` and
``follow`` run axe on every page), in Kazakh and Russian, and no sideways scrolling on a phone."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from app.audit.services import record
from app.case_studies.models import CaseStudy
from app.cli import DEMO_PASSWORD
from app.extensions import db
from tests.browser.helpers import PHONE
from tests.browser.helpers import assert_no_horizontal_scroll
from tests.browser.helpers import follow
from tests.browser.helpers import html_lang
from tests.browser.helpers import log_in
from tests.browser.helpers import path_of
from tests.browser.helpers import visit

pytestmark = pytest.mark.browser

ADMIN_EMAIL = "admin@demo.example.kz"
LOCALES = {"kk": "kk-KZ", "ru": "ru-RU", "en": "en-US"}


@pytest.mark.parametrize("language", ["kk", "ru"])
@pytest.mark.parametrize("path", ["/privacy", "/accessibility"])
def test_statements_on_a_phone(new_context, app_text, language, path):
    page = new_context(locale=LOCALES[language], **PHONE).new_page()
    visit(page, path)
    assert html_lang(page) == language
    title = app_text(language, "Privacy notice" if path == "/privacy" else "Accessibility statement")
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    assert_no_horizontal_scroll(page)


@pytest.mark.parametrize("language", ["kk", "ru", "en"])
def test_footer_leads_to_both_statements(new_context, app_text, language):
    page = new_context(locale=LOCALES[language]).new_page()
    visit(page, "/")
    footer = page.locator("footer.site-footer")
    follow(page, footer.get_by_role("link", name=app_text(language, "Accessibility statement"), exact=True))
    assert path_of(page) == "/accessibility"
    expect(page.locator("main")).to_contain_text("СТ РК 2191-2023")
    follow(page, footer.get_by_role("link", name=app_text(language, "Privacy notice"), exact=True))
    assert path_of(page) == "/privacy"
    expect(page.locator("main")).to_contain_text("94-V")


@pytest.fixture
def withdrawn_entry(live_app) -> str:
    """An audit entry on a demo case study (by the system), so that the log has a row with a link; its title."""
    with live_app.app_context():
        case = db.session.scalars(sa.select(CaseStudy).where(CaseStudy.is_published).order_by(CaseStudy.id)).first()
        record(None, "case.withdrawn", case, {"slug": case.slug}, "Browser test: an outdated practice")
        db.session.commit()
        title = case.title
        db.session.remove()
    return title


@pytest.mark.parametrize("options", [{}, PHONE], ids=["desktop", "phone"])
def test_audit_log_for_the_admin(new_context, app_text, withdrawn_entry, options):
    page = new_context(**options).new_page()
    visit(page, "/login")
    log_in(page, ADMIN_EMAIL, DEMO_PASSWORD)
    # Russian, chosen with the switch (the demo admin's profile language is another test's to change).
    follow(page, page.get_by_role("button", name="Русский", exact=True))
    visit(page, "/admin/audit")
    assert html_lang(page) == "ru"
    row = page.get_by_role("row").filter(has_text="Browser test: an outdated practice").first
    expect(row).to_contain_text(app_text("ru", "case study withdrawn"))
    expect(row.get_by_role("link", name=withdrawn_entry)).to_be_visible()
    if options:
        assert_no_horizontal_scroll(page)

    # A filter the browser's date picker would not send, typed into the address: a message, not an error page.
    visit(page, "/admin/audit?since=31.12.2026", expect_status=400)
    message = app_text("ru", "Enter a date as YYYY-MM-DD, for example 2026-03-01.")
    expect(page.locator("#since-error")).to_have_text(message)
    if options:
        assert_no_horizontal_scroll(page)

    # Filtering by the action from the form.
    visit(page, "/admin/audit")
    page.get_by_label(app_text("ru", "Action"), exact=True).select_option(label=app_text("ru", "case study withdrawn"))
    follow(page, page.get_by_role("button", name=app_text("ru", "Show"), exact=True))
    assert "action=case.withdrawn" in page.url
    expect(page.get_by_role("row").filter(has_text="Browser test: an outdated practice").first).to_be_visible()
