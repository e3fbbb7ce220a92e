"""Unit tests for the demo content in app/case_studies/demo (no Flask app needed).

``case_studies.jsonl`` is the platform's own demo set in the interchange format (CONTRACTS.md §1);
``questions.json`` holds question threads on those case studies. These tests check the format field by
field against the reference data in app/regions/data, and the mix the demo set promises: languages,
statuses, levels, regions and topics, the required practices (Almaty's Onay card and public councils
among them), honest Markdown sections of a readable length, and questions that point at real cases.
"""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "app" / "case_studies" / "demo"
CASES_FILE = DEMO / "case_studies.jsonl"
QUESTIONS_FILE = DEMO / "questions.json"
REGIONS_CSV = ROOT / "app" / "regions" / "data" / "regions.csv"
DISTRICTS_CSV = ROOT / "app" / "regions" / "data" / "districts.csv"

FIELDS = [
    "id", "title", "summary", "region", "district", "level", "author_name", "author_position", "topics",
    "language", "started", "ended", "status", "problem", "solution", "challenges", "results", "lessons",
    "budget_kzt", "adoptions", "evidence_level", "evidence_url",
]
LONG_FIELDS = ("problem", "solution", "challenges", "results", "lessons")
TOPICS = {
    "transport", "digital-services", "civic-participation", "public-councils", "utilities", "housing",
    "healthcare", "education", "social-protection", "budgeting", "anti-corruption", "agriculture", "tourism",
    "environment", "public-safety", "land-management", "business-support", "culture-sport",
}
LANGUAGES = {"ru", "kk", "en"}
LEVELS = {"oblast", "city", "district", "rural"}
STATUSES = {"idea", "pilot", "implemented", "scaled", "discontinued"}
ID_PATTERN = re.compile(r"[a-z0-9-]{3,120}")
FIRST_YEAR, LAST_YEAR = 1991, 2026
MIN_WORDS, MAX_WORDS = 60, 200
ASKERS = {"reader@demo.example.kz", "akim.district@demo.example.kz", "organiser@demo.example.kz"}
EMAIL = re.compile(r"[a-z0-9._-]+@[a-z0-9-]+(\.[a-z0-9-]+)+")
KAZAKH_LETTERS = set("әғқңөұүһіӘҒҚҢӨҰҮҺІ")
CYRILLIC = re.compile(r"[а-яёА-ЯЁәғқңөұүһіӘҒҚҢӨҰҮҺІ]")
LATIN = re.compile(r"[a-zA-Z]")
OKRUG = re.compile(r"ауылдық округ|сельск\w* округ|rural okrug", re.IGNORECASE)
LINK = re.compile(r"\]\(([^)\s]+)\)")

# Practices the demo set must show (brief of the demo content), by id.
REQUIRED_IDS = {
    "almaty-onay-transit-card",  # Onay e-ticketing, Almaty 2015
    "almaty-public-councils",  # қоғамдық кеңес / общественный совет
    "karaganda-kindergarten-e-queue",
    "pavlodar-peoples-budget",  # «Народный бюджет»
    "zhalagash-rural-peoples-budget",  # «Халық бюджеті»
    "amangeldi-mobile-public-service-centre",  # ЦОН / ХҚКО outreach in villages
    "semey-district-heating-modernisation",
    "shymkent-bus-route-network-reform",
    "kokshetau-smart-street-lighting",
    "tolebi-rural-water-supply",
    "astana-snow-removal-gps-tracking",
    "ulytau-sacred-sites-tourism-route",
    "taiynsha-dairy-cooperatives",  # farmers' cooperative scheme
}


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


REGIONS = {row["iso_code"]: row for row in read_csv(REGIONS_CSV)}
DISTRICTS: dict[str, dict[str, str]] = {}
for _row in read_csv(DISTRICTS_CSV):
    DISTRICTS.setdefault(_row["region_iso"], {})[_row["name_en"]] = _row["kind"]


def load_lines() -> list[str]:
    raw = CASES_FILE.read_bytes()
    text = raw.decode("utf-8")  # fails the test run loudly if the file is not UTF-8
    assert not text.startswith("\ufeff"), "no byte-order mark"
    assert "\r" not in text, "\\n line endings only"
    assert text.endswith("\n"), "the last line ends with a newline"
    return text[:-1].split("\n")


LINES = load_lines()
CASES = [json.loads(line) for line in LINES]
BY_ID = {case["id"]: case for case in CASES}
QUESTIONS = json.loads(QUESTIONS_FILE.read_text(encoding="utf-8"))


def words(text: str) -> int:
    return len(re.findall(r"\w+", text))


def all_text(case: dict) -> str:
    parts = [case["title"], case["summary"], *(case[name] for name in LONG_FIELDS)]
    parts += [item["note"] for item in case["adoptions"]]
    return "\n".join(parts)


def is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# --- the file as a whole -----------------------------------------------------------------------------


def test_every_line_is_one_json_object():
    for number, line in enumerate(LINES, start=1):
        assert line.strip(), f"line {number} is blank"
        obj = json.loads(line)
        assert isinstance(obj, dict), f"line {number} is not a JSON object"


def test_at_least_32_case_studies():
    assert len(CASES) >= 32


def test_ids_are_unique():
    counts = Counter(case["id"] for case in CASES)
    assert [slug for slug, n in counts.items() if n > 1] == []


# --- one case study at a time --------------------------------------------------------------------------


@pytest.fixture(params=CASES, ids=[case["id"] for case in CASES])
def case(request) -> dict:
    return request.param


def test_every_field_present_in_contract_order(case):
    assert list(case) == FIELDS


def test_id_and_texts(case):
    assert isinstance(case["id"], str) and ID_PATTERN.fullmatch(case["id"])
    assert isinstance(case["title"], str) and 1 <= len(case["title"].strip()) <= 300
    for name in ("summary", "author_name", "author_position"):
        assert isinstance(case[name], str) and case[name].strip(), name
        assert case[name] == case[name].strip(), f"{name} has surrounding whitespace"
    sentences = len(re.findall(r"[.!?…](?:\s|$)", case["summary"]))
    assert 1 <= sentences <= 3, f"summary has {sentences} sentences"


def test_region_district_and_level(case):
    region = case["region"]
    assert region in REGIONS
    district = case["district"]
    assert district is None or (isinstance(district, str) and district in DISTRICTS[region]), district
    kind = DISTRICTS[region].get(district) if district else None
    level = case["level"]
    assert level in LEVELS
    if level == "oblast":
        assert REGIONS[region]["kind"] == "oblast" and district is None
    elif level == "city":
        assert kind == "city" or (district is None and REGIONS[region]["kind"] == "city")
    elif level == "district":
        assert kind == "district"
    else:  # rural okrug: region and district set, the okrug named in the text
        assert district is not None
        assert OKRUG.search(all_text(case)), "a rural case names its okrug"


def test_topics(case):
    topics = case["topics"]
    assert isinstance(topics, list) and 1 <= len(topics) <= 3
    assert len(set(topics)) == len(topics)
    assert set(topics) <= TOPICS


def test_language_status_and_years(case):
    assert case["language"] in LANGUAGES
    assert case["status"] in STATUSES
    started, ended = case["started"], case["ended"]
    assert is_int(started) and FIRST_YEAR <= started <= LAST_YEAR
    assert ended is None or (is_int(ended) and started <= ended <= LAST_YEAR)
    if case["status"] == "discontinued":
        assert ended is not None, "a discontinued practice has an end year"
    if case["status"] == "idea":
        assert ended is None


def test_long_fields_are_markdown_of_readable_length(case):
    for name in LONG_FIELDS:
        text = case[name]
        assert isinstance(text, str) and text == text.strip()
        assert MIN_WORDS <= words(text) <= MAX_WORDS, f"{name}: {words(text)} words"
        for url in LINK.findall(text):
            assert url.startswith("https://"), f"{name}: link {url} is not https"
        assert "http://" not in text


def test_text_is_in_its_language(case):
    text = all_text(case)
    cyrillic, latin = len(CYRILLIC.findall(text)), len(LATIN.findall(text))
    if case["language"] == "en":
        assert latin > 20 * max(cyrillic, 1)
    else:
        assert cyrillic > 10 * max(latin, 1)
    if case["language"] == "kk":
        assert sum(text.count(letter) for letter in KAZAKH_LETTERS) >= 50, "Kazakh text uses Kazakh letters"


def test_budget(case):
    budget = case["budget_kzt"]
    assert budget is None or (isinstance(budget, int | float) and not isinstance(budget, bool) and budget >= 0)


def test_adoptions(case):
    adoptions = case["adoptions"]
    assert isinstance(adoptions, list) and len(adoptions) <= 4
    seen = set()
    for item in adoptions:
        assert list(item) == ["region", "year", "note"]
        assert item["region"] in REGIONS and item["region"] != case["region"]
        assert item["region"] not in seen, "one adoption per region"
        seen.add(item["region"])
        assert is_int(item["year"]) and case["started"] <= item["year"] <= LAST_YEAR
        assert isinstance(item["note"], str) and item["note"].strip()


# --- the mix of the demo set ---------------------------------------------------------------------------


def test_language_mix():
    counts = Counter(case["language"] for case in CASES)
    assert 11 <= counts["ru"] <= 15, counts
    assert 8 <= counts["kk"] <= 12, counts
    assert 7 <= counts["en"] <= 11, counts


def test_every_status_at_least_three_times():
    counts = Counter(case["status"] for case in CASES)
    assert all(counts[status] >= 3 for status in STATUSES), counts


def test_every_level_several_times():
    counts = Counter(case["level"] for case in CASES)
    assert all(counts[level] >= 4 for level in LEVELS), counts


def test_regions_spread():
    assert len({case["region"] for case in CASES}) >= 14


def test_every_topic_used():
    used = {topic for case in CASES for topic in case["topics"]}
    assert used == TOPICS, TOPICS - used


def test_adoptions_on_about_twelve_cases():
    with_adoptions = [case for case in CASES if case["adoptions"]]
    assert 10 <= len(with_adoptions) <= 14
    assert all(1 <= len(case["adoptions"]) <= 4 for case in with_adoptions)


def test_some_markdown_structure():
    long_texts = [case[name] for case in CASES for name in LONG_FIELDS]
    assert sum(bool(re.search(r"^(- |\d+\. )", text, re.MULTILINE)) for text in long_texts) >= 50
    assert sum("**" in text for text in long_texts) >= 30
    assert sum(bool(re.search(r"^\|.*\|$", text, re.MULTILINE)) for text in long_texts) >= 5
    assert any(LINK.search(text) for text in long_texts)


def test_discontinued_cases_say_why():
    for case in CASES:
        if case["status"] == "discontinued":
            assert words(case["challenges"]) >= MIN_WORDS
            assert re.search(r"свернул|прекрат|жаптық|stopped|failed|тоқтат", all_text(case), re.IGNORECASE), case["id"]


def test_required_practices_present():
    assert set(BY_ID) >= REQUIRED_IDS, REQUIRED_IDS - set(BY_ID)


def test_onay_case():
    case = BY_ID["almaty-onay-transit-card"]
    assert (case["region"], case["level"], case["status"], case["started"]) == ("KZ-75", "city", "scaled", 2015)
    assert "transport" in case["topics"]
    text = all_text(case)
    assert "Onay" in text and "Онай" in text and "Оңай" in text
    for trouble in ("валидатор", "очеред", "бумажн", "жалоб", "персональных данных"):
        assert trouble in text.lower(), trouble


def test_public_councils_case():
    case = BY_ID["almaty-public-councils"]
    assert case["region"] == "KZ-75"
    assert {"civic-participation", "public-councils"} <= set(case["topics"])
    text = all_text(case)
    assert "Onay" in text and "Онай" in text and "Оңай" in text
    assert "қоғамдық кеңес" in text.lower() and "общественный совет" in text.lower()


# --- questions ---------------------------------------------------------------------------------------


def test_questions_file_shape():
    assert isinstance(QUESTIONS, list) and len(QUESTIONS) == 10
    for thread in QUESTIONS:
        assert list(thread) == ["case_id", "question", "asked_by", "answer", "language"]


@pytest.mark.parametrize("thread", QUESTIONS, ids=[f"q{n}" for n in range(1, len(QUESTIONS) + 1)])
def test_question_thread(thread):
    assert thread["case_id"] in BY_ID
    assert isinstance(thread["question"], str) and thread["question"].strip()
    assert thread["asked_by"] in ASKERS and EMAIL.fullmatch(thread["asked_by"])
    assert thread["answer"] is None or (isinstance(thread["answer"], str) and thread["answer"].strip())
    assert thread["language"] in LANGUAGES


def test_three_questions_unanswered_and_languages_mixed():
    assert sum(thread["answer"] is None for thread in QUESTIONS) == 3
    assert {thread["language"] for thread in QUESTIONS} == LANGUAGES
