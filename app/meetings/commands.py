"""``flask meetings remind``: meeting reminders, meant for a daily cron job (and ``flask meetings
commitment-reminders``: see :mod:`app.meetings.commitments.reminders`).

- Everyone holding a seat gets a reminder a week before the meeting starts and another the day before (dates
  in Kazakhstan time), in their own language, with date, time, place or online link, the agenda link and the
  ``.ics`` attached. The week reminder is caught up on a later run when the daily job missed its day (until two
  days before); people who took their seat within that last week already have every fact from their
  confirmation and get only the day-before reminder.
- People on the waitlist get one note with the week reminder: they are still waiting (with their place) and
  can leave the line if they no longer plan to come, which moves the line for the others. No ``.ics``: they
  have no seat. Nothing the day before: a promotion is e-mailed at once anyway.
- Organisers hear the day before a call for presentations closes when proposals still await a decision.

Held, cancelled and postponed meetings get nothing. There is no column for what was sent, so every sent
reminder is an audit-log entry (``meeting.reminder`` on the registration, with the days and the meeting's
start date; ``meeting.call_reminder`` on the meeting, with the closing time): a second run on the same day
sends nothing, and a meeting moved to a new date is reminded of again for its new date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta

import click
import sqlalchemy as sa
from flask import Flask
from flask import current_app
from flask import url_for
from flask.cli import AppGroup
from flask_babel import lazy_gettext as _l

from app import mail
from app.audit.models import AuditEntry
from app.audit.services import record
from app.auth.models import Role
from app.auth.models import User
from app.clock import utcnow
from app.extensions import db
from app.meetings import ical
from app.meetings import services
from app.meetings.commitments.reminders import send_commitment_reminders
from app.meetings.models import HOLDING_STATES
from app.meetings.models import REMINDED_STATES
from app.meetings.models import Meeting
from app.meetings.models import Proposal
from app.meetings.models import ProposalState
from app.meetings.models import Registration
from app.meetings.models import RegistrationState
from app.meetings.timezone import KZ
from app.meetings.timezone import to_local
from app.urls import link_context

REMINDER_ACTION = "meeting.reminder"
CALL_REMINDER_ACTION = "meeting.call_reminder"
WEEK, DAY = 7, 1


@dataclass
class ReminderRun:
    """The outcome of one ``send_reminders`` run."""

    reminders: int = 0
    waitlist: int = 0
    organisers: int = 0
    failed: int = 0


def kz_today() -> date:
    """Today's date in Kazakhstan."""
    return utcnow().astimezone(KZ).date()


def local_midnight(day: date) -> datetime:
    """The start of ``day`` in Kazakhstan time, as an aware UTC datetime (SQLite compares stored UTC text, so
    query parameters must be in UTC too)."""
    return datetime.combine(day, time(), tzinfo=KZ).astimezone(UTC)


def due_stage(days_left: int) -> int | None:
    """Which reminder is due ``days_left`` days before the meeting's first day: the day-before reminder (1),
    the week reminder (7, caught up until two days before) or none."""
    if days_left == DAY:
        return DAY
    if DAY < days_left <= WEEK:
        return WEEK
    return None


def _sent_reminders(registration_ids: list[int]) -> set[tuple[int, int, str]]:
    """(registration id, days, start date) of every reminder already sent to these registrations."""
    if not registration_ids:
        return set()
    entries = db.session.scalars(sa.select(AuditEntry).where(
        AuditEntry.action == REMINDER_ACTION, AuditEntry.target_type == Registration.__tablename__,
        AuditEntry.target_id.in_(registration_ids)))
    return {(entry.target_id, (entry.details or {}).get("days"), (entry.details or {}).get("starts"))
            for entry in entries}


def _meeting_urls(meeting: Meeting) -> dict:
    return {"url": url_for("meetings.detail", meeting_id=meeting.id, _external=True),
            "agenda_url": url_for("meetings.detail", meeting_id=meeting.id, _anchor="programme", _external=True),
            "location": ical.location(meeting)}


def _send(run: ReminderRun, user: User, *args, **kwargs) -> bool:
    """Send one e-mail; a bad address or an SMTP hiccup is logged and counted, and stops nobody else's."""
    try:
        mail.send_template(user, *args, **kwargs)
    except Exception:
        current_app.logger.exception("Could not send a meeting reminder to user %s", user.id)
        run.failed += 1
        return False
    return True


def _remind_attendees(run: ReminderRun, today: date, done: list[tuple]) -> None:
    """Seat holders a week and a day before, the waitlist a week before."""
    first, last = local_midnight(today + timedelta(days=DAY)), local_midnight(today + timedelta(days=WEEK + 1))
    meetings = db.session.scalars(
        sa.select(Meeting).where(Meeting.state.in_(REMINDED_STATES), Meeting.starts_at >= first,
                                 Meeting.starts_at < last).order_by(Meeting.starts_at, Meeting.id))
    for meeting in meetings:
        start_day = to_local(meeting.starts_at).date()
        stage = due_stage((start_day - today).days)
        if stage is None:
            continue
        due_since = local_midnight(start_day - timedelta(days=stage))
        registrations = db.session.scalars(
            sa.select(Registration).join(User, Registration.user_id == User.id)
            .where(Registration.meeting_id == meeting.id, Registration.state.in_(HOLDING_STATES),
                   User.active.is_(True))
            .order_by(Registration.id)).all()
        sent = _sent_reminders([r.id for r in registrations])
        positions = {r.id: n for n, r in enumerate(services.waitlist(meeting), start=1)}
        context = {"meeting": meeting, "days": (start_day - today).days, **_meeting_urls(meeting)}
        attachments = (("meeting.ics", ical.meeting_ics(meeting), "text", "calendar"),)
        for registration in registrations:
            if (registration.id, stage, start_day.isoformat()) in sent:
                continue
            if registration.state == RegistrationState.REGISTERED:
                seat_since = registration.promoted_at or registration.updated_at or registration.created_at
                if stage == WEEK and seat_since >= due_since:
                    continue  # the confirmation of a seat taken this week said it all
                subject = (_l("Tomorrow: %(title)s", title=meeting.title) if stage == DAY
                           else _l("Reminder: %(title)s", title=meeting.title))
                if _send(run, registration.user, "meeting_reminder", subject, attachments=attachments, **context):
                    run.reminders += 1
                    done.append((registration, stage, start_day))
            elif stage == WEEK and (registration.waitlisted_at or registration.created_at) < due_since:
                subject = _l("Still on the waitlist: %(title)s", title=meeting.title)
                if _send(run, registration.user, "meeting_waitlist_reminder", subject,
                         position=positions.get(registration.id), **context):
                    run.waitlist += 1
                    done.append((registration, stage, start_day))


def _remind_organisers(run: ReminderRun, today: date, done: list[tuple]) -> None:
    """Organisers, the day before a call for presentations closes with proposals still undecided."""
    tomorrow = today + timedelta(days=1)
    meetings = db.session.scalars(
        sa.select(Meeting).where(Meeting.call_open.is_(True), Meeting.state.in_(REMINDED_STATES),
                                 Meeting.call_closes_at >= local_midnight(tomorrow),
                                 Meeting.call_closes_at < local_midnight(tomorrow + timedelta(days=1)))
        .order_by(Meeting.call_closes_at, Meeting.id)).all()
    if not meetings:
        return
    organisers = db.session.scalars(
        sa.select(User).where(User.role == Role.ORGANISER, User.active.is_(True)).order_by(User.id)).all()
    for meeting in meetings:
        closes = meeting.call_closes_at.isoformat()
        undecided = db.session.scalar(sa.select(sa.func.count(Proposal.id)).where(
            Proposal.meeting_id == meeting.id, Proposal.state == ProposalState.PROPOSED))
        already = db.session.scalars(sa.select(AuditEntry.details).where(
            AuditEntry.action == CALL_REMINDER_ACTION, AuditEntry.target_type == Meeting.__tablename__,
            AuditEntry.target_id == meeting.id)).all()
        if not undecided or any((details or {}).get("closes") == closes for details in already):
            continue
        recipients = list(organisers)
        creator = meeting.created_by
        if creator is not None and creator.is_organiser and creator not in recipients:
            recipients.append(creator)  # an administrator who created the meeting runs it too
        context = {"meeting": meeting, "undecided": undecided, **_meeting_urls(meeting),
                   "manage_url": url_for("programme.manage", meeting_id=meeting.id, _external=True)}
        subject = _l("Call for presentations closes tomorrow: %(title)s", title=meeting.title)
        told = [user.id for user in recipients
                if _send(run, user, "meeting_call_closing", subject, **context)]
        run.organisers += len(told)
        if told:
            done.append((meeting, closes, told))


def send_reminders(today: date | None = None) -> ReminderRun:
    """Send every reminder due on ``today`` (a Kazakhstan date, default: today) and record each in the audit
    log; commits once, at the end.

    As in ``flask digest send``, reading and sending happen in a read-only transaction and the audit entries
    are written after it, so an SQLite write lock is not held while mail goes out. An e-mail that could not be
    sent is not recorded, so the next run tries again.
    """
    app = current_app._get_current_object()
    today = today or kz_today()
    run = ReminderRun()
    reminded: list[tuple] = []
    calls: list[tuple] = []
    with link_context(app):
        _remind_attendees(run, today, reminded)
        _remind_organisers(run, today, calls)
        done = [(r.id, r.meeting_id, r.state, days, start_day) for r, days, start_day in reminded]
        call_done = [(m.id, closes, told) for m, closes, told in calls]
        db.session.rollback()  # end the read-only transaction; nothing was changed in it
    for registration_id, meeting_id, state, days, start_day in done:
        target = db.session.get(Registration, registration_id)
        record(None, REMINDER_ACTION, target,
               {"days": days, "meeting": meeting_id, "starts": start_day.isoformat(), "state": state})
    for meeting_id, closes, told in call_done:
        record(None, CALL_REMINDER_ACTION, db.session.get(Meeting, meeting_id), {"closes": closes, "users": told})
    db.session.commit()
    return run


meetings_cli = AppGroup("meetings", help="Exchange meetings.")


@meetings_cli.command("remind")
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Act as if today (in Kazakhstan) were this date, YYYY-MM-DD (for testing).")
def remind(today: datetime | None):
    """E-mail the reminders due today: a week and a day before each meeting (run daily, e.g. from cron)."""
    run = send_reminders(today.date() if today else None)
    click.echo(f"Meeting reminders sent: {run.reminders} (waitlist: {run.waitlist}, organisers: "
               f"{run.organisers}, failed: {run.failed}).")
    if run.failed:
        raise click.exceptions.Exit(1)


@meetings_cli.command("commitment-reminders")
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Act as if today (in Kazakhstan) were this date, YYYY-MM-DD (for testing).")
def commitment_reminders(today: datetime | None):
    """E-mail the akims of committed akimats on a commitment's due date, then every four months until it is
    complete or withdrawn (run daily; a second run on the same day sends nothing)."""
    now = datetime.combine(today.date(), time(8), tzinfo=KZ) if today else None
    run = send_commitment_reminders(now)
    click.echo(f"Commitment reminders sent: {run.sent} (commitments: {run.commitments}, without akims to tell: "
               f"{run.no_recipients}, failed: {run.failed}).")
    if run.failed:
        raise click.exceptions.Exit(1)


def init_app(app: Flask) -> None:
    """Register the ``meetings`` command group."""
    app.cli.add_command(meetings_cli)
