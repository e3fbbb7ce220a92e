"""``GET /api/v1/cases/<id>`` (CONTRACTS.md §2): the public read side of one case study."""

from __future__ import annotations

import json
import re
from datetime import UTC
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from app.case_studies import interchange
from app.case_studies.constants import CASE_LANGUAGES
from app.case_studies.constants import LEVELS
from app.case_studies.constants import STATUSES
from app.case_studies.constants import TOPICS

SAMPLE = Path("/work/shared/data/case_studies_demo.jsonl")
EXTRA_KEYS = ("url", "published_at", "updated_at", "related")
ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|\+00:00)")


def sample_lines() -> list[dict]:
    return [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines()]


def assert_json_error(response, status: int, code: str) -> None:
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    assert body["error"]["code"] == code and isinstance(body["error"]["message"], str) and body["error"]["message"]


def assert_contract_types(body: dict) -> None:
    """Every field of CONTRACTS.md §1 and §2 with its type."""
    assert list(body) == [*interchange.FIELDS, "evidence_url", *EXTRA_KEYS]
    assert isinstance(body["id"], str) and interchange.ID_PATTERN.fullmatch(body["id"])
    assert isinstance(body["title"], str) and 1 <= len(body["title"]) <= 300
    assert re.fullmatch(r"KZ-\d\d", body["region"])
    assert body["district"] is None or isinstance(body["district"], str)
    assert body["level"] in LEVELS and body["language"] in CASE_LANGUAGES and body["status"] in STATUSES
    for name in ("summary", "author_name", "author_position", "problem", "solution", "challenges", "results",
                 "lessons"):
        assert body[name] is None or isinstance(body[name], str), name
    assert isinstance(body["topics"], list) and body["topics"] and all(t in TOPICS for t in body["topics"])
    assert type(body["started"]) is int and (body["ended"] is None or type(body["ended"]) is int)
    assert body["budget_kzt"] is None or type(body["budget_kzt"]) in (int, float)
    assert isinstance(body["adoptions"], list)
    for adoption in body["adoptions"]:
        assert list(adoption) == ["region", "year", "note"]
        assert re.fullmatch(r"KZ-\d\d", adoption["region"]) and type(adoption["year"]) is int
        assert adoption["note"] is None or isinstance(adoption["note"], str)
    assert body["url"] == f"/cases/{body['id']}"
    for name in ("published_at", "updated_at"):
        assert isinstance(body[name], str) and ISO_UTC.fullmatch(body[name]), body[name]
        assert datetime.fromisoformat(body[name].replace("Z", "+00:00")).utcoffset().total_seconds() == 0
    assert isinstance(body["related"], list) and len(body["related"]) <= 5 and body["id"] not in body["related"]
    assert all(isinstance(r, str) and interchange.ID_PATTERN.fullmatch(r) for r in body["related"])


def test_every_imported_case_study_in_the_contract_shape(app, runner, client):
    assert runner.invoke(args=["cases", "import", str(SAMPLE)]).exit_code == 0
    for line in sample_lines():
        response = client.get(f"/api/v1/cases/{line['id']}")
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("application/json")
        body = response.get_json()
        assert_contract_types(body)
        interchange_part = {key: body[key] for key in interchange.FIELDS}
        # The sample leaves out the optional evidence_level: null in the answer.
        assert interchange_part == {"evidence_level": None, **line,
                                    "topics": sorted(line["topics"])}
        assert body["published_at"] <= body["updated_at"]
        assert datetime.fromisoformat(body["published_at"].replace("Z", "+00:00")) <= datetime.now(UTC)
    # UTF-8 text, not \u escapes.
    raw = client.get("/api/v1/cases/almaty-dedicated-bus-lanes").get_data()
    assert "Выделенные полосы".encode() in raw and b"\\u04" not in raw


def test_a_web_case_study_with_district_and_fractional_budget(app, client, make_case):
    slug = make_case("published", region="KZ-61", district="Saryagash District", level="district",
                     akimat=("KZ-61", "Saryagash District"), budget_kzt=Decimal("1234.5"), ended=2020, started=2016)
    body = client.get(f"/api/v1/cases/{slug}").get_json()
    assert_contract_types(body)
    assert body["district"] == "Saryagash District" and body["region"] == "KZ-61"
    assert body["budget_kzt"] == 1234.5 and body["ended"] == 2020 and body["adoptions"] == []
    assert body["author_name"] == "Dana Seitova" and body["topics"] == ["digital-services", "transport"]
    whole = make_case("published", title="Whole budget", budget_kzt=Decimal("2000000.00"))
    assert type(client.get(f"/api/v1/cases/{whole}").get_json()["budget_kzt"]) is int


def test_drafts_and_withdrawn_case_studies_are_404_for_everyone(app, client, make_case, make_user, login_as):
    draft = make_case("draft", title="Secret draft")
    withdrawn = make_case("withdrawn", title="Withdrawn one")
    published = make_case("published", title="Public one")
    viewers = [None, make_user("akim", akimat=("KZ-75", None)), make_user("admin"), make_user("reader")]
    for viewer in viewers:
        viewer_client = app.test_client()
        if viewer is not None:
            login_as(viewer, viewer_client)
        for slug in (draft, withdrawn, "never-existed"):
            response = viewer_client.get(f"/api/v1/cases/{slug}")
            assert_json_error(response, 404, "not_found")
            assert b"Secret draft" not in response.data and b"Withdrawn one" not in response.data
        assert viewer_client.get(f"/api/v1/cases/{published}").status_code == 200
    # The same 404 as an unknown id: nothing tells a draft apart.
    assert client.get(f"/api/v1/cases/{draft}").data == client.get("/api/v1/cases/never-existed").data


ODD_IDS = [
    "ab", "ABC-UPPER", "a" * 121, "a" * 5000, "caf%C3%A9", "%D0%BA%D0%B5%D0%B9%D1%81", "..", "%2e%2e", "a%20b",
    "x%0Ay", "abc%0A", "abc.json", "%27%3B%20drop%20table%20case_study%3B%20--", "%25", "%F0%9F%98%80",
    "%ff%fe", "abc%2Fdef", "null", "-1",
]


@pytest.mark.parametrize("odd", ODD_IDS)
def test_odd_ids_are_a_json_404(app, client, odd):
    assert_json_error(client.get(f"/api/v1/cases/{odd}"), 404, "not_found")


@pytest.mark.parametrize("path", ["/api/v1/cases/abc%00def", "/api/v1/cases/", "/api/v1/cases/a/b",
                                  "/api/v1/cases"])
def test_other_bad_paths_are_json_4xx_never_500(app, client, path):
    response = client.get(path)
    assert 400 <= response.status_code < 500, response.status_code
    assert response.mimetype == "application/json" and "error" in response.get_json()


def test_only_get(app, client, make_case):
    slug = make_case("published")
    for method in (client.post, client.put, client.delete):
        response = method(f"/api/v1/cases/{slug}")
        assert_json_error(response, 405, "method_not_allowed")
    assert client.head(f"/api/v1/cases/{slug}").status_code == 200


def test_404_message_follows_the_language_code_does_not(app, client):
    english = client.get("/api/v1/cases/none-such", headers={"Accept-Language": "en"}).get_json()
    russian = client.get("/api/v1/cases/none-such", headers={"Accept-Language": "ru"}).get_json()
    assert english["error"]["code"] == russian["error"]["code"] == "not_found"
    assert english["error"]["message"] != russian["error"]["message"]
