"""``matching_docs`` (set operations over posting blocks) against Whoosh's ``docs_for_query`` on a real Whoosh
index with our schema: the same documents for the queries ``build_query`` makes (words, OR fallback, negation,
phrases, ``title:``, synonyms), across two segments and with deleted documents."""

from __future__ import annotations

import random

import pytest
import whoosh
from whoosh import index as whoosh_index

from app.search.analysis import weighted
from app.search.docmatch import matching_docs
from app.search.index import case_schema
from app.search.matching import build_query
from app.search.parsing import parse_query
from app.search.whoosh_internals import WHOOSH_VERSION

WORDS = ("общественный", "совет", "совета", "қоғамдық", "кеңес", "public", "council", "councils", "ЦОН", "Onay",
         "Онай", "автобус", "bus", "card", "и", "the", "Шымкент", "Shymkentte", "2019")


def _text(rng: random.Random, n: int = 10) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(0, n)))


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    rng = random.Random(11)
    ix = whoosh_index.create_in(str(tmp_path_factory.mktemp("docmatch")), case_schema())
    for batch in range(2):
        writer = ix.writer()
        for n in range(80):
            title, text = _text(rng, 4), weighted([(2.0, _text(rng)), (1.0, _text(rng))])
            writer.add_document(id=f"{batch}-{n}", **{f"title_{v}": title for v in ("exact", "stem", "fold")},
                                **{f"text_{v}": text for v in ("exact", "stem", "fold")})
        writer.commit(merge=False)
    writer = ix.writer()
    for n in range(0, 80, 6):
        writer.delete_by_term("id", f"1-{n}")
    writer.commit(merge=False)
    return ix


@pytest.mark.parametrize("seed", range(10))
def test_matching_docs_agrees_with_whoosh(index, seed):
    rng = random.Random(seed)
    schema = index.schema
    with index.searcher() as searcher:
        assert len(searcher.leaf_searchers()) == 2
        for _ in range(20):
            words = [rng.choice(WORDS) for _ in range(rng.randint(1, 3))]
            form = rng.choice(("{}", "-{}", "title:{}", "phrase"))
            q = '"' + " ".join(words) + '"' if form == "phrase" else " ".join([*words[:-1], form.format(words[-1])])
            for mode in ("and", "or"):
                query = build_query(schema, parse_query(q), mode=mode)
                if query is None:
                    continue
                assert matching_docs(searcher, query) == set(searcher.docs_for_query(query)), (q, mode)


def test_whoosh_is_the_version_the_private_api_adapter_was_written_for():
    """app/search/whoosh_internals.py uses Whoosh privates: an upgrade must be read against it first."""
    assert whoosh.__version__ == WHOOSH_VERSION
