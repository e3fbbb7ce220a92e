"""Certificates of participation: who may have one, issuing (idempotent), verifying, revoking; the learning record.

Plain functions: they flush but never commit.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from app.audit import services as audit
from app.auth.models import User
from app.case_studies.models import Adoption
from app.clock import as_utc
from app.clock import utcnow
from app.extensions import db
from app.meetings import timezone
from app.meetings.models import AgendaItem
from app.meetings.models import Certificate
from app.meetings.models import Meeting
from app.meetings.models import MeetingState
from app.meetings.models import Proposal
from app.meetings.models import ProposalState
from app.meetings.models import Registration

ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
"""Digits and capitals without 0/O and 1/I: a code read off paper is typed back without doubt."""
CODE_LENGTH = 10  # 32**10 ≈ 10**15 codes: not guessable, short enough to type
HOURS_PER_DAY = 8
"""The hours counted per meeting day when the agenda has no timed items (stated on the certificate)."""
VALID, REVOKED, UNKNOWN = "valid", "revoked", "unknown"


def new_code() -> str:
    """A fresh random certificate code."""
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(raw: str) -> str:
    """A code as typed (lower case, spaces, dashes) in its stored form."""
    return "".join(raw.split()).replace("-", "").upper()[:32]


def eligible(registration: Registration) -> bool:
    """Whether ``registration`` earns a certificate: the meeting was held and the person was marked present."""
    return registration.attended is True and registration.meeting.state == MeetingState.HELD


def offered(registration: Registration) -> bool:
    """Whether the meeting page offers ``registration``'s person a certificate: earned and not revoked."""
    if not eligible(registration):
        return False
    certificate = certificate_of(registration)
    return certificate is None or certificate.revoked_at is None


def certificate_of(registration: Registration) -> Certificate | None:
    """The certificate already issued for ``registration``, if any."""
    return db.session.scalar(sa.select(Certificate).where(Certificate.registration_id == registration.id))


def issue(registration: Registration) -> Certificate:
    """The certificate of ``registration``, issued now if it has none (the caller checked :func:`eligible`).

    Two first downloads at once: the unique registration_id lets one insert win; the other finds that row.
    """
    for _attempt in range(5):
        existing = certificate_of(registration)
        if existing is not None:
            return existing
        certificate = Certificate(code=new_code(), registration_id=registration.id, issued_at=utcnow())
        try:
            with db.session.begin_nested():
                db.session.add(certificate)
                db.session.flush()
        except sa.exc.IntegrityError:
            continue  # a concurrent issue for this registration (or, all but never, a code collision)
        return certificate
    raise RuntimeError("could not issue a certificate")


def find(code: str) -> Certificate | None:
    """The certificate with ``code`` (as typed), or None."""
    code = normalise_code(code)
    if not code:
        return None
    return db.session.scalar(sa.select(Certificate).where(Certificate.code == code))


def status(certificate: Certificate | None) -> str:
    """``valid``, ``revoked`` or ``unknown`` (no such code)."""
    if certificate is None:
        return UNKNOWN
    return REVOKED if certificate.revoked_at is not None else VALID


def set_revoked(actor: User, certificate: Certificate, revoked: bool) -> None:
    """Revoke ``certificate`` (it verifies as revoked) or lift the revocation; audited."""
    if revoked == (certificate.revoked_at is not None):
        return
    certificate.revoked_at = utcnow() if revoked else None
    certificate.revoked_by_id = actor.id if revoked else None
    db.session.flush()
    audit.record(actor, "certificate.revoke" if revoked else "certificate.restore",
                 certificate.registration.meeting, {"code": certificate.code,
                                                    "registration": certificate.registration_id})


def certificates_by_registration(meeting: Meeting) -> dict[int, Certificate]:
    """The certificates issued for ``meeting``'s registrations, by registration id."""
    rows = db.session.scalars(sa.select(Certificate).join(Registration)
                              .where(Registration.meeting_id == meeting.id))
    return {c.registration_id: c for c in rows}


# --- what a certificate says ---------------------------------------------------------------------------------

def _hours_between(starts: datetime, ends: datetime) -> float:
    return max((as_utc(ends) - as_utc(starts)).total_seconds(), 0) / 3600


def hours(meeting: Meeting) -> tuple[float, bool]:
    """The meeting's hours and whether they come from the agenda: the sum of its timed items (breaks not
    counted), else its days (Kazakhstan dates, both ends included) × :data:`HOURS_PER_DAY`."""
    items = [i for i in meeting.agenda_items if i.kind != "break"]
    total = sum(_hours_between(i.starts_at, i.ends_at) for i in items)
    if total > 0:
        return round(total * 2) / 2, True
    return float(days(meeting) * HOURS_PER_DAY), False


def days(meeting: Meeting) -> int:
    """How many calendar days (Kazakhstan time) the meeting spans."""
    return max((timezone.to_local(meeting.ends_at).date() - timezone.to_local(meeting.starts_at).date()).days + 1, 1)


def presentations(user: User, meeting: Meeting | None = None) -> list[AgendaItem]:
    """The agenda items ``user`` presented: accepted proposals of theirs on the agenda (of ``meeting``, or of every
    held meeting), in time order."""
    query = (sa.select(AgendaItem).join(Proposal, AgendaItem.proposal_id == Proposal.id)
             .join(Meeting, AgendaItem.meeting_id == Meeting.id)
             .where(Proposal.proposer_id == user.id, Proposal.state == ProposalState.ACCEPTED,
                    Meeting.state == MeetingState.HELD)
             .order_by(AgendaItem.starts_at, AgendaItem.id))
    if meeting is not None:
        query = query.where(AgendaItem.meeting_id == meeting.id)
    return list(db.session.scalars(query))


def item_title(item: AgendaItem) -> str:
    """What an agenda item is called: its own title, else its case study's."""
    return item.title or (item.case_study.title if item.case_study else "")


def signed_by(meeting: Meeting) -> str:
    """Who signs: the meeting's contact (its organiser), else the organiser who created it."""
    return meeting.contact_name or (meeting.created_by.full_name if meeting.created_by else "")


# --- the learning record -------------------------------------------------------------------------------------

@dataclass
class AttendedMeeting:
    registration: Registration
    certificate: Certificate | None
    hours: float


@dataclass
class LearningRecord:
    attended: list[AttendedMeeting]
    presentations: list[AgendaItem]
    adoptions: list[Adoption]

    @property
    def empty(self) -> bool:
        return not (self.attended or self.presentations or self.adoptions)


def learning_record(user: User) -> LearningRecord:
    """The held meetings ``user`` attended (newest first, with their certificates if issued), the presentations
    they gave, and the adoptions recorded for their akimat."""
    registrations = db.session.scalars(
        sa.select(Registration).join(Meeting)
        .where(Registration.user_id == user.id, Registration.attended.is_(True), Meeting.state == MeetingState.HELD)
        .order_by(Meeting.starts_at.desc()))
    certificates = {c.registration_id: c for c in db.session.scalars(
        sa.select(Certificate).join(Registration).where(Registration.user_id == user.id))}
    attended = [AttendedMeeting(r, certificates.get(r.id), hours(r.meeting)[0]) for r in registrations]
    adoptions = []
    if user.akimat_id:
        adoptions = list(db.session.scalars(sa.select(Adoption).where(Adoption.akimat_id == user.akimat_id)
                                            .order_by(Adoption.year.desc(), Adoption.id.desc())))
    return LearningRecord(attended=attended, presentations=presentations(user), adoptions=adoptions)
