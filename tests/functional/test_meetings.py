"""Meetings through the web: organisers create, edit and move meetings through their states; people register,
join the waitlist, cancel and get promoted; e-mails in the reader's language with the .ics attached; the
registrations list, CSV export and attendance; every bad input refused with a message and nothing changed."""

from __future__ import annotations

import csv
import io
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask_babel import force_locale
from flask_babel import gettext
from icalendar import Calendar

from app.audit.models import AuditEntry
from app.meetings.hosts import eligible_hosts
from app.meetings.models import Meeting
from app.meetings.models import Registration

# 12 September 2027, 10:00–18:00 Kazakhstan time (UTC+5).
STARTS = datetime(2027, 9, 12, 5, 0, tzinfo=UTC)
ENDS = datetime(2027, 9, 12, 13, 0, tzinfo=UTC)


def form_data(**overrides) -> dict:
    """A valid meeting form post: a national meeting hosted by Almaty, times in Kazakhstan time."""
    data = {
        "title": "Ninth exchange meeting of akims",
        "host": "national/KZ-75",
        "year": "2027",
        "slot": "1",
        "edition": "9",
        "city": "Almaty",
        "venue": "Palace of the Republic",
        "address": "Dostyk Avenue 56",
        "starts_at": "2027-09-12T10:00",
        "ends_at": "2027-09-12T18:00",
        "format": "in_person",
        "online_url": "",
        "description": "Two days of presentations.",
        "capacity": "120",
        "registration_opens_at": "2027-06-01T09:00",
        "registration_closes_at": "2027-09-05T18:00",
        "contact_name": "Aigerim Nurlanova",
        "contact_email": "meetings@almaty.example.kz",
        "contact_phone": "+7 727 000 00 00",
    }
    data.update(overrides)
    return data


@pytest.fixture
def organiser(make_user, login_as):
    """Log the client in as an organiser; return the user record."""
    user = make_user("organiser")
    login_as(user)
    return user


def fresh(db_session, meeting_id: int) -> Meeting:
    """The meeting as the database has it now (not an object the test session loaded earlier)."""
    db_session.expire_all()
    return db_session.get(Meeting, meeting_id)


def meeting_count(db_session) -> int:
    return db_session.scalar(sa.select(sa.func.count(Meeting.id)))


def registration_state(db_session, meeting_id: int, user_id: int) -> str | None:
    return db_session.scalar(sa.select(Registration.state).where(Registration.meeting_id == meeting_id,
                                                                 Registration.user_id == user_id))


def in_language(app, language: str, message: str, **params) -> str:
    """``message`` as the app renders it in ``language`` (translated once the catalog has it)."""
    with app.test_request_context(), force_locale(language):
        return str(gettext(message, **params))


def body(message) -> str:
    return message.get_body(("plain",)).get_content()


def ics_attachments(message) -> list[Calendar]:
    return [Calendar.from_ical(part.get_content()) for part in message.iter_attachments()
            if part.get_content_type() == "text/calendar"]


# --- reading --------------------------------------------------------------------------------------------------


def test_anyone_reads_the_list_and_the_meeting_page_in_kazakhstan_time(client, make_meeting):
    meeting_id = make_meeting(starts_at=STARTS, ends_at=ENDS, title="Exchange in Almaty")
    held_id = make_meeting(state="held", title="Exchange in Kostanay", host="KZ-39",
                           starts_at=datetime(2023, 5, 20, 4, 0, tzinfo=UTC),
                           ends_at=datetime(2023, 5, 20, 12, 0, tzinfo=UTC))

    page = client.get("/meetings").get_data(as_text=True)
    assert "Exchange in Almaty" in page
    assert "Exchange in Kostanay" in page  # the archive
    assert page.index("Upcoming meetings") < page.index("Exchange in Almaty") < page.index("Archive of past meetings")
    assert page.index("Archive of past meetings") < page.index("Exchange in Kostanay")

    detail = client.get(f"/meetings/{meeting_id}").get_data(as_text=True)
    assert "September 12, 2027, 10:00" in detail  # 05:00 UTC shown as 10:00 Kazakhstan time
    assert "Kazakhstan time (UTC+5)" in detail
    assert "Palace of the Republic" in detail
    assert "0 of 10 seats taken; 10 left." in detail
    assert "Log in to register" in detail
    assert f'href="/meetings/{meeting_id}.ics"' in detail

    # Before March 2024 Kazakhstan's western zone did not apply to Almaty/Kostanay: UTC+6 then.
    old = client.get(f"/meetings/{held_id}").get_data(as_text=True)
    assert "May 20, 2023, 10:00" in old
    assert "Kazakhstan time (UTC+6)" in old


def test_archive_filters_by_year_and_host_region_and_scope(client, make_meeting):
    make_meeting(state="held", title="Held in Almaty 2023", starts_at=datetime(2023, 5, 20, 4, tzinfo=UTC),
                 ends_at=datetime(2023, 5, 20, 12, tzinfo=UTC))
    make_meeting(state="held", title="Held in Kostanay 2024", host="KZ-39",
                 starts_at=datetime(2024, 6, 1, 5, tzinfo=UTC), ends_at=datetime(2024, 6, 1, 13, tzinfo=UTC))
    page = client.get("/meetings?year=2024").get_data(as_text=True)
    assert "Held in Kostanay 2024" in page and "Held in Almaty 2023" not in page
    page = client.get("/meetings?region=KZ-75").get_data(as_text=True)
    assert "Held in Almaty 2023" in page and "Held in Kostanay 2024" not in page
    page = client.get("/meetings?scope=KZ-61").get_data(as_text=True)
    assert "Held in" not in page
    # Nonsense filters are ignored, never an error.
    assert client.get("/meetings?scope=<script>&year=abc&region=XX").status_code == 200


def test_unknown_meeting_is_404(client):
    assert client.get("/meetings/999999").status_code == 404
    assert client.get("/meetings/999999.ics").status_code == 404


# --- creating and editing ---------------------------------------------------------------------------------------


def test_organiser_creates_a_meeting_and_the_audit_log_records_it(client, organiser, db_session):
    response = client.post("/meetings/new", data=form_data())
    assert response.status_code == 302
    meeting = db_session.scalars(sa.select(Meeting)).one()
    assert response.headers["Location"] == f"/meetings/{meeting.id}"
    assert meeting.state == "planned"
    assert meeting.host_region.iso_code == "KZ-75" and meeting.host_municipality_id is None
    assert meeting.host_akimat_id is not None
    assert meeting.starts_at.replace(tzinfo=UTC) == STARTS  # stored in UTC
    assert meeting.registration_closes_at.replace(tzinfo=UTC) == datetime(2027, 9, 5, 13, 0, tzinfo=UTC)
    assert meeting.capacity == 120 and meeting.sequence == 0 and meeting.uid.startswith("meeting-")
    entry = db_session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "meeting.create")).one()
    assert entry.actor_id == organiser.id and entry.target_id == meeting.id


def test_organiser_creates_a_district_meeting_of_a_regional_scope(client, organiser, db_session, app):
    with app.app_context():
        host = eligible_hosts("KZ-61")[0]
        code, municipality_id = host.code, host.municipality.id
    response = client.post("/meetings/new", data=form_data(host=f"KZ-61/{code}", format="hybrid",
                                                           online_url="https://meet.example.kz/akims"))
    assert response.status_code == 302
    meeting = db_session.scalars(sa.select(Meeting)).one()
    assert meeting.scope == "KZ-61" and meeting.host_municipality_id == municipality_id
    assert meeting.format == "hybrid" and meeting.online_url == "https://meet.example.kz/akims"


def test_new_meeting_form_is_prefilled_from_a_rotation_slot(client, organiser):
    page = client.get("/meetings/new?scope=national&year=2027&slot=2&host=KZ-39").get_data(as_text=True)
    assert '<option selected value="national/KZ-39">' in page
    assert 'value="2027"' in page
    assert '<option selected value="2">' in page
    assert 'name="city" type="text" value="Kostanay"' in page  # the region's administrative centre
    assert 'name="city" type="text" value="Astana"' in client.get("/meetings/new?host=KZ-71").get_data(as_text=True)
    # Unknown hosts or scopes in the link are ignored, not an error.
    assert client.get("/meetings/new?scope=KZ-99&host=nowhere&year=abc&slot=9").status_code == 200


@pytest.mark.parametrize(
    ("overrides", "field_message"),
    [
        ({"ends_at": "2027-09-12T09:00"}, "The meeting must end after it starts."),
        ({"ends_at": "2027-09-12T10:00"}, "The meeting must end after it starts."),
        ({"registration_closes_at": "2027-09-12T11:00"}, "Registration must close before the meeting starts."),
        ({"registration_opens_at": "2027-09-06T09:00"}, "Registration must close after it opens."),
        ({"capacity": "0"}, "The capacity must be a whole number of seats, at least 1."),
        ({"capacity": "-5"}, "The capacity must be a whole number of seats, at least 1."),
        ({"capacity": "ten"}, "Enter a whole number."),
        ({"format": "online", "online_url": ""}, "An online or hybrid meeting needs the link to join it."),
        ({"format": "hybrid", "online_url": "javascript:alert(1)"}, "Enter a web address starting with https://."),
        ({"host": "national/Nowhere"}, "Choose a host from the list for this scope."),
        ({"host": "KZ-61/KZ-75"}, "Choose a host from the list for this scope."),
        ({"host": "mars/KZ-75"}, "Choose a scope from the list."),
        ({"starts_at": "12/09/2027"}, "Enter a date and time, such as 2027-09-12 10:00."),
        ({"starts_at": "0001-01-01T01:00"}, "Enter a date between the years 2000 and 2100."),
        ({"ends_at": "9999-12-31T23:59"}, "Enter a date between the years 2000 and 2100."),
        ({"slot": "3"}, "Not a valid choice."),
        ({"capacity": "99999999999999999999"}, "At most 100000 seats."),
        ({"title": ""}, "Give the meeting a title."),
        ({"year": "1850"}, "Enter a year between 2000 and 2100."),
        ({"contact_email": "not-an-address"}, "Enter an e-mail address such as name@example.kz."),
        ({"venue": "", "format": "in_person"}, "A meeting in person needs a venue."),
    ],
)
def test_bad_meeting_input_is_refused_with_a_message_and_nothing_created(client, organiser, db_session, overrides,
                                                                         field_message):
    response = client.post("/meetings/new", data=form_data(**overrides))
    assert response.status_code == 400
    assert field_message in response.get_data(as_text=True)
    assert meeting_count(db_session) == 0


def test_editing_date_and_venue_raises_sequence_and_tells_everyone_in_their_language(
        client, app, make_meeting, make_user, login_as, db_session, outbox):
    meeting_id = make_meeting(capacity=1, starts_at=STARTS, ends_at=ENDS)
    seated = make_user("reader", language="ru", full_name="Айгуль Серикова")
    waiting = make_user("akim", language="kk", akimat=("KZ-75", None))
    for user in (seated, waiting):
        login_as(user)
        assert client.post(f"/meetings/{meeting_id}/register").status_code == 303
    sent_before = len(outbox())
    login_as(make_user("organiser"))

    response = client.post(f"/meetings/{meeting_id}/edit", data=form_data(
        capacity="1", starts_at="2027-10-03T11:00", ends_at="2027-10-03T17:00", registration_opens_at="",
        registration_closes_at="", venue="Kazakh National University, main hall"))
    assert response.status_code == 302

    meeting = fresh(db_session, meeting_id)
    assert meeting.sequence == 1  # one edit, one new version of the calendar event
    assert meeting.starts_at.replace(tzinfo=UTC) == datetime(2027, 10, 3, 6, 0, tzinfo=UTC)
    mails = outbox()[sent_before:]
    assert sorted(str(m["To"]) for m in mails) == sorted([seated.email, waiting.email])
    to_ru = next(m for m in mails if m["To"] == seated.email)
    to_kk = next(m for m in mails if m["To"] == waiting.email)
    assert "3 октября 2027" in body(to_ru) and "11:00" in body(to_ru)  # Russian date, Kazakhstan time
    assert "Алматы" in body(to_ru) and "Kazakh National University, main hall" in body(to_ru)
    assert "Здравствуйте, Айгуль Серикова" in body(to_ru)
    assert "қазан" in body(to_kk)  # October in Kazakh
    (calendar,) = ics_attachments(to_ru)  # the seat holder gets the updated event
    event = next(iter(calendar.walk("VEVENT")))
    assert event["SEQUENCE"] == 1 and event["UID"] == meeting.uid
    assert ics_attachments(to_kk) == []  # the waitlisted person is told, without a calendar entry


def test_a_held_meetings_host_cannot_change(client, organiser, make_meeting, db_session):
    meeting_id = make_meeting(state="held")
    response = client.post(f"/meetings/{meeting_id}/edit", data=form_data(
        host="national/KZ-39", starts_at="2026-01-10T10:00", ends_at="2026-01-10T18:00", registration_opens_at="",
        registration_closes_at="", capacity="10"))
    assert response.status_code == 400
    assert "This meeting has been held: its host can no longer be changed." in response.get_data(as_text=True)
    assert fresh(db_session, meeting_id).host_region.iso_code == "KZ-75"


def test_capacity_cannot_drop_below_the_seats_taken_and_more_seats_promote_the_waitlist(
        client, app, make_meeting, make_user, login_as, db_session, outbox):
    meeting_id = make_meeting(capacity=1, starts_at=STARTS, ends_at=ENDS)
    first, second = make_user("reader"), make_user("reader", language="ru")
    for user in (first, second):
        login_as(user)
        client.post(f"/meetings/{meeting_id}/register")
    login_as(make_user("organiser"))
    edit = form_data(starts_at="2027-09-12T10:00", ends_at="2027-09-12T18:00", registration_opens_at="",
                     registration_closes_at="")
    response = client.post(f"/meetings/{meeting_id}/edit", data={**edit, "capacity": "0"})
    assert response.status_code == 400
    assert registration_state(db_session, meeting_id, second.id) == "waitlisted"

    assert client.post(f"/meetings/{meeting_id}/edit", data={**edit, "capacity": "2"}).status_code == 302
    assert registration_state(db_session, meeting_id, second.id) == "registered"
    assert fresh(db_session, meeting_id).registered_count == 2
    promoted = [m for m in outbox() if m["To"] == second.email][-1]
    title = fresh(db_session, meeting_id).title
    assert str(promoted["Subject"]) == in_language(app, "ru", "You have a seat: %(title)s", title=title)
    assert len(ics_attachments(promoted)) == 1


# --- states -----------------------------------------------------------------------------------------------------


def test_organiser_moves_a_meeting_through_its_states(client, organiser, make_meeting, db_session):
    meeting_id = make_meeting(state="planned", starts_at=datetime.now(UTC) - timedelta(hours=2),
                              ends_at=datetime.now(UTC) + timedelta(hours=6),
                              registration_opens_at=None, registration_closes_at=None)
    for target in ("registration_open", "registration_closed", "held"):
        response = client.post(f"/meetings/{meeting_id}/state", data={"state": target})
        assert response.status_code == 303
        assert fresh(db_session, meeting_id).state == target
    meeting = fresh(db_session, meeting_id)
    assert meeting.sequence == 3
    actions = db_session.scalars(sa.select(AuditEntry.details).where(AuditEntry.action == "meeting.state")).all()
    assert [d["to"] for d in actions] == ["registration_open", "registration_closed", "held"]

    # Held is final.
    response = client.post(f"/meetings/{meeting_id}/state", data={"state": "registration_open"}, follow_redirects=True)
    assert "cannot become" in response.get_data(as_text=True)
    assert fresh(db_session, meeting_id).state == "held"


def test_a_future_meeting_cannot_be_marked_held(client, organiser, make_meeting, db_session):
    meeting_id = make_meeting(state="registration_closed")
    response = client.post(f"/meetings/{meeting_id}/state", data={"state": "held"}, follow_redirects=True)
    assert "A meeting can be marked as held only once it has started." in response.get_data(as_text=True)
    assert fresh(db_session, meeting_id).state == "registration_closed"


def test_cancelling_needs_a_reason_shown_to_all_and_tells_everyone(client, make_meeting, make_user, login_as,
                                                                    db_session, outbox):
    meeting_id = make_meeting(starts_at=STARTS, ends_at=ENDS)
    attendee = make_user("reader", language="ru")
    login_as(attendee)
    client.post(f"/meetings/{meeting_id}/register")
    login_as(make_user("organiser"))

    response = client.post(f"/meetings/{meeting_id}/state", data={"state": "cancelled", "reason": "  "},
                           follow_redirects=True)
    assert "Say why: the reason is shown to everyone." in response.get_data(as_text=True)
    assert fresh(db_session, meeting_id).state == "registration_open"

    sent_before = len(outbox())
    client.post(f"/meetings/{meeting_id}/state", data={"state": "cancelled", "reason": "Floods in the region"})
    meeting = fresh(db_session, meeting_id)
    assert meeting.state == "cancelled" and meeting.state_reason == "Floods in the region"
    (notice,) = outbox()[sent_before:]
    assert notice["To"] == attendee.email
    assert "Floods in the region" in body(notice) and "12 сентября 2027" in body(notice)
    event = next(iter(ics_attachments(notice)[0].walk("VEVENT")))
    assert event["STATUS"] == "CANCELLED"

    client.get("/logout")
    page = client.get(f"/meetings/{meeting_id}").get_data(as_text=True)
    assert "This meeting has been cancelled." in page and "Floods in the region" in page
    assert "Floods in the region" in client.get("/meetings").get_data(as_text=True)


def test_postponing_and_bringing_back(client, organiser, make_meeting, db_session):
    meeting_id = make_meeting()
    client.post(f"/meetings/{meeting_id}/state", data={"state": "postponed", "reason": "The venue is being repaired"})
    meeting = fresh(db_session, meeting_id)
    assert meeting.state == "postponed" and meeting.state_reason == "The venue is being repaired"
    page = client.get(f"/meetings/{meeting_id}").get_data(as_text=True)
    assert "This meeting has been postponed." in page and "The venue is being repaired" in page
    client.post(f"/meetings/{meeting_id}/state", data={"state": "registration_open"})
    meeting = fresh(db_session, meeting_id)
    assert meeting.state == "registration_open" and meeting.state_reason is None and meeting.sequence == 2


def test_unknown_state_is_refused(client, organiser, make_meeting, db_session):
    meeting_id = make_meeting()
    response = client.post(f"/meetings/{meeting_id}/state", data={"state": "party"}, follow_redirects=True)
    assert response.status_code == 200
    assert fresh(db_session, meeting_id).state == "registration_open"


# --- registration -----------------------------------------------------------------------------------------------


def test_register_confirmation_in_the_readers_language_with_the_ics(client, make_meeting, make_user, login_as,
                                                                       db_session, outbox):
    meeting_id = make_meeting(starts_at=STARTS, ends_at=ENDS)
    user = make_user("reader", language="kk")
    login_as(user)
    response = client.post(f"/meetings/{meeting_id}/register", follow_redirects=True)
    assert response.status_code == 200
    assert registration_state(db_session, meeting_id, user.id) == "registered"
    assert fresh(db_session, meeting_id).registered_count == 1
    (message,) = outbox()
    assert message["To"] == user.email
    text = body(message)
    assert "қыркүйек" in text and "10:00" in text  # September in Kazakh, 10:00 Kazakhstan time
    assert "Palace of the Republic" in text and "Алматы" in text
    (calendar,) = ics_attachments(message)
    event = next(iter(calendar.walk("VEVENT")))
    assert event.start == STARTS and str(event["LOCATION"]).startswith("Palace of the Republic")
    attachment = next(message.iter_attachments())
    assert attachment.get_filename() == "meeting.ics"


def test_registering_twice_is_refused_and_changes_nothing(client, make_meeting, make_user, login_as, db_session,
                                                          outbox):
    meeting_id = make_meeting()
    login_as(make_user("reader"))
    client.post(f"/meetings/{meeting_id}/register")
    response = client.post(f"/meetings/{meeting_id}/register", follow_redirects=True)
    assert "You are already registered for this meeting." in response.get_data(as_text=True)
    assert fresh(db_session, meeting_id).registered_count == 1
    assert db_session.scalar(sa.select(sa.func.count(Registration.id))) == 1
    assert len(outbox()) == 1


@pytest.mark.parametrize(
    ("state", "overrides"),
    [
        ("registration_open", {"registration_closes_at": datetime.now(UTC) - timedelta(hours=1)}),
        ("registration_open", {"registration_opens_at": datetime.now(UTC) + timedelta(days=1)}),
        ("registration_closed", {}),
        ("planned", {}),
        ("cancelled", {"state_reason": "Floods"}),
    ],
)
def test_registering_when_registration_is_closed_is_refused(client, make_meeting, make_user, login_as, db_session,
                                                            state, overrides):
    meeting_id = make_meeting(state=state, **overrides)
    login_as(make_user("reader"))
    response = client.post(f"/meetings/{meeting_id}/register", follow_redirects=True)
    assert "Registration for this meeting is closed." in response.get_data(as_text=True)
    assert db_session.scalar(sa.select(sa.func.count(Registration.id))) == 0
    assert fresh(db_session, meeting_id).registered_count == 0


def test_a_full_meeting_puts_people_on_the_waitlist_and_a_cancellation_promotes_the_first(
        client, app, make_meeting, make_user, login_as, db_session, outbox):
    meeting_id = make_meeting(capacity=1, starts_at=STARTS, ends_at=ENDS)
    first = make_user("reader")
    second = make_user("reader", language="ru")
    third = make_user("reader")
    for user in (first, second, third):
        login_as(user)
        client.post(f"/meetings/{meeting_id}/register")
    assert [registration_state(db_session, meeting_id, u.id) for u in (first, second, third)] == [
        "registered", "waitlisted", "waitlisted"]
    page = client.get(f"/meetings/{meeting_id}").get_data(as_text=True)
    assert "You are on the waitlist, place 2." in page
    waitlisted_mail = [m for m in outbox() if m["To"] == second.email][-1]
    expected = in_language(app, "ru", "The meeting is full, so you are on the waitlist (place %(position)s). When a "
                           "seat becomes free, the first on the waitlist gets it and we write to you at once.",
                           position=1)
    assert expected in body(waitlisted_mail)
    assert ics_attachments(waitlisted_mail) == []

    login_as(first)
    sent_before = len(outbox())
    response = client.post(f"/meetings/{meeting_id}/cancel", follow_redirects=True)
    assert "Your registration is cancelled." in response.get_data(as_text=True)
    assert registration_state(db_session, meeting_id, first.id) == "cancelled"
    assert registration_state(db_session, meeting_id, second.id) == "registered"
    assert registration_state(db_session, meeting_id, third.id) == "waitlisted"
    assert fresh(db_session, meeting_id).registered_count == 1
    (promotion,) = outbox()[sent_before:]
    assert promotion["To"] == second.email
    assert "12 сентября 2027" in body(promotion)
    assert len(ics_attachments(promotion)) == 1

    # Registering again after a cancellation reuses the row: the meeting is full, so the waitlist.
    client.post(f"/meetings/{meeting_id}/register")
    assert registration_state(db_session, meeting_id, first.id) == "waitlisted"
    login_as(third)
    assert "place 1" in client.get(f"/meetings/{meeting_id}").get_data(as_text=True)


def test_leaving_the_waitlist_promotes_nobody(client, make_meeting, make_user, login_as, db_session):
    meeting_id = make_meeting(capacity=1)
    first, second = make_user("reader"), make_user("reader")
    for user in (first, second):
        login_as(user)
        client.post(f"/meetings/{meeting_id}/register")
    client.post(f"/meetings/{meeting_id}/cancel")  # second leaves the waitlist
    assert registration_state(db_session, meeting_id, second.id) == "cancelled"
    assert registration_state(db_session, meeting_id, first.id) == "registered"
    assert fresh(db_session, meeting_id).registered_count == 1


def test_cancelling_someone_elses_registration_is_refused(client, make_meeting, make_user, login_as, db_session):
    meeting_id = make_meeting()
    owner, intruder = make_user("reader"), make_user("reader")
    login_as(owner)
    client.post(f"/meetings/{meeting_id}/register")
    registration_id = db_session.scalar(sa.select(Registration.id).where(Registration.user_id == owner.id))
    login_as(intruder)
    client.post(f"/meetings/{meeting_id}/register")
    response = client.post(f"/meetings/{meeting_id}/cancel", data={"registration_id": str(registration_id)},
                           follow_redirects=True)
    assert "You can cancel only your own registration." in response.get_data(as_text=True)
    assert registration_state(db_session, meeting_id, owner.id) == "registered"
    assert registration_state(db_session, meeting_id, intruder.id) == "registered"
    assert client.post(f"/meetings/{meeting_id}/cancel", data={"registration_id": "abc"}).status_code == 400


def test_cancelling_without_a_registration_or_after_the_start_is_refused(client, make_meeting, make_user, login_as,
                                                                        db_session):
    meeting_id = make_meeting()
    login_as(make_user("reader"))
    response = client.post(f"/meetings/{meeting_id}/cancel", follow_redirects=True)
    assert "You are not registered for this meeting." in response.get_data(as_text=True)

    held_id = make_meeting(state="held")
    user = make_user("reader")
    with client.application.app_context():
        from app.extensions import db

        db.session.add(Registration(meeting_id=held_id, user_id=user.id, state="registered"))
        db.session.execute(sa.update(Meeting).where(Meeting.id == held_id).values(registered_count=1))
        db.session.commit()
    login_as(user)
    response = client.post(f"/meetings/{held_id}/cancel", follow_redirects=True)
    assert "This meeting has already started" in response.get_data(as_text=True)
    assert registration_state(db_session, held_id, user.id) == "registered"


def test_anonymous_cannot_register(client, make_meeting, db_session):
    meeting_id = make_meeting()
    response = client.post(f"/meetings/{meeting_id}/register")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert db_session.scalar(sa.select(sa.func.count(Registration.id))) == 0


# --- the organiser's list, CSV and attendance -------------------------------------------------------------------


def test_registrations_list_and_csv_export_are_safe_against_formula_injection(client, make_meeting, make_user,
                                                                              login_as):
    meeting_id = make_meeting(capacity=1)
    evil = make_user("reader", full_name='=HYPERLINK("http://evil.example","Click")')
    waiting = make_user("reader", full_name="+Second in line")
    for user in (evil, waiting):
        login_as(user)
        client.post(f"/meetings/{meeting_id}/register")
    login_as(make_user("organiser"))

    page = client.get(f"/meetings/{meeting_id}/registrations").get_data(as_text=True)
    assert "=HYPERLINK(&#34;http://evil.example&#34;,&#34;Click&#34;)" in page  # shown as text, escaped
    assert "+Second in line" in page

    response = client.get(f"/meetings/{meeting_id}/registrations.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][0] == "Name"
    assert rows[1][0] == '\'=HYPERLINK("http://evil.example","Click")'
    assert rows[1][4] == "Registered"
    assert rows[2][0] == "'+Second in line" and rows[2][4] == "On the waitlist" and rows[2][5] == "1"
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows[1:] for cell in row)


def test_attendance_is_marked_after_the_meeting(client, make_meeting, make_user, login_as, db_session, app):
    meeting_id = make_meeting(state="held")
    came, stayed_home = make_user("reader"), make_user("reader")
    with app.app_context():
        from app.extensions import db

        for user in (came, stayed_home):
            db.session.add(Registration(meeting_id=meeting_id, user_id=user.id, state="registered"))
        db.session.execute(sa.update(Meeting).where(Meeting.id == meeting_id).values(registered_count=2))
        db.session.commit()
    came_id = db_session.scalar(sa.select(Registration.id).where(Registration.user_id == came.id))
    organiser = make_user("organiser")
    login_as(organiser)
    assert "Save attendance" in client.get(f"/meetings/{meeting_id}/registrations").get_data(as_text=True)
    response = client.post(f"/meetings/{meeting_id}/attendance", data={"attended": [str(came_id)]})
    assert response.status_code == 303
    attended = dict(db_session.execute(sa.select(Registration.user_id, Registration.attended)).all())
    assert attended == {came.id: True, stayed_home.id: False}
    assert db_session.scalar(sa.select(AuditEntry.actor_id).where(AuditEntry.action == "meeting.attendance")) == \
        organiser.id
    # The held meeting's page and the API say how many came, no longer how many seats are left.
    page = client.get(f"/meetings/{meeting_id}").get_data(as_text=True)
    assert "2 people registered." in page and "1 attended." in page and "left." not in page
    assert client.get(f"/api/v1/meetings/{meeting_id}").json["registration"]["attended"] == 1

    # Someone without a seat, or nonsense, changes nothing.
    response = client.post(f"/meetings/{meeting_id}/attendance", data={"attended": ["999999"]}, follow_redirects=True)
    assert "Only people with a seat can be marked as present." in response.get_data(as_text=True)
    assert client.post(f"/meetings/{meeting_id}/attendance", data={"attended": ["x"]}).status_code == 400
    assert dict(db_session.execute(sa.select(Registration.user_id, Registration.attended)).all())[came.id] is True


def test_attendance_before_the_meeting_is_refused(client, organiser, make_meeting, db_session):
    meeting_id = make_meeting()
    response = client.post(f"/meetings/{meeting_id}/attendance", data={}, follow_redirects=True)
    assert "Attendance can be marked once the meeting has started." in response.get_data(as_text=True)


def test_readers_and_akims_cannot_manage(client, make_meeting, make_user, login_as, db_session):
    meeting_id = make_meeting()
    login_as(make_user("akim", akimat=("KZ-75", None)))
    assert client.post("/meetings/new", data=form_data()).status_code == 403
    assert client.post(f"/meetings/{meeting_id}/state", data={"state": "cancelled", "reason": "x"}).status_code == 403
    assert client.get(f"/meetings/{meeting_id}/registrations.csv").status_code == 403
    assert meeting_count(db_session) == 1
    assert fresh(db_session, meeting_id).state == "registration_open"
    assert "Edit the meeting" not in client.get(f"/meetings/{meeting_id}").get_data(as_text=True)


def test_past_registration_dates_are_told_in_the_past_tense_and_four_digit_years(client, make_meeting):
    from datetime import UTC
    from datetime import datetime
    from datetime import timedelta

    now = datetime.now(UTC).replace(microsecond=0)
    planned = make_meeting(state="planned", registration_opens_at=now - timedelta(days=3),
                           registration_closes_at=now + timedelta(days=20))
    page = client.get(f"/meetings/{planned}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Registration opens" not in page  # the date is past: it did not open by itself
    assert "the organisers have not opened it yet" in page and "Registration closes" in page
    year = (now + timedelta(days=20)).astimezone(UTC).year
    assert f"{year}" in page.split("Registration closes", 1)[1][:40]  # a four-digit year, not "3/1/28"

    closed = make_meeting(registration_opens_at=now - timedelta(days=30),
                          registration_closes_at=now - timedelta(days=1))
    page = client.get(f"/meetings/{closed}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Registration closed" in page and "Registration closes" not in page and "Registration opens" not in page


def test_a_call_that_was_never_opened_is_not_called_closed(client, organiser, make_meeting):
    meeting = make_meeting(state="planned")
    page = client.get(f"/meetings/{meeting}/programme", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "The call for presentations is not open." in page
    assert "The call is closed." not in page
