"""Related practices (more-like-this): on the case page and in ``GET /api/v1/cases/<id>``, from the real index,
re-checked against the database."""

from __future__ import annotations

import shutil

from whoosh import index as whoosh_index

from app.case_studies import services
from app.case_studies.models import CaseStudy
from app.extensions import db
from app.search.related import related
from tests.functional.test_search_ranking import _index_dir

BUS = {"summary": "Dedicated bus lanes on the main avenues, enforced by cameras.",
           "problem": "Buses were stuck in traffic jams; intervals were unpredictable.",
           "solution": "Painted bus lanes, cameras at junctions, fines for private cars in the lanes.",
           "topics": ["transport"], "status": "implemented"}


def test_related_cases_are_similar_published_and_never_the_case_itself(app, client, make_case):
    lanes = make_case("published", title="Bus lanes on the avenues", **BUS)
    similar = make_case("published", title="Bus priority lanes in the city centre",
                        **{**BUS, "summary": "Bus lanes and cameras made buses faster.", "status": "pilot"})
    kazakh = make_case("published", title="Автобус жолақтары", summary="Автобустарға арналған бөлек жолақтар.",
                       problem="Кептеліс.", solution="Камералар.", language="kk", topics=["transport"])
    other = make_case("published", title="Kindergarten e-queue", summary="Places in kindergartens by an online queue.",
                      problem="Bribes for places.", solution="An open electronic queue.", topics=["education"])
    withdrawn = make_case("withdrawn", title="Bus lanes, the first attempt", **BUS)
    draft = make_case("draft", title="Bus lanes draft", **BUS)

    with app.test_request_context():
        found = [c.slug for c in related(lanes)]
        assert found[0] == similar
        assert kazakh in found  # a shared topic bridges the languages
        assert lanes not in found and withdrawn not in found and draft not in found
        assert other not in found[:2]
        assert len(related(lanes, limit=1)) == 1
        assert related("no-such-case") == []

    body = client.get(f"/api/v1/cases/{lanes}").get_json()
    assert body["related"] == found[:5]

    page = client.get(f"/cases/{lanes}").get_data(as_text=True)
    assert "Related practices" in page and f'href="/cases/{similar}"' in page
    assert f'href="/cases/{withdrawn}"' not in page


def test_a_case_withdrawn_but_still_in_the_index_is_not_related(app, client, make_case):
    lanes = make_case("published", title="Bus lanes on the avenues", **BUS)
    gone = make_case("published", title="Bus priority lanes in the city centre", **BUS)
    assert gone in client.get(f"/api/v1/cases/{lanes}").get_json()["related"]
    writer = whoosh_index.open_dir(str(_index_dir(app))).writer()  # the withdrawal cannot reach the index yet
    try:
        with app.app_context():
            case = db.session.query(CaseStudy).filter_by(slug=gone).one()
            services.withdraw(None, case, "Outdated")
            db.session.commit()
        assert gone not in client.get(f"/api/v1/cases/{lanes}").get_json()["related"]
    finally:
        writer.cancel()


def test_without_an_index_the_case_page_and_the_api_still_work(app, client, make_case):
    lanes = make_case("published", title="Bus lanes on the avenues", **BUS)
    make_case("published", title="Bus priority lanes in the city centre", **BUS)
    shutil.rmtree(app.config["SEARCH_INDEX_DIR"])
    page = client.get(f"/cases/{lanes}")
    assert page.status_code == 200 and "Related practices" not in page.get_data(as_text=True)
    response = client.get(f"/api/v1/cases/{lanes}")
    assert response.status_code == 200 and response.get_json()["related"] == []


def test_a_newly_published_similar_case_shows_up_at_once(client, make_case):
    lanes = make_case("published", title="Bus lanes on the avenues", **BUS)
    make_case("published", title="Kindergarten e-queue", summary="Places in kindergartens by an online queue.",
              topics=["education"])
    before = client.get(f"/api/v1/cases/{lanes}").get_json()["related"]  # computed, and remembered
    newcomer = make_case("published", title="Bus priority lanes in the city centre", **BUS)
    assert newcomer not in before
    assert client.get(f"/api/v1/cases/{lanes}").get_json()["related"][0] == newcomer
