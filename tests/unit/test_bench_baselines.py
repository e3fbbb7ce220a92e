"""The benchmark's two baselines (bench/baselines.py) answer the same spec alike: totals, facets, phrases."""

from __future__ import annotations

from bench.baselines import Fts5
from bench.baselines import StockWhoosh
from bench.baselines import query_spec


def record(slug, title, text, region, topics, level="city", status="pilot", started=2015):
    return {"id": slug, "title": title, "summary": text, "problem": "", "solution": "", "challenges": "",
            "results": "", "lessons": "", "region": region, "topics": topics, "level": level, "status": status,
            "started": started}


RECORDS = [
    record("a-1", "Автобусные полосы", "Выделенные полосы для автобусов в городе", "KZ-75", ["transport"]),
    record("a-2", "Bus lanes", "Dedicated lanes for buses in the city centre", "KZ-75", ["transport", "housing"],
           started=2019),
    record("a-3", "Школьные автобусы", "Автобусы возят детей в школу", "KZ-71", ["education"], level="district"),
    record("a-4", "Open budget", "The city budget online", "KZ-71", ["budgeting"], status="scaled", started=2021),
]


def test_fts5_and_stock_whoosh_count_matches_and_facets_alike(tmp_path):
    fts, count, _ = Fts5.build(tmp_path / "fts.sqlite3", RECORDS)
    stock, _, _ = StockWhoosh.build(tmp_path / "stock", RECORDS, procs=1)
    assert count == 4
    try:
        for params, total in (({"q": "city"}, 2), ({"q": "city", "region": "KZ-75"}, 1),
                              ({"q": '"for buses"'}, 1), ({"q": '"buses for"'}, 0),
                              ({"topic": ["transport", "budgeting"]}, 3),
                              ({"q": "city", "year_from": 2020, "year_to": 2022}, 1), ({"q": "zzqx"}, 0)):
            spec = query_spec(params)
            a, b = fts.search(spec), stock.search(spec)
            assert a["total"] == b["total"] == total, params
            assert a["facets"] == b["facets"], params
            assert sorted(a["ids"]) == sorted(b["ids"]), params
        both = fts.search(query_spec({"topic": ["transport", "budgeting"]}))
        assert both["facets"]["topic"] == {"transport": 2, "housing": 1, "budgeting": 1}
        assert both["facets"]["year"] == {"2015": 1, "2019": 1, "2021": 1}
        # Newest first (the corpus order stands in for the publication date).
        assert fts.search(query_spec({"q": "city", "sort": "newest"}))["ids"] == ["a-4", "a-2"]
        assert stock.search(query_spec({"q": "city", "sort": "newest"}))["ids"] == ["a-4", "a-2"]
        # Stock Whoosh stems (PyStemmer): "автобус" finds "автобусов" and "Автобусы"; FTS5 has no Russian stemmer.
        assert stock.search(query_spec({"q": "автобус"}))["total"] == 2
        assert fts.search(query_spec({"q": "автобус"}))["total"] == 0
    finally:
        fts.conn.close()
        stock.close()
