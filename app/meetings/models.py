"""Exchange meetings and the host rotation: meetings, registrations (with the organisers' registration questions
and each person's answers), the call for presentations, the agenda, commitments made at a meeting, and the
organisers' pins and exclusions of the rotation.

All times are stored in UTC (timezone-aware columns) and shown in Kazakhstan time (see
:mod:`app.meetings.timezone`).
"""

from __future__ import annotations

import enum
from datetime import date
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from app.auth.models import User
from app.case_studies.models import Adoption
from app.case_studies.models import CaseStudy
from app.clock import UTCDateTime
from app.clock import utcnow
from app.extensions import db
from app.regions.models import Akimat
from app.regions.models import Municipality
from app.regions.models import Region

TIMESTAMP = UTCDateTime()

NATIONAL = "national"
"""The national scope: the 20 first-level units host in turn. A regional scope is the region's ISO code."""

class MeetingState(enum.StrEnum):
    """Where a meeting is (``Meeting.state``); the order is the order of the API's list of states."""

    PLANNED = "planned"
    REGISTRATION_OPEN = "registration_open"
    REGISTRATION_CLOSED = "registration_closed"
    HELD = "held"
    CANCELLED = "cancelled"
    POSTPONED = "postponed"


MEETING_STATES = tuple(MeetingState)
ACTIVE_STATES = frozenset({MeetingState.PLANNED, MeetingState.REGISTRATION_OPEN, MeetingState.REGISTRATION_CLOSED,
                           MeetingState.POSTPONED})
"""Still to happen: the waitlist moves up when seats are added or freed."""
REMINDED_STATES = (MeetingState.PLANNED, MeetingState.REGISTRATION_OPEN, MeetingState.REGISTRATION_CLOSED)
"""Reminders go out (not held, cancelled or postponed)."""
MEETING_FORMATS = ("in_person", "online", "hybrid")


class RegistrationState(enum.StrEnum):
    """Where one person's registration is (``Registration.state``)."""

    REGISTERED = "registered"  # has a seat (counted in ``Meeting.registered_count``)
    WAITLISTED = "waitlisted"  # a place on the first-come waitlist
    CANCELLED = "cancelled"  # cancelled by the person; registering again reuses the row


REGISTRATION_STATES = tuple(RegistrationState)
HOLDING_STATES = (RegistrationState.REGISTERED, RegistrationState.WAITLISTED)
"""A seat or a waitlist place: the person hears about changes and reminders, and cannot register again."""


class ProposalState(enum.StrEnum):
    """Where a proposal to present at a meeting is (``Proposal.state``)."""

    PROPOSED = "proposed"  # waiting for the organisers' decision; the proposer may withdraw it
    ACCEPTED = "accepted"  # in the agenda as a presentation
    DECLINED = "declined"  # with a note for the proposer
    WITHDRAWN = "withdrawn"  # by the proposer; the case study may be proposed again


PROPOSAL_STATES = tuple(ProposalState)
AGENDA_KINDS = ("presentation", "panel", "site_visit", "break", "other")


class Meeting(db.Model):
    """An exchange meeting of one rotation scope, hosted by a region (national scope) or by a district or
    city of the region (regional scope).

    ``registered_count`` is the number of confirmed seats, kept by a conditional ``UPDATE … WHERE
    registered_count < capacity`` so that simultaneous registrations can never overbook. ``sequence`` is the
    iCalendar SEQUENCE, raised on every change that matters to attendees.
    """

    __tablename__ = "meeting"
    __table_args__ = (
        sa.UniqueConstraint("uid", name="uq_meeting_uid"),
        sa.Index("ix_meeting_scope_year_slot", "scope", "year", "slot"),
        sa.CheckConstraint("capacity > 0", name="capacity_positive"),
        sa.CheckConstraint("registered_count >= 0", name="registered_count_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(sa.String(120))  # stable iCalendar UID, never changes
    scope: Mapped[str] = mapped_column(sa.String(10), default=NATIONAL, index=True)  # national | KZ-xx
    year: Mapped[int] = mapped_column(index=True)  # the rotation year this meeting fills
    slot: Mapped[int] = mapped_column(default=1)  # 1, or 2 for the second meeting of a year
    edition: Mapped[int | None] = mapped_column()  # "the 7th exchange meeting"
    title: Mapped[str] = mapped_column(sa.String(300))
    description: Mapped[str] = mapped_column(sa.Text, default="")

    host_region_id: Mapped[int] = mapped_column(sa.ForeignKey("region.id"), index=True)
    host_municipality_id: Mapped[int | None] = mapped_column(sa.ForeignKey("municipality.id"), index=True)
    host_akimat_id: Mapped[int | None] = mapped_column(sa.ForeignKey("akimat.id"))
    city: Mapped[str] = mapped_column(sa.String(200), default="")
    venue: Mapped[str] = mapped_column(sa.String(300), default="")
    address: Mapped[str] = mapped_column(sa.String(300), default="")
    format: Mapped[str] = mapped_column(sa.String(10), default="in_person")  # in_person | online | hybrid
    online_url: Mapped[str | None] = mapped_column(sa.String(500))

    starts_at: Mapped[datetime] = mapped_column(TIMESTAMP, index=True)
    ends_at: Mapped[datetime] = mapped_column(TIMESTAMP)
    registration_opens_at: Mapped[datetime | None] = mapped_column(TIMESTAMP)
    registration_closes_at: Mapped[datetime | None] = mapped_column(TIMESTAMP)
    capacity: Mapped[int] = mapped_column(default=100)
    registered_count: Mapped[int] = mapped_column(default=0)

    contact_name: Mapped[str] = mapped_column(sa.String(200), default="")
    contact_email: Mapped[str] = mapped_column(sa.String(254), default="")
    contact_phone: Mapped[str] = mapped_column(sa.String(40), default="")

    state: Mapped[str] = mapped_column(sa.String(20), default="planned", index=True)
    state_reason: Mapped[str | None] = mapped_column(sa.Text)  # why cancelled / postponed, shown to all
    call_open: Mapped[bool] = mapped_column(default=False)  # call for presentations accepting proposals
    call_closes_at: Mapped[datetime | None] = mapped_column(TIMESTAMP)
    sequence: Mapped[int] = mapped_column(default=0)

    minutes: Mapped[str] = mapped_column(sa.Text, default="")  # Markdown, rendered sanitised
    outcomes_published_at: Mapped[datetime | None] = mapped_column(TIMESTAMP)

    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(TIMESTAMP, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(TIMESTAMP, default=utcnow)

    host_region: Mapped[Region] = relationship()
    host_municipality: Mapped[Municipality | None] = relationship()
    host_akimat: Mapped[Akimat | None] = relationship()
    created_by: Mapped[User | None] = relationship()
    registrations: Mapped[list[Registration]] = relationship(
        back_populates="meeting", cascade="all, delete-orphan", order_by="Registration.id"
    )
    proposals: Mapped[list[Proposal]] = relationship(
        back_populates="meeting", cascade="all, delete-orphan", order_by="Proposal.id"
    )
    agenda_items: Mapped[list[AgendaItem]] = relationship(
        back_populates="meeting",
        cascade="all, delete-orphan",
        order_by=lambda: (AgendaItem.starts_at, AgendaItem.position),
    )
    commitments: Mapped[list[Commitment]] = relationship(
        back_populates="meeting", cascade="all, delete-orphan", order_by="Commitment.id"
    )
    registration_questions: Mapped[list[RegistrationQuestion]] = relationship(
        back_populates="meeting", cascade="all, delete-orphan",
        order_by=lambda: (RegistrationQuestion.position, RegistrationQuestion.id),
    )

    @property
    def host(self) -> Region | Municipality:
        """The hosting territory: the district or city in a regional scope, else the region."""
        return self.host_municipality or self.host_region

    def __repr__(self) -> str:
        return f"<Meeting {self.scope} {self.year}/{self.slot} {self.state}>"


class Registration(db.Model):
    """One person's registration for a meeting: a seat, a place on the first-come waitlist, or cancelled.

    One row per person per meeting (unique); registering again after a cancellation reuses the row.
    ``waitlisted_at`` orders the waitlist.
    """

    __tablename__ = "meeting_registration"
    __table_args__ = (sa.UniqueConstraint("meeting_id", "user_id", name="uq_meeting_registration_user"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(sa.ForeignKey("meeting.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"), index=True)
    state: Mapped[str] = mapped_column(sa.String(12), default=RegistrationState.REGISTERED, index=True)
    waitlisted_at: Mapped[datetime | None] = mapped_column(TIMESTAMP)
    promoted_at: Mapped[datetime | None] = mapped_column(TIMESTAMP)
    cancelled_at: Mapped[datetime | None] = mapped_column(TIMESTAMP)
    attended: Mapped[bool | None] = mapped_column()  # marked by the organiser after the meeting
    # The person's opt-in to the public attendee list of the meeting page (name and akimat only).
    show_publicly: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    created_at: Mapped[datetime] = mapped_column(TIMESTAMP, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(TIMESTAMP, default=utcnow)

    meeting: Mapped[Meeting] = relationship(back_populates="registrations")
    user: Mapped[User] = relationship()
    answers: Mapped[list[RegistrationAnswer]] = relationship(
        back_populates="registration", cascade="all, delete-orphan", passive_deletes=True
    )


QUESTION_KINDS = ("text", "choice", "yes_no")
"""What a registration question asks for: free text, one of the organiser's options, or yes/no."""
_KIND_CHECK = "kind IN ({})".format(", ".join(f"'{k}'" for k in QUESTION_KINDS))


class RegistrationQuestion(db.Model):
    """A question the organisers ask everyone who registers for a meeting ("Your role", "Accessibility needs").

    ``options`` are the choices of a ``choice`` question, one per line (empty for the other kinds);
    ``position`` orders the questions on the form.
    """

    __tablename__ = "meeting_registration_question"
    __table_args__ = (sa.CheckConstraint(_KIND_CHECK, name="kind_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(sa.ForeignKey("meeting.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(8))
    label: Mapped[str] = mapped_column(sa.String(300))
    help_text: Mapped[str] = mapped_column(sa.String(500), default="")
    required: Mapped[bool] = mapped_column(default=False)
    options: Mapped[str] = mapped_column(sa.Text, default="")
    position: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(TIMESTAMP, default=utcnow)

    meeting: Mapped[Meeting] = relationship(back_populates="registration_questions")

    @property
    def option_list(self) -> list[str]:
        """The options of a choice question, in the organiser's order."""
        return [line for line in self.options.split("\n") if line]


class RegistrationAnswer(db.Model):
    """One person's answer to one registration question: the text, the chosen option, or ``yes`` / ``no``.
    A question left unanswered has no row."""

    __tablename__ = "meeting_registration_answer"
    __table_args__ = (sa.UniqueConstraint("registration_id", "question_id",
                                          name="uq_meeting_registration_answer_question"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(sa.ForeignKey("meeting_registration.id", ondelete="CASCADE"),
                                                 index=True)
    question_id: Mapped[int] = mapped_column(sa.ForeignKey("meeting_registration_question.id", ondelete="CASCADE"),
                                             index=True)
    value: Mapped[str] = mapped_column(sa.Text)

    registration: Mapped[Registration] = relationship(back_populates="answers")
    question: Mapped[RegistrationQuestion] = relationship()


class Proposal(db.Model):
    """An akim's proposal to present one of their akimat's published case studies at a meeting."""

    __tablename__ = "meeting_proposal"
    __table_args__ = (sa.UniqueConstraint("meeting_id", "case_study_id", name="uq_meeting_proposal_case"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(sa.ForeignKey("meeting.id", ondelete="CASCADE"), index=True)
    case_study_id: Mapped[int] = mapped_column(sa.ForeignKey("case_study.id", ondelete="CASCADE"), index=True)
    proposer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    presenter_name: Mapped[str] = mapped_column(sa.String(200), default="")
    pitch: Mapped[str] = mapped_column(sa.Text, default="")
    state: Mapped[str] = mapped_column(sa.String(10), default=ProposalState.PROPOSED, index=True)
    decision_note: Mapped[str | None] = mapped_column(sa.Text)
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    decided_at: Mapped[datetime | None] = mapped_column(TIMESTAMP)
    created_at: Mapped[datetime] = mapped_column(TIMESTAMP, default=utcnow)

    meeting: Mapped[Meeting] = relationship(back_populates="proposals")
    case_study: Mapped[CaseStudy] = relationship()
    proposer: Mapped[User | None] = relationship(foreign_keys=[proposer_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])


class AgendaItem(db.Model):
    """One item of a meeting's timetable: a presentation of a case study, a panel, a site visit, a break.

    Days are the local (Kazakhstan) dates of ``starts_at``; ``position`` orders items that start together.
    """

    __tablename__ = "agenda_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(sa.ForeignKey("meeting.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(12), default="presentation")
    title: Mapped[str] = mapped_column(sa.String(300), default="")
    description: Mapped[str] = mapped_column(sa.Text, default="")
    starts_at: Mapped[datetime] = mapped_column(TIMESTAMP)
    ends_at: Mapped[datetime] = mapped_column(TIMESTAMP)
    position: Mapped[int] = mapped_column(default=0)
    location: Mapped[str] = mapped_column(sa.String(300), default="")
    case_study_id: Mapped[int | None] = mapped_column(sa.ForeignKey("case_study.id", ondelete="SET NULL"), index=True)
    proposal_id: Mapped[int | None] = mapped_column(sa.ForeignKey("meeting_proposal.id", ondelete="SET NULL"))
    presenter_name: Mapped[str] = mapped_column(sa.String(200), default="")

    meeting: Mapped[Meeting] = relationship(back_populates="agenda_items")
    case_study: Mapped[CaseStudy | None] = relationship()
    proposal: Mapped[Proposal | None] = relationship()


COMMITMENT_STATUSES = ("not_started", "limited", "substantial", "complete", "withdrawn")
"""The progress of a commitment: the Open Government Partnership's completion scale (not started, limited,
substantial, complete), plus withdrawn."""
FINISHED_STATUSES = ("complete", "withdrawn")
"""No more follow-up: no reminders, never overdue."""
_STATUS_CHECK = "status IN ({})".format(", ".join(f"'{s}'" for s in COMMITMENT_STATUSES))


class Commitment(db.Model):
    """A commitment recorded in a meeting's outcomes: "akimat X will pilot practice Y by date D".

    ``adoption_id`` is set when the commitment has been turned into an adoption record. ``status`` is the
    latest of its dated :class:`CommitmentUpdate` rows (``not_started`` before the first); ``reminded_at`` is
    when the committing akimat was last reminded to report progress.
    """

    __tablename__ = "meeting_commitment"
    __table_args__ = (sa.CheckConstraint(_STATUS_CHECK, name="status_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(sa.ForeignKey("meeting.id", ondelete="CASCADE"), index=True)
    akimat_id: Mapped[int] = mapped_column(sa.ForeignKey("akimat.id"), index=True)
    case_study_id: Mapped[int] = mapped_column(sa.ForeignKey("case_study.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(sa.String(12), default="pilot")  # pilot | adopt | adapt
    due_date: Mapped[date | None] = mapped_column(sa.Date)
    note: Mapped[str] = mapped_column(sa.Text, default="")
    adoption_id: Mapped[int | None] = mapped_column(sa.ForeignKey("adoption.id", ondelete="SET NULL"))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(TIMESTAMP, default=utcnow)
    status: Mapped[str] = mapped_column(sa.String(16), default="not_started", server_default="not_started")
    reminded_at: Mapped[datetime | None] = mapped_column(TIMESTAMP)

    meeting: Mapped[Meeting] = relationship(back_populates="commitments")
    akimat: Mapped[Akimat] = relationship()
    case_study: Mapped[CaseStudy] = relationship()
    adoption: Mapped[Adoption | None] = relationship()
    created_by: Mapped[User | None] = relationship()
    updates: Mapped[list[CommitmentUpdate]] = relationship(
        back_populates="commitment", cascade="all, delete-orphan", passive_deletes=True,
        order_by=lambda: (CommitmentUpdate.created_at.desc(), CommitmentUpdate.id.desc()))  # newest first


class CommitmentUpdate(db.Model):
    """A dated progress report on a commitment: the status it sets, a note (Markdown) and optionally one
    evidence file, stored like case-study attachments (under ``UPLOAD_DIR``, a generated name)."""

    __tablename__ = "meeting_commitment_update"
    __table_args__ = (sa.CheckConstraint(_STATUS_CHECK, name="status_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    commitment_id: Mapped[int] = mapped_column(sa.ForeignKey("meeting_commitment.id", ondelete="CASCADE"),
                                               index=True)
    status: Mapped[str] = mapped_column(sa.String(16))
    note: Mapped[str] = mapped_column(sa.Text, default="")
    evidence_name: Mapped[str | None] = mapped_column(sa.String(255))  # the name the user gave
    evidence_stored_name: Mapped[str | None] = mapped_column(sa.String(80), unique=True)
    evidence_content_type: Mapped[str | None] = mapped_column(sa.String(120))
    evidence_size: Mapped[int | None] = mapped_column(sa.BigInteger)
    evidence_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(TIMESTAMP, default=utcnow)

    commitment: Mapped[Commitment] = relationship(back_populates="updates")
    author: Mapped[User | None] = relationship()


class RotationPin(db.Model):
    """An organiser's decision that ``host`` hosts the (year, slot) meeting of ``scope``."""

    __tablename__ = "rotation_pin"
    __table_args__ = (sa.UniqueConstraint("scope", "year", "slot", name="uq_rotation_pin_slot"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(sa.String(10), index=True)
    year: Mapped[int] = mapped_column()
    slot: Mapped[int] = mapped_column(default=1)
    host_code: Mapped[str] = mapped_column(sa.String(120))
    reason: Mapped[str] = mapped_column(sa.Text)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(TIMESTAMP, default=utcnow)

    created_by: Mapped[User | None] = relationship()


class RotationExclusion(db.Model):
    """An organiser's decision that ``host`` cannot host before ``until_year`` (deferred, not skipped).
    ``lifted_at`` is set when the exclusion is lifted early (rows are kept for the record)."""

    __tablename__ = "rotation_exclusion"

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(sa.String(10), index=True)
    host_code: Mapped[str] = mapped_column(sa.String(120))
    until_year: Mapped[int] = mapped_column()
    reason: Mapped[str] = mapped_column(sa.Text)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(TIMESTAMP, default=utcnow)
    lifted_at: Mapped[datetime | None] = mapped_column(TIMESTAMP)

    created_by: Mapped[User | None] = relationship()


class Certificate(db.Model):
    """A certificate of participation: issued to a registration marked present, on its first download.

    ``code`` is short and unguessable (it is printed on the PDF and opens the public verification page); one
    certificate per registration (unique, so two first downloads at once make one row). Organisers can revoke
    one (``revoked_at``) and lift the revocation.
    """

    __tablename__ = "meeting_certificate"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(16), unique=True)
    registration_id: Mapped[int] = mapped_column(
        sa.ForeignKey("meeting_registration.id", ondelete="CASCADE"), unique=True)
    issued_at: Mapped[datetime] = mapped_column(TIMESTAMP, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(TIMESTAMP)
    revoked_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))

    registration: Mapped[Registration] = relationship()
    revoked_by: Mapped[User | None] = relationship()
