"""The main journey in a real browser: register with an akimat claim, get verified by an admin, read the e-mail,
log in, switch to Kazakh, see the role in Kazakh, log out."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import Page
from playwright.sync_api import expect

from app.cli import DEMO_PASSWORD
from tests.browser.helpers import follow
from tests.browser.helpers import html_lang
from tests.browser.helpers import path_of
from tests.browser.helpers import read_outbox
from tests.browser.helpers import squash
from tests.browser.helpers import visit

pytestmark = pytest.mark.browser

ADMIN_EMAIL = "admin@demo.example.kz"
POSITION = "Head of the digitalisation department"
PASSPHRASE = "copper steppe lantern morning"


def log_in(page: Page, email: str, password: str) -> None:
    """Fill the login form (already open) and submit it."""
    page.get_by_label("E-mail", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    follow(page, page.get_by_role("button", name="Log in", exact=True))


def open_account_menu(page: Page) -> None:
    menu = page.locator("details.account-menu")
    if menu.get_attribute("open") is None:
        menu.locator("summary").click()
    expect(menu).to_have_attribute("open", "")


def facts(page: Page) -> dict[str, str]:
    """The <dl class="facts"> of the page as {term: description}."""
    pairs = page.eval_on_selector_all(
        "dl.facts dt", "els => els.map(e => [e.textContent.trim(), e.nextElementSibling.textContent.trim()])"
    )
    return dict(pairs)


def test_register_verify_switch_to_kazakh_and_log_out(new_context, outbox_dir, kk_gettext, akimat_name):
    kostanay_akimat = akimat_name("KZ-39")  # the akimat of Kostanay Region, named as the English UI names it
    email = f"aliya.journey-{uuid.uuid4().hex[:8]}@example.kz"
    name = "Aliya Serikbayeva"

    # 1. A newcomer registers, claiming the akimat of Kostanay Region.
    user = new_context().new_page()
    visit(user, "/register")
    user.get_by_label("Full name", exact=True).fill(name)
    user.get_by_label("E-mail", exact=True).fill(email)
    user.get_by_label("Password", exact=True).fill(PASSPHRASE)
    user.get_by_label("Repeat the password", exact=True).fill(PASSPHRASE)
    user.get_by_label("Preferred language", exact=True).select_option("en")
    user.get_by_label("Your akimat", exact=True).select_option(label=kostanay_akimat)
    user.get_by_label("Your position", exact=True).fill(POSITION)
    follow(user, user.get_by_role("button", name="Create account"))

    assert path_of(user) == "/"
    expect(user.locator(".flash")).to_contain_text(
        "Your account is ready. An administrator will verify your akimat and position."
    )
    expect(user.locator("p.notice")).to_have_text(
        "Your akimat claim is waiting for an administrator. Until then you can read and search."
    )
    expect(user.locator(".account-menu summary")).to_contain_text(name)

    # 2. The demo administrator, in a browser of their own, approves the claim as akim of that akimat.
    admin = new_context().new_page()
    visit(admin, "/login")
    log_in(admin, ADMIN_EMAIL, DEMO_PASSWORD)
    assert path_of(admin) == "/"
    # The demo admin reads Russian; switch the interface to English with the header switch.
    follow(admin, admin.get_by_role("button", name="English", exact=True))
    assert html_lang(admin) == "en"
    follow(admin, admin.get_by_role("navigation", name="Main").get_by_role("link", name="Administration"))
    assert path_of(admin) == "/admin/users"
    row = admin.get_by_role("row").filter(has_text=email)
    expect(row).to_have_count(1)
    expect(row).to_contain_text(f"{kostanay_akimat} — {POSITION}")
    expect(row).to_contain_text("Waiting for verification")
    follow(admin, row.get_by_role("link", name=name))

    assert facts(admin)["Claimed akimat"] == f"{kostanay_akimat} — {POSITION}"
    role = admin.get_by_label("Role", exact=True)
    akimat = admin.get_by_label("Akimat", exact=True)
    # Pre-filled from the claim ...
    assert role.input_value() == "akim"
    assert akimat.locator("option:checked").text_content().strip() == kostanay_akimat
    # ... and set explicitly, as an admin would confirm it.
    role.select_option("akim")
    akimat.select_option(label=kostanay_akimat)
    expect(admin.get_by_label("Position", exact=True)).to_have_value(POSITION)
    follow(admin, admin.get_by_role("button", name="Approve and save the role"))
    assert path_of(admin) == "/admin/users"
    expect(admin.locator(".flash")).to_contain_text(f"Saved: {name} is now Akim.")

    # 3. The user is told by e-mail (in their language, English).
    messages = read_outbox(outbox_dir, to=email)
    assert len(messages) == 1, [m["Subject"] for m in messages]
    message = messages[0]
    assert message["Subject"] == "Your account has been verified"
    body = squash(message.get_content())
    assert f"Hello, {name}." in body
    assert "An administrator has verified your account. Your role is now: Akim." in body
    assert kostanay_akimat in body
    assert body.lower().count("akimat") == kostanay_akimat.lower().count("akimat"), (
        f"the akimat is named with a repeated label: {body!r}"
    )

    # 4. The user logs in afresh and switches the interface to Kazakh.
    user = new_context().new_page()
    visit(user, "/login")
    log_in(user, email, PASSPHRASE)
    assert path_of(user) == "/"
    expect(user.locator(".flash")).to_contain_text(f"Welcome, {name}.")
    assert html_lang(user) == "en"
    follow(user, user.get_by_role("button", name="Қазақша", exact=True))
    assert path_of(user) == "/"
    assert html_lang(user) == "kk"
    expect(user.get_by_role("button", name="Қазақша", exact=True)).to_have_attribute("aria-pressed", "true")
    log_out_button = user.locator(".account-menu form[action$='/logout'] button")
    expect(log_out_button).to_have_count(1)
    assert log_out_button.text_content().strip() == kk_gettext("Log out")

    # 5. The profile shows the role, Akim, in Kazakh.
    open_account_menu(user)
    follow(user, user.locator(".account-menu a[href='/account']"))
    assert path_of(user) == "/account"
    assert html_lang(user) == "kk"
    assert facts(user)[kk_gettext("Role")] == kk_gettext("Akim")
    expect(user.locator(".account-menu .role-badge")).to_have_text(kk_gettext("Akim"))

    # 6. Logging out (a POST button) ends the session: the profile now asks to log in.
    open_account_menu(user)
    follow(user, user.locator(".account-menu form[action$='/logout'] button"))
    assert path_of(user) == "/"
    expect(user.locator(".flash")).to_contain_text(kk_gettext("You have logged out."))
    expect(user.locator("form[action$='/logout']")).to_have_count(0)
    visit(user, "/account")
    assert path_of(user) == "/login?next=/account"
    expect(user.locator("input[name='password']")).to_be_visible()
    assert html_lang(user) == "kk"  # the language cookie outlives the session
