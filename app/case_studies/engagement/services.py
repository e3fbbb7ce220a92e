"""Engagement around a case study: questions and answers, adoptions by other akimats, follows and the
digest switch, and the e-mails they send. Functions add and flush, never commit; notifications are sent
by the caller after its commit (so no e-mail announces something that was rolled back)."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask import url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from app.audit import services as audit
from app.auth.models import Role
from app.auth.models import User
from app.case_studies.constants import ADOPTION_STATUSES
from app.case_studies.constants import FIRST_YEAR
from app.case_studies.constants import TOPICS
from app.case_studies.models import Adoption
from app.case_studies.models import Answer
from app.case_studies.models import CaseStudy
from app.case_studies.models import Follow
from app.case_studies.models import Question
from app.case_studies.services import get_by_slug
from app.case_studies.services import last_allowed_year
from app.clock import parse_year
from app.clock import utcnow
from app.errors import ValidationFailed
from app.extensions import db
from app.i18n import collation_key
from app.policy import can
from app.policy import is_member
from app.regions.models import Akimat
from app.regions.models import Region

MAX_QUESTION_CHARS = 5_000
MAX_ANSWER_CHARS = 10_000
MAX_NOTE_CHARS = 5_000
MAX_REASON_CHARS = 2_000
MAX_FOLLOWS = 200
FOLLOW_KINDS = ("region", "topic", "case")


# --- questions and answers ----------------------------------------------------------------------------


def _clean_body(body: str | None, limit: int, empty_message) -> str:
    """Strip ``body`` and check it is 1..``limit`` characters.

    :raise ValidationFailed: empty or too long (field ``body``).
    """
    text = (body or "").replace("\r\n", "\n").strip()
    if not text:
        raise ValidationFailed([("body", empty_message)])
    if len(text) > limit:
        raise ValidationFailed([("body", _l("At most %(max)d characters (you wrote %(n)d).", max=limit,
                                            n=len(text)))])
    return text


def ask_question(user: User, case: CaseStudy, body: str) -> Question:
    """Ask a question about a published case study.

    :raise ValidationFailed: empty or too long (1–5000 characters), or the case study is not published.
    """
    return _add_post(case, _l("Questions can only be asked about a published case study."), body,
                     MAX_QUESTION_CHARS, _l("Write your question."),
                     lambda text: Question(case_study=case, asker_id=user.id, body=text))


def answer_question(user: User, question: Question, body: str) -> Answer:
    """Answer a question on behalf of the akimat that owns the case study.

    :raise ValidationFailed: not a member of the owning akimat, the case study is not published, or the
        answer is empty or too long.
    """
    case = question.case_study
    if not is_member(user, case):
        raise ValidationFailed([(None, _l("Only members of the akimat that wrote the case study can answer."))])
    return _add_post(case, _l("Questions can only be answered on a published case study."), body,
                     MAX_ANSWER_CHARS, _l("Write your answer."),
                     lambda text: Answer(question=question, author_id=user.id, body=text))


def _add_post(case: CaseStudy, unpublished: str, body: str, limit: int, empty: str, make):
    """What asking and answering share: refuse (``unpublished``) unless the case study is published, clean the
    text (1–``limit`` characters, ``empty`` when there is none), then add and flush ``make(text)``."""
    if not case.is_published:
        raise ValidationFailed([(None, unpublished)])
    text = _clean_body(body, limit, empty)
    post = make(text)
    db.session.add(post)
    db.session.flush()
    return post


def questions_of(case: CaseStudy) -> list[Question]:
    """The questions about ``case``, oldest first, with their askers and answers loaded."""
    return list(db.session.scalars(
        sa.select(Question)
        .where(Question.case_study_id == case.id)
        .options(selectinload(Question.asker), selectinload(Question.answers).selectinload(Answer.author))
        .order_by(Question.created_at, Question.id)
    ))


def unanswered_count(case: CaseStudy) -> int:
    """How many questions about ``case`` have no answer yet."""
    answered = sa.select(Answer.id).where(Answer.question_id == Question.id).exists()
    return db.session.scalar(
        sa.select(sa.func.count(Question.id)).where(Question.case_study_id == case.id, ~answered)
    ) or 0


def akims_of(akimat_id: int) -> list[User]:
    """The active verified akims of an akimat (who receive its questions)."""
    return list(db.session.scalars(
        sa.select(User).where(User.akimat_id == akimat_id, User.role == Role.AKIM, User.active.is_(True))
        .order_by(User.id)
    ))


def case_url(case: CaseStudy, anchor: str | None = None) -> str:
    """The absolute address of the case page (needs a request context)."""
    return url_for("case_studies.detail", slug=case.slug, _external=True, _anchor=anchor)


def notify_question_asked(question: Question) -> int:
    """E-mail every verified akim of the owning akimat (except the asker) about a new question.

    :return: the number of e-mails sent.
    """
    from app import mail

    case = question.case_study
    sent = 0
    for akim in akims_of(case.akimat_id):
        if akim.id == question.asker_id:
            continue
        mail.send_template(akim, "question_asked", _l("New question about your case study"),
                           question=question, case=case, url=case_url(case, f"question-{question.id}"))
        sent += 1
    return sent


def notify_question_answered(answer: Answer) -> int:
    """E-mail the asker that their question was answered (not when they answered it themselves).

    :return: the number of e-mails sent (0 or 1).
    """
    from app import mail

    question = answer.question
    asker = question.asker
    if asker is None or asker.id == answer.author_id or not asker.active:
        return 0
    case = question.case_study
    mail.send_template(asker, "question_answered", _l("Your question was answered"),
                       question=question, answer=answer, case=case, url=case_url(case, f"question-{question.id}"))
    return 1


# --- adoptions ------------------------------------------------------------------------------------------


def record_adoption(user: User, case: CaseStudy, year, status: str, note: str | None = "",
                    reason: str | None = None) -> Adoption:
    """Record (or update: one record per akimat and case study) that the user's akimat took the practice over.

    :param year: when the adopter started (a number or its text); from FIRST_YEAR to next year, not before
        the case study started.
    :param status: one of ADOPTION_STATUSES; "abandoned" needs a ``reason``.
    :raise ValidationFailed: every problem found, field by field.
    """
    if not can(user, "create_case"):  # a verified akim
        raise ValidationFailed([(None, _l("Only a verified akim can record an adoption for their akimat."))])
    if user.akimat_id == case.akimat_id:
        raise ValidationFailed([(None, _l("Your akimat wrote this case study: it cannot adopt its own practice."))])
    if not case.is_published:
        raise ValidationFailed([(None, _l("Only a published case study can be adopted."))])

    errors: list[tuple[str | None, object]] = []
    number = parse_year(year)
    last = last_allowed_year()
    first = max(FIRST_YEAR, case.started or FIRST_YEAR)
    if number is None or not first <= number <= last:
        errors.append(("year", _l("Enter a year from %(first)s to %(last)s.", first=first, last=last)))
    status = (status or "").strip()
    if status not in ADOPTION_STATUSES:
        errors.append(("status", _l("Choose a status from the list.")))
    note = (note or "").replace("\r\n", "\n").strip()
    if len(note) > MAX_NOTE_CHARS:
        errors.append(("note", _l("At most %(max)d characters.", max=MAX_NOTE_CHARS)))
    reason = (reason or "").replace("\r\n", "\n").strip()
    if status == "abandoned" and not reason:
        errors.append(("reason", _l("Say why your akimat abandoned the practice.")))
    elif len(reason) > MAX_REASON_CHARS:
        errors.append(("reason", _l("At most %(max)d characters.", max=MAX_REASON_CHARS)))
    if errors:
        raise ValidationFailed(errors)

    adoption = db.session.scalar(
        sa.select(Adoption).where(Adoption.case_study_id == case.id, Adoption.akimat_id == user.akimat_id)
    )
    created = adoption is None
    if created:
        adoption = Adoption(case_study=case, akimat_id=user.akimat_id)
        db.session.add(adoption)
    adoption.year = number
    adoption.status = status
    adoption.note = note
    adoption.reason = reason if status == "abandoned" else None
    adoption.recorded_by_id = user.id
    adoption.updated_at = utcnow()
    db.session.flush()
    audit.record(user, "adoption.recorded" if created else "adoption.updated", adoption,
                 {"case": case.slug, "status": status, "year": number})
    return adoption


def delete_adoption(user: User, adoption: Adoption) -> None:
    """Remove an adoption record.

    :raise ValidationFailed: the user is not a verified akim of the adopting akimat.
    """
    if not can(user, "delete_adoption", adoption):
        raise ValidationFailed([(None, _l("Only members of the adopting akimat can remove this record."))])
    audit.record(user, "adoption.deleted", adoption, {"case": adoption.case_study.slug, "status": adoption.status})
    db.session.delete(adoption)
    db.session.flush()


def adoptions_of(case: CaseStudy) -> list[Adoption]:
    """The adoption records of ``case``, by year, with the adopting akimats and their regions loaded."""
    return list(db.session.scalars(
        sa.select(Adoption)
        .where(Adoption.case_study_id == case.id)
        .options(selectinload(Adoption.akimat).selectinload(Akimat.region),
                 selectinload(Adoption.akimat).selectinload(Akimat.municipality))
        .order_by(Adoption.year, Adoption.id)
    ))


def adoption_summary(case: CaseStudy, *, include_abandoned: bool = False) -> list[Region]:
    """The distinct regions whose akimats took ``case`` over ("adopted in N regions"), sorted by name.

    :param include_abandoned: also count akimats that tried and abandoned it (by default they are listed
        on the page but not counted as adopters).
    """
    select = (
        sa.select(Region).join(Akimat, Akimat.region_id == Region.id)
        .join(Adoption, Adoption.akimat_id == Akimat.id)
        .where(Adoption.case_study_id == case.id)
        .distinct()
    )
    if not include_abandoned:
        select = select.where(Adoption.status != "abandoned")
    return sorted(db.session.scalars(select), key=lambda region: collation_key(region.name()))


def own_adoption(user, case: CaseStudy) -> Adoption | None:
    """The adoption record of the user's akimat for ``case``, if any."""
    if not user.is_authenticated or not user.akimat_id:
        return None
    return db.session.scalar(
        sa.select(Adoption).where(Adoption.case_study_id == case.id, Adoption.akimat_id == user.akimat_id)
    )


@dataclass
class TakenPractice:
    """One practice a region's akimat took over: what, from whom, when and how it went."""

    adoption: Adoption
    case: CaseStudy
    adopter: Akimat
    source: Akimat


def adoptions_by_region(region: Region) -> list[TakenPractice]:
    """What the akimats of ``region`` took over from other akimats (published case studies only), newest
    year first — for the region profile."""
    rows = db.session.scalars(
        sa.select(Adoption)
        .join(Akimat, Adoption.akimat_id == Akimat.id)
        .join(CaseStudy, Adoption.case_study_id == CaseStudy.id)
        .where(Akimat.region_id == region.id, CaseStudy.is_published)
        .options(
            selectinload(Adoption.akimat).selectinload(Akimat.municipality),
            selectinload(Adoption.case_study).selectinload(CaseStudy.akimat).selectinload(Akimat.region),
            selectinload(Adoption.case_study).selectinload(CaseStudy.akimat).selectinload(Akimat.municipality),
        )
        .order_by(Adoption.year.desc(), Adoption.id.desc())
    )
    return [TakenPractice(adoption=a, case=a.case_study, adopter=a.akimat, source=a.case_study.akimat) for a in rows]


# --- follows and the digest switch ----------------------------------------------------------------------


def normalise_follow(kind: str | None, key: str | None) -> tuple[str, str]:
    """Clean ``kind`` and ``key`` (region codes upper-case, others as given, stripped)."""
    kind = (kind or "").strip().lower()
    key = (key or "").strip()
    if kind == "region":
        key = key.upper()
    return kind, key


def validate_follow(kind: str, key: str):
    """Check that ``key`` names an existing region, a known topic or a published case study.

    :return: the Region, the topic label, or the CaseStudy.
    :raise ValidationFailed: unknown kind or key.
    """
    if kind not in FOLLOW_KINDS:
        raise ValidationFailed([("kind", _l("You can follow a region, a topic or a case study."))])
    if not key or len(key) > 120:
        raise ValidationFailed([("key", _l("Choose what to follow."))])
    if kind == "region":
        region = db.session.scalar(sa.select(Region).where(Region.iso_code == key))
        if region is None:
            raise ValidationFailed([("key", _l("Unknown region: %(key)s.", key=key))])
        return region
    if kind == "topic":
        if key not in TOPICS:
            raise ValidationFailed([("key", _l("Unknown topic: %(topic)s.", topic=key))])
        return TOPICS[key]
    case = get_by_slug(key)
    if case is None or not case.is_published:
        raise ValidationFailed([("key", _l("There is no published case study at this address."))])
    return case


def get_follow(user: User, kind: str, key: str) -> Follow | None:
    """The user's follow of (``kind``, ``key``), if any."""
    return db.session.scalar(
        sa.select(Follow).where(Follow.user_id == user.id, Follow.kind == kind, Follow.key == key)
    )


def follow(user: User, kind: str, key: str) -> tuple[Follow, bool]:
    """Follow a region (ISO code), a topic (slug) or a published case study (slug). Idempotent.

    :return: the follow and whether it is new.
    :raise ValidationFailed: unknown kind or key, or too many follows.
    """
    kind, key = normalise_follow(kind, key)
    validate_follow(kind, key)
    existing = get_follow(user, kind, key)
    if existing is not None:
        return existing, False
    total = db.session.scalar(sa.select(sa.func.count(Follow.id)).where(Follow.user_id == user.id)) or 0
    if total >= MAX_FOLLOWS:
        raise ValidationFailed([(None, _l("You follow %(n)d things already: unfollow some first.", n=total))])
    row = Follow(user_id=user.id, kind=kind, key=key)
    db.session.add(row)
    db.session.flush()
    return row, True


def unfollow(user: User, kind: str, key: str) -> bool:
    """Stop following (``kind``, ``key``); the key is not validated, so a withdrawn case can be unfollowed.

    :return: whether there was something to remove.
    """
    kind, key = normalise_follow(kind, key)
    existing = get_follow(user, kind, key)
    if existing is None:
        return False
    db.session.delete(existing)
    db.session.flush()
    return True


def follows_of(user: User) -> list[Follow]:
    """The user's follows: regions, then topics, then case studies, each in the order they were added."""
    order = sa.case({"region": 0, "topic": 1, "case": 2}, value=Follow.kind, else_=3)
    return list(db.session.scalars(
        sa.select(Follow).where(Follow.user_id == user.id).order_by(order, Follow.created_at, Follow.id)
    ))


def follow_keys(user) -> set[tuple[str, str]]:
    """(kind, key) of everything the user follows (empty for anonymous users)."""
    if not user.is_authenticated:
        return set()
    return {tuple(row) for row in db.session.execute(
        sa.select(Follow.kind, Follow.key).where(Follow.user_id == user.id)
    )}


def describe_follows(follows: list[Follow]) -> list[dict]:
    """Each follow with what it names, for display: ``{"follow", "label", "url"}``; ``url`` is None for a
    case study that is no longer published."""
    regions = {r.iso_code: r for r in db.session.scalars(
        sa.select(Region).where(Region.iso_code.in_([f.key for f in follows if f.kind == "region"]))
    )}
    cases = {c.slug: c for c in db.session.scalars(
        sa.select(CaseStudy).where(CaseStudy.slug.in_([f.key for f in follows if f.kind == "case"]))
    )}
    described = []
    for row in follows:
        label, url = row.key, None
        if row.kind == "region" and row.key in regions:
            label = regions[row.key].name()
            url = url_for("regions.profile", iso_code=row.key)
        elif row.kind == "topic" and row.key in TOPICS:
            label = str(TOPICS[row.key])
            url = url_for("case_studies.index", topic=row.key)
        elif row.kind == "case" and row.key in cases:
            label = cases[row.key].title
            if cases[row.key].is_published:
                url = url_for("case_studies.detail", slug=row.key)
        described.append({"follow": row, "label": label, "url": url})
    return described


def follow_label(kind: str, key: str) -> str:
    """What (``kind``, ``key``) names, in the UI language: a region's name, a topic's label, a case's title."""
    if kind == "region":
        region = db.session.scalar(sa.select(Region).where(Region.iso_code == key))
        return region.name() if region is not None else key
    if kind == "topic":
        return str(TOPICS.get(key, key))
    case = get_by_slug(key) if kind == "case" else None
    return case.title if case is not None else key


def set_digest(user: User, enabled: bool) -> None:
    """Switch the user's e-mail digest on or off."""
    user.digest_enabled = bool(enabled)
    db.session.flush()
