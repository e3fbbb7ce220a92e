"""Questions and answers, adoptions, follows and the digest switch through the web: the happy paths with
their e-mails, and every refusal (4xx or a redirect with a message, never a 500, nothing changed)."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from app.audit.models import AuditEntry
from app.auth.models import User
from app.case_studies.engagement import services as engagement
from app.case_studies.models import Adoption
from app.case_studies.models import Answer
from app.case_studies.models import CaseStudy
from app.case_studies.models import Follow
from app.case_studies.models import Question
from app.extensions import db
from app.regions.models import Region

ALMATY = ("KZ-75", None)
KOSTANAY = ("KZ-39", None)
ASTANA = ("KZ-71", None)


def kostanay_case(make_case, state="published", **overrides):
    """A case study of the Kostanay oblast akimat."""
    values = {"region": "KZ-39", "level": "oblast", "title": "School buses on demand", "topics": ["education"]}
    values.update(overrides)
    return make_case(state, akimat=KOSTANAY, **values)


def count(db_session, model) -> int:
    return db_session.scalar(sa.select(sa.func.count()).select_from(model))


def flashes(client) -> list[tuple[str, str]]:
    with client.session_transaction() as session:
        return list(session.get("_flashes", []))


def body_of(message) -> str:
    return message.get_content()


# --- questions and answers ----------------------------------------------------------------------------


def test_ask_and_answer_with_emails_in_each_recipients_language(client, make_user, make_case, login_as, outbox,
                                                                 db_session):
    slug = make_case("published")
    make_user("akim", akimat=ALMATY, language="ru", email="akim.ru@example.kz")
    akim_en = make_user("akim", akimat=ALMATY, language="en", email="akim.en@example.kz")
    make_user("akim", akimat=ALMATY, active=False, email="inactive@example.kz")
    make_user("akim", akimat=KOSTANAY, email="other@example.kz")
    asker = make_user("reader", language="en", email="asker@example.kz", full_name="Aliya Reader")

    login_as(asker)
    response = client.post(f"/cases/{slug}/questions", data={"question-body": "How did you **train** drivers?"})
    assert response.status_code == 303
    question = db_session.scalars(sa.select(Question)).one()
    assert response.headers["Location"] == f"/cases/{slug}#question-{question.id}"
    assert question.asker_id == asker.id
    assert question.body == "How did you **train** drivers?"

    mails = outbox()
    assert sorted(m["To"] for m in mails) == ["akim.en@example.kz", "akim.ru@example.kz"]
    by_recipient = {m["To"]: body_of(m) for m in mails}
    case_url = f"http://localhost/cases/{slug}#question-{question.id}"
    for text in by_recipient.values():
        assert case_url in text
        assert "How did you **train** drivers?" in text
        assert "Aliya Reader" in text
    assert "Алматы" in by_recipient["akim.ru@example.kz"]  # rendered in the recipient's language
    assert "Алматы" not in by_recipient["akim.en@example.kz"]
    assert "Almaty" in by_recipient["akim.en@example.kz"]

    page = client.get(f"/cases/{slug}").get_data(as_text=True)
    assert 'id="questions"' in page
    assert "<strong>train</strong>" in page  # Markdown rendered
    assert "1 unanswered question" in page
    assert "Aliya Reader" in page
    assert f'action="/cases/{slug}/questions/{question.id}/answers"' not in page  # a reader cannot answer

    login_as(akim_en)
    page = client.get(f"/cases/{slug}").get_data(as_text=True)
    assert f'action="/cases/{slug}/questions/{question.id}/answers"' in page
    response = client.post(f"/cases/{slug}/questions/{question.id}/answers",
                           data={f"answer-{question.id}-body": "We ran a two-week course with the bus parks."})
    assert response.status_code == 303
    assert response.headers["Location"] == f"/cases/{slug}#question-{question.id}"
    answer = db_session.scalars(sa.select(Answer)).one()
    assert answer.author_id == akim_en.id

    mails = outbox()
    assert len(mails) == 3
    assert mails[-1]["To"] == "asker@example.kz"
    text = body_of(mails[-1])
    assert "two-week course" in text
    assert case_url in text

    page = client.get(f"/cases/{slug}").get_data(as_text=True)
    assert "two-week course" in page
    assert "unanswered question" not in page
    assert "Add another answer" in page  # members may add to an answered question


def test_the_asker_is_not_mailed_about_their_own_answer(client, make_user, make_case, login_as, outbox,
                                                        db_session):
    slug = make_case("published")
    akim = make_user("akim", akimat=ALMATY)
    colleague = make_user("akim", akimat=ALMATY, email="colleague@example.kz")
    login_as(akim)
    assert client.post(f"/cases/{slug}/questions", data={"question-body": "Internal note?"}).status_code == 303
    assert [m["To"] for m in outbox()] == ["colleague@example.kz"]  # not the asker themselves
    question_id = db_session.scalar(sa.select(Question.id))
    login_as(colleague)
    client.post(f"/cases/{slug}/questions/{question_id}/answers", data={f"answer-{question_id}-body": "Yes."})
    login_as(akim)
    client.post(f"/cases/{slug}/questions/{question_id}/answers", data={f"answer-{question_id}-body": "Thanks."})
    assert [m["To"] for m in outbox()] == ["colleague@example.kz", akim.email]


def test_anonymous_ask_goes_to_login_and_saves_nothing(client, make_case, db_session, outbox):
    slug = make_case("published")
    page = client.get(f"/cases/{slug}").get_data(as_text=True)
    assert "Log in to ask a question" in page
    assert f"/login?next=/cases/{slug}%23questions" in page
    response = client.post(f"/cases/{slug}/questions", data={"question-body": "Hello?"})
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")
    assert count(db_session, Question) == 0
    assert outbox() == []


@pytest.mark.parametrize("state", ["draft", "withdrawn"])
def test_no_question_on_an_unpublished_case(client, make_user, make_case, login_as, db_session, state):
    slug = make_case(state)
    login_as(make_user("reader"))
    assert client.post(f"/cases/{slug}/questions", data={"question-body": "Hello?"}).status_code == 404
    login_as(make_user("akim", akimat=ALMATY))  # its own akimat sees it, but cannot open a thread on it
    assert client.post(f"/cases/{slug}/questions", data={"question-body": "Hello?"}).status_code == 403
    assert client.post("/cases/no-such-case/questions", data={"question-body": "Hello?"}).status_code == 404
    assert count(db_session, Question) == 0


def test_only_members_of_the_owning_akimat_answer(app, client, make_user, make_case, login_as, db_session, outbox):
    slug = make_case("published")
    other_slug = kostanay_case(make_case)
    login_as(make_user("reader"))
    client.post(f"/cases/{slug}/questions", data={"question-body": "Who paid?"})
    question_id = db_session.scalar(sa.select(Question.id))
    url = f"/cases/{slug}/questions/{question_id}/answers"
    data = {f"answer-{question_id}-body": "Me."}

    assert client.post(url, data=data).status_code == 403  # a reader
    login_as(make_user("akim", akimat=KOSTANAY))
    assert client.post(url, data=data).status_code == 403  # an akim of another akimat
    login_as(make_user("organiser"))
    assert client.post(url, data=data).status_code == 403
    login_as(make_user("admin"))
    assert client.post(url, data=data).status_code == 403  # admins moderate, they do not answer for an akimat
    login_as(make_user("akim", akimat=ALMATY))
    assert client.post(f"/cases/{other_slug}/questions/{question_id}/answers", data=data).status_code == 404
    assert client.post(f"/cases/{slug}/questions/999999/answers", data=data).status_code == 404
    assert count(db_session, Answer) == 0


def test_empty_or_too_long_question_is_refused_and_the_text_kept(client, make_user, make_case, login_as,
                                                                 db_session, outbox):
    slug = make_case("published")
    make_user("akim", akimat=ALMATY)
    login_as(make_user("reader"))

    response = client.post(f"/cases/{slug}/questions", data={"question-body": "   \n  "})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Write your question." in page
    assert 'class="flash flash-error"' in page

    long_text = "Why did the validators freeze " + "and then " * 700 + "END-OF-MY-TEXT"
    assert len(long_text) > engagement.MAX_QUESTION_CHARS
    response = client.post(f"/cases/{slug}/questions", data={"question-body": long_text})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "At most 5000 characters" in page
    assert long_text in page  # the textarea still holds what the user wrote
    assert 'aria-invalid="true"' in page
    assert count(db_session, Question) == 0
    assert outbox() == []

    exactly = "q" * engagement.MAX_QUESTION_CHARS
    assert client.post(f"/cases/{slug}/questions", data={"question-body": exactly}).status_code == 303
    assert count(db_session, Question) == 1


def test_empty_answer_is_refused_and_the_text_of_others_is_not_mixed_in(client, make_user, make_case, login_as,
                                                                         db_session):
    slug = make_case("published")
    login_as(make_user("reader"))
    client.post(f"/cases/{slug}/questions", data={"question-body": "First?"})
    client.post(f"/cases/{slug}/questions", data={"question-body": "Second?"})
    _first, second = db_session.scalars(sa.select(Question.id).order_by(Question.id)).all()
    login_as(make_user("akim", akimat=ALMATY))
    response = client.post(f"/cases/{slug}/questions/{second}/answers", data={f"answer-{second}-body": ""})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Write your answer." in page
    assert f'id="answer-{second}-body"' in page and 'aria-invalid="true"' in page
    assert count(db_session, Answer) == 0


@pytest.mark.parametrize("app_overrides", [{"WTF_CSRF_ENABLED": True}])
def test_forms_on_the_case_page_carry_a_csrf_token(client, make_user, make_case, login_as, db_session):
    slug = make_case("published")
    login_as(make_user("reader"))
    assert client.post(f"/cases/{slug}/questions", data={"question-body": "No token?"}).status_code == 400
    page = client.get(f"/cases/{slug}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post(f"/cases/{slug}/questions", data={"question-body": "With token", "csrf_token": token})
    assert response.status_code == 303
    assert count(db_session, Question) == 1


# --- adoptions --------------------------------------------------------------------------------------------


def adoption_form(**overrides) -> dict:
    data = {"adoption-year": "2023", "adoption-status": "adopted",
            "adoption-note": "We used the same validators but sold cards at post offices.", "adoption-reason": ""}
    data.update({f"adoption-{key}": value for key, value in overrides.items()})
    return data


def test_adoption_by_another_akimat_shows_on_the_case_page(app, client, make_user, make_case, login_as,
                                                           db_session):
    slug = make_case("published")
    page = client.get(f"/cases/{slug}").get_data(as_text=True)
    assert "No other akimat has recorded taking this practice over yet." in page

    akim = make_user("akim", akimat=KOSTANAY)
    login_as(akim)
    page = client.get(f"/cases/{slug}").get_data(as_text=True)
    assert f'action="/cases/{slug}/adoptions"' in page
    response = client.post(f"/cases/{slug}/adoptions", data=adoption_form())
    assert response.status_code == 303
    assert response.headers["Location"] == f"/cases/{slug}#adoptions"
    adoption = db_session.scalars(sa.select(Adoption)).one()
    assert (adoption.year, adoption.status, adoption.recorded_by_id) == (2023, "adopted", akim.id)
    assert db_session.scalar(sa.select(AuditEntry.action).where(AuditEntry.target_type == "adoption")) == \
        "adoption.recorded"

    page = app.test_client().get(f"/cases/{slug}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Adopted in 1 region" in page
    assert "Kostanay Region" in page
    assert "sold cards at post offices" in page
    assert "Adopted" in page

    with app.test_request_context():
        region = db.session.scalar(sa.select(Region).where(Region.iso_code == "KZ-39"))
        taken = engagement.adoptions_by_region(region)
        assert [(t.case.slug, t.source.region.iso_code, t.adoption.year) for t in taken] == [(slug, "KZ-75", 2023)]
        case = db.session.scalar(sa.select(CaseStudy).where(CaseStudy.slug == slug))
        assert [r.iso_code for r in engagement.adoption_summary(case)] == ["KZ-39"]


def test_second_record_updates_instead_of_duplicating(client, make_user, make_case, login_as, db_session):
    slug = make_case("published")
    login_as(make_user("akim", akimat=KOSTANAY))
    client.post(f"/cases/{slug}/adoptions", data=adoption_form())
    colleague = make_user("akim", akimat=KOSTANAY)
    login_as(colleague)
    page = client.get(f"/cases/{slug}").get_data(as_text=True)
    assert "Update your akimat&#39;s record" in page or "Update your akimat's record" in page
    response = client.post(f"/cases/{slug}/adoptions", data=adoption_form(status="adapted", year="2024"))
    assert response.status_code == 303
    rows = db_session.scalars(sa.select(Adoption)).all()
    assert len(rows) == 1
    assert (rows[0].status, rows[0].year, rows[0].recorded_by_id) == ("adapted", 2024, colleague.id)
    assert ("success", "Adoption record updated.") in flashes(client)


def test_own_akimat_and_non_akims_cannot_adopt(app, client, make_user, make_case, login_as, db_session):
    slug = make_case("published")
    login_as(make_user("akim", akimat=ALMATY))
    page = client.get(f"/cases/{slug}").get_data(as_text=True)
    assert f'action="/cases/{slug}/adoptions"' not in page
    assert client.post(f"/cases/{slug}/adoptions", data=adoption_form()).status_code == 403
    login_as(make_user("reader"))
    assert client.post(f"/cases/{slug}/adoptions", data=adoption_form()).status_code == 403
    login_as(make_user("admin"))
    assert client.post(f"/cases/{slug}/adoptions", data=adoption_form()).status_code == 403
    response = app.test_client().post(f"/cases/{slug}/adoptions", data=adoption_form())
    assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=")
    draft = make_case("draft", title="Draft practice")
    login_as(make_user("akim", akimat=KOSTANAY))
    assert client.post(f"/cases/{draft}/adoptions", data=adoption_form()).status_code == 404
    assert count(db_session, Adoption) == 0


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"status": "abandoned", "reason": "  "}, "Say why your akimat abandoned the practice."),
        ({"year": "2010"}, "Enter a year from 2015 to"),  # before the practice started
        ({"year": "next year"}, "Enter a year from 2015 to"),
        ({"year": "3000"}, "Enter a year from 2015 to"),
        ({"status": "stolen"}, "Choose a status from the list."),
        ({"note": "n" * 5001}, "At most 5000 characters."),
    ],
)
def test_bad_adoption_is_refused_with_a_message(client, make_user, make_case, login_as, db_session, overrides,
                                                message):
    slug = make_case("published")
    login_as(make_user("akim", akimat=KOSTANAY))
    response = client.post(f"/cases/{slug}/adoptions", data=adoption_form(**overrides))
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert message in page
    assert adoption_form(**overrides)["adoption-note"] in page  # the note is kept as written
    assert count(db_session, Adoption) == 0


def test_abandoned_with_reason_is_shown(client, make_user, make_case, login_as, db_session):
    slug = make_case("published")
    login_as(make_user("akim", akimat=KOSTANAY))
    response = client.post(f"/cases/{slug}/adoptions",
                           data=adoption_form(status="abandoned", reason="Too few buses in winter."))
    assert response.status_code == 303
    page = client.get(f"/cases/{slug}").get_data(as_text=True)
    assert "Too few buses in winter." in page
    assert "Abandoned" in page
    assert "Adopted in 1 region" not in page  # tried and dropped is listed, not counted as adopted


def test_only_the_adopting_akimat_deletes_its_record(client, make_user, make_case, login_as, db_session):
    slug = make_case("published")
    login_as(make_user("akim", akimat=KOSTANAY))
    client.post(f"/cases/{slug}/adoptions", data=adoption_form())
    adoption_id = db_session.scalar(sa.select(Adoption.id))
    url = f"/cases/{slug}/adoptions/{adoption_id}/delete"
    for user in (make_user("akim", akimat=ASTANA), make_user("akim", akimat=ALMATY), make_user("admin")):
        login_as(user)
        assert client.post(url).status_code == 403
    login_as(make_user("reader"))
    assert client.post(url).status_code == 403
    login_as(make_user("akim", akimat=KOSTANAY))
    assert client.post(f"/cases/{slug}/adoptions/999999/delete").status_code == 404
    assert count(db_session, Adoption) == 1
    response = client.post(url)
    assert response.status_code == 303
    assert response.headers["Location"] == f"/cases/{slug}#adoptions"
    assert count(db_session, Adoption) == 0


# --- follows and the digest switch ------------------------------------------------------------------------


def follow_rows(db_session, user_id) -> list[tuple[str, str]]:
    return [tuple(row) for row in db_session.execute(
        sa.select(Follow.kind, Follow.key).where(Follow.user_id == user_id).order_by(Follow.id)
    )]


def test_follow_and_unfollow_from_the_case_page(client, make_user, make_case, login_as, db_session):
    slug = make_case("published")
    reader = make_user("reader")
    login_as(reader)
    page = client.get(f"/cases/{slug}").get_data(as_text=True)
    assert "Follow this case study" in page
    assert "Follow Almaty" in page
    assert "Follow Transport" in page

    back = f"/cases/{slug}#follow"
    for kind, key in (("case", slug), ("region", "kz-75"), ("topic", "transport")):
        response = client.post("/cases/follow", data={"kind": kind, "key": key, "next": back})
        assert response.status_code == 303
        assert response.headers["Location"] == back
    assert follow_rows(db_session, reader.id) == [("case", slug), ("region", "KZ-75"), ("topic", "transport")]

    client.post("/cases/follow", data={"kind": "region", "key": "KZ-75", "next": back})  # again: no duplicate
    assert len(follow_rows(db_session, reader.id)) == 3
    assert ("info", "You already follow Almaty.") in flashes(client)

    page = client.get(f"/cases/{slug}").get_data(as_text=True)
    assert "Unfollow this case study" in page
    assert "Unfollow Almaty" in page

    response = client.post("/cases/unfollow", data={"kind": "topic", "key": "transport", "next": back})
    assert response.status_code == 303
    assert follow_rows(db_session, reader.id) == [("case", slug), ("region", "KZ-75")]
    page = client.get("/cases/following").get_data(as_text=True)
    assert "Almaty" in page and "Electronic bus card Onay" in page


@pytest.mark.parametrize(
    ("kind", "key", "message"),
    [
        ("topic", "space-travel", "Unknown topic: space-travel."),
        ("region", "KZ-00", "Unknown region: KZ-00."),
        ("case", "no-such-case", "There is no published case study at this address."),
        ("case", "DRAFT", "There is no published case study at this address."),
        ("akimat", "KZ-75", "You can follow a region, a topic or a case study."),
        ("topic", "", "Choose what to follow."),
    ],
)
def test_follow_validation_refuses_and_saves_nothing(client, make_user, make_case, login_as, db_session, kind, key,
                                                     message):
    draft = make_case("draft")
    key = draft if key == "DRAFT" else key
    reader = make_user("reader")
    login_as(reader)
    response = client.post("/cases/follow", data={"kind": kind, "key": key, "next": "https://evil.example/"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/cases/following"  # an off-site next is not followed
    assert ("error", message) in flashes(client)
    assert follow_rows(db_session, reader.id) == []
    page = client.get("/cases/following").get_data(as_text=True)
    assert message in page


def test_user_input_in_a_refusal_message_is_shown_escaped(client, make_user, login_as):
    """A flashed message formatted with what the user sent must not come back as HTML (a lazy translation is
    HTML-safe to Jinja: the flash stores plain text)."""
    login_as(make_user("reader"))
    client.post("/cases/follow", data={"kind": "topic", "key": "<i>zzz</i>"})
    page = client.get("/cases/following").get_data(as_text=True)
    assert "<i>zzz</i>" not in page
    assert "Unknown topic: &lt;i&gt;zzz&lt;/i&gt;." in page


def test_follow_needs_login(client, db_session):
    response = client.post("/cases/follow", data={"kind": "region", "key": "KZ-75"})
    assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=")
    assert client.get("/cases/following").headers["Location"].startswith("/login?next=")
    assert count(db_session, Follow) == 0


def test_following_page_toggles_the_digest(client, make_user, login_as, db_session):
    reader = make_user("reader")
    login_as(reader)
    page = client.get("/cases/following").get_data(as_text=True)
    assert "You do not follow anything yet." in page
    assert "Switch the digest off" in page

    response = client.post("/cases/following", data={"digest": "off"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/cases/following"
    db_session.expire_all()
    assert db_session.get(User, reader.id).digest_enabled is False
    page = client.get("/cases/following").get_data(as_text=True)
    assert "The e-mail digest is off." in page
    assert "Switch the digest on" in page

    assert client.post("/cases/following", data={"digest": "maybe"}).status_code == 400
    assert client.post("/cases/following", data={}).status_code == 400
    db_session.expire_all()
    assert db_session.get(User, reader.id).digest_enabled is False

    client.post("/cases/following", data={"digest": "on"})
    db_session.expire_all()
    assert db_session.get(User, reader.id).digest_enabled is True


@pytest.mark.parametrize("app_overrides", [{"QUESTION_LIMIT": "2 per hour"}])
def test_questions_are_rate_limited_per_user(client, make_user, make_case, login_as, db_session, outbox):
    slug = make_case("published")
    make_user("akim", akimat=ALMATY)
    login_as(make_user("reader"))
    assert client.post(f"/cases/{slug}/questions", data={"question-body": ""}).status_code == 400  # not counted
    for n in range(2):
        assert client.post(f"/cases/{slug}/questions", data={"question-body": f"Q{n}"}).status_code == 303
    response = client.post(f"/cases/{slug}/questions", data={"question-body": "One too many"})
    assert response.status_code == 429
    assert count(db_session, Question) == 2
    assert len(outbox()) == 2
    login_as(make_user("reader"))  # another person is not held back
    assert client.post(f"/cases/{slug}/questions", data={"question-body": "Mine"}).status_code == 303


def test_a_question_sent_twice_with_its_form_token_is_asked_once(app, client, make_user, make_case, login_as,
                                                                 db_session, outbox):
    import re

    from tests.helpers import simultaneously

    slug = make_case("published")
    make_user("akim", akimat=ALMATY)
    asker = make_user("reader")
    login_as(asker)
    page = client.get(f"/cases/{slug}").get_data(as_text=True)
    token = re.search(r'name="question-once" type="hidden" value="([0-9a-f]{32})"', page) or \
        re.search(r'name="question-once" value="([0-9a-f]{32})"', page)
    assert token, "the question form carries a one-time token"
    data = {"question-body": "Who paid for the validators?", "question-once": token.group(1)}

    assert client.post(f"/cases/{slug}/questions", data=data).status_code == 303
    again = client.post(f"/cases/{slug}/questions", data=data)  # the browser resent it
    assert again.status_code == 400
    assert "This was sent already" in again.get_data(as_text=True)
    assert count(db_session, Question) == 1

    # Two tabs sending one fresh form at the same instant: one question.
    data["question-once"] = "f" * 32
    tabs = [login_as(asker, target_client=app.test_client()) for _ in range(4)]
    statuses, errors = simultaneously(tabs, lambda tab: tab.post(f"/cases/{slug}/questions", data=data))
    assert not errors, errors
    assert sorted(statuses) == [303, 400, 400, 400], statuses
    assert count(db_session, Question) == 2
