"""Language selection and locale formatting, checked against the compiled catalogs."""

from __future__ import annotations

from datetime import UTC
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from babel.dates import format_date
from flask_babel import force_locale
from flask_babel import gettext

from app.auth.models import User
from app.extensions import db
from app.regions.models import Region


def translated(app, msgid: str, language: str) -> str:
    """``msgid`` in ``language`` from the app's catalogs; fails if the catalog does not translate it."""
    with app.test_request_context(), force_locale(language):
        text = gettext(msgid)
    if language != "en":
        assert text != msgid, f"{msgid!r} is not translated into {language}"
    return text


def test_accept_language_picks_the_default(app, client):
    page = client.get("/login", headers={"Accept-Language": "kk-KZ,kk;q=0.9,ru;q=0.8"}).get_data(as_text=True)
    assert '<html lang="kk">' in page
    assert translated(app, "Forgot your password?", "kk") in page
    page = client.get("/login", headers={"Accept-Language": "en-GB,en;q=0.9"}).get_data(as_text=True)
    assert '<html lang="en">' in page and "Forgot your password?" in page
    page = client.get("/login", headers={"Accept-Language": "de-DE"}).get_data(as_text=True)
    assert f'<html lang="{app.config["BABEL_DEFAULT_LOCALE"]}">' in page


def test_language_switch_sets_a_cookie_that_wins_over_accept_language(app, client):
    response = client.post("/language", data={"lang": "kk", "next": "/regions/"})
    assert response.status_code == 302 and response.headers["Location"] == "/regions/"
    assert any(c.startswith("lang=kk") for c in response.headers.getlist("Set-Cookie"))
    page = client.get("/regions/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<html lang="kk">' in page
    assert "Алматы облысы" in page  # region names in the chosen language
    assert translated(app, "Regions of Kazakhstan", "kk") in page


def test_language_switch_is_saved_in_the_profile(app, client, make_user, login_as, db_session):
    user = make_user(language="en")
    login_as(user)
    client.post("/language", data={"lang": "ru"})
    assert db_session.scalar(sa.select(User.preferred_language).where(User.id == user.id)) == "ru"
    other = app.test_client()  # a second browser without the cookie: the profile decides
    login_as(user, other)
    page = other.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<html lang="ru">' in page
    assert translated(app, "Log out", "ru") in page


def test_unknown_language_is_refused_and_changes_nothing(app, client):
    response = client.post("/language", data={"lang": "xx"})
    assert response.status_code == 400
    assert not any(c.startswith("lang=") for c in response.headers.getlist("Set-Cookie"))
    assert "Kazakh, Russian or English" in response.get_data(as_text=True) or response.status_code == 400


def test_region_names_and_numbers_follow_the_locale(app, client, make_user, login_as):
    page = client.get("/regions/KZ-75", headers={"Accept-Language": "ru"}).get_data(as_text=True)
    assert "<h1>Алматы</h1>" in page
    page = client.get("/regions/KZ-63", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "<h1>East Kazakhstan Region</h1>" in page
    page = client.get("/regions/KZ-63", headers={"Accept-Language": "kk"}).get_data(as_text=True)
    assert "<h1>Шығыс Қазақстан облысы</h1>" in page


def test_dates_are_formatted_for_the_locale(app, client, make_user, login_as):
    user = make_user(language="ru")
    login_as(user)
    page = client.get("/account").get_data(as_text=True)
    with app.app_context():
        created = db.session.get(User, user.id).created_at
    # Babel's long Russian date, e.g. "23 ноября 2026 г." (month in the genitive), in Kazakhstan time.
    local = created.replace(tzinfo=created.tzinfo or UTC).astimezone(ZoneInfo("Asia/Almaty"))
    assert format_date(local, "long", locale="ru") in page


def test_the_language_chosen_before_login_wins_and_is_saved_to_the_profile(app, client, make_user, db_session):
    from tests.conftest import PASSWORD

    user = make_user(language="en")
    client.post("/language", data={"lang": "kk"})  # browsing in Kazakh, not logged in
    response = client.post("/login", data={"email": user.email, "password": PASSWORD}, follow_redirects=True)
    assert '<html lang="kk">' in response.get_data(as_text=True)
    assert db_session.scalar(sa.select(User.preferred_language).where(User.id == user.id)) == "kk"


def test_a_profile_language_change_also_moves_the_browser_choice(app, client, make_user, login_as, db_session):
    from tests.conftest import PASSWORD

    user = make_user(language="en", akimat=None)
    client.post("/language", data={"lang": "kk"})
    client.post("/login", data={"email": user.email, "password": PASSWORD})
    response = client.post("/account", data={"full_name": "Test Reader", "preferred_language": "ru", "akimat": "0",
                                              "position": ""})
    assert response.status_code in (302, 303)
    assert any(c.startswith("lang=ru") for c in response.headers.getlist("Set-Cookie"))
    client.post("/logout")
    client.post("/login", data={"email": user.email, "password": PASSWORD})  # the cookie now says ru, as chosen
    assert db_session.scalar(sa.select(User.preferred_language).where(User.id == user.id)) == "ru"


def test_without_a_choice_the_profile_language_is_kept_at_login(app, client, make_user, db_session):
    from tests.conftest import PASSWORD

    user = make_user(language="ru")
    response = client.post("/login", data={"email": user.email, "password": PASSWORD}, follow_redirects=True,
                           headers={"Accept-Language": "en"})
    assert '<html lang="ru">' in response.get_data(as_text=True)
    assert db_session.scalar(sa.select(User.preferred_language).where(User.id == user.id)) == "ru"


def test_region_lists_follow_the_kazakh_alphabet(app, client):
    from app.collation import sort_key

    page = client.get("/regions/", headers={"Accept-Language": "kk"}).get_data(as_text=True)
    with app.app_context():
        names = [r.name_kk for r in db.session.scalars(sa.select(Region))]
    shown = sorted(names, key=lambda n: page.index(f">{n}</a>"))
    assert shown == sorted(names, key=lambda n: sort_key(n, "kk"))
    # Code-point order would put every Қ… and Ұ… region after Шымкент.
    assert shown.index("Қарағанды облысы") < shown.index("Маңғыстау облысы") < shown.index("Шымкент")
