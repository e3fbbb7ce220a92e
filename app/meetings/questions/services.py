"""Registration questions of a meeting and the answers to them.

Organisers add, edit, reorder and delete a meeting's questions (free text, one choice among their options,
yes/no). Once a question has answers, its label, help text, "required" flag and order may still change and
options may be added, but it cannot be deleted, change kind or lose an option someone chose: the answers
already given would lose their meaning. Registering (``app.meetings.services.register``) checks the answers
with :func:`clean_answers` before it takes a seat and stores them with :func:`save_answers` in the same
transaction; a registered person changes them with :func:`change_answers`.

Functions add and flush, never commit; every refusal is a :class:`~app.errors.ValidationFailed` raised before
anything changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from app.audit import services as audit
from app.auth.models import User
from app.clock import utcnow
from app.errors import ValidationFailed
from app.extensions import db
from app.meetings.models import HOLDING_STATES
from app.meetings.models import QUESTION_KINDS
from app.meetings.models import Meeting
from app.meetings.models import MeetingState
from app.meetings.models import Registration
from app.meetings.models import RegistrationAnswer
from app.meetings.models import RegistrationQuestion
from app.meetings.models import RegistrationState

MAX_QUESTIONS = 30
MAX_LABEL_CHARS = 300
MAX_HELP_CHARS = 500
MAX_OPTIONS = 20
MAX_OPTION_CHARS = 200
MAX_ANSWER_CHARS = 2000
YES, NO = "yes", "no"

KIND_LABELS = {
    "text": _l("Text"),
    "choice": _l("One choice among options"),
    "yes_no": _l("Yes or no"),
}
YES_NO_LABELS = {YES: _l("Yes"), NO: _l("No")}


def field_name(question: RegistrationQuestion | int) -> str:
    """The form field of a question's answer: ``q_<id>``."""
    return f"q_{question if isinstance(question, int) else question.id}"


@dataclass
class QuestionData:
    """A question as the organiser's form hands it over; ``options``: one per line (choice questions)."""

    kind: str = "text"
    label: str = ""
    help_text: str = ""
    required: bool = False
    options: list[str] = field(default_factory=list)


def questions_of(meeting: Meeting) -> list[RegistrationQuestion]:
    """The meeting's questions in their order."""
    return list(db.session.scalars(
        sa.select(RegistrationQuestion).where(RegistrationQuestion.meeting_id == meeting.id)
        .order_by(RegistrationQuestion.position, RegistrationQuestion.id)
    ))


def question_of(meeting: Meeting, question_id: int) -> RegistrationQuestion | None:
    """The meeting's question ``question_id``; None when there is none (or it is another meeting's)."""
    question = db.session.get(RegistrationQuestion, question_id)
    return question if question is not None and question.meeting_id == meeting.id else None


def answer_counts(meeting: Meeting) -> dict[int, int]:
    """How many answers each of the meeting's questions has (questions without any are left out)."""
    rows = db.session.execute(
        sa.select(RegistrationAnswer.question_id, sa.func.count(RegistrationAnswer.id))
        .join(RegistrationQuestion, RegistrationQuestion.id == RegistrationAnswer.question_id)
        .where(RegistrationQuestion.meeting_id == meeting.id)
        .group_by(RegistrationAnswer.question_id)
    )
    return dict(rows.tuples().all())


def _answer_count(question: RegistrationQuestion) -> int:
    return db.session.scalar(
        sa.select(sa.func.count(RegistrationAnswer.id)).where(RegistrationAnswer.question_id == question.id)
    ) or 0


def _validate(data: QuestionData) -> tuple[str, str, list[str]]:
    """The cleaned label, help text and options of ``data``. :raise ValidationFailed: every problem at once."""
    errors: list[tuple[str | None, str]] = []
    label = (data.label or "").strip()
    help_text = (data.help_text or "").strip()
    options = [o.strip() for o in data.options if o.strip()] if data.kind == "choice" else []
    if data.kind not in QUESTION_KINDS:
        errors.append(("kind", _l("Choose what kind of answer the question asks for.")))
    if not label:
        errors.append(("label", _l("Write the question.")))
    elif len(label) > MAX_LABEL_CHARS:
        errors.append(("label", _l("At most %(max)d characters.", max=MAX_LABEL_CHARS)))
    if len(help_text) > MAX_HELP_CHARS:
        errors.append(("help_text", _l("At most %(max)d characters.", max=MAX_HELP_CHARS)))
    if data.kind == "choice":
        if len(options) < 2:
            errors.append(("options", _l("List at least two options, one per line.")))
        elif len(options) > MAX_OPTIONS:
            errors.append(("options", _l("At most %(max)d options.", max=MAX_OPTIONS)))
        elif any(len(o) > MAX_OPTION_CHARS for o in options):
            errors.append(("options", _l("Each option: at most %(max)d characters.", max=MAX_OPTION_CHARS)))
        elif len({o.casefold() for o in options}) != len(options):
            errors.append(("options", _l("Each option once: two lines are the same.")))
    if errors:
        raise ValidationFailed(errors)
    return label, help_text, options


def add_question(actor: User | None, meeting: Meeting, data: QuestionData) -> RegistrationQuestion:
    """Add a question at the end of the meeting's registration form.

    :raise ValidationFailed: an unknown kind, no label, too long a text, fewer than two (or repeated) options, or
        too many questions.
    """
    label, help_text, options = _validate(data)
    existing = questions_of(meeting)
    if len(existing) >= MAX_QUESTIONS:
        raise ValidationFailed([(None, _l("A meeting can ask at most %(max)d questions.", max=MAX_QUESTIONS))])
    question = RegistrationQuestion(
        meeting_id=meeting.id, kind=data.kind, label=label, help_text=help_text, required=bool(data.required),
        options="\n".join(options), position=max((q.position for q in existing), default=0) + 1,
        created_at=utcnow(),
    )
    db.session.add(question)
    db.session.flush()
    audit.record(actor, "meeting.question_added", meeting, {"question": question.id, "kind": question.kind})
    return question


def update_question(actor: User | None, question: RegistrationQuestion, data: QuestionData) -> RegistrationQuestion:
    """Change a question. Once it has answers, its kind stays and no option someone chose may go (a new option
    may be added; the label, help text and "required" may change).

    :raise ValidationFailed: as :func:`add_question`, or a change the answers already given forbid.
    """
    label, help_text, options = _validate(data)
    answered = _answer_count(question)
    if answered and data.kind != question.kind:
        raise ValidationFailed([("kind", _l("People have already answered this question, so its kind cannot "
                                            "change. Add a new question instead."))])
    if answered and question.kind == "choice":
        chosen = set(db.session.scalars(
            sa.select(RegistrationAnswer.value).where(RegistrationAnswer.question_id == question.id).distinct()
        ))
        missing = sorted(chosen - set(options))
        if missing:
            raise ValidationFailed([("options", _l("Someone has chosen “%(option)s”, so it must stay among the "
                                                   "options.", option=missing[0]))])
    question.kind = data.kind
    question.label = label
    question.help_text = help_text
    question.required = bool(data.required)
    question.options = "\n".join(options)
    db.session.flush()
    audit.record(actor, "meeting.question_changed", question.meeting, {"question": question.id})
    return question


def delete_question(actor: User | None, question: RegistrationQuestion) -> None:
    """Delete a question nobody has answered.

    :raise ValidationFailed: it has answers (they would be lost).
    """
    answered = _answer_count(question)
    if answered:
        raise ValidationFailed([(None, _l("This question has answers, so it cannot be deleted: the organisers' "
                                          "list would lose them. You can change its wording or make it "
                                          "optional."))])
    meeting = question.meeting
    question_id = question.id
    db.session.delete(question)
    db.session.flush()
    audit.record(actor, "meeting.question_removed", meeting, {"question": question_id})


def move_question(actor: User | None, question: RegistrationQuestion, direction: str) -> None:
    """Swap a question with the one before (``direction="up"``) or after it (``"down"``); at either end nothing
    changes.

    :raise ValidationFailed: another direction.
    """
    if direction not in ("up", "down"):
        raise ValidationFailed([(None, _l("Move the question up or down."))])
    ordered = questions_of(question.meeting)
    # Renumber first: equal positions (or gaps) would make a swap do nothing.
    for number, item in enumerate(ordered, start=1):
        item.position = number
    index = ordered.index(question)
    other = index - 1 if direction == "up" else index + 1
    if 0 <= other < len(ordered):
        ordered[index].position, ordered[other].position = ordered[other].position, ordered[index].position
    db.session.flush()


# --- answers ----------------------------------------------------------------------------------------------


def clean_answers(meeting: Meeting, raw: Mapping[int, str | None]) -> dict[int, str]:
    """Check a registration's answers against the meeting's questions.

    :param raw: question id → what the form sent (None or "" for no answer).
    :return: question id → the answer to store (unanswered optional questions left out).
    :raise ValidationFailed: every problem at once, on the question's field (``q_<id>``): a required answer
        missing, an option not offered, too long a text; on ``q_`` (form-wide): an answer to a question this meeting
        does not ask (another meeting's, a deleted one, a made-up id).
    """
    questions = {q.id: q for q in questions_of(meeting)}
    errors: list[tuple[str | None, str]] = []
    if set(raw) - set(questions):
        errors.append(("q_", _l("The form asked a question that this meeting no longer asks. Check your answers "
                                "and send them again.")))
    cleaned: dict[int, str] = {}
    for question in questions.values():
        value = (raw.get(question.id) or "").strip()
        name = field_name(question)
        if not value:
            if question.required:
                errors.append((name, _l("Answer this question: “%(question)s”.", question=question.label)
                               if question.kind == "text"
                               else _l("Choose an answer: “%(question)s”.", question=question.label)))
            continue
        if question.kind == "text" and len(value) > MAX_ANSWER_CHARS:
            errors.append((name, _l("At most %(max)d characters.", max=MAX_ANSWER_CHARS)))
        elif question.kind == "choice" and value not in question.option_list:
            errors.append((name, _l("Choose one of the options offered.")))
        elif question.kind == "yes_no" and value not in (YES, NO):
            errors.append((name, _l("Answer yes or no.")))
        else:
            cleaned[question.id] = value
    if errors:
        raise ValidationFailed(errors)
    return cleaned


def save_answers(registration: Registration, cleaned: Mapping[int, str]) -> None:
    """Store ``cleaned`` (from :func:`clean_answers`) as the registration's answers, replacing the earlier ones;
    a question now left unanswered loses its answer."""
    current = {a.question_id: a for a in db.session.scalars(
        sa.select(RegistrationAnswer).where(RegistrationAnswer.registration_id == registration.id))}
    for question_id, answer in current.items():
        if question_id not in cleaned:
            db.session.delete(answer)
    for question_id, value in cleaned.items():
        if question_id in current:
            current[question_id].value = value
        else:
            db.session.add(RegistrationAnswer(registration_id=registration.id, question_id=question_id, value=value))
    db.session.flush()


def change_answers(user: User, meeting: Meeting, raw: Mapping[int, str | None] | None,
                   show_publicly: bool) -> Registration:
    """A registered (or waitlisted) person changes their answers and their public-listing choice.

    :param raw: as :func:`clean_answers`; None leaves the answers as they are (after the meeting started, only
        the listing may change: the organisers have planned with the answers).
    :raise ValidationFailed: not registered, the answers refused, or answers sent once the meeting started.
    """
    registration = db.session.scalar(
        sa.select(Registration).where(Registration.meeting_id == meeting.id, Registration.user_id == user.id))
    if registration is None or registration.state not in HOLDING_STATES:
        raise ValidationFailed([(None, _l("You are not registered for this meeting."))])
    if raw is not None:
        if meeting.state == MeetingState.HELD or meeting.starts_at <= utcnow():
            raise ValidationFailed([(None, _l("This meeting has already started: answers can no longer "
                                              "change."))])
        save_answers(registration, clean_answers(meeting, raw))
    registration.show_publicly = bool(show_publicly)
    registration.updated_at = utcnow()
    db.session.flush()
    return registration


def answers_of(registration: Registration) -> dict[int, str]:
    """The registration's answers: question id → value."""
    return dict(db.session.execute(
        sa.select(RegistrationAnswer.question_id, RegistrationAnswer.value)
        .where(RegistrationAnswer.registration_id == registration.id)
    ).tuples().all())


def answers_by_registration(meeting: Meeting) -> dict[int, dict[int, str]]:
    """Every answer given for the meeting: registration id → question id → value."""
    rows = db.session.execute(
        sa.select(RegistrationAnswer.registration_id, RegistrationAnswer.question_id, RegistrationAnswer.value)
        .join(Registration, Registration.id == RegistrationAnswer.registration_id)
        .where(Registration.meeting_id == meeting.id)
    )
    answers: dict[int, dict[int, str]] = {}
    for registration_id, question_id, value in rows:
        answers.setdefault(registration_id, {})[question_id] = value
    return answers


def shown_answer(question: RegistrationQuestion, value: str | None) -> str:
    """An answer as people read it ("Yes" in the reader's language for ``yes``); "" for no answer."""
    if not value:
        return ""
    if question.kind == "yes_no":
        return str(YES_NO_LABELS.get(value, value))
    return value


def public_attendees(meeting: Meeting) -> list[User]:
    """People with a seat who chose to be listed publicly, in order of registration."""
    return list(db.session.scalars(
        sa.select(User).join(Registration, Registration.user_id == User.id)
        .where(Registration.meeting_id == meeting.id, Registration.state == RegistrationState.REGISTERED,
               Registration.show_publicly.is_(True), User.active.is_(True))
        .order_by(Registration.created_at, Registration.id)
    ))
