"""Case-study operations: validate, create, update (with revisions and optimistic locking), publish,
withdraw, restore; the queries lists use. Functions add and flush, never commit."""

from __future__ import annotations

import dataclasses
import difflib
import re
import unicodedata
from dataclasses import dataclass
from dataclasses import field
from datetime import date
from decimal import Decimal
from decimal import InvalidOperation
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from app.audit import services as audit
from app.case_studies.constants import CASE_LANGUAGES
from app.case_studies.constants import EVIDENCE_LEVELS
from app.case_studies.constants import EVIDENCE_NEEDS_PROOF
from app.case_studies.constants import FIRST_YEAR
from app.case_studies.constants import LEVELS
from app.case_studies.constants import MAX_EVIDENCE_URL_CHARS
from app.case_studies.constants import MAX_SECTION_CHARS
from app.case_studies.constants import MAX_SUMMARY_CHARS
from app.case_studies.constants import MAX_TITLE_CHARS
from app.case_studies.constants import SECTIONS
from app.case_studies.constants import STATUSES
from app.case_studies.constants import TOPICS
from app.case_studies.models import CaseRevision
from app.case_studies.models import CaseState
from app.case_studies.models import CaseStudy
from app.case_studies.models import CaseTopic
from app.clock import utcnow
from app.errors import ValidationFailed
from app.extensions import db
from app.regions.models import Akimat
from app.regions.models import Municipality
from app.regions.models import Region
from app.translit import ASCII_NAMES

MAX_TOPICS = 5
MAX_BUDGET = Decimal("1e15")
# Fields a revision records and a diff compares, in page order.
SNAPSHOT_FIELDS = (
    "title", "summary", "region", "district", "level", "topics", "language", "started", "ended", "status",
    "problem", "solution", "challenges", "results", "lessons", "budget_kzt", "author_name", "author_position",
    "contact", "evidence_level", "evidence_url",
)


class EditConflict(Exception):
    """Someone saved the case study after the editor loaded it (optimistic lock)."""

    def __init__(self, case: CaseStudy, fields: list[str]):
        super().__init__(case.slug)
        self.case = case
        self.fields = fields


@dataclass
class CaseData:
    """The editable fields of a case study, as forms and the importer hand them over."""

    title: str
    region_id: int
    level: str
    language: str
    started: int
    status: str
    summary: str = ""
    municipality_id: int | None = None
    ended: int | None = None
    problem: str = ""
    solution: str = ""
    challenges: str = ""
    results: str = ""
    lessons: str = ""
    budget_kzt: Decimal | None = None
    author_name: str = ""
    author_position: str = ""
    contact: str | None = None
    topics: list[str] = field(default_factory=list)
    evidence_level: int | None = None  # 1-5 (constants.EVIDENCE_LEVELS); None: not assessed
    evidence_url: str | None = None


def last_allowed_year() -> int:
    """Years run up to next year (a planned start), no further."""
    return date.today().year + 1


def parse_budget(value) -> Decimal | None:
    """Turn a form or JSON value into a Decimal budget (None when empty).

    :raise ValidationFailed: not a number.
    """
    if value in (None, ""):
        return None
    try:
        budget = Decimal(str(value).replace(" ", "").replace("\u00a0", "").replace(",", "."))
    except InvalidOperation:
        raise ValidationFailed([("budget_kzt", _l("Enter the budget as a number of tenge."))]) from None
    if not budget.is_finite():
        raise ValidationFailed([("budget_kzt", _l("Enter the budget as a number of tenge."))])
    return budget


def evidence_url_problem(url: str | None):
    """Why ``url`` is no usable link to an evaluation (None: it is, or there is none)."""
    if not url:
        return None
    if len(url) > MAX_EVIDENCE_URL_CHARS:
        return _l("At most %(max)d characters.", max=MAX_EVIDENCE_URL_CHARS)
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unbalanced [ in the host
        parts = None
    if (parts is None or parts.scheme.lower() not in ("http", "https") or not parts.hostname
            or any(ch.isspace() or not ch.isprintable() for ch in url)):
        return _l("Give the address of the evaluation as a web link starting with http:// or https://.")
    return None


def evidence_problem(level: int | None, url: str | None, attachments: int):
    """Why a published case study cannot claim evidence ``level`` (None: it can).

    The rule: levels 3 to 5 (a comparison, an independent evaluation, repeated evaluations) rest on an evaluation
    that readers can check, so the case study has an attached file or a link to the evaluation (``url``).
    """
    if level is not None and level >= EVIDENCE_NEEDS_PROOF and not url and attachments <= 0:
        return _l("Evidence levels 3 to 5 need proof: attach the evaluation to the case study or give a link to "
                  "it.")
    return None


def validate(data: CaseData, *, for_publication: bool = False, attachments: int | None = 0
             ) -> tuple[Region, Municipality | None]:
    """Check every field and the cross-field rules; collect all problems before refusing.

    :param for_publication: also require the sections a published case study must have, and the evidence that
        an evidence level of 3 to 5 needs (:func:`evidence_problem`).
    :param attachments: how many files the case study has (the evidence rule counts them); None: the rule is not
        applied (an import: the interchange format carries no files).
    :return: the region and municipality the ids name.
    :raise ValidationFailed: with one ``(field, message)`` per problem.
    """
    errors: list[tuple[str | None, object]] = []
    # Browsers send textarea lines as CRLF; store LF so an unchanged text compares equal (no empty revision).
    for name in ("summary", *SECTIONS):
        value = getattr(data, name)
        if value:
            setattr(data, name, value.replace("\r\n", "\n").replace("\r", "\n"))
    data.title = (data.title or "").strip()
    if not data.title:
        errors.append(("title", _l("Give the case study a title.")))
    elif len(data.title) > MAX_TITLE_CHARS:
        errors.append(("title", _l("At most %(max)d characters.", max=MAX_TITLE_CHARS)))
    if len(data.summary or "") > MAX_SUMMARY_CHARS:
        errors.append(("summary", _l("At most %(max)d characters.", max=MAX_SUMMARY_CHARS)))
    for name in SECTIONS:
        if len(getattr(data, name) or "") > MAX_SECTION_CHARS:
            errors.append((name, _l("At most %(max)d characters.", max=MAX_SECTION_CHARS)))
    for name, limit in (("author_name", 200), ("author_position", 200), ("contact", 300)):
        if len(getattr(data, name) or "") > limit:
            errors.append((name, _l("At most %(max)d characters.", max=limit)))

    region = db.session.get(Region, data.region_id) if data.region_id else None
    municipality = db.session.get(Municipality, data.municipality_id) if data.municipality_id else None
    if region is None:
        errors.append(("region_id", _l("Choose a region from the list.")))
    if data.municipality_id and (municipality is None or (region and municipality.region_id != region.id)):
        errors.append(("municipality_id", _l("This district or city is not in the chosen region.")))
        municipality = None
    if data.level not in LEVELS:
        errors.append(("level", _l("Choose a level from the list.")))
    elif region is not None:
        problem = _level_problem(data.level, region, municipality, bool(data.municipality_id))
        if problem:
            errors.append(("level", problem))
    if data.language not in CASE_LANGUAGES:
        errors.append(("language", _l("Choose Kazakh, Russian or English.")))
    if data.status not in STATUSES:
        errors.append(("status", _l("Choose a status from the list.")))

    last = last_allowed_year()
    if not isinstance(data.started, int) or not FIRST_YEAR <= data.started <= last:
        errors.append(("started", _l("Enter a year from %(first)s to %(last)s.", first=FIRST_YEAR, last=last)))
    if data.ended is not None:
        if not isinstance(data.ended, int) or not FIRST_YEAR <= data.ended <= last:
            errors.append(("ended", _l("Enter a year from %(first)s to %(last)s.", first=FIRST_YEAR, last=last)))
        elif isinstance(data.started, int) and data.ended < data.started:
            errors.append(("ended", _l("The end year cannot be before the start year.")))
    if data.budget_kzt is not None and data.budget_kzt < 0:
        errors.append(("budget_kzt", _l("The budget must be zero or more (in tenge).")))
    elif data.budget_kzt is not None and data.budget_kzt >= MAX_BUDGET:
        errors.append(("budget_kzt", _l("The budget must be less than %(max)s tenge.",
                                        max=f"{MAX_BUDGET:,.0f}".replace(",", "\u00a0"))))

    data.evidence_url = (data.evidence_url or "").strip() or None
    if data.evidence_level is not None and (not isinstance(data.evidence_level, int)
                                            or isinstance(data.evidence_level, bool)
                                            or data.evidence_level not in EVIDENCE_LEVELS):
        errors.append(("evidence_level", _l("Choose an evidence level from 1 to 5, or leave it not assessed.")))
    url_problem = evidence_url_problem(data.evidence_url)
    if url_problem:
        errors.append(("evidence_url", url_problem))
    elif for_publication and attachments is not None and "evidence_level" not in {name for name, _m in errors}:
        problem = evidence_problem(data.evidence_level, data.evidence_url, attachments)
        if problem:
            errors.append(("evidence_level", problem))

    unknown = [topic for topic in data.topics if topic not in TOPICS]
    if unknown:
        errors.append(("topics", _l("Unknown topic: %(topic)s.", topic=", ".join(unknown))))
    elif not data.topics:
        errors.append(("topics", _l("Choose at least one topic.")))
    elif len(set(data.topics)) > MAX_TOPICS:
        errors.append(("topics", _l("Choose at most %(n)s topics.", n=MAX_TOPICS)))

    if for_publication:
        required = {"summary": _l("Summary"), **SECTIONS}
        if data.status == "idea":
            del required["results"]  # an idea has none yet
        for name, label in required.items():
            if not (getattr(data, name) or "").strip():
                errors.append((name, _l("Fill in “%(section)s” before publishing.", section=label)))
    if errors:
        raise ValidationFailed(errors)
    return region, municipality


def _level_problem(level: str, region: Region, municipality: Municipality | None, district_given: bool):
    """Return why ``level`` does not fit the place, or None."""
    if level == "oblast" and (region.kind != "oblast" or district_given):
        return _l("The oblast level is for an oblast akimat: choose an oblast and no district.")
    # A city-level case may leave the city unnamed (the interchange format allows district null for
    # cities of oblast significance); when one is named it must be a city, not a district.
    if level == "city" and municipality is not None and municipality.kind != "city":
        return _l("For the city level, choose a city, not a district.")
    if level == "district" and (municipality is None or municipality.kind != "district"):
        return _l("For the district level, choose the district.")
    if level == "rural" and municipality is None:
        return _l("For a rural okrug, choose the district it belongs to and name the okrug in the text.")
    return None


# --- slugs ------------------------------------------------------------------------------------------

_TRANSLIT = str.maketrans(ASCII_NAMES)


def slugify(text: str, max_length: int = 80) -> str:
    """A URL slug from a title in any of the three languages (Cyrillic transliterated)."""
    text = unicodedata.normalize("NFKC", text).lower().translate(_TRANSLIT)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", text).strip("-")[:max_length].strip("-")
    return slug if len(slug) >= 3 else f"case-{slug}".strip("-")


def unique_slug(title: str) -> str:
    """A slug for ``title`` that no case study uses yet."""
    base = slugify(title)
    slug, n = base, 2
    while db.session.scalar(sa.select(CaseStudy.id).where(CaseStudy.slug == slug)) is not None:
        slug, n = f"{base}-{n}", n + 1
    return slug


# --- lifecycle --------------------------------------------------------------------------------------


def _apply(case: CaseStudy, data: CaseData) -> None:
    """Copy the editable fields onto ``case``."""
    for name in ("title", "summary", "region_id", "municipality_id", "level", "language", "started", "ended",
                 "status", "problem", "solution", "challenges", "results", "lessons", "budget_kzt",
                 "author_name", "author_position", "contact", "evidence_level", "evidence_url"):
        value = getattr(data, name)
        if isinstance(value, str) and name not in SECTIONS:
            value = value.strip()
        setattr(case, name, value)
    wanted = list(dict.fromkeys(data.topics))
    current = {row.topic: row for row in case.topic_rows}
    case.topic_rows = [current.get(topic) or CaseTopic(topic=topic) for topic in wanted]


SLUG_ATTEMPTS = 12  # n saves of one title at the same instant need up to n attempts (one wins each round)


def create_case(user, akimat: Akimat, data: CaseData, *, slug: str | None = None) -> CaseStudy:
    """Create a draft owned by ``akimat``.

    :raise ValidationFailed: any field problem.
    """
    validate(data)
    for _attempt in range(SLUG_ATTEMPTS):
        case = CaseStudy(slug=slug or unique_slug(data.title), akimat=akimat, state="draft",
                         created_by_id=user.id if user else None, updated_by_id=user.id if user else None)
        _apply(case, data)
        if slug is not None:  # an imported case's own id: a clash is the caller's to report
            db.session.add(case)
            db.session.flush()
            return case
        try:
            # Two akims saving the same title at once both find the slug free; the second insert fails on the
            # unique constraint (on PostgreSQL once the first commits) and takes the next free one.
            with db.session.begin_nested():
                db.session.add(case)
                db.session.flush()
            return case
        except IntegrityError:
            continue
    raise ValidationFailed([(None, _l("Many case studies with this title were saved at the same moment. Please "
                                      "save again."))])


def snapshot(case: CaseStudy) -> dict:
    """The case study's content as plain values (what a revision stores and a diff compares)."""
    return {
        "title": case.title,
        "summary": case.summary,
        "region": case.region.iso_code,
        "district": case.municipality.name_en if case.municipality else None,
        "level": case.level,
        "topics": case.topics,
        "language": case.language,
        "started": case.started,
        "ended": case.ended,
        "status": case.status,
        "problem": case.problem,
        "solution": case.solution,
        "challenges": case.challenges,
        "results": case.results,
        "lessons": case.lessons,
        "budget_kzt": budget_number(case.budget_kzt),
        "author_name": case.author_name,
        "author_position": case.author_position,
        "contact": case.contact,
        "evidence_level": case.evidence_level,
        "evidence_url": case.evidence_url,
    }


def budget_number(value: Decimal | None) -> int | float | None:
    """A budget as a JSON number: an int when whole."""
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


def add_revision(case: CaseStudy, user, note: str | None = None) -> CaseRevision:
    """Record the case study's current content as its next revision.

    The new revision equals the current content, so it stores no changes; the one before it already stores
    its differences from the current content (:func:`_rebase_newest_revision`), which is now the new revision.
    """
    number = (db.session.scalar(
        sa.select(sa.func.max(CaseRevision.number)).where(CaseRevision.case_study_id == case.id)
    ) or 0) + 1
    revision = CaseRevision(case_study=case, number=number, author_id=user.id if user else None, note=note,
                            changes={})
    db.session.add(revision)
    db.session.flush()
    return revision


def revision_snapshots(case: CaseStudy) -> dict[int, dict]:
    """Every revision's full content (what :func:`snapshot` gave when it was saved), by revision number.

    Walks from the current content back to the first revision, laying each revision's ``changes`` over the
    state after it (see :class:`CaseRevision`).
    """
    state = snapshot(case)
    states = {}
    for revision in sorted(case.revisions, key=lambda r: r.number, reverse=True):
        state = {**state, **revision.changes}
        states[revision.number] = state
    return states


def _rebase_newest_revision(case: CaseStudy, before: dict, after: dict) -> None:
    """Keep the newest revision's ``changes`` relative to the content, which just went from ``before`` to
    ``after`` (any edit, published or not: a withdrawn case study changes without a new revision)."""
    newest = db.session.scalar(
        sa.select(CaseRevision).where(CaseRevision.case_study_id == case.id)
        .order_by(CaseRevision.number.desc()).limit(1)
    )
    if newest is None:
        return
    state = {**before, **newest.changes}
    newest.changes = {name: state.get(name) for name in SNAPSHOT_FIELDS if state.get(name) != after.get(name)}


def update_case(user, case: CaseStudy, data: CaseData, expected_version: int | None) -> CaseStudy:
    """Save an edit. A published case study keeps a revision of every save.

    :param expected_version: the version the editor loaded; None skips the check and the evidence proof
        (the importer: CONTRACTS §1 takes any level and carries no files).
    :raise EditConflict: someone else saved in between.
    :raise ValidationFailed: any field problem (published ones must stay complete).
    """
    if expected_version is not None and expected_version != case.version:
        current, submitted = snapshot(case), _data_snapshot(data)
        raise EditConflict(case, [name for name in SNAPSHOT_FIELDS if current.get(name) != submitted.get(name)])
    validate(data, for_publication=case.is_published,
             attachments=len(case.attachments) if expected_version is not None else None)
    before = snapshot(case)
    _apply(case, data)
    db.session.flush()
    db.session.refresh(case, ["region", "municipality"])
    after = snapshot(case)
    if after == before:
        return case  # nothing changed: no new version, no revision
    _rebase_newest_revision(case, before, after)
    case.updated_at = utcnow()
    case.updated_by_id = user.id if user else None
    db.session.flush()
    if case.is_published:
        add_revision(case, user)
    return case


def _data_snapshot(data: CaseData) -> dict:
    """What :func:`snapshot` would give if ``data`` were saved (to name the fields an edit conflict touches)."""
    region = db.session.get(Region, data.region_id) if data.region_id else None
    municipality = db.session.get(Municipality, data.municipality_id) if data.municipality_id else None
    values = {name: getattr(data, name, None) for name in SNAPSHOT_FIELDS if hasattr(data, name)}
    values.update(
        region=region.iso_code if region else None,
        district=municipality.name_en if municipality else None,
        topics=sorted(set(data.topics)),
        budget_kzt=budget_number(data.budget_kzt),
    )
    for name in ("summary", *SECTIONS):
        values[name] = (values.get(name) or "").replace("\r\n", "\n").replace("\r", "\n")
    return values


def publish(user, case: CaseStudy, *, imported: bool = False) -> None:
    """Publish a draft (or re-publish a withdrawn case study).

    :param imported: by ``flask cases import``: the evidence proof is not asked (CONTRACTS §1 takes any level
        1-5 and carries no files; the first edit in the app asks for it).
    :raise ValidationFailed: incomplete, or already published.
    """
    if case.is_published:
        raise ValidationFailed([(None, _l("This case study is already published."))])
    validate(data_from_case(case), for_publication=True, attachments=None if imported else len(case.attachments))
    was = case.state
    case.state = CaseState.PUBLISHED
    case.withdrawn_at = case.withdrawn_reason = None
    now = utcnow()
    case.published_at = case.published_at or now
    case.updated_at = now
    case.updated_by_id = user.id if user else None
    db.session.flush()
    add_revision(case, user, note="published" if was == CaseState.DRAFT else "restored")
    audit.record(user, "case.published" if was == CaseState.DRAFT else "case.restored", case, {"slug": case.slug})


def withdraw(user, case: CaseStudy, reason: str) -> None:
    """Take a published case study out of every list, feed, API answer and search result.

    :raise ValidationFailed: no reason, or not published.
    """
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed([("reason", _l("Say why the case study is withdrawn."))])
    if len(reason) > 2000:
        raise ValidationFailed([("reason", _l("At most %(max)d characters.", max=2000))])
    if not case.is_published:
        raise ValidationFailed([(None, _l("Only a published case study can be withdrawn."))])
    case.state = CaseState.WITHDRAWN
    case.withdrawn_at = utcnow()
    case.withdrawn_reason = reason
    db.session.flush()
    audit.record(user, "case.withdrawn", case, {"slug": case.slug}, reason)


def data_from_case(case: CaseStudy) -> CaseData:
    """The editable fields of ``case`` as :class:`CaseData` (to prefill a form or re-validate)."""
    return CaseData(
        title=case.title, summary=case.summary, region_id=case.region_id, municipality_id=case.municipality_id,
        level=case.level, language=case.language, started=case.started, ended=case.ended, status=case.status,
        problem=case.problem, solution=case.solution, challenges=case.challenges, results=case.results,
        lessons=case.lessons, budget_kzt=case.budget_kzt, author_name=case.author_name,
        author_position=case.author_position, contact=case.contact, topics=case.topics,
        evidence_level=case.evidence_level, evidence_url=case.evidence_url,
    )


# --- reading ----------------------------------------------------------------------------------------


def get_by_slug(slug: str) -> CaseStudy | None:
    """The case study with ``slug``, in any state."""
    return db.session.scalar(sa.select(CaseStudy).where(CaseStudy.slug == slug))


@dataclass
class ListFilters:
    """What a list page or feed filters on (all optional; several values in one facet mean OR)."""

    regions: list[str] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)
    levels: list[str] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    evidence_levels: list[int] = field(default_factory=list)
    akimat_id: int | None = None


def published_query(filters: ListFilters | None = None):
    """A select of published case studies matching ``filters``, newest publication first."""
    select = sa.select(CaseStudy).options(selectinload(CaseStudy.topic_rows), selectinload(CaseStudy.region),
                                          selectinload(CaseStudy.municipality))
    return _filtered(select, filters or ListFilters()).order_by(CaseStudy.published_at.desc(), CaseStudy.id.desc())


def _filtered(select, filters: ListFilters):
    """``select`` (of case studies) limited to the published ones ``filters`` allow."""
    select = select.where(CaseStudy.is_published)
    if filters.regions:
        select = select.join(Region, CaseStudy.region_id == Region.id).where(Region.iso_code.in_(filters.regions))
    if filters.topics:
        select = select.where(
            CaseStudy.id.in_(sa.select(CaseTopic.case_study_id).where(CaseTopic.topic.in_(filters.topics)))
        )
    if filters.levels:
        select = select.where(CaseStudy.level.in_(filters.levels))
    if filters.statuses:
        select = select.where(CaseStudy.status.in_(filters.statuses))
    if filters.languages:
        select = select.where(CaseStudy.language.in_(filters.languages))
    if filters.evidence_levels:
        select = select.where(CaseStudy.evidence_level.in_(filters.evidence_levels))
    if filters.akimat_id:
        select = select.where(CaseStudy.akimat_id == filters.akimat_id)
    return select


def evidence_counts(filters: ListFilters | None = None) -> dict[int, int]:
    """{evidence level: number of published case studies} among those ``filters`` allow, its evidence filter
    left out (a facet counts what choosing one more of its values would add; levels without any are absent)."""
    others = dataclasses.replace(filters or ListFilters(), evidence_levels=[])
    select = sa.select(CaseStudy.evidence_level, sa.func.count(CaseStudy.id)).where(
        CaseStudy.evidence_level.is_not(None))
    rows = db.session.execute(_filtered(select, others).group_by(CaseStudy.evidence_level)).all()
    return {int(level): int(n) for level, n in rows}


def counts_by_region() -> dict[str, int]:
    """Number of published case studies per region ISO code."""
    rows = db.session.execute(
        sa.select(Region.iso_code, sa.func.count(CaseStudy.id))
        .join(CaseStudy, CaseStudy.region_id == Region.id)
        .where(CaseStudy.is_published)
        .group_by(Region.iso_code)
    ).all()
    return dict(rows)


def diff_revisions(old: dict, new: dict) -> list[dict]:
    """Per-field differences between two snapshots: ``[{"field", "old", "new", "lines"}]`` for changed
    fields, ``lines`` being a list of ``(kind, text)`` with kind in ``" ", "-", "+"``."""
    changes = []
    for name in SNAPSHOT_FIELDS:
        before, after = old.get(name), new.get(name)
        if before == after:
            continue
        before_lines = _lines(before)
        after_lines = _lines(after)
        lines = []
        for line in difflib.ndiff(before_lines, after_lines):
            kind = line[:1]
            if kind in (" ", "-", "+"):
                lines.append((kind, line[2:]))
        changes.append({"field": name, "old": before, "new": after, "lines": lines})
    return changes


def _lines(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(item) for item in value]
    return str(value).splitlines() or [""]
