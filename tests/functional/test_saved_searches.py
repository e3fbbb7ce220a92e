"""Saved searches: saving from the results page, the profile list (rename, delete, new feed link), someone else's
saved search, the per-user limit, the Atom feed by token, and the digest's alerts (deduplicated with follows)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.auth.models import User
from app.case_studies.models import CaseStudy
from app.case_studies.models import Follow
from app.search.saved import services
from app.search.saved.models import SavedSearch

ATOM = "{http://www.w3.org/2005/Atom}"
KOSTANAY = ("KZ-39", None)


def saved_rows(db_session, user) -> list[SavedSearch]:
    return list(db_session.scalars(sa.select(SavedSearch).where(SavedSearch.user_id == user.id)
                                   .order_by(SavedSearch.id)))


def save(client, data: dict, **headers):
    return client.post("/search/saved", data=data, headers=headers)


def make_saved(app, user, name="Buses", q="bus", **filters) -> SavedSearch:
    """A saved search made by the service (as if saved from the page)."""
    from app.extensions import db
    from app.search.parsing import SearchParams

    with app.test_request_context():
        params = SearchParams(q=q, filters={k: v for k, v in filters.items() if k not in ("year_from", "year_to",
                                                                                          "sort")},
                              year_from=filters.get("year_from"), year_to=filters.get("year_to"),
                              sort=filters.get("sort", "relevance"))
        saved = services.save(db.session.get(User, user.id), params, name)
        db.session.commit()
        db.session.refresh(saved)
        db.session.expunge(saved)
        return saved


# --- saving from the results page ---------------------------------------------------------------------------


def test_results_page_offers_saving_to_logged_in_users_only(client, make_user, make_case, login_as):
    make_case("published")
    page = client.get("/search?q=bus&region=KZ-75&sort=newest").get_data(as_text=True)
    assert "Log in to save this search" in page and 'action="/search/saved"' not in page
    login_as(make_user("reader"))
    page = client.get("/search?q=bus&region=KZ-75&topic=transport&year_from=2010&sort=newest&page=1")
    html = page.get_data(as_text=True)
    assert 'action="/search/saved"' in html
    for field in ('name="q" value="bus"', 'name="region" value="KZ-75"', 'name="topic" value="transport"',
                  'name="year_from" value="2010"', 'name="sort" value="newest"'):
        assert field in html
    assert 'placeholder="bus · Almaty · Transport · from 2010"' in html


def test_save_from_the_results_page_keeps_the_filters_exactly(client, make_user, make_case, login_as, db_session):
    slug = make_case("published")
    user = make_user("reader")
    login_as(user)
    data = {"q": "bus card", "region": ["KZ-75", "KZ-39"], "topic": "transport", "level": "city",
            "language": "en", "status": "scaled", "evidence": "2", "year_from": "2010", "year_to": "2020",
            "sort": "newest", "name": ""}
    response = save(client, data)
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/search?q=bus+card&region=KZ-75&region=KZ-39&topic=transport")
    [saved] = saved_rows(db_session, user)
    assert saved.query == "bus card"
    assert saved.filters == {"region": ["KZ-75", "KZ-39"], "topic": ["transport"], "level": ["city"],
                             "language": ["en"], "status": ["scaled"], "evidence": ["2"], "year_from": 2010,
                             "year_to": 2020, "sort": "newest"}
    assert saved.name.startswith("bus card · Almaty, Kostanay Region · Transport · City · English · Scaled")
    assert saved.name.endswith("2010–2020")
    assert len(saved.feed_token) == 32

    profile = client.get("/account").get_data(as_text=True)
    assert "Search saved as" in profile
    assert saved.name in profile
    assert f"/search/saved/{saved.feed_token}.atom" in profile
    # "Open the search" goes to the very same search page.
    assert ('href="/search?q=bus+card&amp;region=KZ-75&amp;region=KZ-39&amp;topic=transport&amp;level=city&amp;'
            'language=en&amp;status=scaled&amp;evidence=2&amp;year_from=2010&amp;year_to=2020&amp;sort=newest"'
            in profile)
    assert slug


def test_save_with_a_name_and_refusals(client, make_user, login_as, db_session):
    user = make_user("reader", language="ru")
    login_as(user)
    assert save(client, {"q": "tram", "name": "  Трамваи  "}).status_code == 303
    assert [s.name for s in saved_rows(db_session, user)] == ["Трамваи"]
    # The same search again, a name too long, a filter value the page never offers: refused, in Russian.
    ru = {"Accept-Language": "ru"}
    save(client, {"q": "tram", "name": "Again"}, **ru)
    save(client, {"q": "other", "name": "x" * 121}, **ru)
    response = save(client, {"q": "other", "region": "KZ-99", "topic": "<script>"}, **ru)
    assert response.status_code == 303 and "KZ-99" not in response.headers["Location"]
    page = client.get("/account", headers=ru).get_data(as_text=True)
    assert "Вы уже сохранили этот поиск" in page
    assert "не более 120" in page
    assert "не удалось сохранить" in page
    assert [s.name for s in saved_rows(db_session, user)] == ["Трамваи"]


def test_anonymous_cannot_save(client, db_session):
    response = save(client, {"q": "bus"})
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert db_session.scalar(sa.select(sa.func.count(SavedSearch.id))) == 0


@pytest.mark.parametrize("app_overrides", [{"WTF_CSRF_ENABLED": True}])
def test_saving_needs_the_csrf_token(client, make_user, login_as, db_session):
    login_as(make_user("reader"))
    assert save(client, {"q": "bus"}).status_code == 400
    assert db_session.scalar(sa.select(sa.func.count(SavedSearch.id))) == 0


def test_the_limit_per_user_is_clear(client, make_user, login_as, db_session, monkeypatch):
    monkeypatch.setattr(services, "MAX_PER_USER", 3)
    user = make_user("reader")
    login_as(user)
    for word in ("one", "two", "three", "four"):
        save(client, {"q": word})
    assert [s.query for s in saved_rows(db_session, user)] == ["one", "two", "three"]
    page = client.get("/account").get_data(as_text=True)
    assert "You have 3 saved searches, the most one account can keep" in page
    # Another user is not affected.
    other = make_user("reader")
    login_as(other)
    assert save(client, {"q": "four"}).status_code == 303
    assert len(saved_rows(db_session, other)) == 1


# --- managing in the profile ------------------------------------------------------------------------------


def test_rename_delete_and_new_feed_link(app, client, make_user, login_as, db_session):
    user = make_user("reader")
    saved = make_saved(app, user)
    login_as(user)
    response = client.post(f"/search/saved/{saved.id}/rename", data={"name": "School buses"})
    assert response.status_code == 303 and response.headers["Location"] == "/account#saved-searches"
    assert saved_rows(db_session, user)[0].name == "School buses"

    for bad in ("", "   ", "y" * 121):
        assert client.post(f"/search/saved/{saved.id}/rename", data={"name": bad}).status_code == 303
    page = client.get("/account").get_data(as_text=True)
    assert "This field is required." in page and "At most 120 characters." in page
    assert saved_rows(db_session, user)[0].name == "School buses"

    old = saved.feed_token
    assert client.post(f"/search/saved/{saved.id}/feed-token").status_code == 303
    new = saved_rows(db_session, user)[0].feed_token
    assert new != old and len(new) == 32
    assert client.get(f"/search/saved/{old}.atom").status_code == 404
    assert client.get(f"/search/saved/{new}.atom").status_code == 200

    assert client.post(f"/search/saved/{saved.id}/delete").status_code == 303
    assert saved_rows(db_session, user) == []
    assert "Saved search “School buses” deleted." in client.get("/account").get_data(as_text=True)
    assert client.get(f"/search/saved/{new}.atom").status_code == 404


def test_someone_elses_saved_search_is_404(app, client, make_user, login_as, db_session):
    owner = make_user("reader")
    saved = make_saved(app, owner, name="Mine")
    login_as(make_user("admin"))  # not even an administrator
    assert saved.name not in client.get("/account").get_data(as_text=True)
    for action, data in (("rename", {"name": "Stolen"}), ("delete", {}), ("feed-token", {})):
        assert client.post(f"/search/saved/{saved.id}/{action}", data=data).status_code == 404
    for bad_id in ("999999", "99999999999999999999", "-1", "abc"):
        assert client.post(f"/search/saved/{bad_id}/delete").status_code == 404
    [row] = saved_rows(db_session, owner)
    assert (row.name, row.feed_token) == ("Mine", saved.feed_token)


def test_deleting_the_user_deletes_their_saved_searches(app, make_user, db_session):
    user = make_user("reader")
    make_saved(app, user)
    db_session.execute(sa.delete(User).where(User.id == user.id))
    assert db_session.scalar(sa.select(sa.func.count(SavedSearch.id))) == 0


# --- the Atom feed ------------------------------------------------------------------------------------------


def test_feed_by_token_lists_the_newest_exact_matches(app, make_user, make_case, db_session):
    user = make_user("reader")
    bus = make_case("published")
    make_case("published", title="Participatory budget", topics=["budgeting"],
              summary="Residents vote on the district budget.", solution="Voting online and on paper.",
              problem="Nobody knew where the money went.", challenges="Turnout.", results="Thousands voted.",
              lessons="Start small.")
    school = make_case("published", akimat=KOSTANAY, region="KZ-39", level="oblast", title="School buses on demand",
                       topics=["education"])
    make_case("draft", title="Draft bus lanes")
    saved = make_saved(app, user, name="Almaty buses", q="bus", region=["KZ-75"])
    everything = make_saved(app, user, name="Buses anywhere", q="bus")
    now = datetime.now(UTC)
    db_session.execute(sa.update(CaseStudy).where(CaseStudy.slug == school).values(published_at=now))

    anonymous = app.test_client()  # no session: the token is the only key
    response = anonymous.get(f"/search/saved/{saved.feed_token}.atom")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/atom+xml; charset=utf-8"
    assert response.headers["X-Robots-Tag"] == "noindex"
    root = ET.fromstring(response.data)
    assert root.tag == f"{ATOM}feed"
    assert root.findtext(f"{ATOM}title") == "Saved search: Almaty buses"
    assert [e.findtext(f"{ATOM}id") for e in root.findall(f"{ATOM}entry")] == [f"http://localhost/cases/{bus}"]
    links = {link.get("rel"): link.get("href") for link in root.findall(f"{ATOM}link")}
    assert links == {"self": f"http://localhost/search/saved/{saved.feed_token}.atom",
                     "alternate": "http://localhost/search?q=bus&region=KZ-75"}

    root = ET.fromstring(anonymous.get(f"/search/saved/{everything.feed_token}.atom").data)
    assert [e.findtext(f"{ATOM}title") for e in root.findall(f"{ATOM}entry")] == [
        "School buses on demand", "Electronic bus card Onay"]  # newest first; no draft, no near match


@pytest.mark.parametrize("token", ["x" * 32, "short", "a" * 33, "..%2F..%2Fetc%2Fpasswd", "é" * 32, "A" * 4000])
def test_feed_with_a_bad_token_is_404(app, client, make_user, token):
    make_saved(app, make_user("reader"))
    assert client.get(f"/search/saved/{token}.atom").status_code == 404
    assert client.get("/search/saved/%00.atom").status_code == 400  # the NUL guard answers first


def test_feed_of_a_deactivated_user_is_404(app, client, make_user, db_session):
    user = make_user("reader")
    saved = make_saved(app, user)
    db_session.execute(sa.update(User).where(User.id == user.id).values(active=False))
    assert client.get(f"/search/saved/{saved.feed_token}.atom").status_code == 404


# --- the digest -----------------------------------------------------------------------------------------


def send(runner) -> str:
    result = runner.invoke(args=["digest", "send"])
    assert result.exit_code == 0, result.output
    return result.output


def test_digest_lists_a_case_once_across_a_follow_and_two_saved_searches(app, runner, make_user, make_case, outbox,
                                                                          db_session):
    user = make_user("reader", email="searcher@example.kz")
    db_session.add(Follow(user_id=user.id, kind="topic", key="transport"))
    db_session.commit()
    first = make_saved(app, user, name="Buses", q="bus")
    make_saved(app, user, name="Almaty cards", q="card", region=["KZ-75"])
    onay = make_case("published")  # followed topic and both saved searches match it
    school = make_case("published", akimat=KOSTANAY, region="KZ-39", level="oblast", title="School bus card",
                       topics=["education"])  # both saved searches' words; only the first's filters
    make_case("draft", title="Draft bus card")

    assert "Digest e-mails sent: 1" in send(runner)
    [mail] = outbox()
    text = mail.get_content()
    assert text.count(f"http://127.0.0.1:5000/cases/{onay}") == 1  # under the follow
    assert text.count(f"http://127.0.0.1:5000/cases/{school}") == 1  # under the first saved search
    follows_part, _, searches_part = text.partition("Saved search “Buses”")
    assert onay in follows_part and school in searches_part
    assert "Saved search “Almaty cards”" not in text  # nothing new left for it
    assert "http://127.0.0.1:5000/search?q=bus" in searches_part
    assert "Draft bus card" not in text
    assert "http://127.0.0.1:5000/account#saved-searches" in text
    db_session.expire_all()
    alerted = {s.name: s.last_alerted_at for s in saved_rows(db_session, user)}
    assert alerted["Buses"] is not None and alerted["Almaty cards"] is None
    assert first

    assert "Digest e-mails sent: 0" in send(runner)  # a second run resends nothing
    assert len(outbox()) == 1


def test_digest_for_saved_searches_only_new_and_updated_matches(app, runner, make_user, make_case, outbox,
                                                                db_session):
    user = make_user("reader", email="searcher@example.kz", language="kk")
    old = make_case("published", title="Bus lanes of 2020")
    make_saved(app, user, name="Автобустар", q="bus")
    now = datetime.now(UTC)
    week_ago = now - timedelta(days=6)
    db_session.execute(sa.update(CaseStudy).where(CaseStudy.slug == old).values(published_at=week_ago,
                                                                                updated_at=week_ago))
    db_session.execute(sa.update(SavedSearch).values(created_at=week_ago))
    db_session.execute(sa.update(User).where(User.id == user.id).values(last_digest_at=now - timedelta(days=1)))
    assert "Digest e-mails sent: 0" in send(runner)  # the only match was published before the last digest

    db_session.execute(sa.update(CaseStudy).where(CaseStudy.slug == old).values(updated_at=datetime.now(UTC)))
    fresh = make_case("published", title="Night buses")
    assert "Digest e-mails sent: 1" in send(runner)
    text = outbox()[0].get_content()
    assert "«Автобустар» сақталған іздеуі" in text  # in the user's language
    assert f"/cases/{fresh}" in text and f"/cases/{old}" in text
    assert "Night buses (" in text
    assert text.index("Night buses") < text.index("Bus lanes of 2020")  # newest first


def test_digest_caps_each_saved_search(app, runner, make_user, make_case, outbox, monkeypatch):
    from app.search.saved import alerts

    monkeypatch.setattr(alerts, "ALERT_CAP", 2)
    user = make_user("reader", email="searcher@example.kz")
    make_saved(app, user, name="Buses", q="bus")
    for n in range(4):
        make_case("published", title=f"Bus practice {n}")
    send(runner)
    text = outbox()[0].get_content()
    assert text.count("Bus practice") == 2
    assert "More matched than are listed here" in text


def test_digest_waits_when_the_index_is_unavailable(app, runner, make_user, make_case, outbox, db_session,
                                                    monkeypatch):
    from app.search.index import IndexUnavailable
    from app.search.saved import alerts

    def unavailable(*args, **kwargs):
        raise IndexUnavailable("gone")

    user = make_user("reader", email="searcher@example.kz")
    make_saved(app, user, name="Buses", q="bus")
    make_case("published")
    monkeypatch.setattr(alerts, "search", unavailable)
    result = runner.invoke(args=["digest", "send"])
    assert result.exit_code == 1 and "failed: 1" in result.output
    assert outbox() == []
    db_session.expire_all()
    assert db_session.get(User, user.id).last_digest_at is None  # the next run sends it
    monkeypatch.undo()
    assert "Digest e-mails sent: 1" in send(runner)
