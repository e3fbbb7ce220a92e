"""Meetings as iCalendar (RFC 5545) through the ``icalendar`` library: one meeting, or a subscribable feed.

Times are written in Kazakhstan time with ``TZID=Asia/Almaty`` and a VTIMEZONE covering the calendar's dates
(built from the pinned tzdata, so a meeting before March 2024 carries UTC+6 and a later one UTC+5). The UID
never changes and SEQUENCE rises on every change attendees care about, so calendar programs update the event
they already have instead of adding a second one.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from flask import url_for
from icalendar import Calendar
from icalendar import Event
from icalendar import Timezone

from app.clock import utcnow
from app.inputs import multi_line
from app.inputs import single_line
from app.meetings.models import Meeting
from app.meetings.timezone import KZ
from app.meetings.timezone import ZONE_NAME
from app.meetings.timezone import to_local

PRODID = "-//Akims' Experience Exchange//Meetings//EN"
STATUS = {"cancelled": "CANCELLED", "postponed": "TENTATIVE"}


def location(meeting: Meeting) -> str:
    """Venue, address and city on one line (the online link for an online meeting)."""
    if meeting.format == "online":
        return single_line(meeting.online_url or "")
    parts = [meeting.venue, meeting.address, meeting.city]
    return single_line(", ".join(part for part in parts if part))


def description(meeting: Meeting, url: str) -> str:
    """The event's description: the reason of a cancellation or postponement first, the text, the links."""
    parts = []
    if meeting.state in STATUS and meeting.state_reason:
        parts.append(meeting.state_reason)
    if meeting.description:
        parts.append(meeting.description)
    if meeting.format in ("online", "hybrid") and meeting.online_url:
        parts.append(meeting.online_url)
    parts.append(url)
    # icalendar escapes line feeds; a lone CR or another control character would break the line it is on.
    return multi_line("\n\n".join(parts)).replace("\r\n", "\n").replace("\r", "\n")


def meeting_event(meeting: Meeting) -> Event:
    """One VEVENT for ``meeting`` (needs a request or app context with a server name for the URL)."""
    url = url_for("meetings.detail", meeting_id=meeting.id, _external=True)
    event = Event()
    event.add("uid", meeting.uid)
    event.add("dtstamp", utcnow())
    event.add("dtstart", to_local(meeting.starts_at))
    event.add("dtend", to_local(meeting.ends_at))
    event.add("summary", single_line(meeting.title))
    event.add("location", location(meeting))
    event.add("url", url)
    event.add("description", description(meeting, url))
    event.add("sequence", meeting.sequence)
    event.add("status", STATUS.get(meeting.state, "CONFIRMED"))
    event.add("last-modified", meeting.updated_at or meeting.created_at)
    event.add("created", meeting.created_at)
    if meeting.contact_email:
        event.add("organizer", single_line(f"mailto:{meeting.contact_email}"),
                  parameters={"CN": single_line(meeting.contact_name or meeting.contact_email)})
    return event


def calendar(meetings: Iterable[Meeting], name: str | None = None) -> Calendar:
    """A VCALENDAR with one VEVENT per meeting and the VTIMEZONE their times use."""
    meetings = list(meetings)
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    if name:
        cal.add("x-wr-calname", single_line(name))
    cal.add("x-wr-timezone", ZONE_NAME)
    first = min((to_local(m.starts_at).date() for m in meetings), default=utcnow().astimezone(KZ).date())
    last = max((to_local(m.ends_at).date() for m in meetings), default=first)
    cal.add_component(Timezone.from_tzinfo(KZ, tzid=ZONE_NAME, first_date=date(first.year, 1, 1),
                                           last_date=date(last.year + 2, 1, 1)))
    for meeting in meetings:
        cal.add_component(meeting_event(meeting))
    return cal


def meeting_ics(meeting: Meeting) -> bytes:
    """The ``.ics`` file of one meeting."""
    return calendar([meeting], name=meeting.title).to_ical()


def feed_ics(meetings: Iterable[Meeting], name: str) -> bytes:
    """The ``.ics`` feed of several meetings."""
    return calendar(meetings, name=name).to_ical()
