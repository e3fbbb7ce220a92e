"""Ranking and result counts through ``GET /api/v1/search``, on a real Whoosh index and both database backends:
field weights, exact forms above stems above folds, the status/adoption prior, an exact ``total`` while index
updates are pending, and highlights that mark words and nothing around them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from markupsafe import escape
from whoosh import index as whoosh_index

from app.case_studies import services
from app.case_studies.models import Adoption
from app.case_studies.models import CaseStudy
from app.extensions import db
from app.regions.services import find_akimat
from app.search.highlighting import Marker
from app.search.highlighting import query_phrases
from app.search.highlighting import query_terms
from app.search.parsing import parse_query
from app.search.ranking import MAX_PRIOR
from app.search.ranking import case_prior

# Neutral filler, the same length everywhere, so that field lengths do not decide the order.
FILLER = "Residents asked for it and the akimat agreed after a long debate."


def results(client, query: str, **params) -> list[dict]:
    response = client.get("/api/v1/search", query_string={"q": query, **params})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["results"]


def order(client, query: str, **params) -> list[str]:
    return [r["id"] for r in results(client, query, **params)]


def neutral(**overrides) -> dict:
    """Case fields with no shared rare words, the same status and no adoptions."""
    values = {"title": "A practice", "summary": FILLER, "problem": FILLER, "solution": FILLER,
              "challenges": FILLER, "results": FILLER, "lessons": FILLER, "status": "implemented"}
    values.update(overrides)
    return values


def test_title_outranks_summary_outranks_sections(client, make_case):
    body = make_case("published", **neutral(problem=FILLER + " Geothermal heat."))
    summary = make_case("published", **neutral(summary=FILLER + " Geothermal heat."))
    title = make_case("published", **neutral(title="A practice: geothermal heat"))
    assert order(client, "geothermal") == [title, summary, body]


def test_exact_form_ranks_above_other_inflection_above_other_script(client, make_case):
    fold = make_case("published", **neutral(title="Жаңа мектеп audandar", language="kk"))
    stem = make_case("published", **neutral(title="Жаңа мектеп аудандар", language="kk"))
    exact = make_case("published", **neutral(title="Жаңа мектеп аудандарда", language="kk"))
    assert order(client, "аудандарда") == [exact, stem, fold]
    # The same form in Latin letters is not the exact form either.
    latin = make_case("published", **neutral(title="Жаңа мектеп audandarda", language="kk"))
    assert order(client, "аудандарда")[0] == exact and latin in order(client, "аудандарда")

    latin = make_case("published", **neutral(title="Карта Onay", language="ru"))
    kazakh = make_case("published", **neutral(title="Карта Оңай", language="ru"))
    russian = make_case("published", **neutral(title="Карта Онай", language="ru"))
    assert order(client, "Онай")[0] == russian
    assert set(order(client, "Онай")) == {latin, kazakh, russian}
    assert order(client, "Onay")[0] == latin
    assert order(client, "Оңай")[0] == kazakh


def test_status_and_adoptions_give_a_mild_boost(app, client, make_case):
    implemented = make_case("published", **neutral(title="Snowplough tracking", status="implemented"))
    scaled = make_case("published", **neutral(title="Snowplough tracking", status="scaled"))
    pilot = make_case("published", **neutral(title="Snowplough tracking", status="pilot"))
    hits = {r["id"]: r["score"] for r in results(client, "snowplough")}
    assert list(hits) == [scaled, implemented, pilot]
    # Same text, so the scores differ by exactly the prior: 115 %, 110 %, 100 %.
    assert hits[scaled] / hits[pilot] == pytest.approx(case_prior("scaled", 0) / case_prior("pilot", 0), rel=1e-3)
    assert hits[implemented] / hits[pilot] == pytest.approx(1.10, rel=1e-3)

    # Two adoptions (a third, abandoned, does not count) lift the implemented practice above the scaled one.
    with app.app_context():
        case = db.session.query(CaseStudy).filter_by(slug=implemented).one()
        for iso, status in (("KZ-55", "adopted"), ("KZ-71", "piloting"), ("KZ-19", "abandoned")):
            db.session.add(Adoption(case_study=case, akimat=find_akimat(iso, None), year=2024, status=status,
                                    reason="Too costly" if status == "abandoned" else None))
        db.session.commit()
    hits = {r["id"]: r["score"] for r in results(client, "snowplough")}
    assert list(hits) == [implemented, scaled, pilot]
    assert hits[implemented] / hits[pilot] == pytest.approx(case_prior("implemented", 2) / 100, rel=1e-3)


def test_the_prior_never_lifts_a_body_match_over_a_title_match(client, make_case):
    idea = make_case("published", **neutral(title="Snowplough tracking", status="idea"))
    proven = make_case("published", **neutral(status="scaled", problem=FILLER + " Snowplough tracking."))
    assert MAX_PRIOR <= 130
    assert order(client, "snowplough") == [idea, proven]


def _index_dir(app) -> Path:
    root = Path(app.config["SEARCH_INDEX_DIR"])
    return root / "generations" / (root / "CURRENT").read_text().strip()


def test_total_and_pages_are_exact_while_a_withdrawal_waits_for_the_index(app, client, make_case):
    slugs = [make_case("published", **neutral(title=f"Bus lanes {n}")) for n in range(4)]
    writer = whoosh_index.open_dir(str(_index_dir(app))).writer()  # another writer holds the index lock
    try:
        with app.app_context():
            case = db.session.query(CaseStudy).filter_by(slug=slugs[2]).one()
            services.withdraw(None, case, "Outdated")
            db.session.commit()
        # The index still holds the withdrawn case (its outbox row is pending), wherever it would rank.
        body = client.get("/api/v1/search", query_string={"q": "lanes", "per_page": 1}).get_json()
        assert body["total"] == 3
        seen = []
        for page in (1, 2, 3):
            found = order(client, "lanes", per_page=1, page=page)
            assert len(found) == 1  # no page comes back short
            seen += found
        assert sorted(seen) == sorted(s for s in slugs if s != slugs[2])
        assert order(client, "lanes", per_page=1, page=4) == []
        facets = client.get("/api/v1/search", query_string={"q": "lanes"}).get_json()["facets"]
        assert facets["region"] == {"KZ-75": 3}
    finally:
        writer.cancel()
    assert client.get("/api/v1/search", query_string={"q": "lanes"}).get_json()["total"] == 3


@pytest.mark.parametrize("text, marked", [
    ("Карта Onay (Онай) в Алматы", ["Onay", "Онай"]),
    ("(Онай)", ["Онай"]),
    ("[Онай] и «Онай», „Онай“ и 'Онай'.", ["Онай"] * 4),
    ("(Onay-карта)", ["Onay"]),
    ("**Онай**", ["Онай"]),
    ("Онай.Онай", ["Онай", "Онай"]),
])
def test_highlights_mark_the_word_and_nothing_around_it(text, marked):
    clauses = parse_query("Онай")
    marker = Marker(query_terms(clauses), query_phrases(clauses))
    html = str(marker.mark(text))
    assert re.findall(r"<mark>(.*?)</mark>", html) == marked
    assert re.sub(r"</?mark>", "", html) == str(escape(text))


def test_a_multi_word_synonym_is_highlighted_only_as_a_whole(client, make_case):
    make_case("published", **neutral(title="Онай and the bus card", summary="A card for buses. Transport card."))
    (hit,) = results(client, "Онай")
    assert "<mark>Онай</mark>" in hit["highlights"]["title"]
    assert "<mark>bus</mark> <mark>card</mark>" in hit["highlights"]["title"]
    body = hit["highlights"]["body"]
    assert "A <mark>card</mark>" not in body and "<mark>buses</mark>" not in body
    # The whole query's synonyms are marked too: "bus card" is also "Онай".
    (hit,) = results(client, "bus card")
    assert hit["highlights"]["title"] == "<mark>Онай</mark> and the <mark>bus</mark> <mark>card</mark>"


def test_scores_from_the_per_segment_arrays_equal_whooshs_own_bm25f(client, make_case, monkeypatch):
    """The fast scorer (field lengths and priors loaded once per segment) gives Whoosh's BM25F × prior exactly."""
    from app.search import matching
    from app.search import ranking

    make_case("published", **neutral(title="Snowplough tracking", status="scaled"))
    make_case("published", **neutral(summary=FILLER + " Snowplough routes.", status="pilot"))
    make_case("published", **neutral(problem=FILLER + " A snowplough, and another snowplough, and a third."))
    fast = {r["id"]: r["score"] for r in results(client, "snowplough tracking routes", per_page=50)}
    assert len(fast) == 3
    matching._scored_cache.clear()
    monkeypatch.setattr(ranking, "_segment_arrays", lambda searcher, fieldname: None)  # Whoosh's per-posting reads
    slow = {r["id"]: r["score"] for r in results(client, "snowplough tracking routes", per_page=50)}
    assert fast.keys() == slow.keys()
    for slug, score in slow.items():
        assert fast[slug] == pytest.approx(score, rel=1e-9)


def test_a_filtered_or_newest_search_ranks_and_counts_as_the_unfiltered_one_does(client, make_case):
    """Filtered searches score only the documents the filters let through (``_score_docs``), unfiltered ones
    every match (``_score_all``): the same order and scores, restricted to the filter; sorting by date keeps
    the same match set."""
    from app.search import matching

    texts = ["Snowplough tracking", "Snowplough routes and snowplough depots", "Snowplough", "Street lighting"]
    for n, title in enumerate(texts * 2):
        make_case("published", **neutral(title=title, problem=FILLER + " snowplough" * (n % 3), status="pilot",
                                         region="KZ-75" if n % 2 else "KZ-71"))
    matching._scored_cache.clear()
    filtered = {r["id"]: r["score"] for r in results(client, "snowplough", region="KZ-75", per_page=50)}
    matching._scored_cache.clear()
    newest = [r["id"] for r in results(client, "snowplough", region="KZ-75", sort="newest", per_page=50)]
    matching._scored_cache.clear()
    everything = results(client, "snowplough", per_page=50)
    in_almaty = {r["id"]: r["score"] for r in everything if r["region"] == "KZ-75"}
    assert list(filtered) == list(in_almaty) and len(filtered) == 3
    for slug, score in in_almaty.items():
        assert filtered[slug] == pytest.approx(score, rel=1e-9)
    assert sorted(newest) == sorted(filtered)
