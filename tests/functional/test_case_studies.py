"""Case studies through the web: write, preview, publish, edit with revisions, optimistic locking,
withdraw and restore, visibility per role, filters, and bad input."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from app.case_studies.models import CaseRevision
from app.case_studies.models import CaseStudy
from app.case_studies.services import revision_snapshots
from app.regions.models import Municipality
from app.regions.models import Region

ALMATY = ("KZ-75", None)
KOSTANAY = ("KZ-39", None)


def form_data(db_session, **overrides) -> dict:
    """A valid case-study form post (Almaty, city level)."""
    region_id = db_session.scalar(sa.select(Region.id).where(Region.iso_code == overrides.pop("region", "KZ-75")))
    data = {
        "title": "Public councils that actually meet",
        "summary": "We rebuilt the public council so residents choose half its members.",
        "region_id": str(region_id),
        "municipality_id": "0",
        "level": "city",
        "topics": ["civic-participation", "public-councils"],
        "language": "en",
        "started": "2016",
        "ended": "",
        "status": "implemented",
        "problem": "Council meetings were a formality.",
        "solution": "Open nominations and published minutes.",
        "challenges": "Attendance fell after the first year.",
        "results": "Two budget decisions were changed after council hearings.",
        "lessons": "Publish the minutes within a week.",
        "budget_kzt": "1 500 000",
        "author_name": "Dana Seitova",
        "author_position": "Deputy akim",
        "contact": "+7 727 000 00 00",
        "save": "Save",
    }
    data.update(overrides)
    return data


def case_row(db_session, slug: str) -> CaseStudy:
    db_session.expire_all()
    return db_session.scalar(sa.select(CaseStudy).where(CaseStudy.slug == slug))


def count(db_session) -> int:
    return db_session.scalar(sa.select(sa.func.count(CaseStudy.id)))


def test_akim_writes_a_draft_that_only_the_akimat_sees(app, client, make_user, login_as, db_session):
    akim = make_user("akim", akimat=ALMATY)
    login_as(akim)
    response = client.post("/cases/new", data=form_data(db_session))
    assert response.status_code == 302
    slug = response.headers["Location"].rsplit("/", 1)[-1]
    case = case_row(db_session, slug)
    assert case.state == "draft" and case.akimat.region.iso_code == "KZ-75" and case.budget_kzt == 1_500_000
    assert case.created_by_id == akim.id
    assert client.get(f"/cases/{slug}").status_code == 200
    colleague = app.test_client()
    login_as(make_user("akim", akimat=ALMATY), colleague)
    assert colleague.get(f"/cases/{slug}").status_code == 200  # the akimat owns it, not the person
    for outsider in (None, make_user("reader"), make_user("akim", akimat=KOSTANAY), make_user("organiser")):
        other = app.test_client()
        if outsider:
            login_as(outsider, other)
        assert other.get(f"/cases/{slug}").status_code == 404
        assert slug not in other.get("/cases/").get_data(as_text=True)


def test_preview_renders_markdown_and_saves_nothing(client, make_user, login_as, db_session):
    login_as(make_user("akim", akimat=ALMATY))
    data = form_data(db_session, problem="**Bold** claim <script>alert(1)</script>", preview="Preview")
    del data["save"]
    response = client.post("/cases/new", data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<strong>Bold</strong>" in page
    assert "<script>alert(1)</script>" not in page
    assert count(db_session) == 0
    # Shown above the form (the page reloads at its top), with the case's facts as chosen labels.
    assert page.index('id="preview"') < page.index('class="case-form"')
    facts = page.split('<dl class="facts">', 1)[1].split("</dl>", 1)[0]
    assert "<dt>Region</dt><dd>Almaty</dd>" in facts and "<dt>Topics</dt>" in facts


def test_publish_edit_history_and_diff(app, client, make_user, login_as, db_session, make_case):
    slug = make_case("draft")
    login_as(make_user("akim", akimat=ALMATY))
    assert client.post(f"/cases/{slug}/publish").status_code == 302
    case = case_row(db_session, slug)
    assert case.state == "published" and case.published_at is not None
    assert slug in app.test_client().get("/cases/").get_data(as_text=True)

    edit = client.get(f"/cases/{slug}/edit").get_data(as_text=True)
    assert f'name="version" type="hidden" value="{case.version}"' in edit
    data = form_data(db_session, title=case.title, version=str(case.version), results="Boarding time fell by half.")
    assert client.post(f"/cases/{slug}/edit", data=data).status_code == 302
    revisions = db_session.scalars(
        sa.select(CaseRevision).join(CaseStudy).where(CaseStudy.slug == slug).order_by(CaseRevision.number)
    ).all()
    assert [r.number for r in revisions] == [1, 2]
    snapshots = revision_snapshots(case_row(db_session, slug))
    assert snapshots[2]["results"] == "Boarding time fell by half." != snapshots[1]["results"]
    history = client.get(f"/cases/{slug}/history")
    assert history.status_code == 200
    diff = client.get(f"/cases/{slug}/diff?a=1&b=2").get_data(as_text=True)
    assert "Boarding time fell by half." in diff and "<ins>" in diff and "<del>" in diff


def test_saving_an_unchanged_form_adds_no_revision(client, make_user, login_as, db_session, make_case):
    slug = make_case("published")
    login_as(make_user("akim", akimat=ALMATY))
    case = case_row(db_session, slug)
    edit_page = client.get(f"/cases/{slug}/edit")
    assert edit_page.status_code == 200
    data = {
        "version": str(case.version), "title": case.title, "summary": case.summary, "region_id": str(case.region_id),
        "municipality_id": "0", "level": case.level, "topics": case.topics, "language": case.language,
        "started": str(case.started), "ended": "", "status": case.status, "problem": case.problem,
        "solution": case.solution, "challenges": case.challenges, "results": case.results, "lessons": case.lessons,
        "budget_kzt": "", "author_name": case.author_name, "author_position": case.author_position, "contact": "",
        "save": "Save",
    }
    assert client.post(f"/cases/{slug}/edit", data=data).status_code == 302
    assert len(case_row(db_session, slug).revisions) == 1


def test_concurrent_edit_is_refused_and_the_text_is_kept(app, client, make_user, login_as, db_session, make_case):
    slug = make_case("published")
    first, second = app.test_client(), app.test_client()
    login_as(make_user("akim", akimat=ALMATY), first)
    login_as(make_user("akim", akimat=ALMATY), second)
    version = str(case_row(db_session, slug).version)
    mine = form_data(db_session, title="Onay, first editor", version=version)
    theirs = form_data(db_session, title="Onay, second editor", version=version,
                       lessons="A long careful lesson the second editor must not lose.")
    assert first.post(f"/cases/{slug}/edit", data=mine).status_code == 302
    response = second.post(f"/cases/{slug}/edit", data=theirs)
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "Someone else saved this case study" in page
    assert "A long careful lesson the second editor must not lose." in page  # nothing lost
    assert "Fields that differ: Title, Lessons for peers</p>" in page  # only what really differs, by name
    assert case_row(db_session, slug).title == "Onay, first editor"
    # Having seen the warning, the second editor saves deliberately: the form now carries the new version.
    new_version = case_row(db_session, slug).version
    assert f'value="{new_version}"' in page
    theirs["version"] = str(new_version)
    assert second.post(f"/cases/{slug}/edit", data=theirs).status_code == 302
    assert case_row(db_session, slug).title == "Onay, second editor"


def test_edit_permissions(app, client, make_user, login_as, make_case):
    slug = make_case("published")
    assert client.get(f"/cases/{slug}/edit").headers["Location"].startswith("/login")
    for user, status in ((make_user("reader"), 403), (make_user("akim", akimat=KOSTANAY), 403),
                         (make_user("organiser"), 403), (make_user("admin"), 403),
                         (make_user("akim", akimat=ALMATY), 200)):
        other = app.test_client()
        login_as(user, other)
        assert other.get(f"/cases/{slug}/edit").status_code == status, user.role


def test_mass_assignment_changes_nothing(client, make_user, login_as, db_session):
    akim = make_user("akim", akimat=ALMATY)
    other_akimat = make_user("akim", akimat=KOSTANAY)
    login_as(akim)
    data = form_data(db_session, state="published", akimat_id="1", created_by_id=str(other_akimat.id),
                     author_id=str(other_akimat.id), slug="hijack", published_at="2020-01-01")
    response = client.post("/cases/new", data=data)
    slug = response.headers["Location"].rsplit("/", 1)[-1]
    case = case_row(db_session, slug)
    assert slug != "hijack"
    assert case.state == "draft" and case.published_at is None
    assert case.akimat.region.iso_code == "KZ-75" and case.akimat.municipality_id is None
    assert case.created_by_id == akim.id


def test_withdraw_needs_a_reason_and_hides_everywhere(app, client, make_user, login_as, db_session, make_case):
    slug = make_case("published")
    login_as(make_user("akim", akimat=ALMATY))
    client.post(f"/cases/{slug}/withdraw", data={"reason": "  "})
    assert case_row(db_session, slug).state == "published"
    assert client.post(f"/cases/{slug}/withdraw", data={"reason": "Superseded by the 2024 scheme"}).status_code == 302
    case = case_row(db_session, slug)
    assert case.state == "withdrawn" and case.withdrawn_reason == "Superseded by the 2024 scheme"
    anonymous = app.test_client()
    assert anonymous.get(f"/cases/{slug}").status_code == 404
    assert slug not in anonymous.get("/cases/").get_data(as_text=True)
    assert "Superseded by the 2024 scheme" in client.get(f"/cases/{slug}").get_data(as_text=True)
    assert client.post(f"/cases/{slug}/restore").status_code == 302
    assert case_row(db_session, slug).state == "published"
    assert anonymous.get(f"/cases/{slug}").status_code == 200


def test_admin_may_withdraw_any_case_with_a_reason(app, client, make_user, login_as, db_session, make_case):
    slug = make_case("published", akimat=KOSTANAY, region="KZ-39", level="oblast")
    login_as(make_user("admin"))
    assert client.post(f"/cases/{slug}/withdraw", data={"reason": "Personal data in the text"}).status_code == 302
    assert case_row(db_session, slug).state == "withdrawn"
    other = app.test_client()
    login_as(make_user("akim", akimat=ALMATY), other)
    assert other.post(f"/cases/{slug}/withdraw", data={"reason": "x"}).status_code == 404


def test_publish_requires_the_sections_and_names_each_missing_one(client, make_user, login_as, db_session,
                                                                   make_case):
    slug = make_case("draft", challenges="", lessons="", summary="")
    login_as(make_user("akim", akimat=ALMATY))
    page = client.post(f"/cases/{slug}/publish", follow_redirects=True).get_data(as_text=True)
    assert case_row(db_session, slug).state == "draft"
    for section in ("Summary", "What went wrong", "Lessons for peers"):
        assert f"Fill in “{section}” before publishing." in page
    assert "Fill in “Problem”" not in page


def test_every_problem_of_one_submission_is_shown_at_once_with_links_to_the_fields(client, make_user, login_as,
                                                                                   db_session):
    login_as(make_user("akim", akimat=ALMATY))
    before = db_session.scalar(sa.select(sa.func.count()).select_from(CaseStudy))
    response = client.post("/cases/new", data=form_data(db_session, title="x" * 301, budget_kzt="1e30",
                                                        topics=[], started="abc", ended="2018"))
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    summary = page.split('class="form-errors"', 1)[1].split("</div>", 1)[0]
    for field, message in (("title", "At most 300 characters."), ("budget_kzt", "The budget must be less than"),
                           ("topics", "Choose at least one topic."), ("started", "Enter a year as a number")):
        assert f'<a href="#{field}">' in summary and message in summary, field
    assert summary.count("<li>") == 4  # "abc" gets one message, not also "enter a year from 1991"
    assert 'value="' + "x" * 301 + '"' in page  # nothing typed is lost
    assert db_session.scalar(sa.select(sa.func.count()).select_from(CaseStudy)) == before


NEXT_YEAR = date.today().year + 1


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"started": "1990"}, "Enter a year from 1991"),
        ({"started": str(NEXT_YEAR + 1)}, "Enter a year from 1991"),
        ({"started": "abc"}, "Enter a year as a number"),
        ({"started": "2019", "ended": "2018"}, "The end year cannot be before the start year."),
        ({"budget_kzt": "-5"}, "The budget must be zero or more"),
        ({"budget_kzt": "a lot"}, "Enter the budget as a number of tenge."),
        ({"budget_kzt": "1e30"}, "The budget must be less than 1\u00a0000\u00a0000\u00a0000\u00a0000\u00a0000 tenge."),
        ({"topics": ["transport", "space-travel"]}, "Unknown topic"),
        ({"topics": []}, "Choose at least one topic."),
        ({"title": ""}, "Give the case study a title."),
        ({"title": "x" * 301}, "At most 300 characters."),
        ({"problem": "x" * 20_001}, "At most 20000 characters."),
        ({"level": "galactic"}, "Choose a level from the list."),
        ({"language": "de"}, "Choose Kazakh, Russian or English."),
        ({"status": "dreaming"}, "Choose a status from the list."),
        ({"region_id": "999999"}, "Choose a region from the list."),
        ({"level": "district"}, "For the district level, choose the district."),
    ],
)
def test_bad_input_is_refused_with_a_reason(client, make_user, login_as, db_session, overrides, message):
    login_as(make_user("akim", akimat=ALMATY))
    response = client.post("/cases/new", data=form_data(db_session, **overrides))
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert count(db_session) == 0


def test_district_of_another_region_is_refused(client, make_user, login_as, db_session):
    login_as(make_user("akim", akimat=ALMATY))
    kostanay_city = db_session.scalar(sa.select(Municipality.id).where(Municipality.name_en == "Rudny"))
    response = client.post("/cases/new", data=form_data(db_session, municipality_id=str(kostanay_city)))
    assert response.status_code == 400
    assert "This district or city is not in the chosen region." in response.get_data(as_text=True)
    assert count(db_session) == 0


def test_list_filters_are_in_the_url(app, client, make_case):
    almaty = make_case("published", title="Almaty bus lanes")
    kostanay = make_case("published", akimat=KOSTANAY, region="KZ-39", level="oblast", title="Kostanay grain",
                         topics=["agriculture"], status="pilot", language="ru")
    make_case("draft", title="Secret draft")
    page = client.get("/cases/").get_data(as_text=True)
    assert "Almaty bus lanes" in page and "Kostanay grain" in page and "Secret draft" not in page
    by_region = client.get("/cases/?region=KZ-39").get_data(as_text=True)
    assert "Kostanay grain" in by_region and "Almaty bus lanes" not in by_region
    by_topic = client.get("/cases/?topic=agriculture").get_data(as_text=True)
    assert "Kostanay grain" in by_topic and "Almaty bus lanes" not in by_topic
    both = client.get("/cases/?status=pilot&status=scaled").get_data(as_text=True)  # OR within a facet
    assert "Kostanay grain" in both and "Almaty bus lanes" in both
    assert "Almaty bus lanes" not in client.get("/cases/?language=ru").get_data(as_text=True)
    assert "Kostanay grain" not in client.get("/cases/?level=city").get_data(as_text=True)
    assert client.get("/cases/?region=%ff&topic=<script>&page=abc").status_code == 200
    assert almaty != kostanay


def test_browser_line_endings_do_not_count_as_a_change(client, make_user, login_as, db_session, make_case):
    slug = make_case("published", problem="Line one.\nLine two.")
    login_as(make_user("akim", akimat=ALMATY))
    case = case_row(db_session, slug)
    data = form_data(db_session, title=case.title, summary=case.summary, version=str(case.version),
                     topics=case.topics, status=case.status, started=str(case.started), budget_kzt="",
                     author_name=case.author_name, author_position=case.author_position, contact="",
                     problem="Line one.\r\nLine two.", solution=case.solution, challenges=case.challenges,
                     results=case.results, lessons=case.lessons)
    assert client.post(f"/cases/{slug}/edit", data=data).status_code == 302
    case = case_row(db_session, slug)
    assert case.problem == "Line one.\nLine two."
    assert len(case.revisions) == 1  # nothing really changed


def test_topic_order_in_the_form_does_not_count_as_a_change(client, make_user, login_as, db_session, make_case):
    slug = make_case("published", topics=["transport", "digital-services"])
    login_as(make_user("akim", akimat=ALMATY))
    case = case_row(db_session, slug)
    data = form_data(db_session, title=case.title, summary=case.summary, version=str(case.version),
                     topics=["transport", "digital-services"], status=case.status, started=str(case.started),
                     budget_kzt="", author_name=case.author_name, author_position=case.author_position, contact="",
                     problem=case.problem, solution=case.solution, challenges=case.challenges,
                     results=case.results, lessons=case.lessons)
    assert client.post(f"/cases/{slug}/edit", data=data).status_code == 302
    assert len(case_row(db_session, slug).revisions) == 1
