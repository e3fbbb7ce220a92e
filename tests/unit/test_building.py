"""The fast full-build writer (app/search/building.py) writes the index Whoosh's own writer writes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from whoosh.filedb.filestore import RamStorage

from app.search.analysis import weighted
from app.search.building import BuildWriter
from app.search.building import _variant_items
from app.search.building import split
from app.search.documents import PART_BOOSTS
from app.search.documents import SECTIONS
from app.search.index import WRITER_OPTIONS
from app.search.index import case_schema

DEMO = Path(__file__).resolve().parents[2] / "app" / "case_studies" / "demo" / "case_studies.jsonl"
EXTRA = [
    "", "и в на", "Общественного совета аудандарда Shymkentte one-stop shop, public councils; ЦОН — центр обслуживания",
    "ёлка Ёлки 2024 5-й Nur-Sultan қоғамдық кеңестің закупок остановок", "\u0301\u0301 а",
]


def _documents() -> list[dict]:
    """Index documents shaped like app.search.documents.case_document's, from the demo cases (no database)."""
    docs = []
    for n, line in enumerate(DEMO.read_text(encoding="utf-8").splitlines()):
        case = json.loads(line)
        text = weighted([
            (PART_BOOSTS["summary"], case.get("summary") or ""),
            *((PART_BOOSTS["section"], case.get(name) or "") for name in SECTIONS),
            (PART_BOOSTS["places"], " ".join([case.get("author_name") or "", *case.get("topics", [])])),
            (PART_BOOSTS["attachments"], EXTRA[n % len(EXTRA)]),
        ])
        doc = {"id": case["id"], "updated_at": f"2026-01-{n % 28 + 1:02d}", "region": case["region"],
               "level": case["level"], "topics": ",".join(case["topics"]), "language": case["language"],
               "status": case["status"], "year": case.get("started") or 0, "prior": 100 + n % 3 * 5}
        for variant in ("exact", "stem", "fold"):
            doc[f"text_{variant}"] = text
            doc[f"title_{variant}"] = case["title"]
        docs.append(doc)
    for n, text in enumerate(EXTRA):
        docs.append({"id": f"extra-{n}", "title_exact": text, "title_stem": text, "title_fold": text,
                     "text_exact": weighted([(2.0, text), (0.5, text)]),
                     "text_stem": weighted([(2.0, text), (0.5, text)]),
                     "text_fold": weighted([(2.0, text), (0.5, text)])})
    return docs


def _dump(ix) -> dict:
    """Everything the index holds: postings (with weights and encoded values), lengths, stored fields, columns."""
    with ix.reader() as reader:
        postings = {}
        for fieldname, text in reader.all_terms():
            matcher = reader.postings(fieldname, text)
            items = []
            while matcher.is_active():
                items.append((matcher.id(), matcher.weight(), matcher.value()))
                matcher.next()
            postings[(fieldname, text)] = (reader.doc_frequency(fieldname, text), reader.frequency(fieldname, text),
                                           items)
        names = [n for n in ix.schema.names() if ix.schema[n].scorable]
        lengths = {n: [reader.doc_field_length(d, n) for d in range(reader.doc_count_all())] for n in names}
        totals = {n: (reader.field_length(n), reader.min_field_length(n), reader.max_field_length(n)) for n in names}
        stored = list(reader.all_stored_fields())
        columns = {n: list(reader.column_reader(n)) for n in ("year", "published", "prior") if reader.has_column(n)}
    return {"postings": postings, "lengths": lengths, "totals": totals, "stored": stored, "columns": columns}


@pytest.mark.parametrize("variant", ["exact", "stem", "fold"])
def test_one_pass_analysis_gives_each_fields_postings(variant):
    from app.search.analysis import variant_terms

    schema = case_schema()
    for doc in _documents():
        for name in ("title", "text"):
            field = schema[f"{name}_{variant}"]
            value = doc[f"{name}_{variant}"]
            assert sorted(_variant_items(field, variant_terms(value)[variant])) == sorted(field.index(value))


@pytest.mark.parametrize("limitmb", [128, 0.05])  # 0.05: the pool spills sorted runs many times
def test_build_writer_writes_what_whoosh_writes(limitmb):
    docs = _documents()
    stock = RamStorage().create_index(case_schema())
    with stock.writer(**WRITER_OPTIONS) as writer:
        for doc in docs:
            writer.add_document(**doc)
    fast = RamStorage().create_index(case_schema())
    writer = BuildWriter(fast, limitmb=limitmb, **WRITER_OPTIONS)
    if limitmb < 1:
        writer.pool.limit = int(limitmb * 1024 * 1024)
    for doc in docs:
        writer.add_document(**doc)
    writer.commit(merge=False)
    if limitmb < 1:
        assert writer.pool.runs == []  # cleaned up after the merge
    expected, got = _dump(stock), _dump(fast)
    assert len(expected["postings"]) > 1000
    assert got == expected


def test_split_keeps_order_and_sizes():
    assert split(list(range(7)), 3) == [[0, 1, 2], [3, 4], [5, 6]]
    assert split([1], 4) == [[1]]
    assert split([], 2) == [[]]
