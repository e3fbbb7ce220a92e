"""Atom feeds of published case studies (all, per region, per topic) and ``flask digest send``."""

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
from app.case_studies.models import Question

ATOM = "{http://www.w3.org/2005/Atom}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
ALMATY = ("KZ-75", None)
KOSTANAY = ("KZ-39", None)


def kostanay_case(make_case, state="published", **overrides):
    values = {"region": "KZ-39", "level": "oblast", "title": "School buses on demand", "topics": ["education"]}
    values.update(overrides)
    return make_case(state, akimat=KOSTANAY, **values)


def parse(response) -> ET.Element:
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/atom+xml; charset=utf-8"
    root = ET.fromstring(response.data)
    assert root.tag == f"{ATOM}feed"
    return root


def entry_titles(root: ET.Element) -> list[str]:
    return [entry.findtext(f"{ATOM}title") for entry in root.findall(f"{ATOM}entry")]


@pytest.fixture
def cases(make_case):
    """Two published Almaty case studies, a draft and a withdrawn one, and a published Kostanay one."""
    return {
        "bus": make_case("published"),
        "budget": make_case("published", title="Participatory budget", topics=["budgeting"]),
        "draft": make_case("draft", title="Secret draft"),
        "withdrawn": make_case("withdrawn", title="Withdrawn practice"),
        "school": kostanay_case(make_case),
    }


# --- feeds ------------------------------------------------------------------------------------------------


def test_all_cases_feed_is_valid_atom_with_only_published_cases(client, cases):
    root = parse(client.get("/feeds/cases.atom", headers={"Accept-Language": "en"}))
    assert root.get(XML_LANG) == "en"
    assert root.findtext(f"{ATOM}id") == "http://localhost/feeds/cases.atom"
    assert root.findtext(f"{ATOM}title")
    assert root.findtext(f"{ATOM}updated").endswith("Z")
    links = {link.get("rel"): link.get("href") for link in root.findall(f"{ATOM}link")}
    assert links == {"self": "http://localhost/feeds/cases.atom", "alternate": "http://localhost/cases/"}
    assert root.find(f"{ATOM}author/{ATOM}name").text

    assert sorted(entry_titles(root)) == ["Electronic bus card Onay", "Participatory budget", "School buses on demand"]
    entry = next(e for e in root.findall(f"{ATOM}entry") if e.findtext(f"{ATOM}title") == "Electronic bus card Onay")
    url = f"http://localhost/cases/{cases['bus']}"
    assert entry.findtext(f"{ATOM}id") == url
    assert entry.get(XML_LANG) == "en"
    for name in ("updated", "published"):
        datetime.fromisoformat(entry.findtext(f"{ATOM}{name}"))  # RFC 3339
    assert entry.findtext(f"{ATOM}author/{ATOM}name") == "Dana Seitova"
    assert entry.find(f"{ATOM}link[@rel='alternate']").get("href") == url
    assert sorted(c.get("term") for c in entry.findall(f"{ATOM}category")) == ["digital-services", "transport"]
    assert entry.findtext(f"{ATOM}summary") == "Almaty replaced paper tickets with a contactless card."
    assert b"Secret draft" not in client.get("/feeds/cases.atom").data


def test_region_and_topic_feeds_filter(client, cases):
    assert sorted(entry_titles(parse(client.get("/feeds/regions/KZ-75.atom")))) == [
        "Electronic bus card Onay", "Participatory budget"]
    assert entry_titles(parse(client.get("/feeds/regions/kz-39.atom"))) == ["School buses on demand"]
    assert entry_titles(parse(client.get("/feeds/regions/KZ-71.atom"))) == []  # valid, empty
    assert entry_titles(parse(client.get("/feeds/topics/education.atom"))) == ["School buses on demand"]
    assert entry_titles(parse(client.get("/feeds/topics/transport.atom"))) == ["Electronic bus card Onay"]
    root = parse(client.get("/feeds/topics/budgeting.atom"))
    assert entry_titles(root) == ["Participatory budget"]
    links = {link.get("rel"): link.get("href") for link in root.findall(f"{ATOM}link")}
    assert links["self"] == "http://localhost/feeds/topics/budgeting.atom"
    assert links["alternate"] == "http://localhost/cases/?topic=budgeting"


def test_feed_titles_follow_the_request_language(client, cases):
    root = parse(client.get("/feeds/regions/KZ-75.atom", headers={"Accept-Language": "ru"}))
    assert root.get(XML_LANG) == "ru"
    assert "Алматы" in root.findtext(f"{ATOM}title")
    root = parse(client.get("/feeds/regions/KZ-75.atom", headers={"Accept-Language": "en"}))
    assert "Almaty" in root.findtext(f"{ATOM}title")
    assert [e.get(XML_LANG) for e in root.findall(f"{ATOM}entry")] == ["en", "en"]  # the case's own language


@pytest.mark.parametrize("url", ["/feeds/regions/KZ-00.atom", "/feeds/regions/KAZAKHSTAN.atom",
                                 "/feeds/topics/space-travel.atom", "/feeds/cases.rss"])
def test_unknown_feed_is_404(client, url):
    assert client.get(url).status_code == 404


def test_feed_limits_to_50_newest(app, client, make_case, db_session):
    slugs = [make_case("published", title=f"Practice number {n}") for n in range(52)]
    root = parse(client.get("/feeds/cases.atom"))
    titles = entry_titles(root)
    assert len(titles) == 50
    assert titles[0] == "Practice number 51"
    assert "Practice number 0" not in titles
    assert len(slugs) == 52


# --- digest -----------------------------------------------------------------------------------------------


def follow(db_session, user, kind, key):
    db_session.add(Follow(user_id=user.id, kind=kind, key=key))
    db_session.commit()


def send(runner) -> str:
    result = runner.invoke(args=["digest", "send"])
    assert result.exit_code == 0, result.output
    return result.output


def test_digest_lists_new_cases_of_a_followed_region_once(runner, make_user, make_case, outbox, db_session):
    follower = make_user("reader", language="ru", email="follower@example.kz")
    follow(db_session, follower, "region", "KZ-75")
    published = make_case("published")
    make_case("withdrawn", title="Withdrawn practice")
    make_case("draft", title="Secret draft")
    kostanay_case(make_case)

    assert "Digest e-mails sent: 1" in send(runner)
    mails = outbox()
    assert [m["To"] for m in mails] == ["follower@example.kz"]
    text = mails[0].get_content()
    assert "Electronic bus card Onay" in text
    assert f"http://127.0.0.1:5000/cases/{published}" in text  # absolute link (BASE_URL default)
    assert "http://127.0.0.1:5000/cases/following" in text
    assert "Алматы" in text  # the region name in the follower's language
    for absent in ("Withdrawn practice", "Secret draft", "School buses on demand"):
        assert absent not in text
    db_session.expire_all()
    assert db_session.get(User, follower.id).last_digest_at is not None

    assert "Digest e-mails sent: 0" in send(runner)  # nothing new since
    assert len(outbox()) == 1


def test_no_digest_when_switched_off_or_nothing_followed(client, runner, make_user, make_case, login_as, outbox,
                                                         db_session):
    off = make_user("reader", email="off@example.kz")
    follow(db_session, off, "region", "KZ-75")
    login_as(off)
    assert client.post("/cases/following", data={"digest": "off"}).status_code == 303
    make_user("reader", email="nofollows@example.kz")
    inactive = make_user("reader", email="inactive@example.kz", active=False)
    follow(db_session, inactive, "region", "KZ-75")
    make_case("published")

    assert "Digest e-mails sent: 0" in send(runner)
    assert outbox() == []
    db_session.expire_all()
    assert db_session.get(User, off.id).last_digest_at is None


def test_digest_by_topic_and_case_with_new_answers(app, client, runner, make_user, make_case, login_as, outbox,
                                                   db_session):
    slug = make_case("published")
    kostanay = kostanay_case(make_case)
    topic_follower = make_user("reader", email="topic@example.kz")
    follow(db_session, topic_follower, "topic", "education")
    case_follower = make_user("reader", email="case@example.kz")
    login_as(case_follower)
    client.post("/cases/follow", data={"kind": "case", "key": slug})
    send(runner)
    first = {m["To"]: m.get_content() for m in outbox()}
    assert "School buses on demand" in first["topic@example.kz"]
    assert "Electronic bus card Onay" not in first["topic@example.kz"]
    assert "Electronic bus card Onay" in first["case@example.kz"]
    assert len(outbox()) == 2

    # A question and its answer on the followed case study: the case follower hears about the answer.
    client.post(f"/cases/{slug}/questions", data={"question-body": "How long did it take?"})
    question_id = db_session.scalar(sa.select(Question.id))
    login_as(make_user("akim", akimat=ALMATY, full_name="Dana Seitova"))
    client.post(f"/cases/{slug}/questions/{question_id}/answers", data={f"answer-{question_id}-body": "A year."})
    before = len(outbox())
    assert "Digest e-mails sent: 1" in send(runner)
    mails = outbox()[before:]
    digest = [m for m in mails if m["To"] == "case@example.kz" and "Dana Seitova answered" in m.get_content()]
    assert len(digest) == 1
    assert f"http://127.0.0.1:5000/cases/{slug}#question-{question_id}" in digest[0].get_content()
    assert not any(m["To"] == "topic@example.kz" for m in mails)
    assert kostanay


def test_digest_reports_updated_cases_since_the_last_digest(runner, make_user, make_case, outbox, db_session):
    follower = make_user("reader", email="follower@example.kz")
    follow(db_session, follower, "region", "KZ-75")
    slug = make_case("published")
    now = datetime.now(UTC)
    db_session.execute(sa.update(User).where(User.id == follower.id).values(last_digest_at=now - timedelta(hours=1)))
    db_session.execute(sa.update(CaseStudy).where(CaseStudy.slug == slug).values(
        published_at=now - timedelta(days=3), updated_at=now - timedelta(days=2)))
    assert "Digest e-mails sent: 0" in send(runner)  # published and last changed before the last digest

    db_session.execute(sa.update(CaseStudy).where(CaseStudy.slug == slug).values(updated_at=datetime.now(UTC)))
    assert "Digest e-mails sent: 1" in send(runner)
    text = outbox()[0].get_content()
    assert "Updated case studies" in text
    assert "New case studies" not in text
    assert "Electronic bus card Onay" in text


@pytest.mark.parametrize("app_overrides", [{"BASE_URL": "https://exchange.example.kz"}])
def test_digest_links_use_base_url(runner, make_user, make_case, outbox, db_session):
    follower = make_user("reader")
    follow(db_session, follower, "case", make_case("published"))
    send(runner)
    assert "https://exchange.example.kz/cases/electronic-bus-card-onay" in outbox()[0].get_content()
