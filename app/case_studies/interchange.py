"""The case-study interchange format (CONTRACTS.md §1): JSON Lines, one case study per line.

``parse_line`` checks one line against the format and the domain rules of :mod:`services`;
``import_file`` validates a whole file before it writes anything, then creates or updates published
case studies (the ``id`` is the slug, so importing twice never duplicates); ``export_cases`` writes
every published case study in a canonical form, so export → import into an empty database → export
gives a byte-identical file. ``case_to_interchange`` is the one place that turns a case study into the
format (the JSON API uses it too).

No request is needed: everything works on ``db.session`` inside an app context. Functions add and flush,
never commit; the command that calls them commits once. Messages are plain English (command-line output).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from decimal import ROUND_HALF_EVEN
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from flask_babel import force_locale
from sqlalchemy.orm import selectinload

from app.case_studies import services
from app.case_studies.constants import CASE_LANGUAGES
from app.case_studies.constants import EVIDENCE_LEVELS
from app.case_studies.constants import FIRST_YEAR
from app.case_studies.constants import ID_PATTERN
from app.case_studies.constants import LEVELS
from app.case_studies.constants import SECTIONS
from app.case_studies.constants import STATUSES
from app.case_studies.constants import TOPICS
from app.case_studies.models import Adoption
from app.case_studies.models import CaseState
from app.case_studies.models import CaseStudy
from app.clock import utcnow
from app.errors import ValidationFailed
from app.extensions import db
from app.regions.models import Akimat
from app.regions.models import Municipality
from app.regions.models import Region
from app.regions.services import akimat_of

# Every key of a line, in the order CONTRACTS.md §1 lists them (the order export writes).
FIELDS = (
    "id", "title", "summary", "region", "district", "level", "author_name", "author_position", "topics",
    "language", "started", "ended", "status", "problem", "solution", "challenges", "results", "lessons",
    "budget_kzt", "adoptions", "evidence_level",
)
# Fields a line may leave out (added to the format later; a file without them imports them as null).
# `evidence_url` is ours, not CONTRACTS.md's: export writes it only when a case has one, so a file of the
# contract's fields alone exports with exactly those fields. `translation_of` (CONTRACTS §1) is read; language
# versions are not built yet, so only null is accepted.
OPTIONAL_FIELDS = ("evidence_level", "evidence_url", "translation_of")
KNOWN_FIELDS = (*FIELDS, "evidence_url", "translation_of")
ADOPTION_FIELDS = ("region", "year", "note")
# Text fields that may be empty: export writes null for them, import takes null or a string.
OPTIONAL_TEXT = ("summary", "author_name", "author_position", *SECTIONS)
# Text the services strip before storing (section texts are Markdown and are kept as written).
STRIPPED_TEXT = ("title", "summary", "author_name", "author_position")
CENT = Decimal("0.01")
# CaseData field → interchange field, for the messages of services.validate().
SERVICE_FIELDS = {"region_id": "region", "municipality_id": "district"}
NOT_EXPORTED_ADOPTIONS = ("abandoned",)  # an abandoned adoption is not a region that took the practice over


@dataclass
class ImportReport:
    """What an import did. ``errors`` are ``line N: reason`` strings, one per problem."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    kept_withdrawn: list[str] = field(default_factory=list)  # updated or not, they stay withdrawn
    errors: list[str] = field(default_factory=list)
    invalid_lines: list[int] = field(default_factory=list)
    imported: bool = False  # False: the file had errors and nothing was written

    @property
    def skipped(self) -> int:
        """Invalid lines left out (only when the valid ones were imported)."""
        return len(self.invalid_lines) if self.imported else 0

    def summary(self) -> str:
        return (f"Created: {len(self.created)}, updated: {len(self.updated)}, unchanged: {len(self.unchanged)}, "
                f"skipped (invalid): {self.skipped}.")


# --- reading one line --------------------------------------------------------------------------------


def _reject_constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows")


def _show(value, limit: int = 60) -> str:
    """A value quoted for a message, cut short."""
    text = str(value) if isinstance(value, str | Decimal) else json.dumps(value, ensure_ascii=False, default=str)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return repr(text) if isinstance(value, str) else text


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _text_problem(value) -> str | None:
    """Why a string cannot be stored as text, or None."""
    if "\x00" in value:
        return "must not contain NUL characters"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid Unicode text (lone surrogate)"
    return None


def find_region(iso_code: str) -> Region | None:
    return db.session.scalar(sa.select(Region).where(Region.iso_code == iso_code))


def find_municipality(region: Region, name_en: str) -> Municipality | None:
    return db.session.scalar(
        sa.select(Municipality).where(Municipality.region_id == region.id, Municipality.name_en == name_en)
    )


class _Checker:
    """Collects ``(field, message)`` problems of one line; a field with a problem is not checked again."""

    def __init__(self, obj: dict):
        self.obj = obj
        self.errors: list[tuple[str | None, str]] = []
        self.bad: set[str] = set()

    def fail(self, name: str | None, message: str) -> None:
        """Record a problem of field ``name`` (None: of the line as a whole)."""
        self.errors.append((name, message))
        if name:
            self.bad.add(name.split("[", 1)[0])

    def present(self, name: str) -> bool:
        return name in self.obj

    def text(self, name: str, *, optional: bool) -> str:
        """A string field ("" for null, missing or wrong)."""
        if not self.present(name):
            return ""
        value = self.obj[name]
        if value is None:
            if not optional:
                self.fail(name, "must be a string, not null")
            return ""
        if not isinstance(value, str):
            self.fail(name, f"must be a string{' or null' if optional else ''}, not {_show(value)}")
            return ""
        problem = _text_problem(value)
        if problem:
            self.fail(name, problem)
            return ""
        return value

    def choice(self, name: str, allowed) -> str:
        value = self.obj.get(name)
        if self.present(name) and not (isinstance(value, str) and value in allowed):
            self.fail(name, f"must be one of {', '.join(allowed)}, not {_show(value)}")
            return ""
        return value if self.present(name) else ""

    def year(self, name: str, *, optional: bool) -> int | None:
        if not self.present(name):
            return None
        value = self.obj[name]
        if value is None and optional:
            return None
        if not _is_int(value):
            self.fail(name, f"must be a year (a whole number){' or null' if optional else ''}, not {_show(value)}")
            return None
        return value


def parse_line(line_no: int, text: str) -> tuple[dict | None, list[str]]:
    """Check one line of an interchange file.

    :return: the case study in canonical form (the dict :func:`case_to_interchange` would give for it
        after an import) and no errors; or None and the problems, each as ``line N: reason``.
    """
    prefix = f"line {line_no}: "
    try:
        obj = json.loads(text, parse_float=Decimal, parse_constant=_reject_constant)
    except json.JSONDecodeError as error:
        return None, [f"{prefix}not valid JSON ({error.msg} at column {error.colno})"]
    except (ValueError, RecursionError) as error:
        return None, [f"{prefix}not valid JSON ({error})"]
    if not isinstance(obj, dict):
        return None, [f"{prefix}a line must be one JSON object ({{...}}), not {_show(obj)}"]
    record, problems = _check(obj)
    if not problems:
        return record, []
    return None, [f"{prefix}{name + ': ' if name else ''}{message}" for name, message in problems]


def _check(obj: dict) -> tuple[dict | None, list[tuple[str | None, str]]]:
    check = _Checker(obj)
    missing = [name for name in FIELDS if name not in obj and name not in OPTIONAL_FIELDS]
    if missing:
        check.fail(None, f"missing field{'s' if len(missing) > 1 else ''}: {', '.join(missing)}")
        check.bad.update(missing)
    extra = [name for name in obj if name not in KNOWN_FIELDS]
    if extra:
        check.fail(None, f"unknown field{'s' if len(extra) > 1 else ''}: {', '.join(_show(name) for name in extra)}")

    slug = check.text("id", optional=False)
    if check.present("id") and "id" not in check.bad and not ID_PATTERN.fullmatch(slug):
        check.fail("id", f"must be 3 to 120 characters from a-z, 0-9 and '-', not {_show(slug)}")
    texts = {name: check.text(name, optional=name in OPTIONAL_TEXT) for name in ("title", *OPTIONAL_TEXT)}

    region = municipality = None
    iso = check.text("region", optional=False)
    if check.present("region") and "region" not in check.bad:
        region = find_region(iso)
        if region is None:
            check.fail("region", f"unknown region {_show(iso)} (an ISO 3166-2 code such as KZ-75)")
    district = check.text("district", optional=True) or None
    if check.obj.get("district") == "":
        check.fail("district", "must be null or the English name of a district or city, not ''")
    elif district is not None and region is not None:
        municipality = find_municipality(region, district)
        if municipality is None:
            check.fail("district", f"{_show(district)} is not a district or city of {iso} (use its English name)")
    akimat = None
    if region is not None and "district" not in check.bad:
        akimat = akimat_of(region, municipality)
        if akimat is None:
            check.fail("region", "no akimat is registered for this place")

    level = check.choice("level", LEVELS)
    language = check.choice("language", CASE_LANGUAGES)
    status = check.choice("status", STATUSES)
    started = check.year("started", optional=False)
    ended = check.year("ended", optional=True)
    topics = _check_topics(check)
    budget = _check_budget(check)
    adoptions = _check_adoptions(check)
    evidence_level = _check_evidence_level(check)
    evidence_url = check.text("evidence_url", optional=True).strip() or None
    if obj.get("translation_of") is not None:
        check.fail("translation_of", "language versions are not supported yet: give null or leave the field out")

    data = services.CaseData(
        title=texts["title"], region_id=region.id if region else 0, level=level, language=language,
        started=started, status=status, summary=texts["summary"],
        municipality_id=municipality.id if municipality else None, ended=ended, problem=texts["problem"],
        solution=texts["solution"], challenges=texts["challenges"], results=texts["results"],
        lessons=texts["lessons"], budget_kzt=budget, author_name=texts["author_name"],
        author_position=texts["author_position"], topics=topics, evidence_level=evidence_level,
        evidence_url=evidence_url,
    )
    # The proof that evidence levels 3-5 need in the app is not asked of an import: the format carries no files,
    # and CONTRACTS §1 takes any level 1-5. The first edit of such a case in the app asks for it.
    try:
        services.validate(data, for_publication=True, attachments=None)
    except ValidationFailed as failure:
        with force_locale("en"):
            for name, message in failure.errors:
                name = SERVICE_FIELDS.get(name, name or "case study")
                if name not in check.bad:
                    check.fail(name, str(message))
    if check.errors:
        return None, check.errors

    record = {
        "id": slug,
        "region": iso,
        "district": district,
        "level": level,
        "topics": sorted(topics),
        "language": language,
        "started": started,
        "ended": ended,
        "status": status,
        "budget_kzt": services.budget_number(budget),
        "adoptions": adoptions,
        "evidence_level": evidence_level,
        "evidence_url": evidence_url,
    }
    for name, value in texts.items():
        value = value.strip() if name in STRIPPED_TEXT else value
        record[name] = value or (None if name in OPTIONAL_TEXT else value)
    ordered = {name: record[name] for name in FIELDS}
    if evidence_url:
        ordered["evidence_url"] = evidence_url
    return ordered, []


def _check_topics(check: _Checker) -> list[str]:
    if not check.present("topics"):
        return []
    value = check.obj["topics"]
    if not isinstance(value, list):
        check.fail("topics", f"must be a list of topic slugs, not {_show(value)}")
        return []
    topics: list[str] = []
    for item in value:
        if not isinstance(item, str) or item not in TOPICS:
            check.fail("topics", f"unknown topic {_show(item)}")
        elif item in topics:
            check.fail("topics", f"{_show(item)} is listed twice")
        else:
            topics.append(item)
    return topics


def _check_evidence_level(check: _Checker) -> int | None:
    value = check.obj.get("evidence_level")
    if value is None:
        return None
    if not _is_int(value) or value not in EVIDENCE_LEVELS:
        check.fail("evidence_level", f"must be an evidence level from 1 to 5 or null, not {_show(value)}")
        return None
    return value


def _check_budget(check: _Checker) -> Decimal | None:
    value = check.obj.get("budget_kzt")
    if value is None:
        return None
    if not (_is_int(value) or isinstance(value, Decimal)):
        check.fail("budget_kzt", f"must be a number (tenge) or null, not {_show(value)}")
        return None
    budget = Decimal(value)
    if budget >= services.MAX_BUDGET:
        check.fail("budget_kzt", f"must be less than {services.MAX_BUDGET:,.0f} tenge")
        return None
    if budget >= 0:
        budget = budget.quantize(CENT, rounding=ROUND_HALF_EVEN)  # the column keeps two decimals
    return budget


def _check_adoptions(check: _Checker) -> list[dict]:
    if not check.present("adoptions"):
        return []
    value = check.obj["adoptions"]
    if not isinstance(value, list):
        check.fail("adoptions", f"must be a list of {{region, year, note}} objects, not {_show(value)}")
        return []
    last = services.last_allowed_year()
    result, seen = [], set()
    for index, item in enumerate(value):
        where = f"adoptions[{index}]"
        if not isinstance(item, dict):
            check.fail(where, f"must be an object {{region, year, note}}, not {_show(item)}")
            continue
        missing = [name for name in ADOPTION_FIELDS if name not in item]
        extra = [name for name in item if name not in ADOPTION_FIELDS]
        if missing:
            check.fail(where, f"missing {', '.join(missing)}")
        if extra:
            check.fail(where, f"unknown {', '.join(_show(name) for name in extra)}")
        iso, year, note = item.get("region"), item.get("year"), item.get("note")
        region = find_region(iso) if isinstance(iso, str) else None
        if "region" in item and region is None:
            check.fail(f"{where}.region", f"unknown region {_show(iso)}")
        elif region is not None and akimat_of(region, None) is None:
            check.fail(f"{where}.region", "no akimat is registered for this region")
        elif region is not None and iso in seen:
            check.fail(f"{where}.region", f"{iso} is listed twice")
        if "year" in item and not (_is_int(year) and FIRST_YEAR <= year <= last):
            check.fail(f"{where}.year", f"must be a year from {FIRST_YEAR} to {last}, not {_show(year)}")
        if note is not None and not isinstance(note, str):
            check.fail(f"{where}.note", f"must be a string or null, not {_show(note)}")
        elif note is not None and _text_problem(note):
            check.fail(f"{where}.note", _text_problem(note))
        if region is not None:
            seen.add(iso)
        result.append({"region": iso, "year": year, "note": note or None})
    return sorted(result, key=_adoption_order) if "adoptions" not in check.bad else []


def _adoption_order(item: dict) -> tuple:
    return item["year"], item["region"]


# --- import ------------------------------------------------------------------------------------------


def read_lines(path: str | os.PathLike) -> Iterator[tuple[int, str | None]]:
    """``(line number, text)`` of the non-blank lines of ``path``; text None when not valid UTF-8."""
    raw = Path(path).read_bytes()
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    for number, line in enumerate(raw.split(b"\n"), start=1):
        if not line.strip():
            continue
        try:
            yield number, line.decode("utf-8").removesuffix("\r")
        except UnicodeDecodeError:
            yield number, None


def validate_file(path: str | os.PathLike) -> tuple[list[tuple[int, dict]], ImportReport]:
    """Read and check every line of ``path`` (ids used twice in the file included); write nothing.

    :return: the valid records with their line numbers, and a report carrying the errors.
    """
    report = ImportReport()
    records: list[tuple[int, dict]] = []
    first_line: dict[str, int] = {}
    for number, text in read_lines(path):
        if text is None:
            record, errors = None, [f"line {number}: not valid UTF-8 text"]
        else:
            record, errors = parse_line(number, text)
        if record is not None and record["id"] in first_line:
            record, errors = None, [f"line {number}: id: {record['id']!r} is already used on line "
                                    f"{first_line[record['id']]}"]
        if record is None:
            report.errors.extend(errors)
            report.invalid_lines.append(number)
            continue
        first_line[record["id"]] = number
        records.append((number, record))
    return records, report


def import_file(path: str | os.PathLike, skip_invalid: bool = False) -> ImportReport:
    """Import an interchange file: validate every line first; with any bad line change nothing, unless
    ``skip_invalid``, which imports the good lines. Same id = update (with a revision when the content
    changed), never a duplicate; an unchanged line changes nothing. Adds and flushes, never commits.
    """
    records, report = validate_file(path)
    if report.errors and not skip_invalid:
        return report
    for _number, record in records:
        outcome, case = apply_record(record)
        getattr(report, outcome).append(record["id"])
        if case.state == CaseState.WITHDRAWN:
            report.kept_withdrawn.append(record["id"])
    report.imported = True
    return report


def apply_record(record: dict) -> tuple[str, CaseStudy]:
    """Create or update the case study of one valid record.

    New case studies are created, owned by the akimat of the region (and district) of the line, and
    published. An existing case study keeps its owner; a draft is updated and published; a withdrawn one
    is updated but stays withdrawn (``flask cases publish ID`` restores it).

    :return: "created", "updated" or "unchanged", and the case study.
    """
    region = find_region(record["region"])
    municipality = find_municipality(region, record["district"]) if record["district"] else None
    case = services.get_by_slug(record["id"])
    if case is None:
        akimat = akimat_of(region, municipality)
        case = services.create_case(None, akimat, _case_data(record, region, municipality), slug=record["id"])
        _replace_adoptions(case, record["adoptions"])
        services.publish(None, case, imported=True)
        return "created", case
    if case_to_interchange(case) == record and case.state != "draft":
        return "unchanged", case
    # An existing case study keeps its owner: an import never takes it away from its akimat.
    services.update_case(None, case, _case_data(record, region, municipality, contact=case.contact), None)
    if _adoptions_out(case) != record["adoptions"]:
        _replace_adoptions(case, record["adoptions"])
        case.updated_at = utcnow()
    if case.state == CaseState.DRAFT:
        services.publish(None, case, imported=True)
    db.session.flush()
    return "updated", case


def _case_data(record: dict, region: Region, municipality: Municipality | None,
               contact: str | None = None) -> services.CaseData:
    budget = record["budget_kzt"]
    return services.CaseData(
        title=record["title"], region_id=region.id, municipality_id=municipality.id if municipality else None,
        level=record["level"], language=record["language"], started=record["started"], ended=record["ended"],
        status=record["status"], summary=record["summary"] or "", problem=record["problem"] or "",
        solution=record["solution"] or "", challenges=record["challenges"] or "", results=record["results"] or "",
        lessons=record["lessons"] or "", budget_kzt=None if budget is None else Decimal(str(budget)),
        author_name=record["author_name"] or "", author_position=record["author_position"] or "",
        contact=contact, topics=list(record["topics"]), evidence_level=record["evidence_level"],
        evidence_url=record.get("evidence_url"),
    )


def _replace_adoptions(case: CaseStudy, wanted: list[dict]) -> None:
    """Make the case study's adoptions the file's list: one per region, recorded for the region's own
    akimat as "adopted". Abandoned adoptions (which the format does not carry) are kept."""
    targets: dict[int, tuple[Akimat, dict]] = {}
    for item in wanted:
        akimat = akimat_of(find_region(item["region"]), None)
        targets[akimat.id] = (akimat, item)
    for adoption in list(case.adoptions):
        if adoption.akimat_id not in targets and adoption.status not in NOT_EXPORTED_ADOPTIONS:
            case.adoptions.remove(adoption)
    db.session.flush()
    current = {adoption.akimat_id: adoption for adoption in case.adoptions}
    for akimat_id, (akimat, item) in targets.items():
        note = item["note"] or ""
        adoption = current.get(akimat_id)
        if adoption is None:
            case.adoptions.append(Adoption(akimat=akimat, year=item["year"], status="adopted", note=note))
        elif (adoption.year, adoption.status, adoption.note) != (item["year"], "adopted", note):
            adoption.year, adoption.status, adoption.note, adoption.reason = item["year"], "adopted", note, None
            adoption.updated_at = utcnow()
    db.session.flush()


# --- export ------------------------------------------------------------------------------------------


def _adoptions_out(case: CaseStudy) -> list[dict]:
    """The regions that took the practice over: one entry per region (its earliest adoption), abandoned
    ones left out, ordered by year and region."""
    result, seen = [], set()
    rows = [a for a in case.adoptions if a.status not in NOT_EXPORTED_ADOPTIONS]
    for adoption in sorted(rows, key=lambda a: (a.year, a.akimat.region.iso_code, a.id)):
        iso = adoption.akimat.region.iso_code
        if iso not in seen:
            seen.add(iso)
            result.append({"region": iso, "year": adoption.year, "note": adoption.note or None})
    return result


def case_to_interchange(case: CaseStudy) -> dict:
    """The case study in the interchange format: every field, in the contract's order, null where empty."""
    record = {
        "id": case.slug,
        "title": case.title,
        "summary": case.summary or None,
        "region": case.region.iso_code,
        "district": case.municipality.name_en if case.municipality else None,
        "level": case.level,
        "author_name": case.author_name or None,
        "author_position": case.author_position or None,
        "topics": sorted(case.topics),
        "language": case.language,
        "started": case.started,
        "ended": case.ended,
        "status": case.status,
    }
    for name in SECTIONS:
        record[name] = getattr(case, name) or None
    record["budget_kzt"] = services.budget_number(case.budget_kzt)
    record["adoptions"] = _adoptions_out(case)
    record["evidence_level"] = case.evidence_level
    if case.evidence_url:
        record["evidence_url"] = case.evidence_url
    return record


def dumps_cases() -> str:
    """Every published case study as interchange lines, ordered by id (compared in Python, so the order
    is the same on every database whatever its collation)."""
    cases = db.session.scalars(
        sa.select(CaseStudy)
        .where(CaseStudy.is_published)
        .options(
            selectinload(CaseStudy.topic_rows), selectinload(CaseStudy.region),
            selectinload(CaseStudy.municipality),
            selectinload(CaseStudy.adoptions).selectinload(Adoption.akimat).selectinload(Akimat.region),
        )
    ).all()
    return "".join(
        json.dumps(case_to_interchange(case), ensure_ascii=False) + "\n" for case in sorted(cases, key=lambda c: c.slug)
    )


def export_cases(path: str | os.PathLike) -> int:
    """Write every published case study to ``path`` (UTF-8, ``\\n`` line ends; replaced atomically).

    :return: the number of case studies written.
    """
    text = dumps_cases()
    target = Path(path)
    partial = target.with_name(f".{target.name}.partial")
    partial.write_bytes(text.encode("utf-8"))
    os.replace(partial, target)
    return text.count("\n")
