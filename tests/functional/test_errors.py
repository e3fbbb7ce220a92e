"""Error pages: in the user's language, no traceback; JSON under /api/."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import force_locale
from flask_babel import gettext

from app.auth.models import User


def test_unexpected_error_gives_a_500_page_without_traceback_and_rolls_back(app, client, db_session):
    def explode():
        from app.extensions import db

        db.session.add(User(email="half@example.kz", full_name="Half", password_hash="x"))
        db.session.flush()
        raise RuntimeError("secret internal detail")

    app.add_url_rule("/explode", "explode", explode)
    from app import policy

    policy.RULES["explode"] = policy.PUBLIC
    try:
        response = client.get("/explode", headers={"Accept-Language": "kk"})
    finally:
        del policy.RULES["explode"]
    body = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Traceback" not in body and "secret internal detail" not in body
    with app.test_request_context(), force_locale("kk"):
        assert gettext("Something went wrong on our side") in body
    assert db_session.scalar(sa.select(sa.func.count(User.id))) == 0


def test_404_page_in_russian(app, client):
    response = client.get("/no/such/page", headers={"Accept-Language": "ru"})
    assert response.status_code == 404
    with app.test_request_context(), force_locale("ru"):
        assert gettext("Page not found") in response.get_data(as_text=True)


def test_405_has_allow_header(client):
    response = client.get("/logout")
    assert response.status_code == 405
    assert "POST" in response.headers["Allow"]


def test_api_errors_are_json(client):
    response = client.get("/api/v1/does-not-exist")
    assert response.status_code == 404
    assert response.content_type == "application/json"
    assert set(response.json["error"]) == {"code", "message"}
    response = client.post("/api/v1/regions")
    assert response.status_code == 405
    assert response.json["error"]["code"] == "method_not_allowed"
