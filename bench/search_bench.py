"""Search benchmark (issue 4): a deterministic synthetic corpus, loaded into a real database, indexed by the real
``flask search reindex`` code path and queried through the real ``GET /api/v1/search`` view.

Run from the repository root::

    .venv/bin/python bench/search_bench.py --docs 10000 --queries 200 --workdir /tmp/search-bench-10k

It prints (and writes to ``<workdir>/results.json``): full-build docs/s, index size on disk against the raw text
size, the RSS of a fresh process holding a searcher after some queries, the latency of applying one added or
updated case (outbox → Whoosh commit), publish → findable with ``flask search worker`` running, and
p50/p95/p99 of whole ``/api/v1/search`` requests (facets, highlights and the database re-check included) per
query kind.

The corpus: ``--docs`` case studies in Russian, Kazakh and English (45/30/25 %), ~700 words each over title,
summary and the five sections, drawn with a Zipf distribution from word lists built from the demo case studies
(``app/case_studies/demo/case_studies.jsonl``), generated inflections of those words and a long tail of
generated rare words; region names appear in the text; topics, regions, levels, statuses, years and publication
dates vary. The same ``--seed`` always gives the same corpus and the same queries.

SQLite (a file in ``--workdir``) by default; ``--database-url postgresql+psycopg://...`` uses a fresh schema of
that database. ``--reuse`` keeps an existing database (and index, with ``--no-reindex``) of the same size, to
measure query-side changes without rebuilding. Nothing is written outside ``--workdir`` (and the schema).
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import json
import math
import os
import random
import statistics
import subprocess
import sys
import time
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path

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
from app.regions.models import Region  # noqa: E402
from app.regions.services import sync_reference_data  # noqa: E402
from app.search.analysis import TOKEN_PATTERN  # noqa: E402
from app.search.analysis import to_latin  # noqa: E402
from config import DevConfig  # noqa: E402

DEMO = ROOT / "app" / "case_studies" / "demo" / "case_studies.jsonl"
SECTIONS = ("problem", "solution", "challenges", "results", "lessons")
LANG_SHARES = (("ru", 0.45), ("kk", 0.30), ("en", 0.25))
ZIPF_S = 1.0
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
        self.docs = docs
        self.seed = seed
        rng = random.Random(seed)
        self.vocab = {lang: Vocabulary(lang, counts, rng) for lang, counts in demo_counts().items()}
        self.regions = regions
        self.akimats = akimats
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
            "ended": started + rng.randint(0, 3) if rng.random() < 0.5 else None,
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

    @property
    def regions_by_id(self) -> dict[int, dict]:
        if not hasattr(self, "_regions_by_id"):
            self._regions_by_id = {r["id"]: r for r in self.regions}
        return self._regions_by_id


def raw_text_bytes(row: dict) -> int:
    return sum(len((row.get(f) or "").encode("utf-8")) for f in ("title", "summary", *SECTIONS))


# --------------------------------------------------------------------------------------------------------------
# Database


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


def make_app(args, **overrides):
    settings = {
        "SQLALCHEMY_DATABASE_URI": database_url(args),
        "SEARCH_INDEX_DIR": str(Path(args.workdir) / "search_index"),
        "UPLOAD_DIR": str(Path(args.workdir) / "uploads"),
        "MAIL_OUTBOX_DIR": str(Path(args.workdir) / "outbox"),
        "RATELIMIT_ENABLED": False,
    }
    settings.update(overrides)
    return create_app(DevConfig, **settings)


def prepare_database(app, args) -> tuple[bool, int]:
    """Create the schema (as the tests do: tables from the models, reference data) and bulk-insert the corpus.

    Returns (loaded now, raw text bytes). With ``--reuse`` an existing database of the right size is kept.
    """
    url = database_url(args)
    if url.startswith("postgresql"):
        schema = f"bench_{args.docs}_{args.seed}"
        admin = sa.create_engine(url.split("?")[0] if "options=" in url else url)
        with admin.begin() as conn:
            exists = conn.scalar(sa.text("SELECT 1 FROM pg_namespace WHERE nspname = :s"), {"s": schema})
            if exists and not args.reuse:
                conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
                exists = False
            if not exists:
                conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        admin.dispose()
    with app.app_context():
        if args.reuse:
            try:
                # Cases added by earlier runs' update/worker phases (bench-add-…) are not counted.
                count = db.session.scalar(sa.select(sa.func.count()).select_from(CaseStudy)
                                          .where(CaseStudy.slug.like("bench-0%")))
                db.session.rollback()
                raw = json.loads((Path(args.workdir) / "corpus.json").read_text())["raw_bytes"]
                if count == args.docs:
                    return False, raw
            except Exception:  # no table or no corpus file yet: load
                db.session.rollback()
        db.drop_all()
        db.create_all()
        sync_reference_data(db.session.connection())
        db.session.commit()
        regions = [dict(r._mapping) for r in db.session.execute(sa.select(
            Region.id, Region.iso_code, Region.name_ru, Region.name_kk, Region.name_en, Region.name_kk_latn))]
        akimats = [dict(r._mapping) for r in db.session.execute(
            sa.select(Akimat.id, Akimat.region_id, Akimat.municipality_id, Akimat.level).order_by(Akimat.id))]
        corpus = Corpus(args.docs, args.seed, regions, akimats)
        raw = 0
        started = time.perf_counter()
        chunk = 1000
        case_table, topic_table = CaseStudy.__table__, CaseTopic.__table__
        for start in range(0, args.docs, chunk):
            rows = [corpus.document(i) for i in range(start, min(args.docs, start + chunk))]
            raw += sum(raw_text_bytes(r) for r in rows)
            result = db.session.execute(sa.insert(case_table).returning(case_table.c.id, case_table.c.slug),
                                        [{k: v for k, v in r.items() if k != "topics"} for r in rows])
            ids = {slug: pk for pk, slug in result}
            db.session.execute(sa.insert(topic_table),
                               [{"case_study_id": ids[r["slug"]], "topic": t} for r in rows for t in r["topics"]])
            db.session.commit()
            if start and start % 10_000 == 0:
                log(f"  loaded {start} documents ({time.perf_counter() - started:.0f} s)")
        log(f"loaded {args.docs} documents into the database in {time.perf_counter() - started:.1f} s")
        (Path(args.workdir) / "corpus.json").write_text(json.dumps({"docs": args.docs, "raw_bytes": raw}))
        return True, raw


# --------------------------------------------------------------------------------------------------------------
# Measurements


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)

    def pick(p: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, math.ceil(p * len(ordered)) - 1))]

    return {"n": len(ordered), "p50": pick(0.50), "p95": pick(0.95), "p99": pick(0.99), "max": ordered[-1],
            "mean": statistics.fmean(ordered)}


def dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def proc_status() -> dict[str, int]:
    """VmRSS, RssAnon, RssFile and VmHWM of this process, in KiB (Linux)."""
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "RssAnon", "RssFile", "VmHWM"):
            out[key] = int(value.split()[0])
    return out


def build_queries(args, app) -> dict[str, list[dict]]:
    """Deterministic query-string dicts per kind, each unique (so a result cache cannot flatter the numbers)."""
    rng = random.Random(args.seed + 7)
    with app.app_context():
        regions = [dict(r._mapping) for r in db.session.execute(sa.select(
            Region.id, Region.iso_code, Region.name_ru, Region.name_kk, Region.name_en, Region.name_kk_latn))]
        sample_ids = sorted(rng.sample(range(args.docs), min(args.docs, 400)))
        texts = db.session.execute(
            sa.select(CaseStudy.language, CaseStudy.solution, CaseStudy.results)
            .where(CaseStudy.slug.in_([f"bench-{i:06d}" for i in sample_ids]))).all()
        db.session.rollback()
    vocab = Corpus.__new__(Corpus)
    vocab_rng = random.Random(args.seed)
    vocab = {lang: Vocabulary(lang, counts, vocab_rng) for lang, counts in demo_counts().items()}
    n = args.queries

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


def run_queries(app, queries: dict[str, list[dict]]) -> dict[str, dict]:
    """Time each request through the Flask test client, kinds interleaved; return percentiles (ms) per kind."""
    client = app.test_client()
    # Warm up: the first request opens the searcher (reported separately as "cold").
    started = time.perf_counter()
    response = client.get("/api/v1/search", query_string={"q": "бюджет"})
    cold = (time.perf_counter() - started) * 1000
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    times: dict[str, list[float]] = {k: [] for k in queries}
    totals: dict[str, list[int]] = {k: [] for k in queries}
    order = [(kind, i) for i in range(max(len(v) for v in queries.values())) for kind in queries
             if i < len(queries[kind])]
    for kind, i in order:
        params = queries[kind][i]
        started = time.perf_counter()
        response = client.get("/api/v1/search", query_string=params)
        times[kind].append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{kind} {params}: HTTP {response.status_code} {response.get_data(as_text=True)[:300]}")
        totals[kind].append(response.get_json()["total"])
    out = {kind: {**percentiles(v), "median_total": statistics.median(totals[kind])} for kind, v in times.items()}
    out["_cold_first_request_ms"] = cold
    # The same plain queries again: what a repeat costs (a result cache, if any, answers these).
    repeat = []
    for params in queries["plain"][:50]:
        started = time.perf_counter()
        client.get("/api/v1/search", query_string=params)
        repeat.append((time.perf_counter() - started) * 1000)
    out["repeat"] = percentiles(repeat)
    return out


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
    """Embedded mode: publish (commit), then the next /api/v1/search request must find it; time that request."""
    times = []
    run = int(time.time())
    client = app.test_client()
    with app.app_context():
        app.config["SEARCH_APPLY_IN_REQUEST"] = False  # the search request itself applies (read-your-writes)
        for i in range(rounds):
            marker = f"zzryw{run}x{i}"
            _bench_case(app, f"bench-ryw-{run}-{i}", f"Read your writes {marker}")
            started = time.perf_counter()
            response = client.get("/api/v1/search", query_string={"q": marker})
            times.append((time.perf_counter() - started) * 1000)
            assert response.get_json()["total"] == 1, response.get_json()
    return percentiles(times)


def measure_worker(app, args, rounds: int = 20) -> dict:
    """Publish → findable with ``flask search worker`` running beside: commit, then poll the process's searcher."""
    env = dict(os.environ, DATABASE_URL=database_url(args), SEARCH_INDEX_DIR=str(Path(args.workdir) / "search_index"),
               SEARCH_APPLY_IN_REQUEST="0", APP_ENV="development", FLASK_APP="wsgi")
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


def rss_probe(args) -> None:
    """In a fresh process: open the app, run the query mix once through the API, print the memory use as JSON."""
    app = make_app(args)
    before = proc_status()
    queries = build_queries(args, app)
    client = app.test_client()
    for kind in KINDS:
        for params in queries[kind][:25]:
            client.get("/api/v1/search", query_string=params)
    print(json.dumps({"before": before, "after": proc_status()}))


def measure_rss(args) -> dict:
    cmd = [sys.executable, __file__, "--rss-probe", "--docs", str(args.docs), "--queries", str(args.queries),
           "--workdir", args.workdir, "--seed", str(args.seed)]
    if args.database_url:
        cmd += ["--database-url", args.database_url]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------------------------------------------
# Main


def fmt_ms(p: dict) -> str:
    return f"{p['p50']:.0f} / {p['p95']:.0f} / {p['p99']:.0f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=10_000, help="case studies in the corpus (1k–100k)")
    parser.add_argument("--queries", type=int, default=200, help="queries per kind")
    parser.add_argument("--workdir", default="/tmp/search-bench", help="database, index and results go here")
    parser.add_argument("--database-url", default="", help="PostgreSQL URL (a schema bench_<docs>_<seed> is used)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--reuse", action="store_true", help="keep an existing database of the same size")
    parser.add_argument("--no-reindex", action="store_true", help="with --reuse: keep the existing index too")
    parser.add_argument("--skip", default="",
                        help="comma-separated phases to skip: build (load only), queries, rss, updates, worker")
    parser.add_argument("--rss-probe", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    Path(args.workdir).mkdir(parents=True, exist_ok=True)
    if args.rss_probe:
        rss_probe(args)
        return 0
    skip = set(filter(None, args.skip.split(",")))
    results: dict = {"docs": args.docs, "seed": args.seed, "database": database_url(args).split("?")[0],
                     "date": datetime.now(UTC).isoformat(timespec="seconds"), "cpus": os.cpu_count()}
    app = make_app(args)
    loaded, raw = prepare_database(app, args)
    results["raw_text_bytes"] = raw
    if "build" in skip:
        log("build skipped (--skip build)")
        return 0
    if not (args.reuse and args.no_reindex and not loaded):
        runner = app.test_cli_runner()
        started = time.perf_counter()
        out = runner.invoke(args=["search", "reindex"])
        elapsed = time.perf_counter() - started
        if out.exit_code != 0:
            raise SystemExit(f"reindex failed: {out.output}\n{out.exception!r}")
        results["build_seconds"] = elapsed
        results["build_docs_per_s"] = args.docs / elapsed
        log(f"reindex: {elapsed:.1f} s, {args.docs / elapsed:.0f} docs/s ({out.output.strip()})")
    with app.app_context():
        current = app.extensions["search"].current_dir()
    results["index_bytes"] = dir_bytes(current)
    results["index_files"] = sum(1 for p in current.iterdir() if p.is_file())
    results["index_vs_raw"] = results["index_bytes"] / raw
    log(f"index: {results['index_bytes'] / 1e6:.0f} MB in {results['index_files']} files, "
        f"raw text {raw / 1e6:.0f} MB ({results['index_vs_raw']:.2f}×)")
    if "queries" not in skip:
        queries = build_queries(args, app)
        results["queries"] = run_queries(app, queries)
        for kind in (*KINDS, "repeat"):
            p = results["queries"][kind]
            log(f"  {kind:8s} p50/p95/p99 {fmt_ms(p)} ms  (n={p['n']}, median total {p.get('median_total', '-')})")
    if "rss" not in skip:
        results["rss"] = measure_rss(args)
        log(f"RSS of a fresh process after queries: {results['rss']['after']}")
    if "updates" not in skip:
        results["updates"] = measure_updates(app, args)
        results["read_your_writes"] = measure_read_your_writes(app, args)
        log(f"add one p50/p95/max {results['updates']['add']['p50']:.0f}/{results['updates']['add']['p95']:.0f}/"
            f"{results['updates']['add']['max']:.0f} ms; update one {fmt_ms(results['updates']['update'])} ms; "
            f"publish → next search request {fmt_ms(results['read_your_writes'])} ms")
    if "worker" not in skip:
        results["worker"] = measure_worker(app, args)
        log(f"publish → findable with the worker p50/p95/max {results['worker']['p50']:.0f}/"
            f"{results['worker']['p95']:.0f}/{results['worker']['max']:.0f} ms")
    with app.app_context():
        results["index_segments"] = len(app.extensions["search"].open()._segments())
    out_path = Path(args.workdir) / "results.json"
    out_path.write_text(json.dumps(results, indent=2, default=str))
    print(json.dumps(results, indent=2, default=str))
    log(f"results written to {out_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
