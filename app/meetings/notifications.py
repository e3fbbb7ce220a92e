"""Meeting e-mails, each in the reader's language with date, time (Kazakhstan time) and place: registration
confirmed (with the .ics), waitlisted, promoted from the waitlist (with the .ics), and change notices (date,
place, cancellation, postponement, new date) to everyone registered or waitlisted.

Called by the views after the commit, so nobody is told about a change that was rolled back.
"""

from __future__ import annotations

from flask import url_for
from flask_babel import lazy_gettext as _l

from app import mail
from app.meetings import ical
from app.meetings import services
from app.meetings.models import Meeting
from app.meetings.models import Registration
from app.meetings.models import RegistrationState

SUBJECTS = {
    "date": lambda title: _l("New date: %(title)s", title=title),
    "venue": lambda title: _l("New place: %(title)s", title=title),
    "cancelled": lambda title: _l("Cancelled: %(title)s", title=title),
    "postponed": lambda title: _l("Postponed: %(title)s", title=title),
    "rescheduled": lambda title: _l("Back on the calendar: %(title)s", title=title),
}


def _ics(meeting: Meeting) -> tuple:
    return ("meeting.ics", ical.meeting_ics(meeting), "text", "calendar")


def _context(meeting: Meeting) -> dict:
    return {"meeting": meeting, "url": url_for("meetings.detail", meeting_id=meeting.id, _external=True),
            "location": ical.location(meeting)}


def registration_confirmed(registration: Registration) -> None:
    """Tell a registrant their seat is confirmed (with the .ics), or that they are on the waitlist."""
    meeting, user = registration.meeting, registration.user
    if registration.state == RegistrationState.REGISTERED:
        mail.send_template(user, "meeting_registered", _l("Registration confirmed: %(title)s", title=meeting.title),
                           attachments=(_ics(meeting),), **_context(meeting))
    elif registration.state == RegistrationState.WAITLISTED:
        mail.send_template(user, "meeting_waitlisted", _l("On the waitlist: %(title)s", title=meeting.title),
                           position=services.waitlist_position(registration), **_context(meeting))


def promoted(registrations: list[Registration]) -> None:
    """Tell each person promoted from the waitlist that they now have a seat (with the .ics)."""
    for registration in registrations:
        meeting = registration.meeting
        mail.send_template(registration.user, "meeting_promoted", _l("You have a seat: %(title)s", title=meeting.title),
                           attachments=(_ics(meeting),), **_context(meeting))


def changed(meeting: Meeting, changes: services.Changes) -> int:
    """Tell everyone registered or waitlisted what changed; seat holders get the updated .ics.

    :return: the number of e-mails sent.
    """
    if not changes:
        return 0
    kinds = changes.kinds
    subject = SUBJECTS[next((k for k in ("cancelled", "postponed", "rescheduled", "date") if k in kinds), "venue")]
    seat_holders = {user.id for user in services.attendees(meeting, include_waitlist=False)}
    sent = 0
    for user in services.attendees(meeting):
        attachments = (_ics(meeting),) if user.id in seat_holders else ()
        mail.send_template(user, "meeting_changed", subject(meeting.title), attachments=attachments, kinds=kinds,
                           **_context(meeting))
        sent += 1
    return sent
