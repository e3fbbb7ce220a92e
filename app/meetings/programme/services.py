"""A meeting's programme: the call for presentations, the agenda, and the outcomes (minutes and commitments).

- **Call for presentations.** An organiser opens and closes it. While it is open, a verified akim proposes one of
  *their own akimat's published* case studies with a short pitch (one proposal per case study per meeting); an
  organiser accepts or declines it with a note that the proposer reads. An accepted proposal drops into the
  agenda as a presentation (after the last item, 30 minutes; the organiser moves it).
- **Agenda.** Days → time slots → items. An item is a presentation of a case study (with its presenter), a panel,
  a site visit (which may point at one of the host region's published case studies), a break, or anything else.
  Times are entered in Kazakhstan time and stored in UTC; an item lies within the meeting's days.
- **Outcomes.** After the meeting: minutes (Markdown, rendered sanitised) and commitments ("akimat X will pilot
  practice Y by date D"), which appear on the case study and on the akimat's region profile and can be turned
  into an adoption record (status "piloting") with one click.

Functions add and flush, never commit; every refusal is a :class:`~app.errors.ValidationFailed` raised before
anything changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from datetime import datetime
from datetime import timedelta
from itertools import groupby

import sqlalchemy as sa
from flask import url_for
from flask_babel import format_date
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from app import mail
from app.audit.services import record
from app.case_studies.models import Adoption
from app.case_studies.models import CaseStudy
from app.case_studies.services import last_allowed_year
from app.clock import utcnow
from app.errors import ValidationFailed
from app.extensions import db
from app.i18n import collation_key
from app.meetings import ical
from app.meetings.commitments.services import forget_evidence
from app.meetings.models import AGENDA_KINDS
from app.meetings.models import AgendaItem
from app.meetings.models import Commitment
from app.meetings.models import Meeting
from app.meetings.models import MeetingState
from app.meetings.models import Proposal
from app.meetings.models import ProposalState
from app.meetings.timezone import to_local
from app.meetings.timezone import to_utc
from app.policy import can
from app.regions.models import Akimat

MAX_PITCH_CHARS = 1_000
MAX_NOTE_CHARS = 2_000
MAX_TITLE_CHARS = 300
MAX_TEXT_CHARS = 5_000
MAX_NAME_CHARS = 200
MAX_MINUTES_CHARS = 50_000
PRESENTATION_MINUTES = 30
COMMITMENT_ACTIONS = {"pilot": _l("will pilot"), "adopt": _l("will adopt"), "adapt": _l("will adapt")}
AGENDA_KIND_LABELS = {
    "presentation": _l("Presentation"),
    "panel": _l("Panel"),
    "site_visit": _l("Site visit"),
    "break": _l("Break"),
    "other": _l("Other"),
}
PROPOSAL_STATE_LABELS = {
    ProposalState.PROPOSED: _l("Waiting for a decision"),
    ProposalState.ACCEPTED: _l("Accepted"),
    ProposalState.DECLINED: _l("Declined"),
    ProposalState.WITHDRAWN: _l("Withdrawn"),
}
CLOSED_STATES = (MeetingState.HELD, MeetingState.CANCELLED)


def _text(value: str | None) -> str:
    return (value or "").replace("\r\n", "\n").strip()


def _too_long(errors: list, field: str, text: str, limit: int) -> None:
    if len(text) > limit:
        errors.append((field, _l("At most %(max)d characters.", max=limit)))


# --- call for presentations ---------------------------------------------------------------------------------


def call_is_open(meeting: Meeting, now: datetime | None = None) -> bool:
    """Whether the meeting accepts proposals now: the call is open, its closing time (if any) has not passed,
    and the meeting is neither held nor cancelled."""
    now = now or utcnow()
    if not meeting.call_open or meeting.state in CLOSED_STATES:
        return False
    return meeting.call_closes_at is None or now < meeting.call_closes_at


def open_call(actor, meeting: Meeting, closes_at: datetime | None) -> None:
    """Open the call for presentations, optionally until ``closes_at`` (aware, UTC).

    :raise ValidationFailed: the meeting is held or cancelled, or the closing time is past or after the meeting
        starts.
    """
    errors = []
    if meeting.state in CLOSED_STATES:
        errors.append((None, _l("The meeting is held or cancelled: its call for presentations cannot open.")))
    if closes_at is not None:
        if closes_at <= utcnow():
            errors.append(("closes_at", _l("Choose a closing time in the future.")))
        elif closes_at > meeting.starts_at:
            errors.append(("closes_at", _l("The call must close before the meeting starts.")))
    if errors:
        raise ValidationFailed(errors)
    meeting.call_open = True
    meeting.call_closes_at = closes_at
    meeting.updated_at = utcnow()
    db.session.flush()
    record(actor, "meeting.call_opened", meeting, {"closes_at": closes_at.isoformat() if closes_at else None})


def close_call(actor, meeting: Meeting) -> None:
    """Close the call for presentations (proposals already made keep their state).

    :raise ValidationFailed: the call is not open.
    """
    if not meeting.call_open:
        raise ValidationFailed([(None, _l("The call for presentations is not open."))])
    meeting.call_open = False
    meeting.updated_at = utcnow()
    db.session.flush()
    record(actor, "meeting.call_closed", meeting)


def proposable_cases(user) -> list[CaseStudy]:
    """The published case studies of the user's akimat, by title (what an akim may propose)."""
    if not can(user, "propose"):
        return []
    cases = db.session.scalars(
        sa.select(CaseStudy).where(CaseStudy.akimat_id == user.akimat_id, CaseStudy.is_published))
    return sorted(cases, key=lambda case: collation_key(case.title))


def propose(user, meeting: Meeting, case: CaseStudy | None, pitch: str | None, presenter_name: str | None = None
            ) -> Proposal:
    """Propose ``case`` for presentation at ``meeting``.

    :raise ValidationFailed: the call is closed; the user is not a verified akim; the case study is missing, a
        draft or withdrawn, or another akimat's; it has been proposed for this meeting already; an empty or too
        long pitch.
    """
    if not can(user, "propose"):
        raise ValidationFailed([(None, _l("Only a verified akim can propose a case study of their akimat."))])
    if not call_is_open(meeting):
        raise ValidationFailed([(None, _l("The call for presentations of this meeting is closed."))])
    errors: list = []
    if case is None:
        errors.append(("case_study", _l("Choose one of your akimat's published case studies.")))
    elif case.akimat_id != user.akimat_id:
        errors.append(("case_study", _l("You can only propose a case study of your own akimat.")))
    elif not case.is_published:
        errors.append(("case_study", _l("Only a published case study can be presented: publish it first.")))
    text = _text(pitch)
    if not text:
        errors.append(("pitch", _l("Say in a few sentences what peers will learn from it.")))
    _too_long(errors, "pitch", text, MAX_PITCH_CHARS)
    presenter = _text(presenter_name) or user.full_name
    _too_long(errors, "presenter_name", presenter, MAX_NAME_CHARS)
    existing = None
    if not errors:
        existing = db.session.scalar(
            sa.select(Proposal).where(Proposal.meeting_id == meeting.id, Proposal.case_study_id == case.id)
        )
        if existing is not None and existing.state != ProposalState.WITHDRAWN:
            errors.append(("case_study", _l("This case study has already been proposed for this meeting.")))
    if errors:
        raise ValidationFailed(errors)
    # A withdrawn proposal is proposed again in its own row (one row per case and meeting).
    # Ids, not relationships: a relationship would put the new row into meeting.proposals before the savepoint.
    proposal = existing or Proposal(meeting_id=meeting.id, case_study_id=case.id)
    proposal.proposer_id = user.id
    proposal.presenter_name = presenter
    proposal.pitch = text
    proposal.state = ProposalState.PROPOSED
    proposal.decision_note = None
    proposal.decided_by_id = None
    proposal.decided_at = None
    try:
        # The same case proposed twice at once: the unique (meeting, case) constraint decides.
        with db.session.begin_nested():
            db.session.add(proposal)
    except IntegrityError:
        raise ValidationFailed([("case_study", _l("This case study has already been proposed for this meeting."))]
                               ) from None
    db.session.refresh(meeting)  # its proposals now include this one
    record(user, "meeting.proposal_made", proposal, {"meeting": meeting.id, "case": case.slug})
    return proposal


def withdraw_proposal(user, proposal: Proposal) -> None:
    """The proposer's akimat withdraws a proposal that is still waiting for a decision.

    :raise ValidationFailed: not a member of the proposing akimat, or already decided.
    """
    if not can(user, "withdraw_proposal", proposal):
        raise ValidationFailed([(None, _l("Only the akimat that made the proposal can withdraw it."))])
    if proposal.state != ProposalState.PROPOSED:
        raise ValidationFailed([(None, _l("Only a proposal waiting for a decision can be withdrawn."))])
    proposal.state = ProposalState.WITHDRAWN
    db.session.flush()
    record(user, "meeting.proposal_withdrawn", proposal, {"meeting": proposal.meeting_id,
                                                          "case": proposal.case_study.slug})


def decide(actor, proposal: Proposal, decision: str | None, note: str | None) -> AgendaItem | None:
    """Accept or decline a proposal with a note for the proposer; an accepted one drops into the agenda.

    :param decision: ``"accept"`` or ``"decline"``.
    :return: the new agenda item when accepted.
    :raise ValidationFailed: not waiting for a decision, an unknown decision, a decline without a note, a note
        too long, or a meeting that is cancelled.
    """
    errors: list = []
    if proposal.state != ProposalState.PROPOSED:
        errors.append((None, _l("This proposal has already been decided or withdrawn.")))
    if proposal.meeting.state == MeetingState.CANCELLED:
        errors.append((None, _l("The meeting is cancelled.")))
    if decision not in ("accept", "decline"):
        errors.append(("decision", _l("Choose to accept or to decline.")))
    text = _text(note)
    if decision == "decline" and not text:
        errors.append(("note", _l("Tell the proposer why: the note is shown to them.")))
    _too_long(errors, "note", text, MAX_NOTE_CHARS)
    if errors:
        raise ValidationFailed(errors)
    # A conditional update: of two organisers deciding at once, only the first changes the proposal.
    outcome = ProposalState.ACCEPTED if decision == "accept" else ProposalState.DECLINED
    decided = db.session.execute(
        sa.update(Proposal).where(Proposal.id == proposal.id, Proposal.state == ProposalState.PROPOSED)
        .values(state=outcome)
        .execution_options(synchronize_session=False)
    ).rowcount
    if decided != 1:
        db.session.refresh(proposal)
        raise ValidationFailed([(None, _l("This proposal has already been decided or withdrawn."))])
    proposal.state = outcome
    proposal.decision_note = text or None
    proposal.decided_by_id = actor.id if actor is not None else None
    proposal.decided_at = utcnow()
    item = None
    if decision == "accept":
        meeting = proposal.meeting
        starts, ends = _next_free_time(meeting)
        item = AgendaItem(meeting=meeting, kind="presentation", title=proposal.case_study.title,
                          description=proposal.pitch, starts_at=starts, ends_at=ends, case_study=proposal.case_study,
                          proposal=proposal, presenter_name=proposal.presenter_name)
        db.session.add(item)
    db.session.flush()
    record(actor, f"meeting.proposal_{proposal.state}", proposal,
           {"meeting": proposal.meeting_id, "case": proposal.case_study.slug}, reason=text or None)
    return item


def _next_free_time(meeting: Meeting) -> tuple[datetime, datetime]:
    """Where an accepted presentation goes: right after the last agenda item (or at the meeting's start), for
    PRESENTATION_MINUTES, moved back to the start when that would run past the meeting's end."""
    start = meeting.starts_at
    ends = [item.ends_at for item in meeting.agenda_items]
    if ends:
        start = max(start, max(ends))
    end = start + timedelta(minutes=PRESENTATION_MINUTES)
    if end > meeting.ends_at:
        start = meeting.starts_at
        end = min(start + timedelta(minutes=PRESENTATION_MINUTES), meeting.ends_at)
    return start, end


# --- agenda -------------------------------------------------------------------------------------------------


@dataclass
class AgendaData:
    """An agenda item as the form hands it over; times are naive Kazakhstan time (as typed)."""

    kind: str
    title: str
    starts_local: datetime | None
    ends_local: datetime | None
    description: str = ""
    location: str = ""
    presenter_name: str = ""
    case_study_id: int | None = None


def meeting_days(meeting: Meeting) -> list[date]:
    """The meeting's days (Kazakhstan dates from its start to its end)."""
    first, last = to_local(meeting.starts_at).date(), to_local(meeting.ends_at).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _validate_item(meeting: Meeting, data: AgendaData) -> tuple[list, dict]:
    errors: list = []
    values: dict = {}
    kind = data.kind if data.kind in AGENDA_KINDS else None
    if kind is None:
        errors.append(("kind", _l("Choose the kind of item from the list.")))
    title = _text(data.title)
    _too_long(errors, "title", title, MAX_TITLE_CHARS)
    description = _text(data.description)
    _too_long(errors, "description", description, MAX_TEXT_CHARS)
    location = _text(data.location)
    _too_long(errors, "location", location, MAX_TITLE_CHARS)
    presenter = _text(data.presenter_name)
    _too_long(errors, "presenter_name", presenter, MAX_NAME_CHARS)
    case = db.session.get(CaseStudy, data.case_study_id) if data.case_study_id else None
    if data.case_study_id and (case is None or not case.is_published):
        errors.append(("case_study_id", _l("Choose a published case study from the list.")))
        case = None
    if kind == "presentation" and data.case_study_id is None:
        errors.append(("case_study_id", _l("A presentation presents a case study: choose one.")))
    if kind == "site_visit" and case is not None and case.region_id != meeting.host_region_id:
        errors.append(("case_study_id", _l("A site visit can only show one of the host region's own case studies.")))
    if kind in ("panel", "break", "other"):
        case = None  # only presentations and site visits point at a case study
    if not title and case is not None:
        title = case.title
    if not title:
        errors.append(("title", _l("Give the item a title.")))
    days = meeting_days(meeting)
    if data.starts_local is None:
        errors.append(("starts_at", _l("Enter the start as a date and time.")))
    if data.ends_local is None:
        errors.append(("ends_at", _l("Enter the end as a date and time.")))
    if data.starts_local is not None and data.ends_local is not None:
        if data.ends_local <= data.starts_local:
            errors.append(("ends_at", _l("The end must be after the start.")))
        elif data.starts_local.date() < days[0] or data.ends_local.date() > days[-1]:
            errors.append(("starts_at", _l("The item must lie within the meeting's days (%(first)s–%(last)s).",
                                           first=format_date(days[0], "long"),
                                           last=format_date(days[-1], "long"))))
    values.update(kind=kind, title=title, description=description, location=location, presenter_name=presenter,
                  case_study=case, starts_at=to_utc(data.starts_local), ends_at=to_utc(data.ends_local))
    return errors, values


def add_item(actor, meeting: Meeting, data: AgendaData) -> AgendaItem:
    """Add an item to the agenda.

    :raise ValidationFailed: an unknown kind, no title, a presentation without a case study, a site visit to
        another region's case, an end before the start, times outside the meeting's days, too long texts.
    """
    if meeting.state == MeetingState.CANCELLED:
        raise ValidationFailed([(None, _l("The meeting is cancelled."))])
    errors, values = _validate_item(meeting, data)
    if errors:
        raise ValidationFailed(errors)
    item = AgendaItem(meeting=meeting, **values)
    db.session.add(item)
    db.session.flush()
    record(actor, "meeting.agenda_item_added", item, {"meeting": meeting.id, "kind": item.kind})
    return item


def update_item(actor, item: AgendaItem, data: AgendaData) -> None:
    """Change an agenda item (same rules as :func:`add_item`)."""
    errors, values = _validate_item(item.meeting, data)
    if errors:
        raise ValidationFailed(errors)
    for name, value in values.items():
        setattr(item, name, value)
    db.session.flush()
    record(actor, "meeting.agenda_item_changed", item, {"meeting": item.meeting_id, "kind": item.kind})


def overlapping(item: AgendaItem) -> list[AgendaItem]:
    """The other items of ``item``'s meeting whose time overlaps it, except parallel sessions (the same start and
    end in another place): the organiser is warned, not refused (two items may share a slot on purpose)."""
    def place(other: AgendaItem) -> str:
        return (other.location or "").strip().casefold()

    def parallel(other: AgendaItem) -> bool:
        return (other.starts_at, other.ends_at) == (item.starts_at, item.ends_at) and place(other) != place(item)

    return [other for other in item.meeting.agenda_items
            if other.id != item.id and other.starts_at < item.ends_at and item.starts_at < other.ends_at
            and not parallel(other)]


def remove_item(actor, item: AgendaItem) -> None:
    """Remove an agenda item (an accepted proposal stays accepted; the organiser may add it again)."""
    record(actor, "meeting.agenda_item_removed", item, {"meeting": item.meeting_id, "kind": item.kind,
                                                        "title": item.title})
    db.session.delete(item)
    db.session.flush()


@dataclass
class TimeSlot:
    """Items that start and end together (parallel sessions), in Kazakhstan time."""

    starts: datetime
    ends: datetime
    items: list[AgendaItem]


@dataclass
class AgendaDay:
    """One day of the timetable."""

    day: date
    slots: list[TimeSlot]


def timetable(meeting: Meeting) -> list[AgendaDay]:
    """The agenda as days → time slots → items (Kazakhstan time)."""
    items = sorted(meeting.agenda_items, key=lambda i: (i.starts_at, i.ends_at, i.position, i.id))
    days = []
    for day, day_items in groupby(items, key=lambda i: to_local(i.starts_at).date()):
        slots = [TimeSlot(to_local(s), to_local(e), list(group))
                 for (s, e), group in groupby(day_items, key=lambda i: (i.starts_at, i.ends_at))]
        days.append(AgendaDay(day, slots))
    return days


# --- outcomes -----------------------------------------------------------------------------------------------


def is_over(meeting: Meeting) -> bool:
    """Whether the meeting has taken place (held, or its end has passed and it was not cancelled)."""
    if meeting.state == MeetingState.HELD:
        return True
    return meeting.state != MeetingState.CANCELLED and meeting.ends_at <= utcnow()


def publish_outcomes(actor, meeting: Meeting, minutes: str | None) -> None:
    """Publish (or correct) the minutes of a meeting that has taken place.

    :raise ValidationFailed: the meeting has not taken place; empty or too long minutes.
    """
    errors: list = []
    if not is_over(meeting):
        errors.append((None, _l("Outcomes can be published once the meeting has taken place.")))
    text = _text(minutes)
    if not text:
        errors.append(("minutes", _l("Write the minutes: what was presented, discussed and agreed.")))
    _too_long(errors, "minutes", text, MAX_MINUTES_CHARS)
    if errors:
        raise ValidationFailed(errors)
    first = meeting.outcomes_published_at is None
    meeting.minutes = text
    meeting.outcomes_published_at = meeting.outcomes_published_at or utcnow()
    meeting.updated_at = utcnow()
    db.session.flush()
    record(actor, "meeting.outcomes_published" if first else "meeting.outcomes_changed", meeting)


def add_commitment(actor, meeting: Meeting, akimat_id, case_study_id, action: str | None,
                   due_date: date | None, note: str | None) -> Commitment:
    """Record that an akimat committed to pilot (adopt, adapt) a practice by a date.

    :raise ValidationFailed: the meeting has not taken place; unknown akimat; a case study that is not published
        or is the akimat's own; an unknown action; a due date before the meeting or more than ten years after it;
        a note too long.
    """
    errors: list = []
    if not is_over(meeting):
        errors.append((None, _l("Commitments are recorded once the meeting has taken place.")))
    akimat = db.session.get(Akimat, akimat_id) if akimat_id else None
    if akimat is None:
        errors.append(("akimat_id", _l("Choose the akimat that made the commitment.")))
    case = db.session.get(CaseStudy, case_study_id) if case_study_id else None
    if case is None or not case.is_published:
        errors.append(("case_study_id", _l("Choose a published case study from the list.")))
    elif akimat is not None and case.akimat_id == akimat.id:
        errors.append(("case_study_id", _l("An akimat cannot commit to take over its own practice.")))
    if action not in COMMITMENT_ACTIONS:
        errors.append(("action", _l("Choose what the akimat will do.")))
    meeting_day = to_local(meeting.starts_at).date()
    if due_date is not None and not meeting_day <= due_date <= meeting_day.replace(year=meeting_day.year + 10):
        errors.append(("due_date", _l("Choose a date after the meeting, at most ten years ahead.")))
    text = _text(note)
    _too_long(errors, "note", text, MAX_NOTE_CHARS)
    if errors:
        raise ValidationFailed(errors)
    commitment = Commitment(meeting=meeting, akimat=akimat, case_study=case, action=action, due_date=due_date,
                            note=text, created_by_id=actor.id if actor is not None else None)
    db.session.add(commitment)
    db.session.flush()
    record(actor, "meeting.commitment_added", commitment, {"meeting": meeting.id, "akimat": akimat.id,
                                                           "case": case.slug, "action": action})
    return commitment


def remove_commitment(actor, commitment: Commitment) -> None:
    """Remove a commitment recorded by mistake (an adoption made from it stays: it belongs to the akimat; the
    evidence files of its updates go once the removal is committed)."""
    forget_evidence(commitment)
    record(actor, "meeting.commitment_removed", commitment, {"meeting": commitment.meeting_id,
                                                             "akimat": commitment.akimat_id,
                                                             "case": commitment.case_study.slug})
    db.session.delete(commitment)
    db.session.flush()


def commitment_to_adoption(actor, commitment: Commitment) -> tuple[Adoption, bool]:
    """Turn a commitment into the akimat's adoption record (status "piloting") and link the two.

    An akimat has one adoption record per case study: when it already has one, the commitment is linked to it
    and the record is left as it is (the akimat's own account wins).

    :return: the adoption and whether it was created.
    :raise ValidationFailed: not allowed, already turned into an adoption, or the case study is not published.
    """
    if not can(actor, "convert_commitment", commitment):
        raise ValidationFailed([(None, _l("Only organisers and the committed akimat can record this adoption."))])
    if commitment.adoption_id is not None:
        raise ValidationFailed([(None, _l("This commitment is already recorded as an adoption."))])
    case = commitment.case_study
    if not case.is_published:
        raise ValidationFailed([(None, _l("Only a published case study can be adopted."))])
    adoption = db.session.scalar(
        sa.select(Adoption).where(Adoption.case_study_id == case.id, Adoption.akimat_id == commitment.akimat_id)
    )
    created = adoption is None
    if created:
        year = min(max(commitment.meeting.year, case.started or commitment.meeting.year), last_allowed_year())
        adoption = Adoption(case_study_id=case.id, akimat_id=commitment.akimat_id, year=year, status="piloting",
                            note=commitment.note or "", recorded_by_id=actor.id if actor is not None else None)
        try:
            # The akimat recording the adoption itself at the same moment: the unique constraint decides.
            with db.session.begin_nested():
                db.session.add(adoption)
        except IntegrityError:
            raise ValidationFailed([(None, _l("The akimat has just recorded this adoption itself: try again to "
                                              "link the commitment to it."))]) from None
        record(actor, "adoption.recorded", adoption, {"case": case.slug, "status": "piloting", "year": year,
                                                      "commitment": commitment.id})
    commitment.adoption = adoption
    db.session.flush()
    record(actor, "meeting.commitment_adopted", commitment, {"adoption": adoption.id, "created": created})
    return adoption, created


def notify_decision(proposal: Proposal) -> None:
    """E-mail the proposer the organisers' decision and note, in the proposer's language. Call it after the
    commit (nobody is told about a decision that was rolled back)."""
    user = proposal.proposer
    if user is None or not user.active:
        return
    meeting = proposal.meeting
    subject = (_l("Accepted: %(title)s", title=proposal.case_study.title) if proposal.state == ProposalState.ACCEPTED
               else _l("Not accepted this time: %(title)s", title=proposal.case_study.title))
    mail.send_template(user, "proposal_decided", subject, proposal=proposal, meeting=meeting,
                       location=ical.location(meeting),
                       url=url_for("meetings.detail", meeting_id=meeting.id, _anchor="programme", _external=True))


# --- what other pages show ----------------------------------------------------------------------------------


@dataclass
class Presentation:
    """A meeting at which a case study was (or will be) presented or visited."""

    meeting: Meeting
    item: AgendaItem


def presentations_of(case: CaseStudy) -> list[Presentation]:
    """The meetings whose agenda presents (or visits) ``case``, newest first; cancelled meetings left out."""
    items = db.session.scalars(
        sa.select(AgendaItem).join(Meeting, AgendaItem.meeting_id == Meeting.id)
        .where(AgendaItem.case_study_id == case.id, Meeting.state != MeetingState.CANCELLED)
        .options(selectinload(AgendaItem.meeting))
        .order_by(Meeting.starts_at.desc(), AgendaItem.starts_at)
    )
    seen, result = set(), []
    for item in items:
        if item.meeting_id not in seen:
            seen.add(item.meeting_id)
            result.append(Presentation(item.meeting, item))
    return result


def commitments_for_case(case: CaseStudy) -> list[Commitment]:
    """Commitments to take over ``case``, newest meeting first."""
    return list(db.session.scalars(
        sa.select(Commitment).join(Meeting, Commitment.meeting_id == Meeting.id)
        .where(Commitment.case_study_id == case.id)
        .options(selectinload(Commitment.akimat), selectinload(Commitment.meeting))
        .order_by(Meeting.starts_at.desc(), Commitment.id)
    ))


def commitments_for_region(region) -> list[Commitment]:
    """Commitments made by the akimats of ``region`` (published case studies only), newest meeting first."""
    return list(db.session.scalars(
        sa.select(Commitment).join(Meeting, Commitment.meeting_id == Meeting.id)
        .join(Akimat, Commitment.akimat_id == Akimat.id)
        .join(CaseStudy, Commitment.case_study_id == CaseStudy.id)
        .where(Akimat.region_id == region.id, CaseStudy.is_published)
        .options(selectinload(Commitment.case_study), selectinload(Commitment.meeting))
        .order_by(Meeting.starts_at.desc(), Commitment.id)
    ))


def proposals_of(meeting: Meeting, user=None) -> list[Proposal]:
    """The proposals of a meeting: all of them for organisers, the user's akimat's for an akim, else none."""
    if can(user, "manage_meetings"):
        return list(meeting.proposals)
    if can(user, "propose"):
        return [p for p in meeting.proposals if p.case_study.akimat_id == user.akimat_id]
    return []
