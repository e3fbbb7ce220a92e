"""Meetings in a real browser: the demo organiser creates a meeting from a rotation slot and opens registration;
one person registers (and gets the confirmation with the .ics), a second lands on the waitlist and is promoted
when the first cancels (and is told by e-mail); the organiser sees the list. axe-core checks every page.

Buttons and fields are found by their form action and field id, and texts are compared with the app's own
rendering in the page's language (``app_text``), so the test holds in any of the three languages.
"""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Page
from playwright.sync_api import expect

from app.auth.models import User
from app.auth.services import hash_password
from app.cli import DEMO_PASSWORD
from app.extensions import db
from tests.browser.helpers import PHONE
from tests.browser.helpers import assert_no_horizontal_scroll
from tests.browser.helpers import follow
from tests.browser.helpers import html_lang
from tests.browser.helpers import log_in
from tests.browser.helpers import path_of
from tests.browser.helpers import read_outbox
from tests.browser.helpers import visit

pytestmark = pytest.mark.browser

ORGANISER = "organiser@demo.example.kz"  # Ерлан Жақсыбеков, reads Kazakh


def make_person(live_app, name: str, language: str) -> str:
    """A fresh reader account (unique e-mail) with the demo password; returns the e-mail."""
    email = f"meeting-{uuid.uuid4().hex[:8]}@browser-tests.example.kz"
    with live_app.app_context():
        db.session.add(User(email=email, full_name=name, password_hash=hash_password(DEMO_PASSWORD), role="reader",
                            preferred_language=language))
        db.session.commit()
        db.session.remove()
    return email


def logged_in(new_context, email: str) -> Page:
    page = new_context().new_page()
    visit(page, "/login")
    log_in(page, email, DEMO_PASSWORD)
    return page


def click_form(page: Page, selector: str) -> Page:
    """Submit the form matching ``selector`` with its button (a new page, checked by axe)."""
    return follow(page, page.locator(selector).locator("button[type=submit]"))


def ics_names(message) -> list[str]:
    return [part.get_filename() for part in message.iter_attachments() if part.get_content_type() == "text/calendar"]


def test_register_waitlist_and_promotion(new_context, live_app, outbox_dir, app_text):
    title = f"Exchange meeting in Kostanay {uuid.uuid4().hex[:6]}"

    # 1. The organiser creates the meeting from a rotation slot (host prefilled) with one seat, and opens it.
    organiser = logged_in(new_context, ORGANISER)
    visit(organiser, "/meetings/new?scope=national&year=2027&slot=1&host=KZ-39")
    expect(organiser.locator("#host")).to_have_value("national/KZ-39")
    expect(organiser.locator("#year")).to_have_value("2027")
    organiser.locator("#title").fill(title)
    organiser.locator("#starts_at").fill("2027-09-12T10:00")
    organiser.locator("#ends_at").fill("2027-09-12T18:00")
    organiser.locator("#city").fill("Kostanay")
    organiser.locator("#venue").fill("Regional akimat, assembly hall")
    organiser.locator("#capacity").fill("1")
    follow(organiser, organiser.locator("#save"))
    match = re.fullmatch(r"/meetings/(\d+)", path_of(organiser))
    assert match, path_of(organiser)
    meeting_id = int(match.group(1))
    click_form(organiser, "form:has(input[name=state][value=registration_open])")
    language = html_lang(organiser)
    expect(organiser.locator(".meeting-state").first).to_have_text(app_text(language, "Registration open"))

    # 2. The first person reads the list, opens the meeting and registers: a seat, and the .ics by e-mail.
    first_email = make_person(live_app, "Asel Nurpeisova", "en")
    first = logged_in(new_context, first_email)
    visit(first, "/meetings")
    follow(first, first.get_by_role("link", name=title))
    assert path_of(first) == f"/meetings/{meeting_id}"
    click_form(first, f"form[action='/meetings/{meeting_id}/register']")
    registered = app_text("en", "You are registered: a seat is kept for you.")
    expect(first.locator("#my-registration")).to_have_text(registered)
    (confirmation,) = read_outbox(outbox_dir, to=first_email)
    assert ics_names(confirmation) == ["meeting.ics"]

    # 3. The second person finds the meeting full and joins the waitlist.
    second_email = make_person(live_app, "Бауыржан Ахметов", "ru")
    second = logged_in(new_context, second_email)
    visit(second, f"/meetings/{meeting_id}")
    second_language = html_lang(second)
    click_form(second, f"form[action='/meetings/{meeting_id}/register']")
    expect(second.locator("#my-registration")).to_contain_text(
        app_text(second_language, "You are on the waitlist, place %(position)s. When a seat becomes free, the first "
                 "in line gets it and is told by e-mail.", position=1))

    # 4. The first cancels; the second is promoted and told by e-mail, with the .ics.
    click_form(first, f"form[action='/meetings/{meeting_id}/cancel']")
    expect(first.locator(".flash-success")).to_have_text(app_text("en", "Your registration is cancelled."))
    visit(second, f"/meetings/{meeting_id}")
    expect(second.locator("#my-registration")).to_have_text(
        app_text(second_language, "You are registered: a seat is kept for you."))
    promotion = read_outbox(outbox_dir, to=second_email)[-1]
    assert str(promotion["Subject"]) == app_text("ru", "You have a seat: %(title)s", title=title)
    assert "12 сентября 2027" in promotion.get_body(("plain",)).get_content()
    assert ics_names(promotion) == ["meeting.ics"]

    # 5. The organiser's list shows the promoted person with the seat and nobody waiting.
    visit(organiser, f"/meetings/{meeting_id}/registrations")
    expect(organiser.locator("table tbody tr")).to_have_count(1)
    expect(organiser.locator("table tbody tr")).to_contain_text("Бауыржан Ахметов")

    # 6. The meeting page fits a phone.
    phone = new_context(**PHONE).new_page()
    visit(phone, f"/meetings/{meeting_id}")
    assert_no_horizontal_scroll(phone)
