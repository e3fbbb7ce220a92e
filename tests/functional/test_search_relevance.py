"""Relevance of search over the 32 demo case studies (``app/case_studies/demo/case_studies.jsonl``): labelled queries,
nDCG@10 and recall@20 through the real search service (``GET /api/v1/search``) on a real Whoosh index.

The judgments were made by reading the demo texts (all sections), before looking at what the engine returns:
3 = the practice is about this, 2 = a substantial part of it is, 1 = it deals with it in passing but usefully.
Unlisted cases count as 0. Incidental mentions (a doctor "leaving for Shymkent") are not relevant; adoption notes
are not part of a case's text. If a target is missed, the engine (analysers, synonyms, ranking) is to be
improved, never the labels.

SQLite only, on purpose: ranking does not depend on the database backend (the other search tests run on both),
and building the demo index once per module keeps the suite fast.
"""

from __future__ import annotations

import shutil

import pytest

from app.case_studies import interchange
from app.case_studies.commands import DEMO_CASES
from app.extensions import db
from bench.relevance import ndcg_at
from bench.relevance import recall_at
from tests.conftest import make_app
from tests.helpers import exact_ids

ABAI = "abai-region-unused-farmland-return"
AKTOBE = "aktobe-rental-housing-large-families"
ALAKOL = "alakol-visitor-levy-proposal"
ONAY = "almaty-onay-transit-card"
COUNCILS = "almaty-public-councils"
AMANGELDI = "amangeldi-mobile-public-service-centre"
ARAL = "aral-solar-water-heaters-rural-schools"
ASTANA = "astana-snow-removal-gps-tracking"
ATYRAU = "atyrau-region-mobile-medical-units"
BEYNEU = "beyneu-rural-telemedicine"
EKIBASTUZ = "ekibastuz-heated-smart-bus-stops"
KARAGANDA = "karaganda-kindergarten-e-queue"
KARASAY = "karasay-volunteer-fire-brigade"
KATARKOL = "katarkol-village-guest-house-grants"
KERBULAK = "kerbulak-school-gyms-evening-access"
KOKSHETAU = "kokshetau-smart-street-lighting"
KOSTANAY = "kostanay-region-procurement-risk-dashboard"
MAKHAMBET = "makhambet-complaints-app"
MEDEU = "medeu-safe-routes-to-school"
ORAL = "oral-social-taxi-disability"
OSKEMEN = "oskemen-air-quality-sensor-network"
PAVLODAR = "pavlodar-peoples-budget"
SEMEY = "semey-district-heating-modernisation"
SHYMKENT_BUS = "shymkent-bus-route-network-reform"
ENBEKSHI = "shymkent-enbekshi-land-plot-map"
TAIYNSHA = "taiynsha-dairy-cooperatives"
TARAZ = "taraz-intersection-cameras-pilot"
TOLEBI = "tolebi-rural-water-supply"
TSELINOGRAD = "tselinograd-school-bus-dispatch"
TURKISTAN = "turkistan-region-rural-doctors-housing"
ULYTAU = "ulytau-sacred-sites-tourism-route"
ZHALAGASH = "zhalagash-rural-peoples-budget"

ONAY_CARD = {ONAY: 3, COUNCILS: 2}  # the council's Onay fare hearing is a large part of its story
SHYMKENT = {SHYMKENT_BUS: 3, ENBEKSHI: 3}
SERVICE_CENTRES = {AMANGELDI: 3, ORAL: 1, KARAGANDA: 1, ONAY: 1}  # trips to / applications at / cards via ЦОН
PUBLIC_COUNCIL = {COUNCILS: 3, SHYMKENT_BUS: 2, TARAZ: 1, ORAL: 1, ONAY: 1}
PEOPLES_BUDGET = {PAVLODAR: 3, ZHALAGASH: 3}

# (query, {case id: grade}), grouped by what they exercise.
JUDGMENTS: list[tuple[str, dict[str, int]]] = [
    # Cross-script: Latin ↔ Cyrillic, Kazakh letters, place names and their former names.
    ("Onay", ONAY_CARD),
    ("Онай", ONAY_CARD),
    ("Оңай", ONAY_CARD),
    ("ONAY card", {ONAY: 3, COUNCILS: 2}),
    ("Shymkent", SHYMKENT),
    ("Шымкент", SHYMKENT),
    ("Almaty", {ONAY: 3, COUNCILS: 3, MEDEU: 2, KARASAY: 1}),
    ("Astana", {ASTANA: 3, TSELINOGRAD: 1}),
    ("Нур-Султан", {ASTANA: 3, TSELINOGRAD: 1}),
    ("Uralsk", {ORAL: 3}),
    ("Өскемен", {OSKEMEN: 3}),
    ("Qostanai", {KOSTANAY: 3, AMANGELDI: 2}),
    ("Taraz", {TARAZ: 3}),
    ("akimat Onay", {ONAY: 3, COUNCILS: 3}),
    ("әкімдік Onay", {COUNCILS: 3, ONAY: 3}),
    # Synonyms: public service centres, bus card, public council, people's budget, kindergartens, e-queue.
    ("ЦОН", SERVICE_CENTRES),
    ("ХҚКО", SERVICE_CENTRES),
    ("PSC", SERVICE_CENTRES),
    ("one-stop shop", SERVICE_CENTRES),
    ("public service centre", SERVICE_CENTRES),
    ("bus card", {ONAY: 3, COUNCILS: 1}),
    ("транспортная карта", {ONAY: 3, COUNCILS: 1}),
    ("public council", PUBLIC_COUNCIL),
    ("общественный совет", PUBLIC_COUNCIL),
    ("қоғамдық кеңес", PUBLIC_COUNCIL),
    ("народный бюджет", PEOPLES_BUDGET),
    ("participatory budget", PEOPLES_BUDGET),
    ("kindergarten", {KARAGANDA: 3, AKTOBE: 1}),
    ("e-queue", {KARAGANDA: 3, ENBEKSHI: 1}),
    # Kazakh morphology (plural, possessive, case endings) and Russian/English inflection.
    ("Шымкентте", SHYMKENT),
    ("Алматыда", {ONAY: 3, COUNCILS: 3, MEDEU: 2, KARASAY: 1}),
    ("әкімдіктер ұсынымдары", {COUNCILS: 3}),
    ("мобильді ХҚКО аудандарда", {AMANGELDI: 3}),
    ("Амангелді ауданында", {AMANGELDI: 3}),
    ("округтерде", {TOLEBI: 3, ZHALAGASH: 3, BEYNEU: 3, KARASAY: 3, KATARKOL: 3, ORAL: 1}),
    ("қоғамдық кеңестің отырыстары", {COUNCILS: 3, SHYMKENT_BUS: 1}),
    ("жайылымдар", {ABAI: 3}),
    ("кесенелерге", {ULYTAU: 3}),
    ("көпбалалы отбасыларға", {AKTOBE: 3, KARAGANDA: 1}),
    ("ішек инфекциясы", {TOLEBI: 3}),
    ("теплые остановки", {EKIBASTUZ: 3}),  # ё written as е
    ("валидаторов", {ONAY: 3}),
    ("маршрутная сеть автобусов", {SHYMKENT_BUS: 3, ONAY: 1, TSELINOGRAD: 1}),
    ("школьных автобусов", {TSELINOGRAD: 3}),
    ("телемедицина", {BEYNEU: 3}),
    # Subjects, in the language of their texts.
    ("GPS", {ASTANA: 3, TSELINOGRAD: 2, EKIBASTUZ: 1}),
    ("социальное такси", {ORAL: 3}),
    ("инвалидностью", {ORAL: 3, KARAGANDA: 1, AMANGELDI: 1}),
    ("пожарная дружина добровольцы", {KARASAY: 3}),
    ("госзакупки признаки риска", {KOSTANAY: 3}),
    ("молоко кооперативы", {TAIYNSHA: 3}),
    ("камеры перекрёстки", {TARAZ: 3, MEDEU: 1}),
    ("street lighting", {KOKSHETAU: 3, MEDEU: 1, ZHALAGASH: 1, PAVLODAR: 1}),
    ("air quality sensors", {OSKEMEN: 3}),
    ("district heating pipes", {SEMEY: 3}),
    ("solar water heaters", {ARAL: 3}),
    ("visitor levy", {ALAKOL: 3}),
    ("guest houses", {KATARKOL: 3, ULYTAU: 2, ALAKOL: 1}),
    ("mobile medical units", {ATYRAU: 3}),
    ("safe routes to school", {MEDEU: 3}),
    ("tourism", {ALAKOL: 3, KATARKOL: 3, ULYTAU: 3}),
    ("healthcare", {ATYRAU: 3, BEYNEU: 3, TURKISTAN: 3, TOLEBI: 2, ORAL: 1}),
    ("служебное жильё врачам", {TURKISTAN: 3}),
    ("жалдамалы тұрғын үй", {AKTOBE: 3}),
    ("мобильді қосымша", {MAKHAMBET: 3}),
    ("туристік маршрут", {ULYTAU: 3}),
    ("land plots", {ENBEKSHI: 3, ABAI: 2}),
    ("public procurement", {KOSTANAY: 3, ORAL: 2, PAVLODAR: 1, ZHALAGASH: 1, EKIBASTUZ: 1, ARAL: 1, SEMEY: 1,
                            ASTANA: 1}),
]

NDCG_TARGET = 0.8
RECALL_TARGET = 0.9


@pytest.fixture(scope="module")
def demo_client(sqlite_template, tmp_path_factory):
    """A client of an app whose SQLite database holds the 32 demo case studies, indexed by ``search reindex``."""
    folder = tmp_path_factory.mktemp("relevance")
    shutil.copyfile(sqlite_template, folder / "demo.sqlite3")
    app = make_app(f"sqlite:///{folder / 'demo.sqlite3'}", folder)
    with app.app_context():
        report = interchange.import_file(DEMO_CASES)
        assert not report.errors
        db.session.commit()
    assert app.test_cli_runner().invoke(args=["search", "reindex"]).exit_code == 0
    yield app.test_client()
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_the_labelled_set_covers_the_cases_the_issue_names():
    queries = {q for q, _ in JUDGMENTS}
    assert len(JUDGMENTS) >= 40 and len(queries) == len(JUDGMENTS)
    for needed in ("Onay", "Онай", "Shymkent", "Шымкент", "ЦОН", "ХҚКО", "PSC", "one-stop shop", "bus card",
                   "транспортная карта", "public council", "общественный совет", "қоғамдық кеңес"):
        assert needed in queries
    assert any("әкімдіктер" in q for q in queries) and any("аудандарда" in q for q in queries)
    assert any(w in q for q in queries for w in ("akimat", "акимат")) and any("әкімдік" in q for q in queries)
    demo = {line.split('"id": "', 1)[1].split('"', 1)[0] for line in DEMO_CASES.read_text().splitlines()}
    assert {slug for _, grades in JUDGMENTS for slug in grades} <= demo


def test_relevance_targets_on_the_demo_corpus(demo_client):
    rows = []
    for query, grades in JUDGMENTS:
        response = demo_client.get("/api/v1/search", query_string={"q": query, "per_page": 20})
        assert response.status_code == 200, (query, response.get_data(as_text=True))
        ranked = [r["id"] for r in response.get_json()["results"]]
        rows.append((query, ndcg_at(ranked, grades), recall_at(ranked, grades), grades, ranked))
    mean_ndcg = sum(r[1] for r in rows) / len(rows)
    mean_recall = sum(r[2] for r in rows) / len(rows)
    table = "\n".join(
        f"{ndcg:5.2f} {recall:5.2f}  {query!r:40} missing={sorted(set(g) - set(ranked[:20]))} top={ranked[:5]}"
        for query, ndcg, recall, g, ranked in sorted(rows, key=lambda r: (r[1], r[2]))
    )
    report = f"mean nDCG@10 {mean_ndcg:.3f}, mean recall@20 {mean_recall:.3f} over {len(rows)} queries\n{table}"
    print(report)
    assert mean_ndcg >= NDCG_TARGET and mean_recall >= RECALL_TARGET, report


def test_multi_word_synonyms_match_only_where_their_words_are_adjacent(demo_client):
    """A synonym phrase is matched as a phrase, not as scattered words: the Alakol levy case has "a public report"
    and "a council of guest-house owners" but no public council in any language."""

    def found(query: str, partial: bool = True) -> list[str]:
        if not partial:
            return exact_ids(demo_client.application, query, per_page=50)
        response = demo_client.get("/api/v1/search", query_string={"q": query, "per_page": 50})
        assert response.status_code == 200
        return [r["id"] for r in response.get_json()["results"]]

    for query in ("общественный совет", "общественного совета", "қоғамдық кеңес", "Qogamdyq kenes"):
        results = found(query, partial=False)
        # Same-language matches of the query's own words rank above translations (issue 13): a Russian query puts
        # the Russian case that names a public council beside the English case about councils.
        assert COUNCILS in results[:2], (query, results)
        assert SHYMKENT_BUS in results, (query, results)
        assert ALAKOL not in results, (query, results)  # translated word by word it may follow, as a near match
    assert found("bus card")[0] == ONAY
    assert found("транспортная карта")[0] == ONAY
    assert set(SERVICE_CENTRES) <= set(found("one-stop shop"))
    assert found("one-stop shop")[0] == AMANGELDI
