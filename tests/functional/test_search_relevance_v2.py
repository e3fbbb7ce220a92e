"""Relevance on the independent set (``tests/data/relevance_v2``: 90 case studies, 72 queries written and judged
before any search ran, split into a tune and a held-out half): the figures ``bench/relevance.py`` prints for the
README, kept from falling back.

The floors are regression guards set just below what the engine measured when they were written (held-out
nDCG@10 0.876, recall@20 0.851), not the issue's targets (0.92 / 0.95 / cross-language recall 0.90), which
are not met yet: README "Search relevance" says by how much. Same-language P@5 must not fall below what the
engine scored before the thesaurus (held-out 0.300, tune 0.200). SQLite only: ranking does not depend on the
database backend.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest

from bench.relevance import DEFAULT_SET
from bench.relevance import build_app
from bench.relevance import load_set
from bench.relevance import run
from bench.relevance import summarise

HELDOUT_FLOOR = {"ndcg10": 0.85, "recall20": 0.83}
CROSS_LANGUAGE_RECALL_FLOOR = 0.75
SAME_LANGUAGE_P5_BEFORE = {"tune": 0.200, "heldout": 0.300}


@pytest.fixture(scope="module")
def summary(tmp_path_factory):
    cases, queries = load_set(DEFAULT_SET)
    app = build_app(tmp_path_factory.mktemp("relevance-v2"), cases)
    try:
        rows = run(app, queries)
    finally:
        with app.app_context():
            from app.extensions import db

            db.session.remove()
            db.engine.dispose()
    return summarise(rows)


def test_the_set_is_shaped_as_the_issue_asks():
    cases, queries = load_set(DEFAULT_SET)
    lines = [json.loads(line) for line in cases.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(lines) >= 80 and len(queries) >= 60
    assert Counter(q["language"] for q in queries) == {"kk": 24, "ru": 24, "en": 24}
    assert sum(q["kind"] == "cross-language" for q in queries) * 2 >= len(queries)
    assert {q["kind"] for q in queries} >= {"place-variant", "phrase", "same-language"}
    assert Counter(q["split"] for q in queries) == {"tune": 36, "heldout": 36}
    ids = {case["id"] for case in lines}
    assert all(set(q["relevant"]) <= ids for q in queries)


def test_heldout_figures_do_not_fall(summary):
    heldout = summary["heldout"]["all"]
    report = json.dumps(summary, indent=1)
    assert heldout["ndcg10"] >= HELDOUT_FLOOR["ndcg10"], report
    assert heldout["recall20"] >= HELDOUT_FLOOR["recall20"], report
    assert summary["heldout"]["cross-language"]["recall20"] >= CROSS_LANGUAGE_RECALL_FLOOR, report


def test_same_language_precision_did_not_fall(summary):
    for split, before in SAME_LANGUAGE_P5_BEFORE.items():
        assert summary[split]["same-language"]["p5"] >= before, (split, summary[split]["same-language"])
