"""Meeting calendars: ``/meetings/<id>.ics`` and the feed ``/meetings.ics``, parsed back with ``icalendar`` and
checked field by field (RFC 5545: UID, DTSTAMP, DTSTART/DTEND with TZID and a VTIMEZONE, LOCATION, URL,
SEQUENCE, STATUS, DESCRIPTION)."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from datetime import timedelta

import sqlalchemy as sa
from icalendar import Calendar

from app.meetings.hosts import eligible_hosts
from app.meetings.models import Meeting

STARTS = datetime(2027, 9, 12, 5, 0, tzinfo=UTC)  # 10:00 in Kazakhstan
ENDS = datetime(2027, 9, 12, 13, 0, tzinfo=UTC)


def parse(response) -> Calendar:
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    return Calendar.from_ical(response.data)


def events(calendar: Calendar) -> list:
    return list(calendar.walk("VEVENT"))


def test_one_meeting_as_ics_has_every_field(client, make_meeting, db_session):
    meeting_id = make_meeting(starts_at=STARTS, ends_at=ENDS, title="Ninth exchange meeting",
                              description="Presentations on transport and public councils.")
    meeting = db_session.get(Meeting, meeting_id)
    before = datetime.now(UTC).replace(microsecond=0)

    calendar = parse(client.get(f"/meetings/{meeting_id}.ics"))

    assert calendar["VERSION"] == "2.0"
    assert "Akims' Experience Exchange" in str(calendar["PRODID"])
    (timezone,) = calendar.walk("VTIMEZONE")
    assert timezone["TZID"] == "Asia/Almaty"
    # The zone the file carries says UTC+5 on the meeting's day (Kazakhstan's single zone since March 2024).
    assert timezone.to_tz().utcoffset(datetime(2027, 9, 12, 10, 0)) == timedelta(hours=5)
    (event,) = events(calendar)
    assert event["UID"] == meeting.uid
    assert event["SUMMARY"] == "Ninth exchange meeting"
    assert event["DTSTART"].params["TZID"] == "Asia/Almaty"
    assert event["DTEND"].params["TZID"] == "Asia/Almaty"
    assert event.start == STARTS and event.end == ENDS
    assert event.start.utcoffset() == timedelta(hours=5)
    assert event.start.hour == 10
    stamp = event.decoded("DTSTAMP")
    assert stamp.utcoffset() == timedelta(0) and stamp >= before
    assert event["LOCATION"] == "Palace of the Republic, Dostyk Avenue 56, Almaty"
    assert event["URL"] == f"http://localhost/meetings/{meeting_id}"
    assert event["SEQUENCE"] == 0
    assert event["STATUS"] == "CONFIRMED"
    assert "Presentations on transport and public councils." in event["DESCRIPTION"]
    assert f"http://localhost/meetings/{meeting_id}" in event["DESCRIPTION"]
    assert str(event["ORGANIZER"]) == "mailto:meetings@almaty.example.kz"


def test_uid_stays_and_sequence_rises_with_each_change(client, make_user, login_as, make_meeting, db_session):
    meeting_id = make_meeting(starts_at=STARTS, ends_at=ENDS)
    uid = db_session.get(Meeting, meeting_id).uid
    login_as(make_user("organiser"))
    edit = {
        "title": "Ninth exchange meeting", "host": "national/KZ-75", "year": "2027", "slot": "1", "city": "Almaty",
        "venue": "Palace of the Republic", "address": "Dostyk Avenue 56", "starts_at": "2027-09-12T10:00",
        "ends_at": "2027-09-12T18:00", "format": "in_person", "capacity": "10",
    }
    assert client.post(f"/meetings/{meeting_id}/edit", data={**edit, "venue": "Almaty Arena"}).status_code == 302
    (event,) = events(parse(client.get(f"/meetings/{meeting_id}.ics")))
    assert event["UID"] == uid and event["SEQUENCE"] == 1
    assert event["LOCATION"] == "Almaty Arena, Dostyk Avenue 56, Almaty"

    # A change attendees do not care about (the title) keeps the sequence.
    client.post(f"/meetings/{meeting_id}/edit", data={**edit, "venue": "Almaty Arena", "title": "The ninth meeting"})
    (event,) = events(parse(client.get(f"/meetings/{meeting_id}.ics")))
    assert event["SEQUENCE"] == 1 and event["SUMMARY"] == "The ninth meeting"

    client.post(f"/meetings/{meeting_id}/edit", data={**edit, "venue": "Almaty Arena", "starts_at": "2027-09-13T09:00",
                                                      "ends_at": "2027-09-13T17:00"})
    (event,) = events(parse(client.get(f"/meetings/{meeting_id}.ics")))
    assert event["SEQUENCE"] == 2 and event["UID"] == uid
    assert event.start == datetime(2027, 9, 13, 4, 0, tzinfo=UTC)


def test_status_follows_cancellation_and_postponement(client, make_user, login_as, make_meeting):
    cancelled = make_meeting()
    postponed = make_meeting()
    login_as(make_user("organiser"))
    client.post(f"/meetings/{cancelled}/state", data={"state": "cancelled", "reason": "Floods in the region"})
    client.post(f"/meetings/{postponed}/state", data={"state": "postponed", "reason": "Venue under repair"})

    (event,) = events(parse(client.get(f"/meetings/{cancelled}.ics")))
    assert event["STATUS"] == "CANCELLED" and event["SEQUENCE"] == 1
    assert event["DESCRIPTION"].startswith("Floods in the region")
    (event,) = events(parse(client.get(f"/meetings/{postponed}.ics")))
    assert event["STATUS"] == "TENTATIVE"
    assert "Venue under repair" in event["DESCRIPTION"]


def test_online_meeting_location_is_the_link(client, make_meeting):
    meeting_id = make_meeting(format="online", online_url="https://meet.example.kz/akims", venue="")
    (event,) = events(parse(client.get(f"/meetings/{meeting_id}.ics")))
    assert event["LOCATION"] == "https://meet.example.kz/akims"
    assert "https://meet.example.kz/akims" in event["DESCRIPTION"]


def test_a_meeting_before_march_2024_keeps_utc_plus_6(client, make_meeting):
    meeting_id = make_meeting(state="held", starts_at=datetime(2023, 5, 20, 4, 0, tzinfo=UTC),
                              ends_at=datetime(2023, 5, 20, 12, 0, tzinfo=UTC))
    calendar = parse(client.get(f"/meetings/{meeting_id}.ics"))
    (event,) = events(calendar)
    assert event.start.utcoffset() == timedelta(hours=6) and event.start.hour == 10
    # The VTIMEZONE covers both rules: +06 then, +05 from 1 March 2024.
    offsets = {sub.decoded("TZOFFSETTO") for sub in calendar.walk("STANDARD")}
    assert {timedelta(hours=6), timedelta(hours=5)} <= offsets


def test_feed_has_every_meeting_or_one_scope(client, app, make_meeting, db_session):
    with app.app_context():
        district = eligible_hosts("KZ-61")[0].code
    national = make_meeting(title="National meeting")
    held = make_meeting(state="held", title="Held national meeting", host="KZ-39")
    regional = make_meeting(scope="KZ-61", host=district, title="Turkistan district meeting")
    uids = dict(db_session.execute(sa.select(Meeting.id, Meeting.uid)).all())

    everything = parse(client.get("/meetings.ics"))
    assert {e["UID"] for e in events(everything)} == {uids[national], uids[held], uids[regional]}
    assert len(everything.walk("VTIMEZONE")) == 1

    only_national = parse(client.get("/meetings.ics?scope=national"))
    assert {e["UID"] for e in events(only_national)} == {uids[national], uids[held]}
    assert "National" in str(only_national["X-WR-CALNAME"])

    only_region = parse(client.get("/meetings.ics?scope=KZ-61"))
    assert {e["UID"] for e in events(only_region)} == {uids[regional]}

    empty = parse(client.get("/meetings.ics?scope=KZ-39"))
    assert events(empty) == []


def test_feed_with_a_bad_scope_is_404(client):
    for scope in ("mars", "", "KZ-99", "<script>"):
        response = client.get("/meetings.ics", query_string={"scope": scope})
        assert response.status_code == 404, scope
