"""Bad input through the real app: duplicates, malformed and oversized values, missing CSRF tokens,
unknown languages and akimats, off-site redirects, undecodable bytes, and JSON errors under /api/.

In every case the answer is a clear 4xx (or the form again with a message), never a 500, and no row is
added. Database checks run in a short-lived app context of their own (``in_db``): an app context left
pushed during requests is reused by every test-client request, sharing Flask-Login's cached user.
"""

from __future__ import annotations

import re
import time
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from app.audit.models import AuditEntry
from app.auth.models import ClaimStatus
from app.regions.models import Akimat
from app.regions.models import Region
from tests.helpers import field_error
from tests.helpers import page_text
from tests.helpers import translated
from tests.helpers import user_count
from tests.helpers import user_row

PASSWORD = "correct horse battery staple"
CSRF_MESSAGE = "The form had expired or came from another site. Your data were not saved: please send it again."
CSRF_KEPT_MESSAGE = ("The form had expired, so nothing was saved. What you typed is still here: check it and send "
                     "it again.")
FORM = "application/x-www-form-urlencoded"


# --- helpers -----------------------------------------------------------------------------------------


def audit_count(in_db) -> int:
    with in_db() as session:
        return session.scalar(sa.select(sa.func.count(AuditEntry.id)))


def region_akimat_id(in_db, iso: str) -> int:
    with in_db() as session:
        return session.scalars(
            sa.select(Akimat.id)
            .join(Region, Akimat.region_id == Region.id)
            .where(Region.iso_code == iso, Akimat.municipality_id.is_(None))
        ).one()


def register_data(**fields) -> dict:
    data = {
        "full_name": "Данияр Сапаров",
        "email": "daniyar@example.kz",
        "password": PASSWORD,
        "confirm": PASSWORD,
        "preferred_language": "ru",
        "akimat": "0",
        "position": "",
    }
    data.update(fields)
    return data


def assert_json_error(response, status: int, code: str) -> None:
    assert response.status_code == status
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]


def off_site(response) -> bool:
    parts = urlsplit(response.headers["Location"])
    return bool(parts.scheme and parts.scheme not in ("http", "https")) or parts.netloc not in ("", "localhost")


# --- registration --------------------------------------------------------------------------------------


@pytest.mark.parametrize("email", ["taken@example.kz", "TAKEN@Example.KZ", "Taken@example.kz"])
def test_duplicate_email_is_refused(client, make_user, in_db, email):
    make_user("reader", email="taken@example.kz")
    before = user_count(in_db)

    response = client.post("/register", data=register_data(email=email))

    assert response.status_code == 200
    assert field_error(response, "email") == (
        "An account with this e-mail already exists. Log in or reset the password."
    )
    assert user_count(in_db) == before
    assert client.get("/account").status_code == 302, "nobody was logged in"


@pytest.mark.parametrize("email", ["not-an-email", "user@", "@example.kz", "user example@example.kz",
                                   "user@@example.kz", "user@example"])
def test_malformed_email_is_refused(client, in_db, email):
    before = user_count(in_db)

    response = client.post("/register", data=register_data(email=email))

    assert response.status_code == 200
    assert field_error(response, "email") == "Enter a valid e-mail address, such as name@example.kz."
    assert user_count(in_db) == before


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("password1234", "This password is too common or too easy to guess."),
        ("Kx9#mQ2$vL7", "Use at least 12 characters."),  # 11 characters
        ("daniyar@example.kz!!", "Do not use your name or e-mail address in the password."),
        ("x" * 129 + "Q9", "Use at most 128 characters."),
    ],
)
def test_weak_or_wrong_length_password_is_refused(client, in_db, password, message):
    before = user_count(in_db)

    response = client.post("/register", data=register_data(password=password, confirm=password))

    assert response.status_code == 200
    assert message in field_error(response, "password")
    assert user_count(in_db) == before


def test_mismatched_confirmation_is_refused(client, in_db):
    before = user_count(in_db)

    response = client.post("/register", data=register_data(confirm=PASSWORD + " not"))

    assert response.status_code == 200
    assert field_error(response, "confirm") == "The two passwords do not match."
    assert user_count(in_db) == before


def test_very_long_name_is_refused(client, in_db):
    before = user_count(in_db)

    response = client.post("/register", data=register_data(full_name="Ә" * 10_000))

    assert response.status_code == 200
    assert field_error(response, "full_name") == "At most 200 characters."
    assert user_count(in_db) == before


def test_very_long_name_in_the_profile_is_refused(client, make_user, login_as, in_db):
    user = make_user("reader")
    login_as(user)

    response = client.post("/account", data={"full_name": "x" * 10_000, "preferred_language": "en", "akimat": "0"})

    assert response.status_code == 200
    assert field_error(response, "full_name") == "At most 200 characters."
    assert user_row(in_db, user.id).full_name == user.full_name


def test_very_long_position_is_refused(client, in_db):
    before = user_count(in_db)
    claimed = region_akimat_id(in_db, "KZ-75")

    response = client.post("/register", data=register_data(akimat=str(claimed), position="p" * 10_000))

    assert response.status_code == 200
    assert field_error(response, "position") == "At most 200 characters."
    assert user_count(in_db) == before


def test_very_long_email_is_refused(client, in_db):
    before = user_count(in_db)

    response = client.post("/register", data=register_data(email="a" * 10_000 + "@example.kz"))

    assert response.status_code == 200
    assert "At most 254 characters." in field_error(response, "email")
    assert user_count(in_db) == before


def test_very_long_password_is_refused_quickly(client, make_user, login_as, in_db):
    huge = "пароль " * 1429  # 10,003 characters
    before = user_count(in_db)

    started = time.perf_counter()
    response = client.post("/register", data=register_data(password=huge, confirm=huge))
    elapsed = time.perf_counter() - started

    assert response.status_code == 200
    assert field_error(response, "password") == "Use at most 128 characters."
    assert elapsed < 2.0, f"took {elapsed:.2f}s"
    assert user_count(in_db) == before

    user = make_user("reader", email="someone@example.kz")
    started = time.perf_counter()
    login = client.post("/login", data={"email": user.email, "password": huge})
    assert time.perf_counter() - started < 2.0
    assert login.status_code == 200
    assert field_error(login, "password") == "At most 1024 characters."
    assert client.get("/account").status_code == 302

    login_as(user)
    old_hash = user_row(in_db, user.id).password_hash
    change = client.post("/account/password", data={"current_password": PASSWORD, "password": huge, "confirm": huge})
    assert change.status_code == 200
    assert field_error(change, "password") == "Use at most 128 characters."
    assert user_row(in_db, user.id).password_hash == old_hash


# --- akimat ids ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("akimat", ["999999", "abc", "-5", "1.5", "9" * 40])
def test_unknown_or_non_numeric_akimat_is_a_form_error(client, in_db, akimat):
    before = user_count(in_db)

    response = client.post("/register", data=register_data(akimat=akimat, position="Deputy akim"))

    assert response.status_code == 200
    assert field_error(response, "akimat"), "the akimat field must carry an error"
    assert user_count(in_db) == before


@pytest.mark.parametrize("akimat", ["999999", "abc"])
def test_unknown_akimat_in_the_profile_is_a_form_error(client, make_user, login_as, in_db, akimat):
    user = make_user("reader")
    login_as(user)
    before = user_row(in_db, user.id)

    response = client.post(
        "/account", data={"full_name": "New Name", "preferred_language": "en", "akimat": akimat, "position": "Akim"}
    )

    assert response.status_code == 200
    assert field_error(response, "akimat")
    after = user_row(in_db, user.id)
    assert after == before
    assert after.claim_status == ClaimStatus.NONE


# --- language ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["xx", "", "RU", "ru-RU"])
def test_unknown_language_is_400(app, client, make_user, login_as, in_db, lang):
    user = make_user("reader", language="kk")
    login_as(user)

    response = client.post("/language", data={"lang": lang, "next": "/"})

    assert response.status_code == 400
    # The page is in the (logged-in) user's language.
    assert translated(app, "Unknown language. Choose Kazakh, Russian or English.", "kk") in page_text(response)
    assert client.get_cookie("lang") is None
    assert user_row(in_db, user.id).preferred_language == "kk"


def test_language_without_a_value_is_400(client):
    response = client.post("/language", data={})
    assert response.status_code == 400
    assert "Unknown language. Choose Kazakh, Russian or English." in page_text(response)
    assert client.get_cookie("lang") is None


# --- off-site redirects --------------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["//evil.example", "//evil.example/path", "https://evil.example/",
                                    "/\\evil.example", "\\\\evil.example", "javascript:alert(1)", "http:evil.example"])
def test_next_never_redirects_off_site(app, make_user, login_as, target):
    user = make_user("reader")
    browser = app.test_client()

    login = browser.post("/login", data={"email": user.email, "password": PASSWORD, "next": target})
    assert login.status_code == 302
    assert not off_site(login)
    assert urlsplit(login.headers["Location"]).path == "/"

    already = browser.get("/login", query_string={"next": target})
    assert already.status_code == 302 and not off_site(already)

    language = browser.post("/language", data={"lang": "ru", "next": target})
    assert language.status_code == 302 and not off_site(language)
    assert urlsplit(language.headers["Location"]).path == "/"

    anonymous = app.test_client().post("/language", data={"lang": "en", "next": target})
    assert anonymous.status_code == 302 and not off_site(anonymous)


# --- undecodable and odd bytes -------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/login?next=%ff", "/login?next=%ff%fe", "/?%ff=%fe", "/regions/?lang=%c3%28",
                                 "/register?akimat=%ff", "/password/forgot?email=%80"])
def test_garbage_in_query_strings_is_no_500(client, url):
    response = client.get(url)
    assert response.status_code == 200, response.status_code


def test_nul_in_the_language_switch_is_refused(client):
    assert_nul_refused(client.post("/language", data={"lang": "\x00", "next": "/"}))
    assert client.get_cookie("lang") is None


@pytest.mark.parametrize("url", ["/regions/%ff", "/%ff", "/admin/users/%ff", "/password/reset/%ff%fe"])
def test_garbage_in_paths_is_no_500(client, url):
    response = client.get(url)
    assert response.status_code in {302, 404}, response.status_code


def test_garbage_in_the_login_form_is_no_500(app, make_user, in_db):
    user = make_user("reader")
    client = app.test_client()

    response = client.post("/login", data=b"email=%ff%fe&password=%80%81&next=%ff&remember=%ff", content_type=FORM)

    assert response.status_code == 200
    assert client.get("/account").status_code == 302
    assert user_row(in_db, user.id).last_login_at is None
    # A garbage next with the right credentials still logs in and stays on the site.
    ok = client.post("/login", data=f"email={user.email}&password={PASSWORD}&next=%ff".encode(), content_type=FORM)
    assert ok.status_code == 302 and not off_site(ok)


def test_garbage_in_the_register_form_is_no_500(client, in_db):
    before = user_count(in_db)
    body = b"full_name=%ff%fe&email=%ff%40example.kz&password=%80&confirm=%80&preferred_language=%ff&akimat=%ff"

    response = client.post("/register", data=body, content_type=FORM)

    assert response.status_code == 200
    assert user_count(in_db) == before


NUL_MESSAGE = "NUL character"


def assert_nul_refused(response) -> None:
    """A NUL anywhere in the input is answered by one central guard: 400 with a clear message."""
    assert response.status_code == 400, response.status_code
    assert NUL_MESSAGE in response.get_data(as_text=True)


@pytest.mark.parametrize("field", ["full_name", "email", "position", "password"])
def test_nul_characters_in_the_register_form_are_no_500(client, in_db, field):
    before = user_count(in_db)
    data = register_data(akimat=str(region_akimat_id(in_db, "KZ-75")), position="Deputy akim")
    data[field] = {"full_name": "Nul\x00Name", "email": "nul\x00@example.kz", "position": "Deputy\x00akim",
                   "password": PASSWORD + "\x00"}[field]
    if field == "password":
        data["confirm"] = data["password"]

    response = client.post("/register", data=data)

    assert_nul_refused(response)
    assert user_count(in_db) == before


@pytest.mark.parametrize("email", ["nul\x00@example.kz", "\x00"])
def test_nul_characters_in_the_login_form_are_no_500(client, make_user, email):
    make_user("reader")

    response = client.post("/login", data={"email": email, "password": PASSWORD})

    assert_nul_refused(response)


def test_nul_characters_in_the_profile_are_no_500(client, make_user, login_as, in_db):
    user = make_user("reader")
    login_as(user)

    response = client.post("/account", data={"full_name": "Nul\x00Name", "preferred_language": "en", "akimat": "0"})

    assert_nul_refused(response)
    assert user_row(in_db, user.id).full_name == user.full_name


def test_nul_characters_in_an_admin_reason_are_no_500(client, make_user, login_as, in_db):
    login_as(make_user("admin"))
    target = make_user("reader", claim=("KZ-75", None))

    response = client.post(f"/admin/users/{target.id}/reject", data={"reject-reason": "No\x00such position"})

    assert_nul_refused(response)
    assert user_row(in_db, target.id).claim_status == ClaimStatus.PENDING
    assert audit_count(in_db) == 0


@pytest.mark.parametrize("url", ["/regions/%00", "/regions/KZ%0075", "/login?next=%00", "/password/reset/%00"])
def test_nul_characters_in_urls_are_no_500(client, url):
    assert_nul_refused(client.get(url))


def test_nul_characters_in_forgot_password_are_no_500(client, outbox):
    response = client.post("/password/forgot", data={"email": "nul\x00@example.kz"})
    assert_nul_refused(response)
    assert outbox() == []


def test_garbage_in_admin_search_is_no_500(client, make_user, login_as):
    login_as(make_user("admin"))
    for url in ["/admin/users?q=%ff%fe&status=%ff", "/admin/users?page=abc", "/admin/users?page=-1",
                "/admin/audit?page=%ff", "/admin/users?q=%25%5F"]:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
    # The audit log's filters are a validated form: an action it does not know is a field error.
    response = client.get("/admin/audit?action=%ff&page=%ff")
    assert response.status_code == 400
    assert "Choose one of the values in the list." in response.get_data(as_text=True)
    for url in ["/admin/users?q=%00", "/admin/audit?action=%00"]:
        assert_nul_refused(client.get(url))


def test_garbage_in_admin_forms_is_no_500(client, make_user, login_as, in_db):
    login_as(make_user("admin"))
    target = make_user("reader", claim=("KZ-75", None))
    before = user_row(in_db, target.id)

    approve = client.post(f"/admin/users/{target.id}/approve", data=b"role=%ff&akimat=%ff&position=%ff",
                          content_type=FORM)
    reject = client.post(f"/admin/users/{target.id}/reject", data=b"reject-reason=", content_type=FORM)
    active = client.post(f"/admin/users/{target.id}/active", data=b"activate-reason=%ff&activate-active=%ff",
                         content_type=FORM)

    assert approve.status_code == 400
    assert reject.status_code == 400
    # An undecodable "active" flag means "not 1", i.e. deactivate, with a (replacement-character) reason.
    assert active.status_code in {302, 400}
    after = user_row(in_db, target.id)
    assert (after.role, after.akimat_id, after.claim_status) == (before.role, before.akimat_id, before.claim_status)
    assert audit_count(in_db) == (1 if active.status_code == 302 else 0)


# --- JSON API errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/api/v1/nope", "/api/nope", "/api/v1/regions/KZ-75", "/api/v1/%ff", "/api/"])
def test_unknown_api_urls_answer_json_404(client, url):
    assert_json_error(client.get(url), 404, "not_found")


@pytest.mark.parametrize("method", ["post", "put", "delete", "patch"])
def test_wrong_method_on_the_api_answers_json_405(client, method):
    response = getattr(client, method)("/api/v1/regions")
    assert_json_error(response, 405, "method_not_allowed")
    assert "GET" in response.headers["Allow"]


def test_api_with_a_garbage_query_string_still_answers_json(client):
    response = client.get("/api/v1/regions?%ff=%fe")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert len(response.get_json()) == 20


# --- CSRF ----------------------------------------------------------------------------------------------


def csrf_token_of(page: str) -> str:
    found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"', page)
    assert found, "no CSRF token on the page"
    return found.group(1) or found.group(2)


def assert_csrf_refused(response, app=None, language: str = "en") -> None:
    assert response.status_code == 400
    assert response.mimetype == "text/html"
    message = CSRF_MESSAGE if language == "en" else translated(app, CSRF_MESSAGE, language)
    assert message in page_text(response)


class TestMissingCsrfToken:
    """With CSRF protection on, a form sent without (or with a forged) token is refused with a clear 400."""

    @pytest.fixture
    def app_overrides(self):
        return {"WTF_CSRF_ENABLED": True}

    def test_register_with_a_token_works(self, client, in_db):
        before = user_count(in_db)
        token = csrf_token_of(client.get("/register").get_data(as_text=True))

        response = client.post("/register", data=register_data(csrf_token=token))

        assert response.status_code == 302
        assert user_count(in_db) == before + 1

    @pytest.mark.parametrize("token", [None, "", "forged-token", "%ff"])
    def test_register_without_a_token_comes_back_with_the_input(self, client, in_db, token):
        client.get("/register")  # a session exists, as in a real browser
        before = user_count(in_db)
        data = register_data() if token is None else register_data(csrf_token=token)

        response = client.post("/register", data=data)

        assert response.status_code == 400
        assert CSRF_KEPT_MESSAGE in page_text(response)
        assert f'value="{data["email"]}"' in response.get_data(as_text=True)  # what was typed is still there
        assert 'name="csrf_token"' in response.get_data(as_text=True)  # a fresh token: sending again works
        assert user_count(in_db) == before

    def test_an_expired_case_form_keeps_the_text_and_saves_nothing(self, client, make_user, login_as, in_db,
                                                                  make_case):
        from app.case_studies.models import CaseStudy

        slug = make_case("draft")
        login_as(make_user("akim", akimat=("KZ-75", None)))
        page = client.get(f"/cases/{slug}/edit").get_data(as_text=True)
        fields = dict(re.findall(r'<input[^>]*name="([a-z_]+)"[^>]*value="([^"]*)"', page))
        long_text = "Three hours of careful writing about the bus depot. " * 20
        response = client.post(f"/cases/{slug}/edit", data={**fields, "csrf_token": "expired", "problem": long_text,
                                                             "save": "Save"})
        assert response.status_code == 400
        assert CSRF_KEPT_MESSAGE in page_text(response)
        assert long_text.strip() in response.get_data(as_text=True)
        with in_db() as session:
            assert long_text.strip() not in session.scalar(sa.select(CaseStudy.problem).where(CaseStudy.slug == slug))

    def test_a_refused_referer_with_a_valid_token_still_saves_nothing(self, app, make_user, login_as, in_db):
        # Over https Flask-WTF also checks the Referer: a valid token with a foreign Referer is refused too, and
        # the page that comes back must not have acted on the (valid-token) submission.
        secure = app.test_client()
        token = csrf_token_of(secure.get("/register", base_url="https://localhost").get_data(as_text=True))
        before = user_count(in_db)
        response = secure.post("/register", data=register_data(csrf_token=token), base_url="https://localhost",
                               headers={"Referer": "https://evil.example/"})
        assert response.status_code == 400
        assert CSRF_KEPT_MESSAGE in page_text(response)  # the form came back (the view ran, minus the token)
        assert user_count(in_db) == before

    def test_login_without_a_token(self, client, make_user, in_db):
        user = make_user("reader")

        response = client.post("/login", data={"email": user.email, "password": PASSWORD})

        assert_csrf_refused(response)
        assert client.get("/account").status_code == 302
        assert user_row(in_db, user.id).last_login_at is None

    def test_logout_without_a_token(self, client, make_user, login_as, in_db):
        user = make_user("reader")
        login_as(user)

        response = client.post("/logout")

        assert_csrf_refused(response)
        assert client.get("/account").status_code == 200, "still logged in"
        assert user_row(in_db, user.id).session_version == user.session_version

    def test_language_switch_without_a_token(self, app, client, make_user, login_as, in_db):
        user = make_user("reader", language="kk")
        login_as(user)

        response = client.post("/language", data={"lang": "ru", "next": "/"})

        assert_csrf_refused(response, app, "kk")
        assert client.get_cookie("lang") is None
        assert user_row(in_db, user.id).preferred_language == "kk"

    def test_admin_action_without_a_token(self, client, make_user, login_as, in_db):
        login_as(make_user("admin"))
        target = make_user("reader")

        response = client.post(f"/admin/users/{target.id}/active",
                               data={"activate-reason": "Spam", "activate-active": "0"})

        assert_csrf_refused(response)
        assert user_row(in_db, target.id).active is True
        assert audit_count(in_db) == 0

    def test_csrf_error_page_is_in_the_users_language(self, app, client, make_user, login_as):
        login_as(make_user("reader", language="ru"))

        response = client.post("/logout")

        assert '<html lang="ru">' in response.get_data(as_text=True)
        assert translated(app, CSRF_MESSAGE, "ru") != CSRF_MESSAGE, "the Russian catalog must translate it"
        assert_csrf_refused(response, app, "ru")
