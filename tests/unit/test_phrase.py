"""``ExactPhrase`` against Whoosh's own ``Phrase`` on a real Whoosh index (our schema and analyzers, no database):
the same documents, the same scores, for random texts over a tiny vocabulary (so phrases recur, overlap and
repeat words), across two segments and with deleted documents."""

from __future__ import annotations

import random

import pytest
from whoosh import index as whoosh_index
from whoosh.query import Phrase

from app.search.analysis import weighted
from app.search.index import case_schema
from app.search.phrase import ExactPhrase
from app.search.ranking import MODEL

VOCABULARY = ("и", "в", "совет", "Совета", "bus", "card", "the", "2019")


def _text(rng: random.Random) -> str:
    return " ".join(rng.choice(VOCABULARY) for _ in range(rng.randint(0, 12)))


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    rng = random.Random(4)
    ix = whoosh_index.create_in(str(tmp_path_factory.mktemp("phrase")), case_schema())
    for batch in range(2):  # two commits without merging: two segments
        writer = ix.writer()
        for n in range(60):
            # Parts are PART_GAP positions apart: a phrase never spans the summary and a section.
            text = weighted([(2.0, _text(rng)), (1.0, _text(rng)), (1.0, _text(rng))])
            writer.add_document(id=f"{batch}-{n}", text_exact=text, title_exact=_text(rng))
        writer.commit(merge=False)
    writer = ix.writer()
    for n in range(0, 60, 7):
        writer.delete_by_term("id", f"0-{n}")
    writer.commit(merge=False)
    assert len(ix._segments()) == 2
    return ix


def _hits(searcher, query) -> dict[str, float]:
    return {hit["id"]: hit.score for hit in searcher.search(query, limit=None)}


@pytest.mark.parametrize("seed", range(12))
def test_exact_phrase_finds_and_scores_what_whooshs_phrase_does(index, seed):
    rng = random.Random(seed)
    with index.searcher(weighting=MODEL) as searcher:
        for _ in range(15):
            words = [rng.choice(VOCABULARY).lower() for _ in range(rng.randint(2, 4))]
            for field in ("text_exact", "title_exact"):
                expected = _hits(searcher, Phrase(field, words))
                found = _hits(searcher, ExactPhrase(field, words))
                assert found.keys() == expected.keys(), (field, words)
                for key, score in expected.items():
                    assert found[key] == pytest.approx(score, rel=1e-9), (field, words, key)
                assert sorted(searcher.docs_for_query(ExactPhrase(field, words))) == sorted(
                    searcher.docs_for_query(Phrase(field, words)))


def test_a_phrase_matches_side_by_side_in_order_only(tmp_path):
    ix = whoosh_index.create_in(str(tmp_path), case_schema())
    writer = ix.writer()
    writer.add_document(id="a", text_exact="общественного совета при акимате")
    writer.add_document(id="b", text_exact="совета общественного")
    writer.add_document(id="c", text_exact="общественного, и совета")
    writer.add_document(id="d", text_exact=weighted([(2.0, "он общественного"), (1.0, "совета нет")]))
    writer.commit()
    with ix.searcher() as searcher:
        found = {hit["id"] for hit in searcher.search(ExactPhrase("text_exact", ["общественного", "совета"]))}
    assert found == {"a"}
