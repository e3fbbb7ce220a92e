"""Unit tests of the interchange format's line checks (app/case_studies/interchange.py).

``parse_line`` needs the reference data (regions, districts, akimats) and nothing else, so these tests
share one SQLite database per module; they never write. The import/export commands are tested against
both databases in tests/functional/test_interchange.py.
"""

from __future__ import annotations

import json
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from datetime import timezone
from pathlib import Path

import pytest

from app.case_studies import interchange
from app.case_studies import services
from app.case_studies.constants import FIRST_YEAR
from app.clock import iso_utc
from app.extensions import db
from tests.conftest import create_schema
from tests.conftest import make_app

SAMPLE = Path("/work/shared/data/case_studies_demo.jsonl")
NEXT_YEAR = services.last_allowed_year()


def good(**changes) -> dict:
    """A valid line as a dict (an Esil District case of Astana), with ``changes`` applied; a value of
    ``...`` removes the key."""
    line = {
        "id": "astana-e-akimat-test",
        "title": "  e-Akimat appointments  ",
        "summary": "Residents book meetings online.",
        "region": "KZ-71",
        "district": "Esil District",
        "level": "district",
        "author_name": "Yerlan Baimukhanov",
        "author_position": "Deputy akim",
        "topics": ["digital-services", "civic-participation"],
        "language": "en",
        "started": 2020,
        "ended": None,
        "status": "scaled",
        "problem": "Queues.",
        "solution": "Online booking.",
        "challenges": "Older residents.",
        "results": "Predictable reception.",
        "lessons": "Keep a phone line.",
        "budget_kzt": 40000000,
        "adoptions": [{"region": "KZ-79", "year": 2022, "note": "copied"}, {"region": "KZ-75", "year": 2021,
                                                                            "note": ""}],
    }
    for key, value in changes.items():
        if value is ...:
            line.pop(key, None)
        else:
            line[key] = value
    return line


@pytest.fixture(scope="module")
def reference_app(tmp_path_factory):
    """One SQLite database with the regions loaded, shared by the module (read only)."""
    folder = tmp_path_factory.mktemp("interchange")
    application = make_app(f"sqlite:///{folder / 'reference.sqlite3'}", folder)
    create_schema(application)
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def ctx(reference_app):
    with reference_app.app_context():
        yield
        db.session.rollback()


def parse(obj_or_text, line_no: int = 7):
    text = obj_or_text if isinstance(obj_or_text, str) else json.dumps(obj_or_text, ensure_ascii=False)
    return interchange.parse_line(line_no, text)


def test_a_valid_line_gives_the_canonical_record(ctx):
    record, errors = parse(good())
    assert errors == []
    assert list(record) == list(interchange.FIELDS)
    assert record["title"] == "e-Akimat appointments"  # stripped, as the services store it
    assert record["topics"] == ["civic-participation", "digital-services"]  # a set: sorted
    assert record["adoptions"] == [  # ordered by year, then region; an empty note is null
        {"region": "KZ-75", "year": 2021, "note": None},
        {"region": "KZ-79", "year": 2022, "note": "copied"},
    ]
    assert record["budget_kzt"] == 40000000 and isinstance(record["budget_kzt"], int)
    assert record["district"] == "Esil District" and record["ended"] is None


def test_every_line_of_the_shared_sample_is_valid(ctx):
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 40
    for number, text in enumerate(lines, start=1):
        record, errors = interchange.parse_line(number, text)
        assert errors == [], errors
        sample = json.loads(text)
        # The sample leaves out the optional evidence_level: null in the record (and no evidence_url of ours).
        assert record == {"evidence_level": None, **sample, "topics": sorted(sample["topics"])}


def test_city_level_without_district_is_accepted_other_level_rules_stay(ctx):
    # The sample's cities of oblast significance leave "district" null (Zhezkazgan, Konaev, ...).
    assert parse(good(region="KZ-62", district=None, level="city"))[1] == []
    assert parse(good(region="KZ-62", district="Zhezkazgan", level="city"))[1] == []
    errors = parse(good(region="KZ-71", district=None, level="district"))[1]
    assert errors == ["line 7: level: For the district level, choose the district."]
    errors = parse(good(region="KZ-71", district=None, level="oblast"))[1]
    assert errors and errors[0].startswith("line 7: level: The oblast level is for an oblast akimat")
    # A named municipality must still be a city for the city level.
    errors = parse(good(region="KZ-62", district="Ulytau District", level="city"))[1]
    assert errors == ["line 7: level: For the city level, choose a city, not a district."]


BAD_LINES = [
    (good(id="ab"), "id: must be 3 to 120 characters"),
    (good(id="Bad_ID"), "id: must be 3 to 120 characters"),
    (good(id="a" * 121), "id: must be 3 to 120 characters"),
    (good(id="abc\n"), "id: must be 3 to 120 characters"),
    (good(id=12345), "id: must be a string"),
    (good(id=None), "id: must be a string, not null"),
    (good(title="   "), "title: Give the case study a title."),
    (good(title="x" * 301), "title: At most 300 characters."),
    (good(title=["a"]), "title: must be a string, not"),
    (good(summary=None), "summary: Fill in “Summary” before publishing."),
    (good(summary=5), "summary: must be a string or null"),
    (good(region="KZ-99"), "region: unknown region 'KZ-99'"),
    (good(region="kz-71"), "region: unknown region 'kz-71'"),
    (good(region=71), "region: must be a string"),
    (good(district="Zerendi District"), "district: 'Zerendi District' is not a district or city of KZ-71"),
    (good(district=""), "district: must be null or the English name"),
    (good(district=["Esil District"]), "district: must be a string or null"),
    (good(level="national"), "level: must be one of oblast, city, district, rural, not 'national'"),
    (good(level=["city"]), "level: must be one of"),
    (good(topics="transport"), "topics: must be a list of topic slugs"),
    (good(topics=["transport", "space-travel"]), "topics: unknown topic 'space-travel'"),
    (good(topics=["transport", "transport"]), "topics: 'transport' is listed twice"),
    (good(topics=[1]), "topics: unknown topic 1"),
    (good(topics=[]), "topics: Choose at least one topic."),
    (good(topics=["transport", "housing", "education", "tourism", "healthcare", "budgeting"]),
     "topics: Choose at most 5 topics."),
    (good(language="de"), "language: must be one of"),
    (good(status="done"), "status: must be one of idea, pilot, implemented, scaled, discontinued"),
    (good(started="2015"), "started: must be a year (a whole number), not '2015'"),
    (good(started=2015.0), "started: must be a year (a whole number), not 2015.0"),
    (good(started=True), "started: must be a year (a whole number), not true"),
    (good(started=None), "started: must be a year (a whole number), not null"),
    (good(started=FIRST_YEAR - 1), f"started: Enter a year from {FIRST_YEAR} to {NEXT_YEAR}."),
    (good(started=NEXT_YEAR + 1), f"started: Enter a year from {FIRST_YEAR} to {NEXT_YEAR}."),
    (good(started=2020, ended=2019), "ended: The end year cannot be before the start year."),
    (good(ended="2021"), "ended: must be a year (a whole number) or null"),
    (good(problem=None), "problem: Fill in “Problem” before publishing."),
    (good(lessons=["x"]), "lessons: must be a string or null"),
    (good(challenges="x" * 20_001), "challenges: At most 20000 characters."),
    (good(author_name="x" * 201), "author_name: At most 200 characters."),
    (good(budget_kzt=-1), "budget_kzt: The budget must be zero or more (in tenge)."),
    (good(budget_kzt="1000"), "budget_kzt: must be a number (tenge) or null, not '1000'"),
    (good(budget_kzt=True), "budget_kzt: must be a number (tenge) or null, not true"),
    (good(budget_kzt=10**16), "budget_kzt: must be less than 1,000,000,000,000,000 tenge"),
    (good(adoptions=None), "adoptions: must be a list"),
    (good(adoptions=[{"region": "KZ-00", "year": 2020, "note": ""}]), "adoptions[0].region: unknown region 'KZ-00'"),
    (good(adoptions=[{"region": "KZ-75", "year": 2020, "note": ""}, {"region": "KZ-75", "year": 2021, "note": ""}]),
     "adoptions[1].region: KZ-75 is listed twice"),
    (good(adoptions=[{"region": "KZ-75", "year": "2020", "note": ""}]), "adoptions[0].year: must be a year from"),
    (good(adoptions=[{"region": "KZ-75", "year": 1900, "note": ""}]), "adoptions[0].year: must be a year from"),
    (good(adoptions=[{"region": "KZ-75", "year": 2020}]), "adoptions[0]: missing note"),
    (good(adoptions=[{"region": "KZ-75", "year": 2020, "note": "", "status": "adopted"}]),
     "adoptions[0]: unknown 'status'"),
    (good(adoptions=[{"region": "KZ-75", "year": 2020, "note": 3}]), "adoptions[0].note: must be a string or null"),
    (good(adoptions=["KZ-75"]), "adoptions[0]: must be an object"),
    (good(lessons=...), "missing field: lessons"),
    (good(lessons=..., problem=...), "missing fields: problem, lessons"),
    (good(rating=5), "unknown field: 'rating'"),
    (good(title="nul \x00 inside"), "title: must not contain NUL characters"),
    ('{"id": "x",', "not valid JSON"),
    ("[1, 2]", "a line must be one JSON object"),
    ('"just a string"', "a line must be one JSON object"),
    (json.dumps(good()).replace("40000000", "NaN"), "not valid JSON (NaN is not a number JSON allows)"),
    (json.dumps(good()).replace('"Queues."', '"\\ud800"'), "problem: is not valid Unicode text"),
    ("[" * 100_000, "not valid JSON"),
]


@pytest.mark.parametrize(("line", "reason"), BAD_LINES, ids=range(len(BAD_LINES)))
def test_bad_lines_are_reported_with_line_number_and_reason(ctx, line, reason):
    record, errors = parse(line, line_no=7)
    assert record is None
    assert any(error.startswith("line 7: ") and reason in error for error in errors), errors


def test_all_problems_of_a_line_are_reported_each_once(ctx):
    _record, errors = parse(good(region="KZ-99", topics=["nope"], started="x", budget_kzt=-5, rating=1))
    assert len(errors) == len(set(errors)) == 5, errors
    assert not any("Choose a region" in error or "Choose at least one topic" in error for error in errors)


def test_budget_is_kept_to_the_tiyn_and_whole_numbers_are_ints(ctx):
    assert parse(good(budget_kzt=1234.567))[0]["budget_kzt"] == 1234.57
    assert parse(json.dumps(good()).replace("40000000", "1e3"))[0]["budget_kzt"] == 1000
    assert isinstance(parse(good(budget_kzt=1500.0))[0]["budget_kzt"], int)
    assert parse(good(budget_kzt=0))[0]["budget_kzt"] == 0
    assert parse(good(budget_kzt=None))[0]["budget_kzt"] is None


def test_empty_optional_text_is_null_and_an_idea_needs_no_results(ctx):
    record, errors = parse(good(status="idea", results=None, author_position=""))
    assert errors == []
    assert record["results"] is None and record["author_position"] is None


def test_validate_file_reports_duplicates_blank_lines_and_bad_utf8(ctx, tmp_path):
    path = tmp_path / "cases.jsonl"
    first = json.dumps(good(), ensure_ascii=False).encode()
    other = json.dumps(good(id="another-case"), ensure_ascii=False).encode()
    path.write_bytes(b"\xef\xbb\xbf" + first + b"\r\n\n   \n" + other + b"\n" + first + b"\n\xff\xfe\n")
    records, report = interchange.validate_file(path)
    assert [number for number, _record in records] == [1, 4]
    assert report.errors == [
        "line 5: id: 'astana-e-akimat-test' is already used on line 1",
        "line 6: not valid UTF-8 text",
    ]
    assert report.invalid_lines == [5, 6] and report.imported is False and report.skipped == 0


def test_iso_utc():
    assert iso_utc(None) is None
    assert iso_utc(datetime(2024, 5, 1, 12, 30, 15, 999)) == "2024-05-01T12:30:15Z"  # naive (SQLite) is UTC
    almaty = timezone(timedelta(hours=5))
    assert iso_utc(datetime(2024, 5, 1, 17, 30, 15, tzinfo=almaty)) == "2024-05-01T12:30:15Z"
    assert iso_utc(datetime(2024, 5, 1, 12, 30, 15, tzinfo=UTC)) == "2024-05-01T12:30:15Z"
