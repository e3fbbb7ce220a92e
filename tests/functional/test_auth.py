"""Accounts through the real app: register, log in/out, remember-me, sessions, password reset and change,
profile edits, the ``next`` redirect and the login rate limit. Every test checks the database afterwards.

Database checks run in a short-lived app context of their own (``in_db``), never while a request runs:
an app context left pushed during requests (as the shared ``db_session`` fixture does) is reused by every
test-client request, so Flask-Login's cached ``g._login_user`` and ``db.session`` would leak from one
request (and client) to the next and hide exactly the session bugs these tests look for.
"""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest
from werkzeug.security import check_password_hash

from app.auth.models import ClaimStatus
from tests.helpers import akimat_id
from tests.helpers import field_error
from tests.helpers import flashes
from tests.helpers import text
from tests.helpers import translated
from tests.helpers import user_count
from tests.helpers import user_row

PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "Балқаш көлі жазда өте әдемі"
REMEMBER_COOKIE = "remember_token"
SESSION_COOKIE = "session"
LOGIN_ERROR = "The e-mail or password is not correct."


# --- helpers -----------------------------------------------------------------------------------------


def form_errors(page: str) -> str:
    """The text of the form-wide error box ('' when there is none)."""
    found = re.search(r'<div class="form-errors" role="alert">(.*?)</div>', page, re.S)
    return text(found.group(1)) if found else ""


def without_tokens(page: str) -> str:
    """``page`` with its per-session CSRF token values blanked out."""
    return re.sub(r'(name="csrf_token"[^>]*value=")[^"]*"', r'\1"', page)


def location(response) -> tuple[str, str, str, dict]:
    """(scheme, netloc, path, query) of a redirect's Location header."""
    parts = urlsplit(response.headers["Location"])
    return parts.scheme, parts.netloc, parts.path, parse_qs(parts.query)


def assert_redirects_to_login(response, next_path: str) -> None:
    assert response.status_code == 302, response.status_code
    _scheme, netloc, path, query = location(response)
    assert (netloc, path) in {("", "/login"), ("localhost", "/login")}
    assert query.get("next") == [next_path]


def login(client, email: str, password: str = PASSWORD, **extra):
    return client.post("/login", data={"email": email, "password": password, **extra})


def register(client, **fields):
    data = {
        "full_name": "Айгерим Нурланова",
        "email": "aigerim@example.kz",
        "password": PASSWORD,
        "confirm": PASSWORD,
        "preferred_language": "kk",
        "akimat": "0",
        "position": "",
    }
    data.update(fields)
    return client.post("/register", data=data)


def browser_with(app, cookie: str, value: str):
    """A fresh client carrying only ``cookie`` = ``value``."""
    browser = app.test_client()
    browser.set_cookie(cookie, value)
    return browser


def copy_session(app, source, cookie: str = SESSION_COOKIE):
    """A second client carrying a copy of ``source``'s ``cookie`` (as a thief would)."""
    value = source.get_cookie(cookie)
    assert value is not None, f"no {cookie} cookie to copy"
    return browser_with(app, cookie, value.value)


def reset_link(message) -> str:
    """The path of the password-reset link in an e-mail."""
    found = re.search(r"https?://[^/\s]+(/password/reset/\S+)", message.get_content())
    assert found, message.get_content()
    return found.group(1)


# --- registration --------------------------------------------------------------------------------------


def test_register_without_claim(client, in_db):
    before = user_count(in_db)

    response = register(client, email="Aigerim.Nurlanova@Example.KZ")

    assert response.status_code == 302
    assert location(response)[2] == "/"
    assert user_count(in_db) == before + 1
    user = user_row(in_db, email="aigerim.nurlanova@example.kz")
    assert user is not None, "the e-mail must be stored trimmed and lower-case"
    assert user.full_name == "Айгерим Нурланова"
    assert user.role == "reader"
    assert user.active is True
    assert user.preferred_language == "kk"
    assert user.claim_status == ClaimStatus.NONE
    assert user.claimed_akimat_id is None and user.akimat_id is None
    # Scrypt hash, never the password itself.
    assert user.password_hash.startswith("scrypt:")
    assert PASSWORD not in user.password_hash
    assert check_password_hash(user.password_hash, PASSWORD)
    # The new account is logged in.
    assert client.get("/account").status_code == 200


def test_register_with_claim_is_pending(client, in_db):
    claimed = akimat_id(in_db, "KZ-75")

    response = register(
        client, email="deputy@example.kz", akimat=str(claimed), position="  Deputy akim  ", preferred_language="en"
    )

    assert response.status_code == 302
    user = user_row(in_db, email="deputy@example.kz")
    assert user.claim_status == ClaimStatus.PENDING
    assert user.claimed_akimat_id == claimed
    assert user.claimed_position == "Deputy akim"
    assert user.claimed_at is not None
    # A claim grants nothing until an administrator verifies it.
    assert user.role == "reader"
    assert user.akimat_id is None
    home = client.get("/").get_data(as_text=True)
    assert "Your account is ready. An administrator will verify your akimat and position." in flashes(home)
    assert client.get("/account").status_code == 200


def test_register_claim_needs_a_position(client, in_db):
    before = user_count(in_db)

    response = register(client, akimat=str(akimat_id(in_db, "KZ-75")), position="")

    assert response.status_code == 200
    assert field_error(response.get_data(as_text=True), "position") == "Say which position you hold in that akimat."
    assert user_count(in_db) == before


# --- log in and out ------------------------------------------------------------------------------------


def test_login_and_logout(client, make_user, in_db):
    user = make_user("reader", email="reader@example.kz")

    response = login(client, "  READER@Example.kz ")

    assert response.status_code == 302
    assert location(response)[2] == "/"
    row = user_row(in_db, user.id)
    assert row.last_login_at is not None
    home = client.get("/").get_data(as_text=True)
    assert f"Welcome, {user.full_name}." in flashes(home)
    assert client.get("/account").status_code == 200
    assert client.get_cookie(REMEMBER_COOKIE) is None, "no remember cookie unless asked for"

    response = client.post("/logout")

    assert response.status_code == 302
    assert location(response)[2] == "/"
    assert "You have logged out." in flashes(client.get("/").get_data(as_text=True))
    assert_redirects_to_login(client.get("/account"), "/account")
    assert user_row(in_db, user.id).session_version == row.session_version + 1


def test_remember_me_sets_a_working_remember_cookie(app, client, make_user):
    user = make_user("reader")

    response = login(client, user.email, remember="y")

    assert response.status_code == 302
    cookie = client.get_cookie(REMEMBER_COOKIE)
    assert cookie is not None, "remember-me must set the remember cookie"
    assert cookie.http_only
    assert cookie.expires is not None, "the remember cookie must outlive the browser session"
    # The remember cookie alone (no session cookie) logs a new browser in ...
    browser = copy_session(app, client, REMEMBER_COOKIE)
    assert browser.get("/account").status_code == 200
    # ... until the user logs out anywhere.
    client.post("/logout")
    assert_redirects_to_login(browser_with(app, REMEMBER_COOKIE, cookie.value).get("/account"), "/account")


@pytest.mark.parametrize("case", ["unknown e-mail", "wrong password"])
def test_login_error_is_the_same_for_unknown_email_and_wrong_password(client, make_user, in_db, case):
    user = make_user("reader", email="known@example.kz")
    email = "nobody@example.kz" if case == "unknown e-mail" else user.email
    password = PASSWORD if case == "unknown e-mail" else "not the right password at all"

    response = login(client, email, password)

    assert response.status_code == 200
    assert form_errors(response.get_data(as_text=True)) == LOGIN_ERROR
    assert_redirects_to_login(client.get("/account"), "/account")
    assert user_row(in_db, user.id).last_login_at is None


def test_login_error_pages_are_identical(app, make_user):
    user = make_user("reader", email="known@example.kz")
    unknown = login(app.test_client(), "nobody@example.kz", PASSWORD)
    wrong = login(app.test_client(), user.email, "not the right password at all")

    assert unknown.status_code == wrong.status_code == 200
    # The only difference may be the e-mail echoed back into its input.
    first = without_tokens(unknown.get_data(as_text=True)).replace("nobody@example.kz", "EMAIL")
    second = without_tokens(wrong.get_data(as_text=True)).replace("known@example.kz", "EMAIL")
    assert first == second


def test_deactivated_user_cannot_log_in(client, make_user, in_db):
    user = make_user("reader", active=False)

    response = login(client, user.email)

    assert response.status_code == 200
    assert form_errors(response.get_data(as_text=True)) == LOGIN_ERROR
    assert_redirects_to_login(client.get("/account"), "/account")
    assert user_row(in_db, user.id).last_login_at is None


def test_logout_invalidates_a_copied_session_cookie(app, client, make_user, in_db):
    user = make_user("reader")
    assert login(client, user.email).status_code == 302
    thief = copy_session(app, client)
    assert thief.get("/account").status_code == 200, "the copied cookie works while the session lives"

    assert client.post("/logout").status_code == 302

    assert_redirects_to_login(thief.get("/account"), "/account")
    assert_redirects_to_login(client.get("/account"), "/account")


def test_password_change_invalidates_other_sessions(app, client, make_user, in_db):
    user = make_user("reader")
    assert login(client, user.email).status_code == 302
    thief = copy_session(app, client)
    assert thief.get("/account").status_code == 200

    response = client.post(
        "/account/password", data={"current_password": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    )

    assert response.status_code == 302
    assert location(response)[2] == "/account"
    assert client.get("/account").status_code == 200, "the browser that changed the password stays logged in"
    assert_redirects_to_login(thief.get("/account"), "/account")
    row = user_row(in_db, user.id)
    assert check_password_hash(row.password_hash, NEW_PASSWORD)
    assert not check_password_hash(row.password_hash, PASSWORD)


# --- forgotten password --------------------------------------------------------------------------------


def test_forgot_password_mails_only_existing_accounts_but_answers_the_same(app, make_user, outbox):
    user = make_user("reader", email="known@example.kz")
    known_client, unknown_client = app.test_client(), app.test_client()

    known = known_client.post("/password/forgot", data={"email": "Known@Example.kz"})
    assert len(outbox()) == 1
    unknown = unknown_client.post("/password/forgot", data={"email": "nobody@example.kz"})
    assert len(outbox()) == 1, "no e-mail for an unknown address"

    assert known.status_code == unknown.status_code == 302
    assert known.headers["Location"] == unknown.headers["Location"]
    assert location(known)[2] == "/login"
    known_page = without_tokens(known_client.get("/login").get_data(as_text=True))
    unknown_page = without_tokens(unknown_client.get("/login").get_data(as_text=True))
    assert known_page == unknown_page
    assert "If an account uses that address, we have sent it a link to choose a new password." in flashes(known_page)
    message = outbox()[0]
    assert message["To"] == user.email
    assert message["Subject"] == "Reset your password"
    assert "/password/reset/" in message.get_content()


def test_forgot_password_sends_nothing_to_a_deactivated_account(client, make_user, outbox):
    user = make_user("reader", active=False)

    response = client.post("/password/forgot", data={"email": user.email})

    assert response.status_code == 302
    assert location(response)[2] == "/login"
    assert outbox() == []


def test_reset_link_works_once(app, client, make_user, outbox, in_db):
    user = make_user("reader")
    client.post("/password/forgot", data={"email": user.email})
    link = reset_link(outbox()[0])
    before = user_row(in_db, user.id)

    assert client.get(link).status_code == 200
    response = client.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})

    assert response.status_code == 302
    assert location(response)[2] == "/login"
    after = user_row(in_db, user.id)
    assert check_password_hash(after.password_hash, NEW_PASSWORD)
    assert after.session_version == before.session_version + 1
    assert login(app.test_client(), user.email, NEW_PASSWORD).status_code == 302
    assert login(app.test_client(), user.email, PASSWORD).status_code == 200

    # Second use: refused, and the password stays as set.
    again = client.get(link)
    assert again.status_code == 302
    assert location(again)[2] == "/password/forgot"
    page = client.get("/password/forgot").get_data(as_text=True)
    assert "This link has expired or was already used. Ask for a new one." in flashes(page)
    third = "a different passphrase for the third try"
    refused = client.post(link, data={"password": third, "confirm": third})
    assert refused.status_code == 302
    assert location(refused)[2] == "/password/forgot"
    assert user_row(in_db, user.id).password_hash == after.password_hash


def test_expired_reset_link_is_refused(app, client, make_user, outbox, in_db):
    user = make_user("reader")
    client.post("/password/forgot", data={"email": user.email})
    link = reset_link(outbox()[0])
    before = user_row(in_db, user.id)
    app.config["PASSWORD_RESET_MAX_AGE"] = -1  # every token is now older than allowed

    response = client.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})

    assert response.status_code == 302
    assert location(response)[2] == "/password/forgot"
    assert client.get(link).status_code == 302
    assert user_row(in_db, user.id).password_hash == before.password_hash


def test_tampered_reset_link_is_refused(client, make_user, outbox, in_db):
    user = make_user("reader")
    client.post("/password/forgot", data={"email": user.email})
    link = reset_link(outbox()[0])

    response = client.get(link[:-3] + ("aaa" if not link.endswith("aaa") else "bbb"))

    assert response.status_code == 302
    assert location(response)[2] == "/password/forgot"


def test_reset_email_is_in_the_users_language(app, client, make_user, outbox):
    user = make_user("reader", email="russian@example.kz", language="ru", full_name="Иван Петров")

    client.post("/password/forgot", data={"email": user.email}, headers={"Accept-Language": "en"})

    [message] = outbox()
    expected = translated(app, "Reset your password", "ru")
    assert expected != "Reset your password", "the Russian catalog must translate the reset e-mail's subject"
    assert message["Subject"] == expected
    greeting = translated(app, "Hello, %(name)s.", "ru", name="Иван Петров")
    assert greeting in message.get_content()


# --- change password and profile -----------------------------------------------------------------------


def test_change_password_requires_the_current_password(client, make_user, login_as, in_db):
    user = make_user("reader")
    login_as(user)
    before = user_row(in_db, user.id)

    response = client.post(
        "/account/password",
        data={"current_password": "this is not my password", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert field_error(page, "current_password") == "The current password is not correct."
    after = user_row(in_db, user.id)
    assert after.password_hash == before.password_hash
    assert after.session_version == before.session_version
    assert client.get("/account").status_code == 200


def test_change_password_refuses_a_weak_new_password(client, make_user, login_as, in_db):
    user = make_user("reader")
    login_as(user)
    before = user_row(in_db, user.id)

    response = client.post(
        "/account/password", data={"current_password": PASSWORD, "password": "password1234", "confirm": "password1234"}
    )

    assert response.status_code == 200
    assert "too common" in field_error(response.get_data(as_text=True), "password")
    assert user_row(in_db, user.id).password_hash == before.password_hash


def test_change_password_needs_login(client):
    assert_redirects_to_login(client.get("/account/password"), "/account/password")


def test_profile_edit_changes_name_language_and_claim(client, make_user, login_as, in_db):
    user = make_user("reader", language="en")
    login_as(user)
    claimed = akimat_id(in_db, "KZ-10", "Semey")

    response = client.post(
        "/account",
        data={"full_name": "  Новое Имя  ", "preferred_language": "kk", "akimat": str(claimed), "position": "Advisor"},
    )

    assert response.status_code == 302
    assert location(response)[2] == "/account"
    row = user_row(in_db, user.id)
    assert row.full_name == "Новое Имя"
    assert row.preferred_language == "kk"
    assert row.claim_status == ClaimStatus.PENDING
    assert row.claimed_akimat_id == claimed
    assert row.claimed_position == "Advisor"
    assert row.role == "reader" and row.akimat_id is None
    page = client.get("/account").get_data(as_text=True)
    assert '<html lang="kk">' in page


def test_profile_new_claim_of_a_verified_akim_is_pending(client, make_user, login_as, in_db):
    user = make_user("akim", akimat=("KZ-75", None))
    login_as(user)
    verified = akimat_id(in_db, "KZ-75")
    other = akimat_id(in_db, "KZ-71")

    unchanged = client.post(
        "/account", data={"full_name": user.full_name, "preferred_language": "en", "akimat": str(verified),
                          "position": "Akim"},
    )
    assert unchanged.status_code == 302
    assert user_row(in_db, user.id).claim_status == ClaimStatus.APPROVED, "re-saving the same akimat is no claim"

    response = client.post(
        "/account",
        data={"full_name": user.full_name, "preferred_language": "en", "akimat": str(other), "position": "Akim"},
    )

    assert response.status_code == 302
    row = user_row(in_db, user.id)
    assert row.claim_status == ClaimStatus.PENDING
    assert row.claimed_akimat_id == other
    # The verified membership stays until an administrator decides.
    assert row.akimat_id == verified
    assert row.role == "akim"


def test_profile_needs_login(client):
    assert_redirects_to_login(client.get("/account"), "/account")


# --- the next redirect ---------------------------------------------------------------------------------


def test_next_redirect_after_login(client, make_user):
    user = make_user("reader")

    response = login(client, user.email, next="/regions/")

    assert response.status_code == 302
    assert response.headers["Location"] in {"/regions/", "http://localhost/regions/"}


def test_next_from_the_query_string_is_kept_by_the_login_form(client, make_user):
    user = make_user("reader")
    page = client.get("/login?next=/regions/KZ-75").get_data(as_text=True)
    assert 'value="/regions/KZ-75"' in page

    response = login(client, user.email, next="/regions/KZ-75")

    assert location(response)[1:3] in {("", "/regions/KZ-75"), ("localhost", "/regions/KZ-75")}


@pytest.mark.parametrize("target", ["//evil.example", "https://evil.example/", "/\\evil.example",
                                    "javascript:alert(1)", "///evil.example", "/\t/evil.example"])
def test_next_redirect_never_leaves_the_site(client, make_user, login_as, target):
    user = make_user("reader")

    response = login(client, user.email, next=target)

    assert response.status_code == 302
    assert response.headers["Location"] in {"/", "http://localhost/"}
    # Already logged in, GET /login?next=... must not leave the site either.
    again = client.get("/login", query_string={"next": target})
    assert again.status_code == 302
    assert again.headers["Location"] in {"/", "http://localhost/"}


# --- login rate limit ----------------------------------------------------------------------------------


def client_at(app, address: str):
    """A test client whose requests come from ``address``."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


class TestLoginThrottle:
    """Failed logins: refused per account *and* address; an account-wide ceiling slows, never locks out."""

    @pytest.fixture
    def app_overrides(self):
        return {"LOGIN_LIMIT_PER_ACCOUNT_ADDRESS": "3 per minute", "LOGIN_LIMIT_PER_ACCOUNT": "5 per minute",
                "LOGIN_SLOWDOWN_SECONDS": 30}

    def test_an_address_is_refused_for_the_account_it_guessed_but_the_owner_elsewhere_logs_in(
        self, app, make_user, in_db
    ):
        user = make_user("reader", email="target@example.kz")
        other = make_user("reader", email="bystander@example.kz")
        guesser = client_at(app, "198.51.100.7")
        for _attempt in range(3):
            assert login(guesser, user.email, "wrong password, try again").status_code == 200

        # The guesser is refused now, even with the right password and whatever the e-mail's case...
        blocked = login(guesser, "TARGET@example.kz", PASSWORD)
        assert blocked.status_code == 429
        assert 0 < int(blocked.headers["Retry-After"]) <= 60
        page = blocked.get_data(as_text=True)
        assert "Too many wrong passwords for this account from your network" in form_errors(page)
        assert 'value="TARGET@example.kz"' in page  # the form comes back filled in
        assert user_row(in_db, user.id).last_login_at is None
        # ...while the owner, from another address, logs in with the right password,
        assert login(client_at(app, "192.0.2.10"), user.email, PASSWORD).status_code == 302
        # and the guesser's address can still log in to another account.
        assert login(client_at(app, "198.51.100.7"), other.email, PASSWORD).status_code == 302

    def test_many_addresses_slow_the_account_down_without_locking_out_its_owner(self, app, make_user, in_db):
        user = make_user("reader", email="admin-target@example.kz")
        for n in range(5):  # a guesser spread over five addresses reaches the account's ceiling
            assert login(client_at(app, f"203.0.113.{n}"), user.email, "wrong password").status_code == 200

        # Past the ceiling each address gets one try per interval, right or wrong:
        first = client_at(app, "203.0.113.0")
        assert login(first, user.email, "another wrong password").status_code == 200
        slowed = login(first, user.email, "yet another one")
        assert slowed.status_code == 429
        assert 0 < int(slowed.headers["Retry-After"]) <= 30
        assert "each device may try once every 30 seconds" in form_errors(slowed.get_data(as_text=True))
        # the owner, from their own address, is not refused: the right password logs them in.
        owner = login(client_at(app, "192.0.2.44"), user.email, PASSWORD)
        assert owner.status_code == 302
        assert user_row(in_db, user.id).last_login_at is not None

    def test_an_unknown_email_is_throttled_like_a_known_one(self, app, make_user):
        guesser = client_at(app, "198.51.100.8")
        for _attempt in range(3):
            assert login(guesser, "nobody@example.kz", "wrong password, try again").status_code == 200
        assert login(guesser, "nobody@example.kz", "wrong password, try again").status_code == 429

    def test_successful_logins_do_not_count(self, app, make_user):
        user = make_user("reader")
        for _attempt in range(5):
            assert login(app.test_client(), user.email).status_code == 302

    def test_the_refusal_is_the_login_page_in_the_users_language(self, app, make_user):
        user = make_user("reader", language="ru")
        client = app.test_client()
        for _attempt in range(3):
            login(client, user.email, "wrong password, try again")

        response = client.post(
            "/login", data={"email": user.email, "password": "still wrong"}, headers={"Accept-Language": "ru"}
        )

        assert response.status_code == 429
        assert response.mimetype == "text/html"
        page = response.get_data(as_text=True)
        assert '<html lang="ru">' in page
        message = translated(app, "Too many wrong passwords for this account from your network. You can try "
                                  "again in %(minutes)s min., or reset your password.", "ru", minutes=1)
        assert message != translated(app, "Too many wrong passwords for this account from your network. You can "
                                          "try again in %(minutes)s min., or reset your password.", "en", minutes=1)
        assert form_errors(page) == message


class TestLoginRateLimitPerAddress:
    """More than LOGIN_LIMIT_PER_IP failed attempts from one address, on any accounts, are answered with 429."""

    @pytest.fixture
    def app_overrides(self):
        return {"LOGIN_LIMIT_PER_IP": "3 per minute"}

    def test_429_page_is_html_in_the_users_language(self, app, client, make_user):
        for n in range(3):
            login(client, f"someone{n}@example.kz", "wrong password, try again")

        response = client.post(
            "/login", data={"email": "someone9@example.kz", "password": "still wrong"},
            headers={"Accept-Language": "ru"},
        )

        assert response.status_code == 429
        assert response.mimetype == "text/html"
        page = response.get_data(as_text=True)
        assert '<html lang="ru">' in page
        title = translated(app, "Too many attempts", "ru")
        message = translated(app, "Please wait a minute before trying again.", "ru")
        assert f"<h1>{html.escape(title)}</h1>" in page
        assert "per 1 minute" not in page, "the limiter's English limit text must not be shown"
        assert html.escape(message) in page
        assert title != "Too many attempts", "the Russian catalog must translate the 429 page"
        assert 0 < int(response.headers["Retry-After"]) <= 60
        # Another address is not affected.
        assert login(client_at(app, "192.0.2.50"), "someone@example.kz", "wrong").status_code == 200
