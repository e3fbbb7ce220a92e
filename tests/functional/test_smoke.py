"""Smoke: the app starts on each backend and serves the public pages."""


def test_public_pages(client):
    for url in ["/", "/regions/", "/regions/KZ-75", "/login", "/register", "/about"]:
        assert client.get(url).status_code == 200, url


def test_login_as(client, make_user, login_as):
    user = make_user("admin")
    login_as(user)
    assert client.get("/admin/users").status_code == 200
