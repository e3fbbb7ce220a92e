"""Meeting operations: create and edit meetings, move them through their states, register and cancel with a
first-come waitlist, mark attendance, and the queries the pages and the API use.

Functions add and flush, never commit (the view or command commits once). Every refusal is a
:class:`~app.errors.ValidationFailed` raised before anything changed, so a rollback loses nothing.

Seats are counted in ``meeting.registered_count`` and taken with a conditional update
(``… SET registered_count = registered_count + 1 WHERE registered_count < capacity``): the database decides
who gets the last seat, so simultaneous registrations can never overbook, on SQLite (writers are serialised
by ``BEGIN IMMEDIATE``) and on PostgreSQL (the row lock makes the second writer re-check the condition).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from app.audit import services as audit
from app.auth.models import User
from app.clock import utcnow
from app.errors import ValidationFailed
from app.extensions import db
from app.meetings import hosts
from app.meetings.models import ACTIVE_STATES
from app.meetings.models import HOLDING_STATES
from app.meetings.models import MEETING_FORMATS
from app.meetings.models import MEETING_STATES
from app.meetings.models import NATIONAL
from app.meetings.models import Meeting
from app.meetings.models import MeetingState
from app.meetings.models import Registration
from app.meetings.models import RegistrationState
from app.meetings.questions import services as questions

MAX_CAPACITY = 100_000
FIRST_YEAR = 2000
LAST_YEAR = 2100
URL_PATTERN = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

STATE_LABELS = {
    "planned": _l("Planned"),
    "registration_open": _l("Registration open"),
    "registration_closed": _l("Registration closed"),
    "held": _l("Held"),
    "cancelled": _l("Cancelled"),
    "postponed": _l("Postponed"),
}
REGISTRATION_LABELS = {
    RegistrationState.REGISTERED: _l("Registered"),
    RegistrationState.WAITLISTED: _l("On the waitlist"),
    RegistrationState.CANCELLED: _l("Cancelled"),
}
FORMAT_LABELS = {
    "in_person": _l("In person"),
    "online": _l("Online"),
    "hybrid": _l("Hybrid (in person and online)"),
}
# Which states an organiser may move a meeting to from each state. "held" and "cancelled" are final.
TRANSITIONS = {
    "planned": ("registration_open", "postponed", "cancelled"),
    "registration_open": ("registration_closed", "postponed", "cancelled"),
    "registration_closed": ("registration_open", "held", "postponed", "cancelled"),
    "postponed": ("planned", "registration_open", "cancelled"),
    "held": (),
    "cancelled": (),
}
REASON_REQUIRED = frozenset({"cancelled", "postponed"})
# States in which seats still matter: a cancellation hands its seat to the first on the waitlist.


@dataclass
class MeetingData:
    """The editable fields of a meeting, as the form hands them over (times aware, in UTC)."""

    title: str
    scope: str
    year: int | None
    host: str  # a host code of ``scope`` (app.meetings.hosts)
    starts_at: datetime | None
    ends_at: datetime | None
    slot: int = 1
    edition: int | None = None
    city: str = ""
    venue: str = ""
    address: str = ""
    format: str = "in_person"
    online_url: str | None = None
    description: str = ""
    capacity: int | None = 100
    registration_opens_at: datetime | None = None
    registration_closes_at: datetime | None = None
    contact_name: str = ""
    contact_email: str = ""
    contact_phone: str = ""


@dataclass
class Changes:
    """What an edit or a state change did that attendees must hear about, and who got a seat from it."""

    kinds: list[str] = field(default_factory=list)  # "date", "venue", "cancelled", "postponed", "rescheduled"
    promoted: list[Registration] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.kinds)


# --- meetings ---------------------------------------------------------------------------------------------


def validate(data: MeetingData, meeting: Meeting | None = None) -> hosts.Host:
    """Check every field and the cross-field rules; collect all problems before refusing.

    :param meeting: the meeting being edited (None when creating one).
    :return: the resolved host.
    :raise ValidationFailed: one ``(field, message)`` per problem.
    """
    errors: list[tuple[str | None, object]] = []
    for name in ("title", "city", "venue", "address", "description", "contact_name", "contact_email",
                 "contact_phone"):
        setattr(data, name, (getattr(data, name) or "").strip())
    data.online_url = (data.online_url or "").strip() or None
    data.description = data.description.replace("\r\n", "\n").replace("\r", "\n")

    if not data.title:
        errors.append(("title", _l("Give the meeting a title.")))
    elif len(data.title) > 300:
        errors.append(("title", _l("At most %(max)d characters.", max=300)))
    for name, limit in (("city", 200), ("venue", 300), ("address", 300), ("contact_name", 200),
                        ("contact_email", 254), ("contact_phone", 40), ("description", 20_000)):
        if len(getattr(data, name)) > limit:
            errors.append((name, _l("At most %(max)d characters.", max=limit)))

    host = None
    if not hosts.is_valid_scope(data.scope):
        errors.append(("scope", _l("Choose a scope from the list.")))
    else:
        host = hosts.resolve_host(data.scope, data.host)
        if host is None:
            errors.append(("host", _l("Choose a host from the list for this scope.")))
    if (meeting is not None and meeting.state == MeetingState.HELD and host is not None
            and (data.scope != meeting.scope or host.code != hosts.host_code_of(meeting))):
        errors.append(("host", _l("This meeting has been held: its host can no longer be changed.")))
        host = None
    if data.year is None or not FIRST_YEAR <= data.year <= LAST_YEAR:
        errors.append(("year", _l("Enter a year between %(first)d and %(last)d.", first=FIRST_YEAR, last=LAST_YEAR)))
    if data.slot not in (1, 2):
        errors.append(("slot", _l("A year has meeting 1 or meeting 2.")))
    if data.edition is not None and not 1 <= data.edition <= 10_000:
        errors.append(("edition", _l("The edition is a positive number, such as 7.")))

    starts, ends = data.starts_at, data.ends_at
    opens, closes = data.registration_opens_at, data.registration_closes_at
    if starts is None:
        errors.append(("starts_at", _l("Enter when the meeting starts.")))
    if ends is None:
        errors.append(("ends_at", _l("Enter when the meeting ends.")))
    if starts and ends and ends <= starts:
        errors.append(("ends_at", _l("The meeting must end after it starts.")))
    if opens and closes and closes <= opens:
        errors.append(("registration_closes_at", _l("Registration must close after it opens.")))
    if starts and closes and closes > starts:
        errors.append(("registration_closes_at", _l("Registration must close before the meeting starts.")))
    if starts and opens and opens >= starts:
        errors.append(("registration_opens_at", _l("Registration must open before the meeting starts.")))

    if data.format not in MEETING_FORMATS:
        errors.append(("format", _l("Choose a format from the list.")))
    elif data.format in ("online", "hybrid") and not data.online_url:
        errors.append(("online_url", _l("An online or hybrid meeting needs the link to join it.")))
    if data.online_url and (len(data.online_url) > 500 or not URL_PATTERN.match(data.online_url)):
        errors.append(("online_url", _l("Enter a web address starting with https://.")))
    if data.format in ("in_person", "hybrid") and not data.venue:
        errors.append(("venue", _l("A meeting in person needs a venue.")))
    if data.contact_email and not EMAIL_PATTERN.match(data.contact_email):
        errors.append(("contact_email", _l("Enter an e-mail address such as name@example.kz.")))

    if data.capacity is None or data.capacity <= 0:
        errors.append(("capacity", _l("The capacity must be a whole number of seats, at least 1.")))
    elif data.capacity > MAX_CAPACITY:
        errors.append(("capacity", _l("At most %(max)d seats.", max=MAX_CAPACITY)))
    elif meeting is not None and data.capacity < meeting.registered_count:
        errors.append(("capacity", _l("%(count)d people already hold a seat: the capacity cannot be lower.",
                                      count=meeting.registered_count)))
    if errors:
        raise ValidationFailed(errors)
    return host


def _apply(meeting: Meeting, data: MeetingData, host: hosts.Host) -> None:
    meeting.title = data.title
    meeting.scope = data.scope
    meeting.year = data.year
    meeting.slot = data.slot
    meeting.edition = data.edition
    meeting.description = data.description
    meeting.host_region_id = host.region.id
    meeting.host_municipality_id = host.municipality.id if host.municipality else None
    akimat = host.akimat()
    meeting.host_akimat_id = akimat.id if akimat else None
    meeting.city = data.city
    meeting.venue = data.venue
    meeting.address = data.address
    meeting.format = data.format
    meeting.online_url = data.online_url
    meeting.starts_at = data.starts_at
    meeting.ends_at = data.ends_at
    meeting.registration_opens_at = data.registration_opens_at
    meeting.registration_closes_at = data.registration_closes_at
    meeting.capacity = data.capacity
    meeting.contact_name = data.contact_name
    meeting.contact_email = data.contact_email
    meeting.contact_phone = data.contact_phone
    meeting.updated_at = utcnow()


def new_uid() -> str:
    """A globally unique, never-changing iCalendar UID for a new meeting."""
    return f"meeting-{uuid.uuid4()}@akims-exchange.kz"


def create_meeting(actor: User | None, data: MeetingData) -> Meeting:
    """Create a meeting in the ``planned`` state.

    :raise ValidationFailed: any field or cross-field rule fails.
    """
    host = validate(data)
    meeting = Meeting(uid=new_uid(), state="planned", registered_count=0, sequence=0,
                      created_by_id=actor.id if actor else None)
    _apply(meeting, data, host)
    db.session.add(meeting)
    db.session.flush()
    audit.record(actor, "meeting.create", meeting, {"scope": meeting.scope, "year": meeting.year,
                                                   "slot": meeting.slot, "host": host.code})
    return meeting


def _snapshot(meeting: Meeting) -> dict:
    """The attendee-relevant facts of a meeting, to tell what an edit changed."""
    return {
        "date": (meeting.starts_at, meeting.ends_at),
        "venue": (meeting.city, meeting.venue, meeting.address, meeting.format, meeting.online_url,
                  meeting.host_region_id, meeting.host_municipality_id),
    }


def update_meeting(actor: User | None, meeting: Meeting, data: MeetingData) -> Changes:
    """Edit a meeting. A change of date or place raises the iCalendar SEQUENCE; more seats go to the waitlist
    first in line.

    :return: what attendees must be told, and who was promoted.
    :raise ValidationFailed: any rule fails (a held meeting's host cannot change).
    """
    host = validate(data, meeting)
    before = _snapshot(meeting)
    old_capacity = meeting.capacity
    _apply(meeting, data, host)
    after = _snapshot(meeting)
    changes = Changes(kinds=[kind for kind in ("date", "venue") if before[kind] != after[kind]])
    if changes:
        meeting.sequence += 1
    db.session.flush()
    if meeting.capacity > old_capacity and meeting.state in ACTIVE_STATES:
        changes.promoted = _fill_seats(meeting)
    audit.record(actor, "meeting.update", meeting, {"changed": changes.kinds, "capacity": meeting.capacity,
                                                   "promoted": [r.user_id for r in changes.promoted]})
    return changes


def allowed_transitions(meeting: Meeting) -> tuple[str, ...]:
    """The states an organiser may move ``meeting`` to now."""
    return TRANSITIONS.get(meeting.state, ())


def change_state(actor: User | None, meeting: Meeting, target: str, reason: str | None = None) -> Changes:
    """Move ``meeting`` to ``target`` (cancelled and postponed need a reason, which everyone sees).

    :return: what attendees must be told.
    :raise ValidationFailed: a transition the meeting's state does not allow, a missing reason, or marking a
        meeting held before it started.
    """
    reason = (reason or "").strip()
    if target not in MEETING_STATES or target not in allowed_transitions(meeting):
        raise ValidationFailed([("state", _l("A meeting that is “%(current)s” cannot become “%(target)s”.",
                                             current=STATE_LABELS[meeting.state],
                                             target=STATE_LABELS.get(target, target)))])
    if target in REASON_REQUIRED and not reason:
        raise ValidationFailed([("reason", _l("Say why: the reason is shown to everyone."))])
    if len(reason) > 2000:
        raise ValidationFailed([("reason", _l("At most %(max)d characters.", max=2000))])
    if target == "held" and meeting.starts_at > utcnow():
        raise ValidationFailed([("state", _l("A meeting can be marked as held only once it has started."))])
    previous = meeting.state
    meeting.state = target
    meeting.state_reason = reason if target in REASON_REQUIRED else None
    meeting.updated_at = utcnow()
    changes = Changes()
    if target in ("cancelled", "postponed"):
        changes.kinds.append(target)
    elif previous == "postponed":
        changes.kinds.append("rescheduled")
    meeting.sequence += 1  # STATUS in the calendar follows the state
    db.session.flush()
    audit.record(actor, "meeting.state", meeting, {"from": previous, "to": target}, reason=reason or None)
    return changes


def can_register_now(meeting: Meeting, at: datetime | None = None) -> bool:
    """Whether registration is open: the state says so and the time is inside the registration window."""
    at = at or utcnow()
    if meeting.state != MeetingState.REGISTRATION_OPEN:
        return False
    if meeting.registration_opens_at is not None and at < meeting.registration_opens_at:
        return False
    closes = meeting.registration_closes_at or meeting.starts_at
    return at < closes


# --- registration -----------------------------------------------------------------------------------------


def registration_of(meeting: Meeting, user: User) -> Registration | None:
    """The user's registration row for the meeting (any state), or None."""
    return db.session.scalar(
        sa.select(Registration).where(Registration.meeting_id == meeting.id, Registration.user_id == user.id)
    )


def _claim(registration: Registration, expected: str, **values) -> bool:
    """Change ``registration`` only if its state is still ``expected`` (a conditional UPDATE: of two requests
    changing one row at once, exactly one wins, on SQLite and on PostgreSQL); True when this one did. The
    object is refreshed either way."""
    result = db.session.execute(
        sa.update(Registration)
        .where(Registration.id == registration.id, Registration.state == expected)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(registration)
    return result.rowcount == 1


def _take_seat(meeting_id: int) -> bool:
    """Take one seat if one is free, atomically; True when it was taken."""
    result = db.session.execute(
        sa.update(Meeting)
        .where(Meeting.id == meeting_id, Meeting.registered_count < Meeting.capacity)
        .values(registered_count=Meeting.registered_count + 1)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def _release_seat(meeting_id: int) -> None:
    db.session.execute(
        sa.update(Meeting)
        .where(Meeting.id == meeting_id, Meeting.registered_count > 0)
        .values(registered_count=Meeting.registered_count - 1)
        .execution_options(synchronize_session=False)
    )


def register(user: User, meeting: Meeting, answers: Mapping[int, str | None] | None = None,
             show_publicly: bool = False) -> Registration:
    """Register ``user``: a seat when one is free, else a place at the end of the waitlist; the answers to the
    meeting's registration questions are stored in the same transaction.

    :param answers: question id → answer, as :func:`app.meetings.questions.services.clean_answers` takes them.
    :param show_publicly: the person's opt-in to the meeting page's public attendee list.
    :raise ValidationFailed: registration is not open, the user is inactive, or already registered or waitlisted,
        or the answers are refused (a required one missing, an option not offered...).
    """
    if not user.is_active:
        raise ValidationFailed([(None, _l("Your account is deactivated."))])
    if not can_register_now(meeting):
        raise ValidationFailed([(None, _l("Registration for this meeting is closed."))])
    existing = registration_of(meeting, user)
    if existing is not None and existing.state in HOLDING_STATES:
        raise ValidationFailed([(None, _l("You are already registered for this meeting.")
                                 if existing.state == RegistrationState.REGISTERED
                                 else _l("You are already on the waitlist for this meeting."))])
    cleaned = questions.clean_answers(meeting, answers or {})  # before anything changes
    now = utcnow()
    registration = existing
    if registration is not None and not _claim(registration, RegistrationState.CANCELLED,
                                               state=RegistrationState.WAITLISTED, updated_at=now):
        # Another request of the same person (a second tab) re-registered this row first.
        raise ValidationFailed([(None, _l("You are already registered for this meeting."))])
    if registration is None:
        registration = Registration(meeting_id=meeting.id, user_id=user.id, state=RegistrationState.WAITLISTED,
                                    waitlisted_at=now, created_at=now, updated_at=now)
        try:
            # A savepoint: two clicks of one person racing end in the unique constraint, not a 500.
            with db.session.begin_nested():
                db.session.add(registration)
        except IntegrityError:
            raise ValidationFailed([(None, _l("You are already registered for this meeting."))]) from None
    if _take_seat(meeting.id):
        registration.state = RegistrationState.REGISTERED
        registration.waitlisted_at = None
    else:
        registration.state = RegistrationState.WAITLISTED
        registration.waitlisted_at = now
    registration.cancelled_at = None
    registration.promoted_at = None
    registration.updated_at = now
    registration.show_publicly = bool(show_publicly)
    db.session.flush()
    questions.save_answers(registration, cleaned)  # a re-registration's new answers replace the old ones
    db.session.refresh(meeting, ["registered_count"])
    return registration


def cancel_registration(user: User, meeting: Meeting, registration_id: int | None = None) -> list[Registration]:
    """Cancel ``user``'s own registration or waitlist place; a freed seat goes to the first on the waitlist.

    :param registration_id: the registration the form named (must be the user's own), default: the user's.
    :return: the registrations promoted from the waitlist (e-mail them).
    :raise ValidationFailed: someone else's registration, nothing to cancel, or the meeting already took place.
    """
    registration = registration_of(meeting, user)
    if registration_id is not None:
        named = db.session.get(Registration, registration_id)
        if named is None or named.meeting_id != meeting.id or named.user_id != user.id:
            raise ValidationFailed([(None, _l("You can cancel only your own registration."))])
        registration = named
    if registration is None or registration.state == RegistrationState.CANCELLED:
        raise ValidationFailed([(None, _l("You are not registered for this meeting."))])
    if meeting.state == MeetingState.HELD or meeting.starts_at <= utcnow():
        raise ValidationFailed([(None, _l("This meeting has already started: registrations can no longer change."))])
    had_seat = registration.state == RegistrationState.REGISTERED
    now = utcnow()
    if not _claim(registration, registration.state, state=RegistrationState.CANCELLED, cancelled_at=now,
                  updated_at=now):
        raise ValidationFailed([(None, _l("You are not registered for this meeting."))])  # cancelled meanwhile
    promoted: list[Registration] = []
    if had_seat:
        _release_seat(meeting.id)
        if meeting.state in ACTIVE_STATES:
            promoted = _fill_seats(meeting)
    db.session.refresh(meeting, ["registered_count"])
    return promoted


def waitlist(meeting: Meeting) -> list[Registration]:
    """The meeting's waitlist, first in line first."""
    return list(db.session.scalars(
        sa.select(Registration)
        .where(Registration.meeting_id == meeting.id, Registration.state == RegistrationState.WAITLISTED)
        .order_by(Registration.waitlisted_at, Registration.id)
    ))


def _fill_seats(meeting: Meeting) -> list[Registration]:
    """Give free seats to the waitlist, first come first served; return who was promoted."""
    promoted = []
    for candidate in waitlist(meeting):
        if not _take_seat(meeting.id):
            break
        # Conditional, so that two cancellations at once never promote the same person twice.
        result = db.session.execute(
            sa.update(Registration)
            .where(Registration.id == candidate.id, Registration.state == RegistrationState.WAITLISTED)
            .values(state=RegistrationState.REGISTERED, promoted_at=utcnow(), updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            _release_seat(meeting.id)
            continue
        db.session.refresh(candidate)
        promoted.append(candidate)
    db.session.refresh(meeting, ["registered_count"])
    return promoted


def waitlist_position(registration: Registration) -> int | None:
    """1 for the first in line; None when not on the waitlist."""
    if registration.state != RegistrationState.WAITLISTED:
        return None
    for index, other in enumerate(waitlist(registration.meeting), start=1):
        if other.id == registration.id:
            return index
    return None


def registrations(meeting: Meeting) -> list[Registration]:
    """Everyone with a seat, in order of registration (name order would hide who came first)."""
    return list(db.session.scalars(
        sa.select(Registration)
        .where(Registration.meeting_id == meeting.id, Registration.state == RegistrationState.REGISTERED)
        .order_by(Registration.created_at, Registration.id)
    ))


def counts(meeting: Meeting) -> dict:
    """Registered, waitlisted and capacity (and seats left) of a meeting, and how many attended (None until the
    organiser has marked attendance)."""
    waitlisted = db.session.scalar(
        sa.select(sa.func.count(Registration.id))
        .where(Registration.meeting_id == meeting.id, Registration.state == RegistrationState.WAITLISTED)
    )
    marked = db.session.execute(
        sa.select(sa.func.count(Registration.id), sa.func.count(Registration.id).filter(Registration.attended))
        .where(Registration.meeting_id == meeting.id, Registration.attended.is_not(None))
    ).one()
    return {"registered": meeting.registered_count, "waitlisted": waitlisted or 0, "capacity": meeting.capacity,
            "seats_left": max(meeting.capacity - meeting.registered_count, 0),
            "attended": marked[1] if marked[0] else None}


def mark_attendance(actor: User | None, meeting: Meeting, attended_ids: set[int]) -> int:
    """Record who attended: every seat holder is marked present or absent.

    :param attended_ids: ids of the registrations that attended.
    :return: how many attended.
    :raise ValidationFailed: the meeting has not started yet, or an id is not a seat holder of the meeting.
    """
    if meeting.state != MeetingState.HELD and meeting.starts_at > utcnow():
        raise ValidationFailed([(None, _l("Attendance can be marked once the meeting has started."))])
    seats = registrations(meeting)
    known = {r.id for r in seats}
    if not attended_ids <= known:
        raise ValidationFailed([(None, _l("Only people with a seat can be marked as present."))])
    for registration in seats:
        registration.attended = registration.id in attended_ids
    db.session.flush()
    audit.record(actor, "meeting.attendance", meeting, {"attended": len(attended_ids), "registered": len(seats)})
    return len(attended_ids)


# --- queries ----------------------------------------------------------------------------------------------


def meetings_query(scope: str | None = None, year: int | None = None, state: str | None = None,
                   region_id: int | None = None):
    """A select of meetings, soonest first, filtered by scope, year, state and host region."""
    query = sa.select(Meeting)
    if scope:
        query = query.where(Meeting.scope == scope)
    if year:
        query = query.where(Meeting.year == year)
    if state:
        query = query.where(Meeting.state == state)
    if region_id:
        query = query.where(Meeting.host_region_id == region_id)
    return query.order_by(Meeting.starts_at, Meeting.id)


def upcoming(scope: str | None = None) -> list[Meeting]:
    """Meetings that have not ended and were not held, soonest first (cancelled ones included, so the news is
    seen)."""
    query = meetings_query(scope).where(Meeting.ends_at >= utcnow(), Meeting.state != MeetingState.HELD)
    return list(db.session.scalars(query))


def archive(scope: str | None = None, year: int | None = None, region_id: int | None = None) -> list[Meeting]:
    """Past meetings (held, or ended), newest first."""
    query = sa.select(Meeting).where(sa.or_(Meeting.state == MeetingState.HELD, Meeting.ends_at < utcnow()))
    if scope:
        query = query.where(Meeting.scope == scope)
    if year:
        query = query.where(Meeting.year == year)
    if region_id:
        query = query.where(Meeting.host_region_id == region_id)
    return list(db.session.scalars(query.order_by(Meeting.starts_at.desc(), Meeting.id.desc())))


def attendees(meeting: Meeting, *, include_waitlist: bool = True) -> list[User]:
    """Active users with a seat (and, by default, on the waitlist): who hears about changes."""
    states = HOLDING_STATES if include_waitlist else (RegistrationState.REGISTERED,)
    return list(db.session.scalars(
        sa.select(User).join(Registration, Registration.user_id == User.id)
        .where(Registration.meeting_id == meeting.id, Registration.state.in_(states), User.active.is_(True))
        .order_by(Registration.id)
    ))


def scope_label(scope: str) -> str:
    """"National" or the region's name (regional scope)."""
    if scope == NATIONAL:
        return str(_l("National"))
    region = hosts.scope_region(scope)
    return region.name() if region else scope
