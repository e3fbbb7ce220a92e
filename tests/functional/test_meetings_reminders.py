"""``flask meetings remind``: seat holders a week and a day before, the waitlist a week before, organisers the
day before a call closes with undecided proposals; in each reader's language, once, and never for a meeting
that is cancelled, postponed or held."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime

import pytest
import sqlalchemy as sa
from flask_babel import force_locale
from flask_babel import gettext
from icalendar import Calendar

from app.audit.models import AuditEntry
from app.meetings.commands import due_stage
from app.meetings.models import Meeting
from app.meetings.models import Proposal
from app.meetings.models import Registration

# 12 September 2027, 10:00–18:00 Kazakhstan time (UTC+5).
STARTS = datetime(2027, 9, 12, 5, 0, tzinfo=UTC)
ENDS = datetime(2027, 9, 12, 13, 0, tzinfo=UTC)
LONG_AGO = datetime(2027, 7, 1, 6, 0, tzinfo=UTC)  # when the seats were taken


def remind(runner, today: str) -> str:
    result = runner.invoke(args=["meetings", "remind", "--today", today])
    assert result.exit_code == 0, result.output
    return result.output


def seat(db_session, meeting_id: int, user, state: str = "registered", at: datetime = LONG_AGO) -> int:
    """A registration made at ``at`` (directly, so that its time can lie in the past)."""
    registration = Registration(meeting_id=meeting_id, user_id=user.id, state=state, created_at=at, updated_at=at,
                                waitlisted_at=at if state == "waitlisted" else None)
    db_session.add(registration)
    if state == "registered":
        db_session.execute(sa.update(Meeting).where(Meeting.id == meeting_id)
                           .values(registered_count=Meeting.registered_count + 1))
    db_session.commit()
    return registration.id


def body(message) -> str:
    return message.get_body(("plain",)).get_content()


def ics(message) -> list[Calendar]:
    return [Calendar.from_ical(part.get_content()) for part in message.iter_attachments()
            if part.get_content_type() == "text/calendar"]


def in_language(app, language: str, message: str, **params) -> str:
    with app.test_request_context(), force_locale(language):
        return str(gettext(message, **params))


def by_recipient(mails) -> dict:
    return {m["To"]: m for m in mails}


@pytest.fixture
def meeting(make_meeting):
    return make_meeting(starts_at=STARTS, ends_at=ENDS, title="Exchange in Almaty", state="registration_closed",
                        capacity=2)


def test_due_stage():
    assert [due_stage(days) for days in range(-1, 10)] == [None, None, 1, 7, 7, 7, 7, 7, 7, None, None]


def test_seat_holders_get_a_reminder_a_week_and_a_day_before_in_their_language(app, runner, outbox, make_user,
                                                                               db_session, meeting):
    english = make_user("akim", email="dana@example.kz", language="en")
    russian = make_user("akim", email="marat@example.kz", language="ru")
    cancelled = make_user("akim", email="gone@example.kz")
    inactive = make_user("akim", email="inactive@example.kz", active=False)
    seat(db_session, meeting, english)
    seat(db_session, meeting, russian)
    seat(db_session, meeting, cancelled, state="cancelled")
    seat(db_session, meeting, inactive)

    # Nothing eight days before, nor the day after tomorrow... until the week mark.
    assert "Meeting reminders sent: 0" in remind(runner, "2027-09-04")
    assert outbox() == []

    assert "Meeting reminders sent: 2 (waitlist: 0" in remind(runner, "2027-09-05")
    mails = by_recipient(outbox())
    assert set(mails) == {"dana@example.kz", "marat@example.kz"}
    text = body(mails["dana@example.kz"])
    assert mails["dana@example.kz"]["Subject"] == "Reminder: Exchange in Almaty"
    assert "starts in 7 days" in text
    assert "September 12, 2027, 10:00" in text  # Kazakhstan time
    assert "Kazakhstan time, UTC+5" in text
    assert "Palace of the Republic, Dostyk Avenue 56, Almaty" in text
    assert f"http://127.0.0.1:5000/meetings/{meeting}#programme" in text  # the agenda
    assert f"http://127.0.0.1:5000/meetings/{meeting}\n" in text
    [calendar] = ics(mails["dana@example.kz"])
    [event] = calendar.walk("VEVENT")
    assert str(event["SUMMARY"]) == "Exchange in Almaty"
    assert event.decoded("DTSTART").astimezone(UTC) == STARTS

    russian_text = body(mails["marat@example.kz"])
    assert in_language(app, "ru", "Hello, %(name)s.", name=russian.full_name) in russian_text
    assert "12 сентября 2027" in russian_text  # the date in the reader's language
    assert ics(mails["marat@example.kz"])

    # Idempotent: the same day again, and the days after, send nothing more until the day before.
    assert "Meeting reminders sent: 0" in remind(runner, "2027-09-05")
    assert "Meeting reminders sent: 0" in remind(runner, "2027-09-06")
    assert "Meeting reminders sent: 0" in remind(runner, "2027-09-10")
    assert len(outbox()) == 2

    assert "Meeting reminders sent: 2" in remind(runner, "2027-09-11")
    day_before = outbox()[2:]
    assert {m["To"] for m in day_before} == {"dana@example.kz", "marat@example.kz"}
    english_mail = by_recipient(day_before)["dana@example.kz"]
    assert english_mail["Subject"] == "Tomorrow: Exchange in Almaty"
    assert "is tomorrow" in body(english_mail)
    assert ics(english_mail)
    assert "Meeting reminders sent: 0" in remind(runner, "2027-09-11")
    assert "Meeting reminders sent: 0" in remind(runner, "2027-09-12")  # the day itself: nothing
    assert len(outbox()) == 4

    entries = db_session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "meeting.reminder")).all()
    assert sorted(entry.details["days"] for entry in entries) == [1, 1, 7, 7]
    assert all(entry.actor_id is None and entry.target_type == "meeting_registration" for entry in entries)


def test_a_missed_day_is_caught_up_but_a_seat_taken_this_week_waits_for_the_day_before(runner, outbox, make_user,
                                                                                     db_session, meeting):
    early = make_user("akim", email="early@example.kz")
    late = make_user("akim", email="late@example.kz")
    seat(db_session, meeting, early)
    seat(db_session, meeting, late, at=datetime(2027, 9, 7, 6, 0, tzinfo=UTC))  # within the last week

    # The cron job did not run on the 5th: the week reminder goes out on the 6th, to the early one only.
    assert "Meeting reminders sent: 1" in remind(runner, "2027-09-06")
    assert [m["To"] for m in outbox()] == ["early@example.kz"]
    assert "starts in 6 days" in body(outbox()[0])
    assert "Meeting reminders sent: 0" in remind(runner, "2027-09-08")
    assert "Meeting reminders sent: 2" in remind(runner, "2027-09-11")
    assert sorted(m["To"] for m in outbox()[1:]) == ["early@example.kz", "late@example.kz"]


def test_the_waitlist_hears_once_a_week_before_without_a_calendar_file(app, runner, outbox, make_user, db_session,
                                                                       meeting):
    seat(db_session, meeting, make_user("akim", email="one@example.kz"))
    seat(db_session, meeting, make_user("akim", email="two@example.kz"))
    seat(db_session, meeting, make_user("akim", email="first@example.kz"), state="waitlisted",
         at=datetime(2027, 8, 1, 6, 0, tzinfo=UTC))
    seat(db_session, meeting, make_user("akim", email="second@example.kz", language="kk"), state="waitlisted",
         at=datetime(2027, 8, 2, 6, 0, tzinfo=UTC))

    assert "Meeting reminders sent: 2 (waitlist: 2" in remind(runner, "2027-09-05")
    mails = by_recipient(outbox())
    assert mails["first@example.kz"]["Subject"] == "Still on the waitlist: Exchange in Almaty"
    assert "still on the waitlist (place 1)" in body(mails["first@example.kz"])
    assert ics(mails["first@example.kz"]) == []
    kazakh = body(mails["second@example.kz"])
    assert in_language(app, "kk", "Hello, %(name)s.", name="Test Akim 4") in kazakh
    assert "қыркүйек" in kazakh and "September" not in kazakh  # the date in Kazakh

    assert "waitlist: 0" in remind(runner, "2027-09-05")
    assert "Meeting reminders sent: 2 (waitlist: 0" in remind(runner, "2027-09-11")  # seat holders only
    assert len(outbox()) == 6


@pytest.mark.parametrize("state", ["cancelled", "postponed", "held"])
def test_no_reminder_for_a_cancelled_postponed_or_held_meeting(runner, outbox, make_user, db_session, make_meeting,
                                                               state):
    meeting_id = make_meeting(starts_at=STARTS, ends_at=ENDS, state=state, state_reason="Floods")
    seat(db_session, meeting_id, make_user("akim"))
    seat(db_session, meeting_id, make_user("akim"), state="waitlisted")
    for today in ("2027-09-05", "2027-09-11"):
        assert "Meeting reminders sent: 0 (waitlist: 0" in remind(runner, today)
    assert outbox() == []


def test_a_meeting_moved_to_a_new_date_is_reminded_of_again(runner, outbox, make_user, db_session, meeting):
    seat(db_session, meeting, make_user("akim", email="dana@example.kz"))
    assert "Meeting reminders sent: 1" in remind(runner, "2027-09-05")
    db_session.execute(sa.update(Meeting).where(Meeting.id == meeting).values(
        starts_at=datetime(2027, 10, 12, 5, 0, tzinfo=UTC), ends_at=datetime(2027, 10, 12, 13, 0, tzinfo=UTC)))
    db_session.commit()
    assert "Meeting reminders sent: 0" in remind(runner, "2027-09-11")  # the old date means nothing now
    assert "Meeting reminders sent: 1" in remind(runner, "2027-10-05")
    assert "October 12, 2027" in body(outbox()[-1])


def test_organisers_hear_the_day_before_a_call_closes_with_undecided_proposals(runner, outbox, make_user,
                                                                                make_case, db_session, meeting,
                                                                                make_meeting):
    make_user("organiser", email="org@example.kz", language="ru")
    make_user("organiser", email="away@example.kz", active=False)
    akim = make_user("akim", email="akim@example.kz", akimat=("KZ-75", None))
    slug = make_case("published")
    case_id = db_session.scalar(sa.text("SELECT id FROM case_study WHERE slug = :slug"), {"slug": slug})
    closes = datetime(2027, 8, 20, 13, 0, tzinfo=UTC)  # 18:00 Kazakhstan time on 20 August
    db_session.execute(sa.update(Meeting).where(Meeting.id == meeting).values(call_open=True, call_closes_at=closes))
    db_session.add(Proposal(meeting_id=meeting, case_study_id=case_id, proposer_id=akim.id, pitch="Come and see"))
    # A second meeting whose call closes tomorrow too, but with nothing left to decide.
    quiet = make_meeting(starts_at=STARTS, ends_at=ENDS, call_open=True, call_closes_at=closes)
    # And a cancelled one with an undecided proposal: nothing to run any more.
    cancelled = make_meeting(starts_at=STARTS, ends_at=ENDS, call_open=True, call_closes_at=closes, state="cancelled",
                             state_reason="Floods")
    db_session.add(Proposal(meeting_id=cancelled, case_study_id=case_id, proposer_id=akim.id, pitch="Come"))
    db_session.commit()

    assert "organisers: 0" in remind(runner, "2027-08-18")
    assert "organisers: 1" in remind(runner, "2027-08-19")
    [message] = outbox()
    assert message["To"] == "org@example.kz"
    text = body(message)
    assert "20 августа 2027" in text  # the closing date in the organiser's language
    assert f"http://127.0.0.1:5000/meetings/{meeting}/programme" in text
    assert f"/meetings/{quiet}/" not in text and f"/meetings/{cancelled}/" not in text
    assert "organisers: 0" in remind(runner, "2027-08-19")  # once
    assert len(outbox()) == 1
