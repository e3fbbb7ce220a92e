"""The two baselines of the search benchmark, on the same corpus and the same query words as the app.

- **SQLite FTS5**, in-process: a ``docs`` table (facet columns), a ``topics`` table and an FTS5 table with the
  same title and text (``unicode61`` tokenizer, diacritics removed; FTS5 has no Russian or Kazakh stemmer).
  A query puts its matches with their ``bm25()`` into a temporary table, then counts them, counts the facets
  with ``GROUP BY`` region / topic / level / year, and takes the top 10 by ``bm25()`` (or newest first).
- **Stock Whoosh 2.7.4**: a plain schema (title and text ``TEXT`` with a StemmingAnalyzer-like chain whose
  stemmer is PyStemmer: Russian for Cyrillic words, English otherwise, no stop words; facet fields ``ID``,
  topics ``KEYWORD`` as a case has several), built with
  ``writer(procs=2)``; queried with Whoosh's own parser and searcher, ``limit`` 10, facet counts by
  ``groupedby``.

Both take a :class:`QuerySpec` made from the app's query parameters by :func:`query_spec`. This module is
imported by name (``bench.baselines``): the Whoosh schema pickles :func:`stem_word` by reference.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

import Stemmer
from whoosh import index as whoosh_index
from whoosh.analysis import LowercaseFilter
from whoosh.analysis import RegexTokenizer
from whoosh.analysis import StemFilter
from whoosh.fields import ID
from whoosh.fields import KEYWORD
from whoosh.fields import TEXT
from whoosh.fields import Schema
from whoosh.qparser import MultifieldParser
from whoosh.query import And
from whoosh.query import Every
from whoosh.query import Or
from whoosh.query import Term
from whoosh.query import TermRange
from whoosh.sorting import FieldFacet

SECTIONS = ("problem", "solution", "challenges", "results", "lessons")
FACETS = ("region", "topic", "level", "year")
LIMIT = 10
WORD = re.compile(r"[^\W_]+")
CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_STEMMERS: dict[str, Stemmer.Stemmer] = {}


@dataclass
class QuerySpec:
    """What a query asks, engine-neutral: words (all required) or a phrase, filters, order, page."""

    words: list[str] = field(default_factory=list)
    phrase: bool = False
    regions: list[str] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)
    level: str | None = None
    status: str | None = None
    year_from: int | None = None
    year_to: int | None = None
    newest: bool = False
    page: int = 1


def _list(value) -> list[str]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def query_spec(params: dict) -> QuerySpec:
    """The spec of one app query (``/api/v1/search`` parameters); words are the query's own, lowercased."""
    q = (params.get("q") or "").strip()
    return QuerySpec(
        words=WORD.findall(q.lower()), phrase=q.startswith('"'), regions=_list(params.get("region")),
        topics=_list(params.get("topic")), level=params.get("level"), status=params.get("status"),
        year_from=params.get("year_from"), year_to=params.get("year_to"),
        newest=params.get("sort") == "newest" or not q, page=int(params.get("page") or 1),
    )


def record_text(record: dict) -> str:
    """The body text of an interchange record: summary and the five sections."""
    return "\n\n".join(record.get(name) or "" for name in ("summary", *SECTIONS))


def published_key(record: dict, number: int) -> str:
    """A sortable "published" value; records carry none, so the corpus order stands in (later = newer)."""
    return f"{number:09d}"


# --------------------------------------------------------------------------------------------------------------
# SQLite FTS5


class Fts5:
    """An FTS5 copy of the corpus in its own SQLite file, queried in-process."""

    def __init__(self, path: Path):
        self.path = path
        self.conn = sqlite3.connect(path, check_same_thread=False)
        self.conn.execute("CREATE TEMP TABLE IF NOT EXISTS m (id INTEGER PRIMARY KEY, score REAL)")

    @classmethod
    def build(cls, path: Path, records) -> tuple[Fts5, int, float]:
        """Create the file from ``records`` (interchange dicts); return it, the count and the seconds taken."""
        path.unlink(missing_ok=True)
        started = time.perf_counter()
        conn = sqlite3.connect(path)
        conn.executescript("""
            CREATE TABLE docs (id INTEGER PRIMARY KEY, slug TEXT, region TEXT, level TEXT, status TEXT,
                               year INTEGER, published TEXT);
            CREATE TABLE topics (doc_id INTEGER, topic TEXT);
            CREATE VIRTUAL TABLE fts USING fts5(title, body, tokenize = 'unicode61 remove_diacritics 2');
        """)
        count = 0
        for number, record in enumerate(records):
            count += 1
            conn.execute("INSERT INTO docs VALUES (?, ?, ?, ?, ?, ?, ?)",
                         (number + 1, record["id"], record["region"], record["level"], record["status"],
                          record["started"], published_key(record, number)))
            conn.executemany("INSERT INTO topics VALUES (?, ?)", [(number + 1, t) for t in record["topics"]])
            conn.execute("INSERT INTO fts(rowid, title, body) VALUES (?, ?, ?)",
                         (number + 1, record["title"], record_text(record)))
        conn.executescript("""
            CREATE INDEX topics_doc ON topics (doc_id);
            CREATE INDEX topics_topic ON topics (topic, doc_id);
            INSERT INTO fts(fts) VALUES ('optimize');
        """)
        conn.commit()
        conn.close()
        return cls(path), count, time.perf_counter() - started

    def size_bytes(self) -> int:
        """Bytes of the FTS5 table's own storage (dbstat), without the facet tables."""
        row = self.conn.execute("SELECT sum(pgsize) FROM dbstat WHERE name LIKE 'fts%'").fetchone()
        return int(row[0] or 0)

    def search(self, spec: QuerySpec) -> dict:
        """Total, facet counts and the top 10 ids of one query."""
        where, args = [], []
        if spec.regions:
            where.append(f"d.region IN ({', '.join('?' * len(spec.regions))})")
            args += spec.regions
        if spec.topics:
            where.append(f"d.id IN (SELECT doc_id FROM topics WHERE topic IN ({', '.join('?' * len(spec.topics))}))")
            args += spec.topics
        for column, value in (("level", spec.level), ("status", spec.status)):
            if value:
                where.append(f"d.{column} = ?")
                args.append(value)
        if spec.year_from is not None:
            where.append("d.year >= ?")
            args.append(spec.year_from)
        if spec.year_to is not None:
            where.append("d.year <= ?")
            args.append(spec.year_to)
        conn = self.conn
        conn.execute("DELETE FROM temp.m")
        if spec.words:
            match = ('"' + " ".join(spec.words) + '"') if spec.phrase else " ".join(f'"{w}"' for w in spec.words)
            conn.execute("INSERT INTO temp.m SELECT d.id, bm25(fts) FROM fts JOIN docs d ON d.id = fts.rowid "
                         "WHERE fts MATCH ?" + "".join(f" AND {w}" for w in where), [match, *args])
        else:
            conn.execute("INSERT INTO temp.m SELECT d.id, 0 FROM docs d"
                         + (" WHERE " + " AND ".join(where) if where else ""), args)
        total = conn.execute("SELECT count(*) FROM temp.m").fetchone()[0]
        facets = {name: dict(conn.execute(
            f"SELECT CAST(d.{name} AS TEXT), count(*) FROM temp.m JOIN docs d ON d.id = m.id GROUP BY 1").fetchall())
            for name in ("region", "level", "year")}
        facets["topic"] = dict(conn.execute(
            "SELECT t.topic, count(*) FROM temp.m JOIN topics t ON t.doc_id = m.id GROUP BY 1").fetchall())
        order = "d.published DESC" if spec.newest else "m.score"
        top = [row[0] for row in conn.execute(
            f"SELECT d.slug FROM temp.m JOIN docs d ON d.id = m.id ORDER BY {order} LIMIT ? OFFSET ?",
            (LIMIT, (spec.page - 1) * LIMIT))]
        return {"total": total, "facets": facets, "ids": top}


# --------------------------------------------------------------------------------------------------------------
# Stock Whoosh


def stem_word(word: str) -> str:
    """PyStemmer's Snowball stem: Russian for a Cyrillic word (Kazakh too: Snowball has no Kazakh), else English."""
    language = "russian" if CYRILLIC.search(word) else "english"
    stemmer = _STEMMERS.get(language)
    if stemmer is None:
        stemmer = _STEMMERS[language] = Stemmer.Stemmer(language)
    return stemmer.stemWord(word)


def stock_schema() -> Schema:
    """Whoosh's StemmingAnalyzer chain (regex tokens, lowercase, stems) with PyStemmer stems.

    Without StemmingAnalyzer's StopFilter: it drops English stop words and one-letter words ("и", "в"), so
    stock Whoosh would answer phrases like "и в" with nothing while the app and FTS5 search every word.
    """
    analyzer = RegexTokenizer() | LowercaseFilter() | StemFilter(stemfn=stem_word)
    return Schema(
        id=ID(stored=True, unique=True), title=TEXT(analyzer=analyzer), text=TEXT(analyzer=analyzer),
        region=ID(sortable=True), level=ID(sortable=True), status=ID, year=ID(sortable=True),
        topic=KEYWORD, published=ID(sortable=True),
    )


class StockWhoosh:
    """A stock Whoosh index of the corpus, with one searcher kept open (warm)."""

    def __init__(self, path: Path):
        self.path = path
        self.index = whoosh_index.open_dir(str(path))
        self.searcher = self.index.searcher()
        self.parser = MultifieldParser(["title", "text"], self.index.schema)  # AND of the words, as the app
        self.facets = {name: FieldFacet(name, allow_overlap=name == "topic") for name in FACETS}
        self.newest = FieldFacet("published", reverse=True)

    @classmethod
    def build(cls, path: Path, records, procs: int = 2, limitmb: int = 256) -> tuple[StockWhoosh, int, float]:
        """Index ``records`` with ``writer(procs=procs)``; return the index, the count and the seconds taken."""
        path.mkdir(parents=True, exist_ok=True)
        for old in path.iterdir():
            old.unlink()
        started = time.perf_counter()
        ix = whoosh_index.create_in(str(path), stock_schema())
        writer = ix.writer(procs=procs, limitmb=limitmb)
        count = 0
        for number, record in enumerate(records):
            count += 1
            writer.add_document(id=record["id"], title=record["title"], text=record_text(record),
                                region=record["region"], level=record["level"], status=record["status"],
                                year=str(record["started"]), topic=" ".join(record["topics"]),
                                published=published_key(record, number))
        writer.commit()
        elapsed = time.perf_counter() - started
        ix.close()
        return cls(path), count, elapsed

    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.path.iterdir() if p.is_file())

    def search(self, spec: QuerySpec) -> dict:
        """Total, facet counts and the top 10 ids of one query."""
        if spec.words:
            text = ('"' + " ".join(spec.words) + '"') if spec.phrase else " ".join(spec.words)
            query = self.parser.parse(text)
        else:
            query = Every()
        filters = []
        if spec.regions:
            filters.append(Or([Term("region", r) for r in spec.regions]))
        if spec.topics:
            filters.append(Or([Term("topic", t) for t in spec.topics]))
        for name, value in (("level", spec.level), ("status", spec.status)):
            if value:
                filters.append(Term(name, value))
        if spec.year_from is not None or spec.year_to is not None:
            filters.append(TermRange("year", str(spec.year_from or 0), str(spec.year_to or 9999)))
        results = self.searcher.search_page(
            query, spec.page, pagelen=LIMIT, filter=And(filters) if filters else None, groupedby=self.facets,
            sortedby=self.newest if spec.newest else None)
        facets = {name: {k: len(v) for k, v in results.results.groups(name).items()} for name in FACETS}
        return {"total": results.total, "facets": facets, "ids": [hit["id"] for hit in results]}

    def close(self) -> None:
        self.searcher.close()
        self.index.close()


def read_jsonl(path: Path):
    """The records of an interchange file, in order."""
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)
