"""The benchmark's corpus, written as an interchange file, is what ``flask cases import`` accepts (bench/)."""

from __future__ import annotations

import json

import sqlalchemy as sa

from app.case_studies.models import CaseStudy
from app.extensions import db
from bench.search_bench import Corpus
from bench.search_bench import reference_data

DOCS = 30


def test_bench_corpus_imports_as_interchange(app, runner, tmp_path):
    corpus = Corpus(DOCS, 42, *reference_data(app))
    path = tmp_path / "corpus.jsonl"
    raw = corpus.write_interchange(path)
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    # The corpus covers what import checks across fields: districts named (district and city levels) and not.
    assert {r["level"] for r in records} >= {"oblast", "district"}
    assert any(r["district"] for r in records) and any(r["district"] is None for r in records)
    assert raw == sum(len((r[f] or "").encode()) for r in records
                      for f in ("title", "summary", "problem", "solution", "challenges", "results", "lessons"))

    result = runner.invoke(args=["cases", "import", str(path)])

    assert result.exit_code == 0, result.output
    assert f"Created: {DOCS}," in result.output
    with app.app_context():
        stored = db.session.scalars(sa.select(CaseStudy).order_by(CaseStudy.slug)).all()
        assert [c.slug for c in stored] == [r["id"] for r in records]
        assert all(c.state == "published" for c in stored)
