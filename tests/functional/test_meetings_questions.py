"""Registration details: organisers' registration questions (text, one choice, yes/no), answers asked when
registering (required ones enforced, nothing stored when refused, what was typed kept), changed later, shown in
the registrations list and its formula-safe CSV; the opt-in public attendee list; tampered forms refused with a
message or a 4xx, never a 500; the migration."""

from __future__ import annotations

import csv
import io
import re

import pytest
import sqlalchemy as sa

from app.meetings.models import Meeting
from app.meetings.models import Registration
from app.meetings.models import RegistrationAnswer
from app.meetings.models import RegistrationQuestion
from tests.helpers import field_error
from tests.helpers import flashes
from tests.helpers import page_text
from tests.helpers import text
from tests.helpers import translated

ROLE = {"kind": "choice", "label": "Your role", "options": "Akim\nDeputy akim\nExpert", "required": "y"}
ARRIVAL = {"kind": "text", "label": "Arrival date", "help_text": "So that we can meet you.", "options": ""}
ACCESS = {"kind": "yes_no", "label": "Do you need step-free access?", "options": ""}


@pytest.fixture
def organiser(make_user):
    return make_user("organiser")


@pytest.fixture
def asked(client, login_as, organiser, make_meeting, db_session):
    """An open meeting with three questions added through the organisers' page; returns (meeting id, {name: id})."""
    meeting_id = make_meeting()
    login_as(organiser)
    for data in (ROLE, ARRIVAL, ACCESS):
        response = client.post(f"/meetings/{meeting_id}/questions", data=data)
        assert response.status_code == 303, page_text(response)
    ids = dict(db_session.execute(sa.select(RegistrationQuestion.label, RegistrationQuestion.id)
                                  .where(RegistrationQuestion.meeting_id == meeting_id)).tuples().all())
    client.post("/logout")
    return meeting_id, {"role": ids["Your role"], "arrival": ids["Arrival date"],
                        "access": ids["Do you need step-free access?"]}


def answers(db_session, meeting_id: int) -> dict[tuple[str, str], str]:
    """(person's name, question label) → value of every answer stored for the meeting."""
    db_session.expire_all()
    rows = db_session.execute(
        sa.select(Registration.user_id, RegistrationQuestion.label, RegistrationAnswer.value)
        .join(RegistrationAnswer, RegistrationAnswer.registration_id == Registration.id)
        .join(RegistrationQuestion, RegistrationQuestion.id == RegistrationAnswer.question_id)
        .where(Registration.meeting_id == meeting_id))
    return {(user_id, label): value for user_id, label, value in rows}


def registration(db_session, meeting_id: int, user_id: int) -> Registration | None:
    db_session.expire_all()
    return db_session.scalar(sa.select(Registration).where(Registration.meeting_id == meeting_id,
                                                           Registration.user_id == user_id))


def seats_taken(db_session, meeting_id: int) -> int:
    db_session.expire_all()
    return db_session.get(Meeting, meeting_id).registered_count


def participants(client, meeting_id: int) -> list[str]:
    """The entries of the meeting page's public attendee list."""
    page = client.get(f"/meetings/{meeting_id}").get_data(as_text=True)
    found = re.search(r'<ul class="participant-list">(.*?)</ul>', page, re.S)
    return [text(item) for item in re.findall(r"<li>(.*?)</li>", found.group(1), re.S)] if found else []


def csv_rows(client, meeting_id: int) -> list[list[str]]:
    response = client.get(f"/meetings/{meeting_id}/registrations.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    return list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


# --- the organisers' questions --------------------------------------------------------------------------------


def test_organiser_adds_questions_in_order_and_the_meeting_page_asks_them(client, asked, make_user, login_as):
    meeting_id, ids = asked
    login_as(make_user("reader"))
    page = client.get(f"/meetings/{meeting_id}").get_data(as_text=True)
    positions = [page.index(f'name="q_{ids[name]}"') for name in ("role", "arrival", "access")]
    assert positions == sorted(positions)
    assert "Deputy akim" in page and "So that we can meet you." in page
    assert 'name="show_publicly"' in page and 'name="show_publicly" type="checkbox" value="y" checked' not in page


@pytest.mark.parametrize(("data", "field", "message"), [
    ({**ARRIVAL, "label": ""}, "label", "Write the question."),
    ({**ROLE, "options": "Akim"}, "options", "List at least two options, one per line."),
    ({**ROLE, "options": "Akim\nakim"}, "options", "Each option once: two lines are the same."),
    ({**ARRIVAL, "label": "x" * 301}, "label", "At most 300 characters."),
    ({**ARRIVAL, "kind": "date"}, "kind", "Choose what kind of answer the question asks for."),
])
def test_bad_questions_are_refused_with_a_message_and_what_was_typed(client, login_as, organiser, make_meeting,
                                                                      db_session, data, field, message):
    meeting_id = make_meeting()
    login_as(organiser)
    response = client.post(f"/meetings/{meeting_id}/questions", data=data)
    assert response.status_code == 400
    assert field_error(response, field) == message
    assert data["label"][:50] in response.get_data(as_text=True)
    assert db_session.scalar(sa.select(sa.func.count(RegistrationQuestion.id))) == 0


def test_questions_are_reordered_edited_and_deleted_while_unanswered(client, asked, login_as, organiser, db_session):
    meeting_id, ids = asked
    login_as(organiser)
    assert client.post(f"/meetings/{meeting_id}/questions/{ids['access']}/move",
                       data={"direction": "up"}).status_code == 303
    order = db_session.scalars(sa.select(RegistrationQuestion.label)
                               .where(RegistrationQuestion.meeting_id == meeting_id)
                               .order_by(RegistrationQuestion.position)).all()
    assert order == ["Your role", "Do you need step-free access?", "Arrival date"]
    response = client.post(f"/meetings/{meeting_id}/questions/{ids['arrival']}/move", data={"direction": "sideways"},
                           follow_redirects=True)
    assert "Move the question up or down." in flashes(response.get_data(as_text=True))
    assert client.post(f"/meetings/{meeting_id}/questions/{ids['arrival']}/edit",
                       data={**ARRIVAL, "kind": "yes_no", "label": "Arriving the day before?"}).status_code == 303
    assert db_session.get(RegistrationQuestion, ids["arrival"]).kind == "yes_no"
    assert client.post(f"/meetings/{meeting_id}/questions/{ids['arrival']}/delete").status_code == 303
    assert db_session.get(RegistrationQuestion, ids["arrival"]) is None


def test_an_answered_question_keeps_its_kind_and_chosen_options_and_cannot_be_deleted(
        client, asked, login_as, organiser, make_user, db_session):
    meeting_id, ids = asked
    login_as(make_user("reader"))
    assert client.post(f"/meetings/{meeting_id}/register", data={f"q_{ids['role']}": "Expert"}).status_code == 303
    login_as(organiser)
    edit = f"/meetings/{meeting_id}/questions/{ids['role']}/edit"
    response = client.post(edit, data={**ROLE, "kind": "text"})
    assert response.status_code == 400 and "its kind cannot change" in field_error(response, "kind")
    response = client.post(edit, data={**ROLE, "options": "Akim\nDeputy akim"})
    assert response.status_code == 400
    assert field_error(response, "options") == "Someone has chosen “Expert”, so it must stay among the options."
    response = client.post(f"/meetings/{meeting_id}/questions/{ids['role']}/delete", follow_redirects=True)
    assert any("cannot be deleted" in f for f in flashes(response.get_data(as_text=True)))
    assert db_session.get(RegistrationQuestion, ids["role"]) is not None
    # The wording may change, and options may be added.
    assert client.post(edit, data={**ROLE, "label": "Your role at the meeting",
                                   "options": "Akim\nDeputy akim\nExpert\nJournalist"}).status_code == 303
    db_session.expire_all()
    question = db_session.get(RegistrationQuestion, ids["role"])
    assert question.label == "Your role at the meeting" and question.option_list[-1] == "Journalist"


def test_another_meetings_question_and_unknown_ids_are_404(client, asked, login_as, organiser, make_meeting):
    meeting_id, ids = asked
    other = make_meeting()
    login_as(organiser)
    assert client.get(f"/meetings/{other}/questions/{ids['role']}/edit").status_code == 404
    assert client.post(f"/meetings/{other}/questions/{ids['role']}/delete").status_code == 404
    assert client.post(f"/meetings/{other}/questions/{ids['role']}/move", data={"direction": "up"}).status_code == 404
    assert client.get(f"/meetings/{meeting_id}/questions/999999/edit").status_code == 404
    assert client.get("/meetings/999999/questions").status_code == 404


def test_readers_and_akims_cannot_manage_questions(client, asked, make_user, login_as, db_session):
    meeting_id, ids = asked
    for role in ("reader", "akim"):
        login_as(make_user(role, **({"akimat": ("KZ-75", None)} if role == "akim" else {})))
        assert client.get(f"/meetings/{meeting_id}/questions").status_code == 403
        assert client.post(f"/meetings/{meeting_id}/questions", data=ARRIVAL).status_code == 403
        assert client.post(f"/meetings/{meeting_id}/questions/{ids['role']}/delete").status_code == 403
    assert db_session.scalar(sa.select(sa.func.count(RegistrationQuestion.id))) == 3


# --- registering with answers -----------------------------------------------------------------------------------


def test_a_missing_required_answer_is_refused_in_the_users_language_and_nothing_is_stored(
        app, client, asked, make_user, login_as, db_session, outbox):
    meeting_id, ids = asked
    person = make_user("reader", language="ru")
    login_as(person)
    response = client.post(f"/meetings/{meeting_id}/register",
                           data={f"q_{ids['arrival']}": "12 September, by train", "show_publicly": "y"},
                           headers={"Accept-Language": "ru"})
    assert response.status_code == 400
    expected = translated(app, "Choose an answer: “%(question)s”.", "ru", question="Your role")
    assert field_error(response, f"q_{ids['role']}") == expected
    page = response.get_data(as_text=True)
    assert "12 September, by train" in page  # what was typed is kept
    assert registration(db_session, meeting_id, person.id) is None
    assert seats_taken(db_session, meeting_id) == 0
    assert answers(db_session, meeting_id) == {}
    assert outbox() == []


def test_answers_are_stored_with_the_seat_shown_to_organisers_and_in_a_formula_safe_csv(
        client, asked, make_user, login_as, organiser, db_session):
    meeting_id, ids = asked
    person = make_user("reader", full_name="Aigerim Sadykova", akimat=("KZ-75", None))
    login_as(person)
    response = client.post(f"/meetings/{meeting_id}/register", data={
        f"q_{ids['role']}": "Deputy akim", f"q_{ids['arrival']}": "=HYPERLINK(\"http://evil.example\")",
        f"q_{ids['access']}": "yes"})
    assert response.status_code == 303
    assert registration(db_session, meeting_id, person.id).state == "registered"
    assert seats_taken(db_session, meeting_id) == 1
    assert answers(db_session, meeting_id) == {
        (person.id, "Your role"): "Deputy akim", (person.id, "Arrival date"): '=HYPERLINK("http://evil.example")',
        (person.id, "Do you need step-free access?"): "yes"}
    assert registration(db_session, meeting_id, person.id).show_publicly is False  # off unless ticked

    login_as(organiser)
    page = page_text(client.get(f"/meetings/{meeting_id}/registrations"))
    assert "Your role" in page and "Deputy akim" in page and '=HYPERLINK("http://evil.example")' in page
    rows = csv_rows(client, meeting_id)
    assert rows[0][-4:] == ["Listed publicly", "Your role", "Arrival date", "Do you need step-free access?"]
    assert rows[1][0] == "Aigerim Sadykova"
    assert rows[1][-4:] == ["no", "Deputy akim", "'=HYPERLINK(\"http://evil.example\")", "Yes"]
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)


def test_a_question_label_that_looks_like_a_formula_is_neutralised_in_the_csv_header(
        client, login_as, organiser, make_meeting):
    meeting_id = make_meeting()
    login_as(organiser)
    client.post(f"/meetings/{meeting_id}/questions", data={**ARRIVAL, "label": "@SUM(A1:A9)"})
    assert csv_rows(client, meeting_id)[0][-1] == "'@SUM(A1:A9)"


@pytest.mark.parametrize(("answer", "field", "message"), [
    ({"role": "Minister"}, "role", "Choose one of the options offered."),
    ({"role": "Akim", "access": "maybe"}, "access", "Answer yes or no."),
    ({"role": "Akim", "arrival": "x" * 2001}, "arrival", "At most 2000 characters."),
])
def test_tampered_or_too_long_answers_are_refused_and_nothing_is_stored(client, asked, make_user, login_as,
                                                                        db_session, answer, field, message):
    meeting_id, ids = asked
    person = make_user("reader")
    login_as(person)
    response = client.post(f"/meetings/{meeting_id}/register",
                           data={f"q_{ids[name]}": value for name, value in answer.items()})
    assert response.status_code == 400
    assert field_error(response, f"q_{ids[field]}") == message
    assert registration(db_session, meeting_id, person.id) is None and seats_taken(db_session, meeting_id) == 0


def test_an_answer_to_another_meetings_or_an_unknown_question_is_refused(client, asked, make_user, login_as,
                                                                         organiser, make_meeting, db_session):
    meeting_id, ids = asked
    other = make_meeting()
    login_as(organiser)
    client.post(f"/meetings/{other}/questions", data=ARRIVAL)
    foreign = db_session.scalar(sa.select(RegistrationQuestion.id).where(RegistrationQuestion.meeting_id == other))
    person = make_user("reader")
    login_as(person)
    for extra in ({f"q_{foreign}": "Tomorrow"}, {"q_999999": "Tomorrow"}):
        response = client.post(f"/meetings/{meeting_id}/register", data={f"q_{ids['role']}": "Akim", **extra})
        assert response.status_code == 400
        assert "this meeting no longer asks" in page_text(response)
    for malformed in ({"q_abc": "x"}, {"q_0": "x"}, {f"q_{ids['role']}": ["Akim", "Expert"]}):
        assert client.post(f"/meetings/{meeting_id}/register", data=malformed).status_code == 400
    assert registration(db_session, meeting_id, person.id) is None and seats_taken(db_session, meeting_id) == 0


def test_a_meeting_without_questions_still_registers_in_one_click(client, make_meeting, make_user, login_as,
                                                                  db_session):
    meeting_id = make_meeting()
    person = make_user("reader")
    login_as(person)
    assert client.post(f"/meetings/{meeting_id}/register").status_code == 303
    assert registration(db_session, meeting_id, person.id).state == "registered"


def test_a_registered_person_changes_answers_later_and_a_stranger_cannot(client, asked, make_user, login_as,
                                                                         db_session):
    meeting_id, ids = asked
    person = make_user("reader")
    login_as(person)
    client.post(f"/meetings/{meeting_id}/register", data={f"q_{ids['role']}": "Akim", f"q_{ids['arrival']}": "Monday"})
    page = client.get(f"/meetings/{meeting_id}").get_data(as_text=True)
    assert f'action="/meetings/{meeting_id}/registration"' in page and "Monday</textarea>" in page
    response = client.post(f"/meetings/{meeting_id}/registration", data={f"q_{ids['role']}": "Expert",
                                                                         f"q_{ids['access']}": "no"})
    assert response.status_code == 303
    assert answers(db_session, meeting_id) == {(person.id, "Your role"): "Expert",
                                               (person.id, "Do you need step-free access?"): "no"}
    response = client.post(f"/meetings/{meeting_id}/registration", data={f"q_{ids['role']}": ""})
    assert response.status_code == 400
    assert field_error(response, f"q_{ids['role']}") == "Choose an answer: “Your role”."
    assert answers(db_session, meeting_id)[(person.id, "Your role")] == "Expert"

    login_as(make_user("reader"))
    response = client.post(f"/meetings/{meeting_id}/registration", data={f"q_{ids['role']}": "Akim"},
                           follow_redirects=True)
    assert "You are not registered for this meeting." in flashes(response.get_data(as_text=True))
    assert len(answers(db_session, meeting_id)) == 2


# --- the public attendee list ------------------------------------------------------------------------------------


def test_the_public_list_shows_only_people_who_opted_in_with_name_and_akimat(client, make_meeting, make_user,
                                                                             login_as, db_session):
    meeting_id = make_meeting()
    listed = make_user("akim", full_name="Nurlan Abenov", akimat=("KZ-39", None), email="nurlan@example.kz")
    private = make_user("reader", full_name="Private Person")
    login_as(listed)
    client.post(f"/meetings/{meeting_id}/register", data={"show_publicly": "y"})
    login_as(private)
    client.post(f"/meetings/{meeting_id}/register")
    client.post("/logout")

    page = page_text(client.get(f"/meetings/{meeting_id}"))
    assert "Participants" in page and participants(client, meeting_id) == ["Nurlan Abenov, Kostanay Region akimat"]
    assert "Private Person" not in page and "nurlan@example.kz" not in page

    login_as(listed)
    assert client.post(f"/meetings/{meeting_id}/registration", data={}).status_code == 303  # unticked
    assert registration(db_session, meeting_id, listed.id).show_publicly is False
    client.post("/logout")
    assert participants(client, meeting_id) == []
    assert "Participants" not in page_text(client.get(f"/meetings/{meeting_id}"))


def test_a_waitlisted_or_cancelled_person_is_not_listed(client, make_meeting, make_user, login_as):
    meeting_id = make_meeting(capacity=1)
    first, second = make_user("reader", full_name="First Seat"), make_user("reader", full_name="On Waitlist")
    for person in (first, second):
        login_as(person)
        client.post(f"/meetings/{meeting_id}/register", data={"show_publicly": "y"})
    assert participants(client, meeting_id) == ["First Seat"]
    login_as(first)
    client.post(f"/meetings/{meeting_id}/cancel")
    assert participants(client, meeting_id) == ["On Waitlist"]  # promoted, and had opted in


def test_after_the_start_only_the_listing_can_change(client, make_meeting, make_user, login_as, organiser,
                                                      db_session):
    meeting_id = make_meeting()
    login_as(organiser)
    client.post(f"/meetings/{meeting_id}/questions", data=ARRIVAL)
    question = db_session.scalar(sa.select(RegistrationQuestion.id))
    person = make_user("reader")
    login_as(person)
    client.post(f"/meetings/{meeting_id}/register", data={f"q_{question}": "Monday"})
    db_session.execute(sa.update(Meeting).values(state="held"))
    assert client.post(f"/meetings/{meeting_id}/registration", data={"show_publicly": "y"}).status_code == 303
    assert registration(db_session, meeting_id, person.id).show_publicly is True
    response = client.post(f"/meetings/{meeting_id}/registration", data={f"q_{question}": "Tuesday"},
                           follow_redirects=True)
    assert "answers can no longer change" in page_text(response)
    assert answers(db_session, meeting_id) == {(person.id, "Arrival date"): "Monday"}


# --- demo data and the migration -------------------------------------------------------------------------------


def test_the_open_demo_meeting_asks_questions(runner, db_session):
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    meeting = db_session.scalar(sa.select(Meeting).where(Meeting.state == "registration_open"))
    kinds = [q.kind for q in meeting.registration_questions]
    assert 2 <= len(kinds) <= 3 and "choice" in kinds


BEFORE_REGISTRATION_QUESTIONS = "8f4a2c6e1b93"


def test_migration_upgrade_downgrade(database_url, tmp_path):
    """At head: questions (kind CHECK-ed), answers and the opt-in; the downgrade drops them and keeps the
    registration; the upgrade starts existing registrations off the public list."""
    from datetime import UTC
    from datetime import datetime
    from datetime import timedelta

    from flask_migrate import downgrade
    from flask_migrate import upgrade

    from app.auth.models import User
    from app.extensions import db
    from app.regions.models import Region
    from tests.conftest import make_app
    from tests.functional.test_migrations import MIGRATIONS

    app = make_app(database_url, tmp_path, MIGRATIONS_DIR=MIGRATIONS)
    with app.app_context():
        upgrade(directory=MIGRATIONS)
        region = db.session.scalar(sa.select(Region).where(Region.iso_code == "KZ-75"))
        user = User(email="p@example.kz", full_name="P", password_hash="x")
        starts = datetime(2030, 6, 1, 5, tzinfo=UTC)
        meeting = Meeting(uid="m@test", scope="national", year=2030, slot=1, title="Open", host_region_id=region.id,
                          starts_at=starts, ends_at=starts + timedelta(hours=8), capacity=10,
                          state="registration_open")
        db.session.add_all([user, meeting])
        db.session.flush()
        registration = Registration(meeting_id=meeting.id, user_id=user.id, show_publicly=True)
        question = RegistrationQuestion(meeting=meeting, kind="yes_no", label="Lunch?")
        db.session.add_all([registration, question])
        db.session.flush()
        db.session.add(RegistrationAnswer(registration_id=registration.id, question_id=question.id, value="yes"))
        db.session.commit()
        with pytest.raises(sa.exc.IntegrityError):
            db.session.execute(sa.text("UPDATE meeting_registration_question SET kind = 'date'"))
            db.session.flush()
        db.session.rollback()

        downgrade(directory=MIGRATIONS, revision=BEFORE_REGISTRATION_QUESTIONS)
        inspector = sa.inspect(db.engine)
        tables = set(inspector.get_table_names())
        assert {"meeting_registration_question", "meeting_registration_answer"}.isdisjoint(tables)
        assert "show_publicly" not in {c["name"] for c in inspector.get_columns("meeting_registration")}
        assert db.session.execute(sa.text("SELECT COUNT(*) FROM meeting_registration")).scalar_one() == 1
        db.session.rollback()

        upgrade(directory=MIGRATIONS)
        assert db.session.execute(sa.text("SELECT show_publicly FROM meeting_registration")).scalar_one() in (False, 0)
        assert db.session.execute(sa.text("SELECT COUNT(*) FROM meeting_registration_answer")).scalar_one() == 0
        db.session.remove()
        db.engine.dispose()
