"""Logging in with a wrong password, in a real browser."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import follow
from tests.browser.helpers import path_of
from tests.browser.helpers import visit

pytestmark = pytest.mark.browser


def test_wrong_password_shows_an_error_and_starts_no_session(page, live_app):
    visit(page, "/login")
    page.get_by_label("E-mail", exact=True).fill("reader@demo.example.kz")
    page.get_by_label("Password", exact=True).fill("not the demo password at all")
    follow(page, page.get_by_role("button", name="Log in", exact=True))

    assert path_of(page) == "/login"
    expect(page.get_by_role("alert")).to_have_text("The e-mail or password is not correct.")
    expect(page.get_by_label("Password", exact=True)).to_have_value("")
    expect(page.locator("form[action$='/logout']")).to_have_count(0)
    expect(page.locator(".site-header").get_by_role("link", name="Log in", exact=True)).to_be_visible()

    # The signed session cookie (if any) carries no user.
    serializer = live_app.session_interface.get_signing_serializer(live_app)
    for cookie in page.context.cookies():
        if cookie["name"] == live_app.config["SESSION_COOKIE_NAME"]:
            assert "_user_id" not in serializer.loads(cookie["value"])
    remember_cookie = live_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")
    assert remember_cookie not in {c["name"] for c in page.context.cookies()}

    visit(page, "/account")
    assert path_of(page) == "/login?next=/account"
