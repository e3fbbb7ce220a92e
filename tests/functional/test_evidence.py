"""Evidence level of case studies (issue 16, Nesta's Standards of Evidence): the form and its checks, the rule that
levels 3 to 5 need an attached evaluation or a link to one (web, attachments, import), the badge in kk/ru/en, the
``evidence`` filter and facet of the case list, the search page and ``/api/v1/search``, the case API and the
interchange format. Both database backends."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from app.case_studies import interchange
from app.case_studies.models import Attachment
from app.case_studies.models import CaseStudy
from app.errors import ValidationFailed
from tests.functional.test_attachments import upload
from tests.functional.test_case_studies import form_data
from tests.helpers import field_error
from tests.helpers import flashes
from tests.helpers import page_text
from tests.helpers import translated
from tests.unit.test_attachments import pdf_bytes

ALMATY = ("KZ-75", None)
RULE = "Evidence levels 3 to 5 need proof: attach the evaluation to the case study or give a link to it."
BAD_LEVEL = "Choose an evidence level from 1 to 5, or leave it not assessed."
BAD_URL = "Give the address of the evaluation as a web link starting with http:// or https://."
EVALUATION = "https://stat.example.kz/evaluations/onay-2019.pdf"
MEANINGS = {
    1: "A plausible account of why it works",
    2: "Data showing change",
    3: "A comparison showing it caused the change",
    4: "An independent replication or evaluation",
    5: "Scaled, with repeated evaluations",
}


def case_row(db_session, slug: str) -> CaseStudy:
    db_session.expire_all()
    return db_session.scalar(sa.select(CaseStudy).where(CaseStudy.slug == slug))


def akim_client(app, make_user, login_as):
    return login_as(make_user("akim", akimat=ALMATY), app.test_client())


# --- the form and the rule ------------------------------------------------------------------------------


@pytest.mark.parametrize(("level", "message"), [("9", BAD_LEVEL), ("0x3", BAD_LEVEL), ("-1", BAD_LEVEL),
                                                ("３", BAD_LEVEL)])
def test_the_form_refuses_a_level_outside_1_to_5(app, make_user, login_as, db_session, level, message):
    client = akim_client(app, make_user, login_as)
    response = client.post("/cases/new", data=form_data(db_session, evidence_level=level))
    assert response.status_code == 400
    assert field_error(response, "evidence_level") == message
    assert db_session.scalar(sa.select(sa.func.count(CaseStudy.id))) == 0


@pytest.mark.parametrize("url", ["ftp://example.kz/report.pdf", "javascript:alert(1)", "example.kz/report",
                                 "https://", "https://exa mple.kz/x", "http://[::1"])
def test_the_form_refuses_a_link_that_is_not_http(app, make_user, login_as, db_session, url):
    client = akim_client(app, make_user, login_as)
    response = client.post("/cases/new", data=form_data(db_session, evidence_level="4", evidence_url=url))
    assert response.status_code == 400
    assert field_error(response, "evidence_url") == BAD_URL


def test_the_form_shows_each_level_with_its_meaning_in_three_languages(app, make_user, login_as):
    for language in ("kk", "ru", "en"):
        client = login_as(make_user("akim", akimat=ALMATY, language=language), app.test_client())
        page = client.get("/cases/new").get_data(as_text=True)
        assert f'<option value="">{translated(app, "Not assessed", language)}</option>' in page
        for level, meaning in MEANINGS.items():
            label = translated(app, "Level %(level)s – %(meaning)s", language, level=level,
                               meaning=translated(app, meaning, language))
            assert f'<option value="{level}">{label}</option>' in page
        assert translated(app, "Link to the evaluation", language) in page


def test_a_draft_may_claim_level_3_but_publishing_needs_the_evidence(app, make_user, login_as, db_session):
    client = akim_client(app, make_user, login_as)
    response = client.post("/cases/new", data=form_data(db_session, evidence_level="3"))
    assert response.status_code == 302  # a draft: the evaluation may still be uploaded
    slug = response.headers["Location"].rsplit("/", 1)[-1]
    assert case_row(db_session, slug).evidence_level == 3

    response = client.post(f"/cases/{slug}/publish", follow_redirects=True)
    assert RULE in flashes(response.get_data(as_text=True))
    assert case_row(db_session, slug).state == "draft"

    assert upload(client, slug, "evaluation.pdf", pdf_bytes()).status_code == 303
    client.post(f"/cases/{slug}/publish")
    assert case_row(db_session, slug).state == "published"


def test_a_published_case_gets_level_4_only_with_a_link_or_a_file(app, make_user, login_as, db_session, make_case):
    slug = make_case("published")
    client = akim_client(app, make_user, login_as)
    version = str(case_row(db_session, slug).version)
    response = client.post(f"/cases/{slug}/edit", data=form_data(db_session, evidence_level="4", version=version))
    assert response.status_code == 400
    assert field_error(response, "evidence_level") == RULE
    assert case_row(db_session, slug).evidence_level is None

    response = client.post(f"/cases/{slug}/edit", data=form_data(
        db_session, evidence_level="4", evidence_url=f"  {EVALUATION} ", version=version))
    assert response.status_code == 302
    case = case_row(db_session, slug)
    assert (case.evidence_level, case.evidence_url) == (4, EVALUATION)
    assert case.revisions[-1].number == 2  # a new revision records the level

    # Levels 1 and 2 need nothing; "not assessed" clears the level.
    for level, expected in (("2", 2), ("", None)):
        version = str(case_row(db_session, slug).version)
        response = client.post(f"/cases/{slug}/edit", data=form_data(
            db_session, evidence_level=level, evidence_url="", version=version))
        assert response.status_code == 302
        assert case_row(db_session, slug).evidence_level == expected


def test_an_attached_evaluation_is_evidence_and_cannot_be_deleted_while_it_is_the_only_one(
        app, make_user, login_as, db_session, make_case):
    slug = make_case("published")
    client = akim_client(app, make_user, login_as)
    assert upload(client, slug, "evaluation.pdf", pdf_bytes()).status_code == 303
    version = str(case_row(db_session, slug).version)
    response = client.post(f"/cases/{slug}/edit", data=form_data(db_session, evidence_level="5", version=version))
    assert response.status_code == 302 and case_row(db_session, slug).evidence_level == 5

    (attachment,) = db_session.scalars(sa.select(Attachment)).all()
    response = client.post(f"/cases/{slug}/attachments/{attachment.id}/delete", follow_redirects=True)
    assert response.status_code == 200
    assert ("This file is the only evidence for evidence level 5. Add a link to the evaluation, or lower the level, "
            "before deleting it.") in flashes(response.get_data(as_text=True))
    assert db_session.scalar(sa.select(sa.func.count(Attachment.id))) == 1

    version = str(case_row(db_session, slug).version)
    client.post(f"/cases/{slug}/edit", data=form_data(db_session, evidence_level="5", evidence_url=EVALUATION,
                                                       version=version))
    response = client.post(f"/cases/{slug}/attachments/{attachment.id}/delete")
    assert response.status_code == 303
    assert db_session.scalar(sa.select(sa.func.count(Attachment.id))) == 0


def test_the_services_apply_the_rule_whoever_calls_them(app):
    from app.case_studies import services
    from app.regions.services import find_akimat
    from tests.conftest import case_data

    with app.app_context():
        case = services.create_case(None, find_akimat(*ALMATY), case_data(evidence_level=3))
        with pytest.raises(ValidationFailed) as refused:
            services.publish(None, case)
        with force_locale("en"):
            assert [(name, str(message)) for name, message in refused.value.errors] == [("evidence_level", RULE)]
        with pytest.raises(ValidationFailed):
            services.create_case(None, find_akimat(*ALMATY), case_data(evidence_level=6))
        with pytest.raises(ValidationFailed):
            services.create_case(None, find_akimat(*ALMATY), case_data(evidence_level=True))


# --- the badge ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["kk", "ru", "en"])
def test_the_badge_says_the_level_and_its_meaning_in_each_language(app, client, make_case, language):
    slug = make_case("published", evidence_level=4, evidence_url=EVALUATION)
    plain = make_case("published", title="Paper tickets kept for pensioners")
    badge = translated(app, "Evidence level %(n)s", language, n=4)
    meaning = translated(app, MEANINGS[4], language)
    headers = {"Accept-Language": language}

    page = client.get(f"/cases/{slug}", headers=headers).get_data(as_text=True)
    assert f'<span class="evidence evidence-4">{badge}</span> <span class="evidence-meaning">{meaning}</span>' in page
    assert f'href="{EVALUATION}"' in page and translated(app, "The evaluation", language) in page
    not_assessed = client.get(f"/cases/{plain}", headers=headers)
    assert translated(app, "Not assessed", language) in page_text(not_assessed)
    assert 'class="evidence ' not in not_assessed.get_data(as_text=True)

    # Cards and search hits: the level as text, the meaning as a tooltip and for screen readers.
    card = f'<span class="evidence evidence-4" title="{meaning}">{badge}</span><span class="visually-hidden"> – '
    for url in ("/cases/", "/search?q=onay", "/"):
        html = client.get(url, headers=headers).get_data(as_text=True)
        assert html.count(card) == 1, url
        assert html.count('class="evidence ') == 1, url  # the case without a level has no badge


# --- filter and facets ----------------------------------------------------------------------------------


@pytest.fixture
def graded(make_case):
    """Four published case studies: levels 1, 3, 3 (one of them an oblast's) and not assessed."""
    return {
        "one": make_case("published", title="Bus lanes one", evidence_level=1),
        "three": make_case("published", title="Bus lanes three", evidence_level=3, evidence_url=EVALUATION),
        "oblast": make_case("published", ("KZ-55", None), title="Bus lanes oblast", region="KZ-55",
                            level="oblast", evidence_level=3, evidence_url=EVALUATION),
        "none": make_case("published", title="Bus lanes none"),
    }


def test_the_case_list_filters_by_level_and_counts_each_level(app, client, graded):
    def listed(**args):
        html = client.get("/cases/", query_string=args).get_data(as_text=True)
        return {name for name, slug in graded.items() if f'href="/cases/{slug}"' in html}, html

    assert listed(evidence="3")[0] == {"three", "oblast"}
    assert listed(evidence=["1", "3"])[0] == {"one", "three", "oblast"}
    assert listed(evidence=["7", "x"])[0] == set(graded)  # unknown values are dropped, as for the other filters
    found, html = listed(evidence="1", region="KZ-75")
    assert found == {"one"}
    # Counts: the other filters apply (region KZ-75 leaves one case at level 3), the level filter does not.
    label = translated(app, "Level %(level)s – %(meaning)s", "en", level=3, meaning=MEANINGS[3])
    assert f'<input type="checkbox" name="evidence" value="3"> <span>{label} <span class="count">(1)</span>' in html
    assert 'value="1" checked> <span>Level 1 – A plausible account of why it works <span class="count">(1)' in html
    assert 'value="4"> <span>Level 4 – An independent replication or evaluation <span class="count">(0)' in html


def test_search_api_filters_and_counts_evidence_levels(client, graded):
    def search(**params):
        response = client.get("/api/v1/search", query_string={"q": "bus", **params})
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_json()

    body = search()
    assert body["facets"]["evidence"] == {"3": 2, "1": 1}
    levels = {hit["id"]: hit["evidence_level"] for hit in body["results"]}
    assert levels == {graded["one"]: 1, graded["three"]: 3, graded["oblast"]: 3, graded["none"]: None}
    body = search(evidence="3")
    assert {hit["id"] for hit in body["results"]} == {graded["three"], graded["oblast"]}
    assert body["facets"]["evidence"] == {"3": 2, "1": 1}  # its own filter does not narrow its counts
    assert body["facets"]["level"] == {"city": 1, "oblast": 1}
    body = search(evidence=["1", "3"], level="city")
    assert {hit["id"] for hit in body["results"]} == {graded["one"], graded["three"]}
    assert body["facets"]["evidence"] == {"1": 1, "3": 1}
    assert [hit["id"] for hit in search(q="", evidence="1")["results"]] == [graded["one"]]


@pytest.mark.parametrize("value", ["0", "6", "3.0", "three", "-1", " 3"])
def test_a_bad_evidence_value_is_a_400_in_the_api_and_a_notice_on_the_page(client, graded, value):
    response = client.get("/api/v1/search", query_string={"q": "bus", "evidence": value})
    assert response.status_code == 400 and response.mimetype == "application/json"
    assert response.get_json()["error"]["message"].startswith("unknown evidence: ")
    page = client.get("/search", query_string={"q": "bus", "evidence": value})
    assert page.status_code == 200
    assert "Ignored an invalid value for “Evidence level”." in page_text(page)


def test_the_search_page_shows_the_evidence_facet(app, client, graded):
    html = client.get("/search", query_string={"q": "bus", "evidence": "3"}).get_data(as_text=True)
    label = translated(app, "Level %(level)s – %(meaning)s", "en", level=3, meaning=MEANINGS[3])
    assert f'name="evidence" value="3" checked> <span>{label} <span class="count">(2)</span>' in html
    assert html.count('class="card search-hit') == 2


def test_search_check_reports_an_index_built_without_the_evidence_field(app, runner, make_case, monkeypatch):
    from whoosh.fields import Schema

    from app.search import index

    real = index.case_schema

    def old_schema() -> Schema:
        schema = real()
        schema.remove("evidence")
        return schema

    monkeypatch.setattr(index, "case_schema", old_schema)
    assert runner.invoke(args=["search", "reindex"]).exit_code == 0  # an index built before the field existed
    slug = make_case("published", evidence_level=2)  # written to the old index without the field, no error
    make_case("published", title="Another bus card", evidence_level=1)
    monkeypatch.setattr(index, "case_schema", real)
    result = runner.invoke(args=["search", "check"])
    assert result.exit_code == 1
    assert "index built without the field(s) evidence: run `flask search reindex`" in result.output
    assert runner.invoke(args=["search", "reindex"]).exit_code == 0
    assert runner.invoke(args=["search", "check"]).exit_code == 0
    client = app.test_client()
    body = client.get("/api/v1/search", query_string={"q": "", "evidence": "2"}).get_json()
    assert [hit["id"] for hit in body["results"]] == [slug]


# --- API and interchange --------------------------------------------------------------------------------


def test_the_case_api_gives_the_level_and_the_link(client, make_case):
    slug = make_case("published", evidence_level=3, evidence_url=EVALUATION)
    body = client.get(f"/api/v1/cases/{slug}").get_json()
    assert (body["evidence_level"], body["evidence_url"]) == (3, EVALUATION)
    plain = make_case("published", title="No level")
    body = client.get(f"/api/v1/cases/{plain}").get_json()
    assert (body["evidence_level"], body["evidence_url"]) == (None, None)


def line(slug: str, **fields) -> dict:
    """A valid interchange line (an Almaty city case study)."""
    return {
        "id": slug, "title": f"Case {slug}", "summary": "One sentence.", "region": "KZ-75", "district": None,
        "level": "city", "author_name": "Dana Seitova", "author_position": "Deputy akim", "topics": ["transport"],
        "language": "en", "started": 2018, "ended": None, "status": "implemented", "problem": "P.",
        "solution": "S.", "challenges": "C.", "results": "R.", "lessons": "L.", "budget_kzt": None,
        "adoptions": [], **fields,
    }


def write(path: Path, lines: list[dict]) -> Path:
    path.write_text("".join(json.dumps(item, ensure_ascii=False) + "\n" for item in lines), encoding="utf-8")
    return path


def test_interchange_round_trip_keeps_levels_and_a_file_without_them_imports_as_null(app, runner, db_session,
                                                                                      tmp_path):
    source = write(tmp_path / "in.jsonl", [
        line("level-five", evidence_level=5, evidence_url=EVALUATION),
        line("level-two", evidence_level=2, evidence_url=None),
        line("no-level"),  # the optional fields left out
    ])
    result = runner.invoke(args=["cases", "import", str(source)])
    assert result.exit_code == 0, result.output
    rows = dict(db_session.execute(sa.select(CaseStudy.slug, CaseStudy.evidence_level)).all())
    assert rows == {"level-five": 5, "level-two": 2, "no-level": None}

    first = tmp_path / "first.jsonl"
    assert runner.invoke(args=["cases", "export", str(first)]).exit_code == 0
    exported = {item["id"]: item for item in map(json.loads, first.read_text(encoding="utf-8").splitlines())}
    # Every contract field, null where empty; our own evidence_url only where a case has one (a file of the
    # contract's fields exports with exactly those).
    assert list(exported["no-level"])[-1] == "evidence_level" and exported["no-level"]["evidence_level"] is None
    assert "evidence_url" not in exported["level-two"]
    assert (exported["level-five"]["evidence_level"], exported["level-five"]["evidence_url"]) == (5, EVALUATION)
    assert exported["level-two"]["evidence_level"] == 2

    # Into the same database again: nothing changes; an export of the export is the same bytes.
    result = runner.invoke(args=["cases", "import", str(first)])
    assert "Created: 0, updated: 0, unchanged: 3" in result.output, result.output
    second = tmp_path / "second.jsonl"
    assert runner.invoke(args=["cases", "export", str(second)]).exit_code == 0
    assert second.read_bytes() == first.read_bytes()

    # A changed level is an update.
    write(source, [line("level-two", evidence_level=1)])
    result = runner.invoke(args=["cases", "import", str(source)])
    assert "updated: 1" in result.output
    assert db_session.scalar(sa.select(CaseStudy.evidence_level).where(CaseStudy.slug == "level-two")) == 1


def test_interchange_reports_bad_levels_and_links_per_line_and_imports_nothing(app, runner, db_session, tmp_path):
    path = write(tmp_path / "bad.jsonl", [
        line("good-one", evidence_level=1),
        line("level-six", evidence_level=6),
        line("level-text", evidence_level="3"),
        line("level-bool", evidence_level=True),
        line("level-float", evidence_level=2.5),
        line("bad-link", evidence_level=4, evidence_url="javascript:alert(1)"),
        line("link-number", evidence_url=42),
        line("a-version", translation_of="level-six"),
    ])
    result = runner.invoke(args=["cases", "import", str(path)])
    assert result.exit_code == 1
    output = result.output
    assert "line 2: evidence_level: must be an evidence level from 1 to 5 or null, not 6" in output
    assert "line 3: evidence_level: must be an evidence level from 1 to 5 or null, not '3'" in output
    assert "line 4: evidence_level: must be an evidence level from 1 to 5 or null, not true" in output
    assert "line 5: evidence_level: must be an evidence level from 1 to 5 or null, not 2.5" in output
    assert f"line 6: evidence_url: {BAD_URL}" in output
    assert "line 7: evidence_url: must be a string or null, not 42" in output
    assert "line 8: translation_of: language versions are not supported yet" in output
    assert "line 1:" not in output
    assert db_session.scalar(sa.select(sa.func.count(CaseStudy.id))) == 0


def test_an_import_keeps_a_level_3_to_5_as_given_and_the_first_edit_in_the_app_asks_for_the_proof(
        app, runner, make_user, login_as, db_session, tmp_path):
    """CONTRACTS §1 takes any level 1-5 and carries no files: an import (another library's cases, an export of
    ours) keeps a level 4 without a link; the akim who edits it in the app is asked for the evaluation."""
    path = write(tmp_path / "one.jsonl", [line("from-elsewhere", evidence_level=4), line("null-version",
                                                                                       translation_of=None)])
    result = runner.invoke(args=["cases", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert case_row(db_session, "from-elsewhere").evidence_level == 4
    client = akim_client(app, make_user, login_as)
    page = client.get("/cases/from-elsewhere/edit").get_data(as_text=True)
    assert 'name="evidence_level"' in page

    def save():
        version = str(case_row(db_session, "from-elsewhere").version)
        return client.post("/cases/from-elsewhere/edit", data=form_data(
            db_session, title="Case from-elsewhere", evidence_level="4", version=version))

    response = save()
    assert response.status_code == 400 and field_error(response, "evidence_level") == RULE
    assert upload(client, "from-elsewhere", "evaluation.pdf", pdf_bytes()).status_code == 303
    assert save().status_code == 302


def test_the_demo_levels_follow_the_rule(app):
    from app.case_studies.commands import DEMO_CASES

    with app.app_context():
        records, report = interchange.validate_file(DEMO_CASES)
    assert report.errors == []
    levels = {record["id"]: (record["evidence_level"], record.get("evidence_url")) for _n, record in records}
    assert {level for level, _url in levels.values()} == {None, 1, 2, 3, 4, 5}
    assert all(url and url.startswith("https://") for level, url in levels.values() if level and level >= 3)
