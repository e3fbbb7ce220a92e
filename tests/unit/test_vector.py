"""The array evaluator (:mod:`app.search.vector`) against Whoosh's own matcher tree (what ``matching._score_all``
runs): on a real index with our schema, three segments and deleted documents, for the queries ``build_query``
makes (words, concepts across languages, places, phrases in exact and inflected forms, exclusions, ``title:``,
every relaxation), the same documents and the same BM25F × prior scores to 1e-9; and the same totals, facet counts
and ranking through ``matching.find``."""

from __future__ import annotations

import random

import numpy as np
import pytest
from flask import Flask
from whoosh import index as whoosh_index

from app.search import matching
from app.search import vector
from app.search.analysis import weighted
from app.search.index import case_schema
from app.search.matching import RELAXATIONS
from app.search.matching import build_query
from app.search.parsing import SearchParams
from app.search.parsing import parse_query
from app.search.ranking import ranked

WORDS = ("общественный", "совет", "совета", "советов", "қоғамдық", "кеңес", "кеңесі", "public", "council",
         "councils", "snow", "removal", "уборка", "снега", "қар", "тазалау", "bus", "автобус", "Онай", "card",
         "и", "в", "the", "of", "Шымкент", "Shymkent", "Шымкентте", "Almaty", "Алматы", "Алматыда", "water",
         "вода", "су", "road", "дорога", "дороги", "жол", "2019")
LANGUAGES = ("ru", "kk", "en")
REGIONS = ("KZ-75", "KZ-71", "KZ-79", "")
TOPICS = ("transport", "housing", "public-councils", "water")


def _text(rng: random.Random, n: int = 12) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(0, n)))


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    rng = random.Random(7)
    ix = whoosh_index.create_in(str(tmp_path_factory.mktemp("vector")), case_schema())
    for batch in range(3):
        writer = ix.writer()
        for n in range(60):
            title = _text(rng, 4)
            text = weighted([(2.0, _text(rng)), (1.0, _text(rng, 30)), (0.5, _text(rng, 6))])
            writer.add_document(
                id=f"{batch}-{n}", language=rng.choice(LANGUAGES), region=rng.choice(REGIONS),
                topics=",".join(rng.sample(TOPICS, rng.randint(0, 2))), level=rng.choice(("city", "oblast")),
                year=rng.choice((2019, 2020, 2021)), prior=rng.choice((100, 110, 115, 103, 124)),
                **{f"title_{v}": title for v in ("exact", "stem", "fold")},
                **{f"text_{v}": text for v in ("exact", "stem", "fold")})
        writer.commit(merge=False)
    writer = ix.writer()
    for batch in range(3):
        for n in range(batch, 60, 7):
            writer.delete_by_term("id", f"{batch}-{n}")
    writer.commit(merge=False)
    return ix


def _queries(seed: int, count: int = 20):
    rng = random.Random(seed)
    for _ in range(count):
        words = [rng.choice(WORDS) for _ in range(rng.randint(1, 4))]
        form = rng.choice(("{}", "{}", "-{}", "title:{}", "phrase", "phrase+"))
        if form == "phrase":
            yield '"' + " ".join(words) + '"'
        elif form == "phrase+":
            yield '"' + " ".join(words[:2]) + '" ' + " ".join(words[2:])
        else:
            yield " ".join([*words[:-1], form.format(words[-1])])
    # concepts and places named whole, across languages
    yield from ("public council", "общественный совет Шымкент", "snow removal Almaty", '"уборка снега"',
                "қоғамдық кеңес -Алматы", "bus card water", "road Shymkent council", '"public council"')


def _whoosh_scores(searcher, query) -> dict[int, float]:
    """What ``matching._score_all`` computes: Whoosh's matcher tree, every match scored; deleted documents left
    out (Whoosh 2.7.4's ``InverseMatcher`` lets through a deleted document right after its child's last match)."""
    q = ranked(query)
    context = searcher.context(needs_current=False)
    scores = {}
    for subsearcher, offset in searcher.leaf_searchers():
        m = q.matcher(subsearcher, context)
        deleted = subsearcher.reader().is_deleted
        while m.is_active():
            if not deleted(m.id()):
                scores[offset + m.id()] = m.score()
            m.next()
    return scores


@pytest.mark.parametrize("seed", range(6))
def test_vector_scores_equal_whooshs_matcher_tree(index, seed):
    schema = index.schema
    checked = 0
    with index.searcher() as searcher:
        assert len(searcher.leaf_searchers()) == 3
        for q in _queries(seed):
            for mode in ("and", *RELAXATIONS):
                query = build_query(schema, parse_query(q), mode=mode)
                if query is None:
                    continue
                expected = _whoosh_scores(searcher, query)
                mask, scores = vector.evaluate(searcher, query)
                got = {int(d): float(scores[d]) for d in np.flatnonzero(mask)}
                assert got.keys() == expected.keys(), (q, mode, query)
                for d, score in expected.items():
                    assert got[d] == pytest.approx(score, rel=1e-9, abs=1e-12), (q, mode, d)
                checked += 1
    assert checked >= 30


def test_deleted_documents_never_match(index):
    with index.searcher() as searcher:
        deleted = {d for d in range(searcher.doc_count_all()) if searcher.reader().is_deleted(d)}
        assert deleted
        mask, _ = vector.evaluate(searcher, build_query(index.schema, parse_query("-nothingatall")))
        assert not mask[list(deleted)].any() and mask.sum() == searcher.doc_count()


@pytest.mark.parametrize("filters", [{}, {"region": ["KZ-75"]}, {"topic": ["transport", "water"]},
                                     {"language": ["ru"], "level": ["city"]}])
def test_find_gives_the_same_totals_facets_and_order_as_the_matcher_tree(index, filters, monkeypatch):
    """``matching.find`` with the evaluator and with Whoosh's matchers (the fallback), filtered or not."""
    schema = index.schema
    with Flask(__name__).app_context(), index.searcher() as searcher:  # the fallback reads SEARCH_TIME_LIMIT
        for q in list(_queries(99, count=8)):
            for mode in ("and", *RELAXATIONS):
                query = build_query(schema, parse_query(q), mode=mode)
                if query is None:
                    continue
                params = SearchParams(q=q, filters=filters)
                answers = []
                for use_vector in (True, False):
                    matching._scored_cache.clear()
                    if not use_vector:
                        monkeypatch.setattr(vector, "evaluate", _unsupported)
                    allowed = matching.allowed_docs(searcher, params)
                    restriction = matching.restriction(allowed)
                    matches, found, ranking, scores = matching.find(searcher, query, params, restriction, 10)
                    answers.append((int(found.sum()), ranking, [round(float(scores[d]), 9) for d in ranking],
                                    matching.facet_counts(searcher, matches, allowed)))
                    monkeypatch.undo()
                assert answers[0] == answers[1], (q, mode, filters)


def _unsupported(searcher, query):
    raise vector.Unsupported("forced")
