"""Reminders to report progress on a commitment (``flask meetings commitment-reminders``, run daily).

The committing akimat's akims are reminded on the due date and then every four months (due date + 4, 8, 12 …
months, the day clamped to the month's end) until the commitment is complete or withdrawn. A reminder is due when
the latest of those dates has come and ``Commitment.reminded_at`` is before it (in Kazakhstan): a second run on
the same day sends nothing, and a run after the job missed days sends one reminder, not one per missed date.
Commitments whose case study is not published are not reminded of.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from datetime import datetime

import sqlalchemy as sa
from flask import current_app
from flask import url_for
from flask_babel import lazy_gettext as _l

from app import mail
from app.audit.services import record
from app.auth.models import Role
from app.auth.models import User
from app.case_studies.models import CaseStudy
from app.clock import utcnow
from app.extensions import db
from app.meetings.commitments.services import STATUS_LABELS
from app.meetings.models import FINISHED_STATUSES
from app.meetings.models import Commitment
from app.meetings.programme.services import COMMITMENT_ACTIONS
from app.meetings.timezone import KZ
from app.urls import link_context

REMINDER_ACTION = "meeting.commitment_reminder"
INTERVAL_MONTHS = 4


@dataclass
class CommitmentReminderRun:
    """The outcome of one run: e-mails sent, commitments reminded of, commitments without anyone to tell,
    e-mails that failed."""

    sent: int = 0
    commitments: int = 0
    no_recipients: int = 0
    failed: int = 0


def add_months(day: date, months: int) -> date:
    """``day`` plus ``months`` calendar months, the day clamped to the month's end (31 October + 4 → 28/29
    February)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def reminder_date(due: date | None, today: date) -> date | None:
    """The latest reminder date on or before ``today`` (the due date, or due date + 4, 8 … months); None
    before the due date."""
    if due is None or today < due:
        return None
    steps = ((today.year - due.year) * 12 + today.month - due.month) // INTERVAL_MONTHS
    slot = add_months(due, steps * INTERVAL_MONTHS)
    if slot > today:
        slot = add_months(due, (steps - 1) * INTERVAL_MONTHS)
    return slot


def reminder_due(commitment: Commitment, today: date) -> date | None:
    """The reminder date ``commitment`` is due a reminder for today, or None (finished, not due yet, or already
    reminded on or after that date)."""
    if commitment.status in FINISHED_STATUSES:
        return None
    slot = reminder_date(commitment.due_date, today)
    if slot is None:
        return None
    if commitment.reminded_at is not None and commitment.reminded_at.astimezone(KZ).date() >= slot:
        return None
    return slot


def _akims(akimat_id: int) -> list[User]:
    """The active verified akims of an akimat."""
    return list(db.session.scalars(sa.select(User).where(
        User.role == Role.AKIM, User.akimat_id == akimat_id, User.active.is_(True)).order_by(User.id)))


def send_commitment_reminders(now: datetime | None = None) -> CommitmentReminderRun:
    """Send every commitment reminder due at ``now`` (aware; default: the current time) and record it on the
    commitment (``reminded_at``) and in the audit log; commits once, at the end.

    As for the meeting reminders, reading and sending happen in a read-only transaction and the writes after it
    (no SQLite write lock while mail goes out). A commitment is marked reminded when at least one of its akims
    got the e-mail; failures are counted (the command then exits non-zero).
    """
    app = current_app._get_current_object()
    now = now or utcnow()
    today = now.astimezone(KZ).date()
    run = CommitmentReminderRun()
    done: list[tuple[int, list[int], date]] = []
    with link_context(app):
        candidates = db.session.scalars(
            sa.select(Commitment).join(CaseStudy, Commitment.case_study_id == CaseStudy.id)
            .where(CaseStudy.is_published, Commitment.status.not_in(FINISHED_STATUSES),
                   Commitment.due_date.is_not(None), Commitment.due_date <= today)
            .order_by(Commitment.due_date, Commitment.id)).all()
        for commitment in candidates:
            slot = reminder_due(commitment, today)
            if slot is None:
                continue
            akims = _akims(commitment.akimat_id)
            if not akims:
                run.no_recipients += 1
                continue
            first = slot == commitment.due_date
            subject = (_l("Your commitment is due: %(title)s", title=commitment.case_study.title) if first
                       else _l("How is your commitment going? %(title)s", title=commitment.case_study.title))
            context = {"commitment": commitment, "meeting": commitment.meeting, "case": commitment.case_study,
                       "first": first, "status_labels": STATUS_LABELS, "actions": COMMITMENT_ACTIONS,
                       "url": url_for("commitments.detail", meeting_id=commitment.meeting_id,
                                      commitment_id=commitment.id, _anchor="update", _external=True)}
            told = []
            for user in akims:
                try:
                    mail.send_template(user, "commitment_reminder", subject, **context)
                except Exception:
                    current_app.logger.exception("Could not send a commitment reminder to user %s", user.id)
                    run.failed += 1
                    continue
                told.append(user.id)
            run.sent += len(told)
            if told:
                run.commitments += 1
                done.append((commitment.id, told, slot))
        db.session.rollback()  # end the read-only transaction; nothing was changed in it
    for commitment_id, told, slot in done:
        commitment = db.session.get(Commitment, commitment_id)
        commitment.reminded_at = now
        record(None, REMINDER_ACTION, commitment, {"users": told, "reminder_date": slot.isoformat()})
    db.session.commit()
    return run
