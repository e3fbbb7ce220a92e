"""Search benchmark (issues 4 and 14): the app's search against SQLite FTS5 and a stock Whoosh build, in one run,
on the same deterministic synthetic corpus and the same queries.

Run from the repository root (``make bench``, ``make bench DOCS=100000``)::

    .venv/bin/python bench/search_bench.py --docs 10000 --queries 200 --workdir /tmp/search-bench-10000

What it does, as an operator would:

1. writes the corpus as an interchange file (CONTRACTS §1, ``<workdir>/corpus.jsonl``), makes a fresh database
   with ``flask db upgrade`` and times ``flask cases import`` of the file, indexing included (then ``flask search
   worker --once`` applies whatever the import left in the outbox, also timed); ``--skip-import`` bulk-inserts
   the rows instead (quick runs; the index then comes from the reindex);
2. times ``flask search reindex`` of the whole database (``--skip-reindex`` keeps the import's index);
3. builds the two baselines from the same file and times them: an FTS5 table in an SQLite file and a stock
   Whoosh index (``writer(procs=2)``; ``bench/baselines.py``);
4. starts ``gunicorn -w 1 --threads 1 wsgi:app`` (one sync worker, ``APP_ENV=production``) on a free local port
   against the bench database and index, and sends every query as a whole ``GET /api/v1/search`` request
   (facets, highlights and the database re-check included; ``per_page`` 10, as the baselines' top 10), each
   query followed at once by the same query words, filters and order on FTS5 and on stock Whoosh, the order of
   the three rotating, so that noise on the machine hits all three alike;
5. reports p50/p95/p99 per query kind for each engine and their ratios, import / reindex / stock build docs/s,
   the RSS of the gunicorn worker with its searcher warm, index sizes and the load average at start and end, as
   a markdown table, and everything in ``<workdir>/results.json`` (the table also in ``results.md``).

``--with-updates`` adds the slower single-case measurements (outbox → Whoosh commit of one added and one updated
case, publish → next search request, publish → findable with ``flask search worker`` running).

The corpus: ``--docs`` case studies in Russian, Kazakh and English (45/30/25 %), ~700 words each over title,
summary and the five sections, drawn with a Zipf distribution from word lists built from the demo case studies
(``app/case_studies/demo/case_studies.jsonl``), generated inflections of those words and a long tail of
generated rare words; region names appear in the text; topics, regions, levels, statuses and years vary. The same
``--seed`` always gives the same corpus and the same queries (every query string differs: no cache helps).

SQLite (a file in ``--workdir``) by default; ``--database-url postgresql+psycopg://...`` uses a fresh schema of
that database. ``--reuse`` keeps an existing database, index and baselines of the same size (with
``--skip-reindex``: no build at all), to measure query-side changes quickly. Nothing is written outside
``--workdir`` (and the schema).
"""

from __future__ import annotations

import argparse
import bisect
import http.client
import itertools
import json
import math
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import time
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from app import create_app  # noqa: E402
from app.case_studies.constants import STATUSES  # noqa: E402
from app.case_studies.constants import TOPICS  # noqa: E402
from app.case_studies.models import CaseStudy  # noqa: E402
from app.case_studies.models import CaseTopic  # noqa: E402
from app.extensions import db  # noqa: E402
from app.regions.models import Akimat  # noqa: E402
from app.regions.models import Municipality  # noqa: E402
from app.regions.models import Region  # noqa: E402
from app.regions.services import sync_reference_data  # noqa: E402
from app.search.analysis import TOKEN_PATTERN  # noqa: E402
from app.search.analysis import to_latin  # noqa: E402
from bench.baselines import Fts5  # noqa: E402
from bench.baselines import StockWhoosh  # noqa: E402
from bench.baselines import query_spec  # noqa: E402
from bench.baselines import read_jsonl  # noqa: E402
from config import DevConfig  # noqa: E402

DEMO = ROOT / "app" / "case_studies" / "demo" / "case_studies.jsonl"
SECTIONS = ("problem", "solution", "challenges", "results", "lessons")
LANG_SHARES = (("ru", 0.45), ("kk", 0.30), ("en", 0.25))
ZIPF_S = 1.0
LAST_YEAR = 2026  # the corpus's latest year (import refuses years after next year)
BENCH_SECRET = "search-bench-only-not-a-secret-0123456789abcdef"  # the bench's own instance, on loopback
TAIL_WORDS = 60_000  # generated rare words per language: a realistic vocabulary keeps growing with the corpus
KINDS = ("plain", "facets", "phrase", "filters", "latin", "newest", "zero", "browse")
KIND_HELP = {
    "plain": "1–3 words, no filters",
    "facets": "one frequent word, two regions and two topics selected (OR within a facet)",
    "phrase": 'a "quoted phrase" of 2–3 words taken from a document',
    "filters": "a word + region + level + status + year range",
    "latin": "a Kazakh/Russian word or place typed in Latin letters",
    "newest": "a frequent word, sort=newest",
    "zero": "two made-up words: AND and OR find nothing, did-you-mean runs",
    "browse": "empty q, one topic filter (a list)",
}
RU_ENDINGS = ("а", "у", "е", "ом", "ой", "ы", "и", "ов", "ами", "ах", "ого", "ую", "ых")
KK_BACK = ("лар", "дар", "тар", "ның", "дың", "ға", "қа", "да", "та", "дан", "тан", "ы", "сы", "мен")
KK_FRONT = ("лер", "дер", "тер", "нің", "дің", "ге", "ке", "де", "те", "ден", "тен", "і", "сі", "мен")
EN_ENDINGS = ("s", "ed", "ing", "er", "ly")
SYLLABLES = {
    "ru": ("ка", "ро", "ми", "ст", "ва", "но", "ле", "пра", "ти", "ко", "ра", "ви", "ну", "де", "зо", "ль", "ме",
           "гра", "тор", "ние"),
    "kk": ("қа", "ра", "ба", "ты", "ғы", "жа", "лы", "сы", "құ", "ет", "ай", "өр", "ке", "мі", "ұл", "ше", "ің",
           "тү", "нә", "әк"),
    "en": ("ka", "ro", "mi", "st", "va", "no", "le", "pra", "ti", "co", "ra", "vi", "nu", "de", "zo", "ment",
           "tion", "ber", "gra", "ous"),
}  # fmt: skip
AUTHORS = ("Асқар Нұрғазин", "Ирина Ковалева", "Dana Sultanbekova", "Нұрлан Әбдіров", "Сергей Ли", "Aigerim Bekova",
           "Ержан Тоқтаров", "Marat Akhmetov")  # fmt: skip


# --------------------------------------------------------------------------------------------------------------
# Corpus


class Vocabulary:
    """Zipf-weighted words of one language: demo words by frequency, then inflections, then a generated tail."""

    def __init__(self, language: str, counts: dict[str, int], rng: random.Random):
        ranked = [w for w, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
        seen = set(ranked)
        inflected = []
        for word in ranked:
            for form in _inflections(language, word, rng):
                if form not in seen:
                    seen.add(form)
                    inflected.append(form)
        tail = []
        syllables = SYLLABLES[language]
        while len(tail) < TAIL_WORDS:
            word = "".join(rng.choice(syllables) for _ in range(rng.randint(2, 5)))
            if word not in seen:
                seen.add(word)
                tail.append(word)
        self.language = language
        self.words = ranked + inflected + tail
        self.real = len(ranked)
        self.cum = list(itertools.accumulate(1.0 / (rank + 1) ** ZIPF_S for rank in range(len(self.words))))
        self.total = self.cum[-1]

    def sample(self, rng: random.Random, n: int) -> list[str]:
        cum, total, words, hi = self.cum, self.total, self.words, len(self.words) - 1
        rand = rng.random
        return [words[bisect.bisect(cum, rand() * total, 0, hi)] for _ in range(n)]


def _inflections(language: str, word: str, rng: random.Random) -> list[str]:
    if len(word) < 4 or word.isdigit():
        return []
    if language == "ru":
        base = word[:-1] if word[-1] in "аяоеиыйь" else word
        return [base + e for e in rng.sample(RU_ENDINGS, 3)]
    if language == "kk":
        vowels = [c for c in word if c in "аәеиоөуұүыіэюя"]
        table = KK_FRONT if vowels and vowels[-1] in "әеөүі" else KK_BACK
        return [word + e for e in rng.sample(table, 3)]
    return [word + e for e in rng.sample(EN_ENDINGS, 2)]


def demo_counts() -> dict[str, dict[str, int]]:
    """Word frequencies per language in the demo case studies."""
    counts: dict[str, dict[str, int]] = {"ru": {}, "kk": {}, "en": {}}
    for line in DEMO.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        bucket = counts[row["language"]]
        text = " ".join(row.get(f) or "" for f in ("title", "summary", *SECTIONS))
        for token in TOKEN_PATTERN.findall(text.lower()):
            bucket[token] = bucket.get(token, 0) + 1
    return counts


class Corpus:
    """The deterministic synthetic corpus (documents are generated on demand, in order)."""

    def __init__(self, docs: int, seed: int, regions: list[dict], akimats: list[dict]):
        """``regions``: id, iso_code and names; ``akimats``: id, region_id, municipality_id, level and
        ``district`` (the municipality's English name, None for a region's akimat)."""
        self.docs = docs
        self.seed = seed
        rng = random.Random(seed)
        self.vocab = {lang: Vocabulary(lang, counts, rng) for lang, counts in demo_counts().items()}
        self.regions = regions
        self.akimats = akimats
        self.districts = {a["municipality_id"]: a["district"] for a in akimats if a["municipality_id"]}
        self.topics = list(TOPICS)
        self.statuses = list(STATUSES)

    def _sentence(self, rng: random.Random, vocab: Vocabulary, n: int, place: str | None = None) -> str:
        words = vocab.sample(rng, n)
        if place and n > 4:
            words[rng.randrange(1, n)] = place
        text = " ".join(words)
        return text[:1].upper() + text[1:] + "."

    def _text(self, rng: random.Random, vocab: Vocabulary, words: int, place: str) -> str:
        paragraphs, left = [], words
        while left > 0:
            sentences = []
            for _ in range(rng.randint(2, 5)):
                if left <= 0:
                    break
                n = min(left, rng.randint(6, 22))
                sentences.append(self._sentence(rng, vocab, n, place if rng.random() < 0.08 else None))
                left -= n
            paragraphs.append(" ".join(sentences))
        return "\n\n".join(paragraphs)

    def document(self, i: int) -> dict:
        """Row values of case study ``i`` (plus ``topics``)."""
        rng = random.Random(self.seed * 1_000_003 + i)
        r = rng.random()
        language = "ru" if r < LANG_SHARES[0][1] else ("kk" if r < LANG_SHARES[0][1] + LANG_SHARES[1][1] else "en")
        vocab = self.vocab[language]
        akimat = self.akimats[min(len(self.akimats) - 1, int(len(self.akimats) * rng.random() ** 1.6))]
        region = self.regions_by_id[akimat["region_id"]]
        place = region[f"name_{language}"].split()[0]
        total = max(250, int(rng.gauss(700, 150)))
        title_n, summary_n = rng.randint(6, 14), rng.randint(35, 70)
        section_n = max(40, (total - title_n - summary_n) // 5)
        started = rng.randint(2008, 2026)
        published = datetime(2018, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randrange(8 * 365 * 86400))
        topics = sorted({self.topics[min(17, int(18 * rng.random() ** 1.5))] for _ in range(rng.randint(1, 3))})
        row = {
            "slug": f"bench-{i:06d}",
            "state": "published",
            "version": 1,
            "title": self._sentence(rng, vocab, title_n, place if rng.random() < 0.3 else None)[:-1],
            "summary": self._text(rng, vocab, summary_n, place),
            "region_id": akimat["region_id"],
            "municipality_id": akimat["municipality_id"],
            "level": akimat["level"],
            "language": language,
            "started": started,
            # Import accepts years up to next year's: no end after LAST_YEAR, whatever the year of the run.
            "ended": min(LAST_YEAR, started + rng.randint(0, 3)) if rng.random() < 0.5 else None,
            "status": self.statuses[min(4, int(5 * rng.random() ** 1.3))],
            "author_name": rng.choice(AUTHORS),
            "author_position": "",
            "akimat_id": akimat["id"],
            "created_at": published - timedelta(days=3),
            "updated_at": published,
            "published_at": published,
            "topics": topics,
        }
        for name in SECTIONS:
            row[name] = self._text(rng, vocab, int(section_n * rng.uniform(0.6, 1.4)), place)
        return row

    def record(self, i: int) -> tuple[dict, int]:
        """Case study ``i`` as an interchange line (CONTRACTS §1), and its raw text bytes."""
        row = self.document(i)
        record = {
            "id": row["slug"], "title": row["title"], "summary": row["summary"],
            "region": self.regions_by_id[row["region_id"]]["iso_code"],
            "district": self.districts.get(row["municipality_id"]), "level": row["level"],
            "author_name": row["author_name"], "author_position": row["author_position"] or None,
            "topics": row["topics"], "language": row["language"], "started": row["started"], "ended": row["ended"],
            "status": row["status"], **{name: row[name] for name in SECTIONS}, "budget_kzt": None, "adoptions": [],
        }
        return record, raw_text_bytes(row)

    def write_interchange(self, path: Path) -> int:
        """Write the whole corpus to ``path`` as an interchange file; return its raw text bytes."""
        raw = 0
        with path.open("w", encoding="utf-8") as handle:
            for i in range(self.docs):
                record, size = self.record(i)
                raw += size
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        return raw

    @property
    def regions_by_id(self) -> dict[int, dict]:
        if not hasattr(self, "_regions_by_id"):
            self._regions_by_id = {r["id"]: r for r in self.regions}
        return self._regions_by_id


def raw_text_bytes(row: dict) -> int:
    return sum(len((row.get(f) or "").encode("utf-8")) for f in ("title", "summary", *SECTIONS))


# --------------------------------------------------------------------------------------------------------------
# Database, import, reindex


def database_url(args) -> str:
    if not args.database_url:
        return f"sqlite:///{Path(args.workdir) / 'bench.sqlite3'}"
    url = args.database_url
    if url.startswith("postgresql://"):
        url = url.replace("postgresql://", "postgresql+psycopg://", 1)
    if url.startswith("postgresql"):
        schema = f"bench_{args.docs}_{args.seed}"
        separator = "&" if "?" in url else "?"
        return url + f"{separator}options=-csearch_path%3D{schema}"
    return url


def workdir_paths(args) -> dict[str, str]:
    work = Path(args.workdir)
    return {"SEARCH_INDEX_DIR": str(work / "search_index"), "UPLOAD_DIR": str(work / "uploads"),
            "MAIL_OUTBOX_DIR": str(work / "outbox"), "INSTANCE_DIR": str(work / "instance")}


def make_app(args, **overrides):
    """The app in this process (reference data, the queries' sample texts, the optional update measurements)."""
    paths = workdir_paths(args)
    settings = {
        "SQLALCHEMY_DATABASE_URI": database_url(args),
        "SEARCH_INDEX_DIR": paths["SEARCH_INDEX_DIR"],
        "UPLOAD_DIR": paths["UPLOAD_DIR"],
        "MAIL_OUTBOX_DIR": paths["MAIL_OUTBOX_DIR"],
        "SECRET_KEY": BENCH_SECRET,
        "RATELIMIT_ENABLED": False,
    }
    settings.update(overrides)
    return create_app(DevConfig, **settings)


def command_env(args, production: bool = False, **extra) -> dict[str, str]:
    """The environment of a ``flask``/``gunicorn`` process on the bench database and index (CONTRACTS §5)."""
    env = dict(os.environ, DATABASE_URL=database_url(args), SECRET_KEY=BENCH_SECRET, FLASK_APP="wsgi",
               APP_ENV="production" if production else "development", **workdir_paths(args))
    env.pop("FLASK_DEBUG", None)
    env.update(extra)
    return env


def flask(args, *command: str) -> tuple[float, str]:
    """Run ``flask --app wsgi COMMAND`` in a process of its own; return the seconds it took and its output."""
    started = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *command], cwd=ROOT, env=command_env(args),
                         capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if out.returncode != 0:
        raise SystemExit(f"flask {' '.join(command)} failed ({out.returncode}):\n{out.stdout[-3000:]}\n"
                         f"{out.stderr[-3000:]}")
    return elapsed, (out.stdout + out.stderr).strip()


def reference_data(app) -> tuple[list[dict], list[dict]]:
    """Regions and akimats (with the English name of their district or city) of the bench database."""
    with app.app_context():
        regions = [dict(r._mapping) for r in db.session.execute(sa.select(
            Region.id, Region.iso_code, Region.name_ru, Region.name_kk, Region.name_en, Region.name_kk_latn))]
        akimats = [dict(r._mapping) for r in db.session.execute(
            sa.select(Akimat.id, Akimat.region_id, Akimat.municipality_id, Akimat.level,
                      Municipality.name_en.label("district"))
            .outerjoin(Municipality, Municipality.id == Akimat.municipality_id).order_by(Akimat.id))]
        db.session.rollback()
    return regions, akimats


def existing_docs(app) -> int:
    """Corpus cases in the bench database (0 without one); cases added by --with-updates are not counted."""
    with app.app_context():
        try:
            return db.session.scalar(sa.select(sa.func.count()).select_from(CaseStudy)
                                     .where(CaseStudy.slug.like("bench-0%"))) or 0
        except Exception:  # no database or no table yet
            return 0
        finally:
            db.session.rollback()
            db.engine.dispose()


def fresh_database(args) -> None:
    """Drop the bench database (SQLite file or PostgreSQL schema) and the index: an empty instance."""
    url = database_url(args)
    if url.startswith("postgresql"):
        schema = f"bench_{args.docs}_{args.seed}"
        admin = sa.create_engine(url.split("?")[0] if "options=" in url else url)
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        admin.dispose()
    else:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(args.workdir, "bench.sqlite3" + suffix).unlink(missing_ok=True)
    shutil.rmtree(Path(args.workdir) / "search_index", ignore_errors=True)


def import_corpus(args) -> dict:
    """Fresh database (``flask db upgrade``), the corpus file, then ``flask cases import`` + ``search worker
    --once`` (whatever indexing the import left in the outbox), both timed."""
    fresh_database(args)
    upgrade_s, _ = flask(args, "db", "upgrade")
    log(f"flask db upgrade: {upgrade_s:.1f} s")
    app = make_app(args)
    corpus = Corpus(args.docs, args.seed, *reference_data(app))
    path = Path(args.workdir) / "corpus.jsonl"
    started = time.perf_counter()
    raw = corpus.write_interchange(path)
    log(f"wrote {args.docs} cases to {path} ({path.stat().st_size / 1e6:.0f} MB, "
        f"{time.perf_counter() - started:.0f} s)")
    log(f"flask cases import {path} ...")
    import_s, output = flask(args, "cases", "import", str(path))
    log(f"  {import_s:.1f} s: {output.splitlines()[-1] if output else ''}")
    drain_s, output = flask(args, "search", "worker", "--once")
    log(f"flask search worker --once (what the import left in the outbox): {drain_s:.1f} s")
    total = import_s + drain_s
    return {"import_seconds": import_s, "import_drain_seconds": drain_s, "import_total_seconds": total,
            "import_docs_per_s": args.docs / total, "raw_text_bytes": raw}


def bulk_load(args) -> dict:
    """``--skip-import``: the schema from the models and the rows by bulk insert (no outbox, no revisions)."""
    fresh_database(args)
    app = make_app(args)
    with app.app_context():
        db.create_all()
        sync_reference_data(db.session.connection())
        db.session.commit()
    corpus = Corpus(args.docs, args.seed, *reference_data(app))
    raw = corpus.write_interchange(Path(args.workdir) / "corpus.jsonl")
    started = time.perf_counter()
    chunk = 1000
    case_table, topic_table = CaseStudy.__table__, CaseTopic.__table__
    with app.app_context():
        for start in range(0, args.docs, chunk):
            rows = [corpus.document(i) for i in range(start, min(args.docs, start + chunk))]
            result = db.session.execute(sa.insert(case_table).returning(case_table.c.id, case_table.c.slug),
                                        [{k: v for k, v in r.items() if k != "topics"} for r in rows])
            ids = {slug: pk for pk, slug in result}
            db.session.execute(sa.insert(topic_table),
                               [{"case_study_id": ids[r["slug"]], "topic": t} for r in rows for t in r["topics"]])
            db.session.commit()
            if start and start % 10_000 == 0:
                log(f"  loaded {start} documents ({time.perf_counter() - started:.0f} s)")
        db.engine.dispose()
    log(f"bulk-loaded {args.docs} documents into the database in {time.perf_counter() - started:.1f} s")
    return {"raw_text_bytes": raw}


def prepare(args) -> dict:
    """The bench database holding the corpus (imported, bulk-loaded or kept with --reuse), and the corpus file."""
    corpus_file = Path(args.workdir) / "corpus.json"
    if (args.reuse and corpus_file.exists() and (Path(args.workdir) / "corpus.jsonl").exists()
            and existing_docs(make_app(args)) == args.docs):
        log(f"--reuse: kept the database of {args.docs} cases")
        return {**json.loads(corpus_file.read_text()), "database_reused": True}
    out = bulk_load(args) if args.skip_import else import_corpus(args)
    corpus_file.write_text(json.dumps({"docs": args.docs, "seed": args.seed, **out}))
    return out


def reindex(args) -> dict:
    elapsed, output = flask(args, "search", "reindex")
    log(f"flask search reindex: {elapsed:.1f} s, {args.docs / elapsed:.0f} docs/s ({output.splitlines()[-1]})")
    return {"reindex_seconds": elapsed, "reindex_docs_per_s": args.docs / elapsed}


def baselines(args) -> tuple[Fts5, StockWhoosh, dict]:
    """FTS5 and stock Whoosh over ``corpus.jsonl``: built and timed, or kept with --reuse."""
    work = Path(args.workdir)
    marker, fts_path, stock_path = work / "baselines.json", work / "fts5.sqlite3", work / "stock_whoosh"
    corpus = work / "corpus.jsonl"
    if args.reuse and marker.exists() and fts_path.exists() and stock_path.is_dir():
        info = json.loads(marker.read_text())
        if info.get("docs") == args.docs and info.get("seed") == args.seed:
            log("--reuse: kept the FTS5 and stock Whoosh builds")
            return Fts5(fts_path), StockWhoosh(stock_path), {**info, "baselines_reused": True}
    fts, count, fts_s = Fts5.build(fts_path, read_jsonl(corpus))
    log(f"FTS5 build: {fts_s:.1f} s, {count / fts_s:.0f} docs/s")
    stock, count, stock_s = StockWhoosh.build(stock_path, read_jsonl(corpus), procs=args.stock_procs)
    log(f"stock Whoosh build (procs={args.stock_procs}): {stock_s:.1f} s, {count / stock_s:.0f} docs/s")
    info = {"docs": args.docs, "seed": args.seed, "fts5_build_seconds": fts_s, "fts5_build_docs_per_s": count / fts_s,
            "stock_build_seconds": stock_s, "stock_build_docs_per_s": count / stock_s,
            "stock_procs": args.stock_procs}
    marker.write_text(json.dumps(info))
    return fts, stock, info


# --------------------------------------------------------------------------------------------------------------
# Measurements


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def percentiles(values: list[float]) -> dict[str, float]:
    """Nearest-rank p50/p95/p99 (a value that was measured, never an interpolation), max and mean."""
    ordered = sorted(values)

    def pick(p: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, math.ceil(p * len(ordered)) - 1))]

    return {"n": len(ordered), "p50": pick(0.50), "p95": pick(0.95), "p99": pick(0.99), "max": ordered[-1],
            "mean": statistics.fmean(ordered)}


def dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def proc_status(pid: int | str = "self") -> dict[str, int]:
    """VmRSS, RssAnon, RssFile and VmHWM of a process, in KiB (Linux)."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "RssAnon", "RssFile", "VmHWM"):
            out[key] = int(value.split()[0])
    return out


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def build_queries(args, app, n: int | None = None, salt: int = 7) -> dict[str, list[dict]]:
    """Deterministic query-string dicts per kind, each unique (so a result cache cannot flatter the numbers)."""
    rng = random.Random(args.seed + salt)
    with app.app_context():
        regions = [dict(r._mapping) for r in db.session.execute(sa.select(
            Region.id, Region.iso_code, Region.name_ru, Region.name_kk, Region.name_en, Region.name_kk_latn))]
        sample_ids = sorted(rng.sample(range(args.docs), min(args.docs, 400)))
        texts = db.session.execute(
            sa.select(CaseStudy.language, CaseStudy.solution, CaseStudy.results)
            .where(CaseStudy.slug.in_([f"bench-{i:06d}" for i in sample_ids]))).all()
        db.session.rollback()
    vocab_rng = random.Random(args.seed)
    vocab = {lang: Vocabulary(lang, counts, vocab_rng) for lang, counts in demo_counts().items()}
    n = n or args.queries

    def content_word(lang: str, low: int = 30, high: int = 3000) -> str:
        words = vocab[lang].words
        while True:
            w = words[rng.randrange(low, min(high, vocab[lang].real + 5000))]
            if len(w) >= 4 and not w.isdigit():
                return w

    def lang() -> str:
        r = rng.random()
        return "ru" if r < 0.45 else ("kk" if r < 0.75 else "en")

    queries: dict[str, list[dict]] = {k: [] for k in KINDS}
    seen: set[str] = set()

    def add(kind: str, params: dict) -> None:
        key = json.dumps(params, sort_keys=True)
        if key not in seen:
            seen.add(key)
            queries[kind].append(params)

    topics, codes = list(TOPICS), [r["iso_code"] for r in regions]
    for _ in range(n * 50):
        if all(len(v) >= n for v in queries.values()):
            break
        if len(queries["plain"]) < n:
            lg = lang()
            add("plain", {"q": " ".join(content_word(lg) for _ in range(rng.choice((1, 1, 2, 2, 3))))})
        if len(queries["facets"]) < n:
            add("facets", {"q": content_word(lang(), 20, 300), "region": rng.sample(codes, 2),
                           "topic": rng.sample(topics, 2)})
        if len(queries["phrase"]) < n and texts:
            _, solution, results = rng.choice(texts)
            tokens = TOKEN_PATTERN.findall(rng.choice((solution, results)))
            if len(tokens) > 10:
                k = rng.randint(2, 3)
                at = rng.randrange(0, len(tokens) - k)
                add("phrase", {"q": '"' + " ".join(tokens[at:at + k]) + '"'})
        if len(queries["filters"]) < n:
            y = rng.randint(2008, 2022)
            add("filters", {"q": content_word(lang(), 20, 1000), "region": rng.choice(codes),
                            "level": rng.choice(("oblast", "city", "district")),
                            "status": rng.choice(list(STATUSES)), "year_from": y, "year_to": y + rng.randint(1, 6)})
        if len(queries["latin"]) < n:
            if rng.random() < 0.3:
                region = rng.choice(regions)
                add("latin", {"q": (region["name_kk_latn"] or to_latin(region["name_kk"])).split()[0]})
            else:
                add("latin", {"q": to_latin(content_word(rng.choice(("ru", "kk")), 20, 2000))})
        if len(queries["newest"]) < n:
            add("newest", {"q": content_word(lang(), 10, 500), "sort": "newest"})
        if len(queries["zero"]) < n:
            word = "".join(rng.choice("bcdfgjklmnpqrstvwxz") + rng.choice("aeiouy") for _ in range(4))
            add("zero", {"q": f"{word} {word[::-1]}q"})
        if len(queries["browse"]) < n:
            add("browse", {"topic": rng.choice(topics), "page": rng.randint(1, 5)})
    return queries



# --------------------------------------------------------------------------------------------------------------
# The app through gunicorn


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Gunicorn:
    """``gunicorn -w 1 --threads 1 wsgi:app`` (one sync worker) on a free local port, production settings."""

    def __init__(self, args):
        self.port = free_port()
        self.log_path = Path(args.workdir) / "gunicorn.log"
        env = command_env(args, production=True, BASE_URL=f"http://127.0.0.1:{self.port}",
                          SEARCH_APPLY_IN_REQUEST="false")
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-w", "1", "--threads", "1", "--timeout", "300",
             "-b", f"127.0.0.1:{self.port}", "wsgi:app"],
            cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        # http.client keeps the connection open where the server does; gunicorn's sync worker closes it after
        # each response, and http.client then opens a new one for the next request (loopback: ~0.1 ms).
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=300)
        deadline = time.monotonic() + 120
        while True:
            if self.proc.poll() is not None:
                raise SystemExit(f"gunicorn exited: {self.log_path.read_text()[-3000:]}")
            try:
                status, _, _ = self.get("/healthz")
                if status == 200:
                    break
            except OSError:
                self.conn.close()
            if time.monotonic() > deadline:
                self.stop()
                raise SystemExit(f"gunicorn did not answer /healthz within 120 s: {self.log_path.read_text()[-3000:]}")
            time.sleep(0.2)

    def get(self, path: str) -> tuple[int, float, bytes]:
        """One whole request: status, milliseconds from sending to the last byte of the body, the body."""
        started = time.perf_counter()
        self.conn.request("GET", path)
        response = self.conn.getresponse()
        body = response.read()
        return response.status, (time.perf_counter() - started) * 1000, body

    def search(self, params: dict) -> tuple[float, int]:
        status, ms, body = self.get(search_path(params))
        if status != 200:
            raise SystemExit(f"app {params}: HTTP {status} {body[:300]!r}")
        return ms, json.loads(body)["total"]

    def worker_pid(self) -> int:
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()
        return int(children[0])

    def stop(self) -> None:
        self.conn.close()
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._log.close()


def search_path(params: dict) -> str:
    return "/api/v1/search?" + urlencode(params, doseq=True)


# --------------------------------------------------------------------------------------------------------------
# Interleaved queries: app, FTS5, stock Whoosh


ENGINES = ("app", "fts5", "whoosh")


def engine_calls(server: Gunicorn, fts: Fts5, stock: StockWhoosh, per_page: int):
    """name → (params → (ms, total)) for the three engines; each baseline gets the spec made beforehand."""

    def timed(search):
        def run(params: dict) -> tuple[float, int]:
            spec = query_spec(params)
            started = time.perf_counter()
            result = search(spec)
            return (time.perf_counter() - started) * 1000, result["total"]
        return run

    def app(params: dict) -> tuple[float, int]:
        return server.search({**params, "per_page": per_page})

    return {"app": app, "fts5": timed(fts.search), "whoosh": timed(stock.search)}


def run_interleaved(calls: dict, queries: dict[str, list[dict]], warmup: dict[str, list[dict]]) -> dict:
    """Every query on the three engines back to back, the order rotating; percentiles (ms) per engine and kind."""
    for kind in warmup:  # open the searchers, fill the OS page cache; not measured
        for params in warmup[kind]:
            for name in ENGINES:
                calls[name](params)
    times = {name: {k: [] for k in queries} for name in ENGINES}
    totals = {name: {k: [] for k in queries} for name in ENGINES}
    order = [(kind, i) for i in range(max(len(v) for v in queries.values())) for kind in queries
             if i < len(queries[kind])]
    started = time.perf_counter()
    for step, (kind, i) in enumerate(order):
        params = queries[kind][i]
        for name in ENGINES[step % 3:] + ENGINES[:step % 3]:
            ms, total = calls[name](params)
            times[name][kind].append(ms)
            totals[name][kind].append(total)
        if step and step % 400 == 0:
            log(f"  {step} / {len(order)} queries ({time.perf_counter() - started:.0f} s)")
    out: dict = {}
    for name in ENGINES:
        out[name] = {kind: {**percentiles(v), "median_total": statistics.median(totals[name][kind])}
                     for kind, v in times[name].items()}
        out[name]["all"] = percentiles([t for v in times[name].values() for t in v])
    return out


# --------------------------------------------------------------------------------------------------------------
# Single-case updates (--with-updates)


def _bench_case(app, slug: str, title: str) -> None:
    """Add one published case study through the ORM (so the outbox listener writes its row), and commit."""
    # A test-client request inside our app context shares its session: end the read transaction it may have left
    # open, or SQLite refuses to upgrade that old snapshot to a write ("database is locked").
    db.session.rollback()
    base = db.session.scalar(sa.select(CaseStudy).where(CaseStudy.slug == "bench-000000"))
    case = CaseStudy(slug=slug, state="published", title=title, summary=base.summary, region_id=base.region_id,
                     municipality_id=base.municipality_id, level=base.level, language=base.language,
                     started=base.started, status=base.status, problem=base.problem, solution=base.solution,
                     challenges=base.challenges, results=base.results, lessons=base.lessons,
                     author_name=base.author_name, akimat_id=base.akimat_id,
                     published_at=datetime.now(UTC))
    case.topic_rows = [CaseTopic(topic="transport")]
    db.session.add(case)
    db.session.commit()


def measure_updates(app, args, rounds: int = 20) -> dict:
    """Outbox → Whoosh latency of one added case and of one updated case (apply_pending: writer + commit)."""
    search = app.extensions["search"]
    add, update = [], []
    rng = random.Random(args.seed + 11)
    run = int(time.time())
    with app.app_context():
        app.config["SEARCH_APPLY_IN_REQUEST"] = False
        for i in range(rounds):
            _bench_case(app, f"bench-add-{run}-{i}", f"Added case {i} zzaddmarker{i}")
            started = time.perf_counter()
            assert search.apply_pending() == 1
            add.append((time.perf_counter() - started) * 1000)
            slug = f"bench-{rng.randrange(args.docs):06d}"
            case = db.session.scalar(sa.select(CaseStudy).where(CaseStudy.slug == slug))
            case.results = case.results + f" Updated {run} {i}."
            db.session.commit()
            started = time.perf_counter()
            assert search.apply_pending() == 1
            update.append((time.perf_counter() - started) * 1000)
    return {"add": percentiles(add), "update": percentiles(update)}


def measure_read_your_writes(app, args, rounds: int = 10) -> dict:
    """Embedded mode: publish (commit), the committing request applies its row before it answers (searches never
    write), then the next /api/v1/search request must find it; time the apply and that request together."""
    times = []
    run = int(time.time())
    client = app.test_client()
    search = app.extensions["search"]
    with app.app_context():
        app.config["SEARCH_APPLY_IN_REQUEST"] = False  # applied below, as the committing request's after_request does
        for i in range(rounds):
            marker = f"zzryw{run}x{i}"
            slug = f"bench-ryw-{run}-{i}"
            _bench_case(app, slug, f"Read your writes {marker}")
            started = time.perf_counter()
            search.apply_pending(limit=app.config["SEARCH_REQUEST_BATCH"], prefer=(slug,))
            response = client.get("/api/v1/search", query_string={"q": marker})
            times.append((time.perf_counter() - started) * 1000)
            assert response.get_json()["total"] == 1, response.get_json()
    return percentiles(times)


def measure_worker(app, args, rounds: int = 20) -> dict:
    """Publish → findable with ``flask search worker`` running beside: commit, then poll the process's searcher."""
    env = command_env(args, SEARCH_APPLY_IN_REQUEST="0")
    worker = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "search", "worker"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    times = []
    run = int(time.time())
    try:
        time.sleep(3)  # let the worker start (import, open the index)
        if worker.poll() is not None:
            raise SystemExit(f"worker died: {worker.stderr.read().decode()[-2000:]}")
        with app.app_context():
            app.config["SEARCH_APPLY_IN_REQUEST"] = False
            for i in range(rounds):
                slug = f"bench-worker-{run}-{i}"
                _bench_case(app, slug, f"Worker case {i}")
                started = time.perf_counter()
                while True:
                    with app.extensions["search"].searcher() as searcher:
                        found = searcher.document_number(id=slug) is not None
                    if found:
                        break
                    if time.perf_counter() - started > 30:
                        raise SystemExit("publish → findable took over 30 s")
                    time.sleep(0.005)
                times.append((time.perf_counter() - started) * 1000)
                time.sleep(random.Random(i).uniform(0.05, 0.5))  # arrive at random points of the worker's sleep
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    return percentiles(times)



# --------------------------------------------------------------------------------------------------------------
# Report


def fmt_ms(p: dict) -> str:
    return f"{p['p50']:.0f} / {p['p95']:.0f} / {p['p99']:.0f}" if p["p50"] >= 10 else \
        f"{p['p50']:.1f} / {p['p95']:.1f} / {p['p99']:.1f}"


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def fmt_ratio(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}×"


def ratios(results: dict) -> dict:
    q = results["queries"]
    out = {kind: {"app_fts5_p50": ratio(q["app"][kind]["p50"], q["fts5"][kind]["p50"]),
                  "app_fts5_p95": ratio(q["app"][kind]["p95"], q["fts5"][kind]["p95"]),
                  "app_whoosh_p50": ratio(q["app"][kind]["p50"], q["whoosh"][kind]["p50"]),
                  "app_whoosh_p95": ratio(q["app"][kind]["p95"], q["whoosh"][kind]["p95"])}
           for kind in (*KINDS, "all")}
    out["reindex_vs_stock_docs_per_s"] = ratio(results.get("reindex_docs_per_s"), results.get("stock_build_docs_per_s"))
    out["import_vs_stock_docs_per_s"] = ratio(results.get("import_docs_per_s"), results.get("stock_build_docs_per_s"))
    return out


def markdown(results: dict) -> str:
    """The two tables of a run: latency per query kind, then builds, memory, sizes and load."""
    q, r = results["queries"], results["ratios"]
    lines = [f"{results['docs']:,} cases, {results['queries_per_kind']} queries per kind, {results['database']}, "
             f"{results['date']}, {results['cpus']} CPUs; whole requests through gunicorn (1 sync worker) against "
             "in-process FTS5 and stock Whoosh, interleaved; ms are p50 / p95 / p99.", "",
             "| kind | app | FTS5 | stock Whoosh | app ÷ FTS5 p50 | app ÷ FTS5 p95 | app ÷ Whoosh p50 "
             "| median total app / FTS5 / Whoosh |",
             "| --- | --- | --- | --- | ---: | ---: | ---: | --- |"]
    for kind in (*KINDS, "all"):
        totals = " / ".join(f"{q[e][kind]['median_total']:g}" for e in ENGINES) if kind != "all" else ""
        lines.append(f"| {kind} | {fmt_ms(q['app'][kind])} | {fmt_ms(q['fts5'][kind])} | "
                     f"{fmt_ms(q['whoosh'][kind])} | {fmt_ratio(r[kind]['app_fts5_p50'])} | "
                     f"{fmt_ratio(r[kind]['app_fts5_p95'])} | {fmt_ratio(r[kind]['app_whoosh_p50'])} | {totals} |")
    if "repeat" in results:
        lines.append(f"| repeat (plain again, app only) | {fmt_ms(results['repeat'])} | | | | | | |")

    def rate(key: str, seconds: str) -> str:
        if key not in results:
            return "not run"
        reused = results.get("baselines_reused" if key.startswith(("stock", "fts5")) else "database_reused")
        return f"{results[key]:.0f} docs/s ({results[seconds]:.0f} s){', an earlier run (--reuse)' if reused else ''}"

    rss = results.get("worker_rss_kib", {})
    raw = results["raw_text_bytes"]
    lines += ["", "| figure | value |", "| --- | --- |",
              f"| `flask cases import` incl. indexing | {rate('import_docs_per_s', 'import_total_seconds')} |",
              f"| `flask search reindex` | {rate('reindex_docs_per_s', 'reindex_seconds')} |",
              f"| stock Whoosh build (procs={results.get('stock_procs')}) | "
              f"{rate('stock_build_docs_per_s', 'stock_build_seconds')} |",
              f"| reindex ÷ stock build | {fmt_ratio(r['reindex_vs_stock_docs_per_s'])} |",
              f"| import ÷ stock build | {fmt_ratio(r['import_vs_stock_docs_per_s'])} |",
              f"| FTS5 build | {rate('fts5_build_docs_per_s', 'fts5_build_seconds')} |",
              f"| RSS of the gunicorn worker, searcher warm (peak) | "
              f"{rss.get('VmRSS', 0) / 1024:.0f} MB ({rss.get('VmHWM', 0) / 1024:.0f} MB): "
              f"{rss.get('RssAnon', 0) / 1024:.0f} MB private, {rss.get('RssFile', 0) / 1024:.0f} MB mapped index "
              "and library pages (shared, reclaimable) |",
              f"| app index / raw text | {results['index_bytes'] / 1e6:.0f} MB / {raw / 1e6:.0f} MB = "
              f"{results['index_bytes'] / raw:.2f}× ({results['index_segments']} segments) |",
              f"| stock Whoosh index | {results['stock_index_bytes'] / 1e6:.0f} MB |",
              f"| FTS5 table (dbstat) | {results['fts5_bytes'] / 1e6:.0f} MB |",
              f"| load average (1/5/15 min) at start → end of run | {results['load_start']} → {results['load_end']} |",
              f"| load average during the queries | {results['load_queries_start']} → "
              f"{results['load_queries_end']} |"]
    for key, label in (("updates", None), ("read_your_writes", "publish → next search request"),
                       ("worker", "publish → findable, worker running")):
        if key in results and key == "updates":
            lines.append(f"| add one case, outbox → commit | {fmt_ms(results['updates']['add'])} ms |")
            lines.append(f"| update one case | {fmt_ms(results['updates']['update'])} ms |")
        elif key in results:
            lines.append(f"| {label} | {fmt_ms(results[key])} ms |")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------------------------
# Main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=10_000, help="case studies in the corpus (1k–100k)")
    parser.add_argument("--queries", type=int, default=200, help="queries per kind")
    parser.add_argument("--workdir", default="/tmp/search-bench", help="database, indexes and results go here")
    parser.add_argument("--database-url", default="", help="PostgreSQL URL (a schema bench_<docs>_<seed> is used)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--skip-import", action="store_true",
                        help="bulk-insert the corpus instead of `flask cases import` (quick runs; no import figure)")
    parser.add_argument("--skip-reindex", "--no-reindex", dest="skip_reindex", action="store_true",
                        help="keep the index the import (or, with --reuse, an earlier run) left")
    parser.add_argument("--reuse", action="store_true",
                        help="keep an existing database and baselines of the same size (and the index, with "
                             "--skip-reindex)")
    parser.add_argument("--per-page", type=int, default=10, help="results per page asked of the app (baselines: 10)")
    parser.add_argument("--stock-procs", type=int, default=2, help="writer procs of the stock Whoosh build")
    parser.add_argument("--with-updates", action="store_true",
                        help="also time single-case updates, read-your-writes and the worker (about a minute)")
    args = parser.parse_args(argv)
    if args.skip_import and args.skip_reindex and not args.reuse:
        parser.error("--skip-import needs the reindex (bulk-inserted rows are not in the outbox)")
    Path(args.workdir).mkdir(parents=True, exist_ok=True)
    results: dict = {"docs": args.docs, "seed": args.seed, "queries_per_kind": args.queries,
                     "database": database_url(args).split("?")[0], "per_page": args.per_page,
                     "date": datetime.now(UTC).isoformat(timespec="seconds"), "cpus": os.cpu_count(),
                     "load_start": load_average()}
    work = Path(args.workdir)

    def save() -> None:  # after each phase: a long run that stops halfway keeps what it measured
        (work / "results.json").write_text(json.dumps(results, indent=2, default=str))

    results.update(prepare(args))
    save()
    if not args.skip_reindex:
        results.update(reindex(args))
        save()
    fts, stock, info = baselines(args)
    results.update({k: v for k, v in info.items() if k not in ("docs", "seed")})
    save()
    app = make_app(args)
    with app.app_context():
        search = app.extensions["search"]
        current = search.current_dir()
        if current is None:
            raise SystemExit("no search index: run without --skip-reindex")
        results["index_bytes"] = dir_bytes(current)
        results["index_segments"] = len(search.open()._segments())
    results["stock_index_bytes"] = stock.size_bytes()
    results["fts5_bytes"] = fts.size_bytes()
    log(f"index: app {results['index_bytes'] / 1e6:.0f} MB, stock Whoosh {results['stock_index_bytes'] / 1e6:.0f} "
        f"MB, FTS5 {results['fts5_bytes'] / 1e6:.0f} MB; raw text {results['raw_text_bytes'] / 1e6:.0f} MB")

    queries = build_queries(args, app)
    measured = {json.dumps(p, sort_keys=True) for v in queries.values() for p in v}
    warmup = {kind: [p for p in v if json.dumps(p, sort_keys=True) not in measured]
              for kind, v in build_queries(args, app, n=3, salt=99).items()}
    server = Gunicorn(args)
    try:
        log(f"gunicorn (pid {server.proc.pid}) on port {server.port}; "
            f"{sum(len(v) for v in queries.values())} queries × 3 engines, interleaved")
        started = time.perf_counter()
        cold = server.search({"q": "бюджет"})[0]
        results["app_cold_first_request_ms"] = cold
        results["load_queries_start"] = load_average()
        calls = engine_calls(server, fts, stock, args.per_page)
        results["queries"] = run_interleaved(calls, queries, warmup)
        results["load_queries_end"] = load_average()
        results["repeat"] = percentiles([calls["app"](p)[0] for p in queries["plain"][:50]])
        results["worker_rss_kib"] = proc_status(server.worker_pid())
        log(f"queries done in {time.perf_counter() - started:.0f} s")
    finally:
        server.stop()
    fts.conn.close()
    stock.close()
    save()
    if args.with_updates:
        results["updates"] = measure_updates(app, args)
        results["read_your_writes"] = measure_read_your_writes(app, args)
        results["worker"] = measure_worker(app, args)
    results["load_end"] = load_average()
    results["ratios"] = ratios(results)
    table = markdown(results)
    save()
    (work / "results.md").write_text(table)
    print(table)
    log(f"results written to {work / 'results.json'} and {work / 'results.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
