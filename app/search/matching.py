"""Search queries over the case-study index: parsing, filters, facets, ranking, highlights, "did you mean".

One long-lived Whoosh searcher per process per index generation (refreshed only when ``up_to_date()`` is
false); pending outbox rows are applied first (read-your-writes). Every hit is re-checked against the database:
only published cases are shown, and highlights are built from the database text, never from the index.

Query syntax (Google-like, never an error): words are ANDed (falling back to OR, flagged, when AND finds
nothing), ``"quoted phrases"`` match exact word forms in sequence, ``-word`` excludes, ``title:word`` and
``title:"a phrase"`` restrict to the title. Anything else is treated as words.
"""

from __future__ import annotations

import heapq
import itertools
import re
import threading
import time
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from dataclasses import field
from functools import lru_cache

import sqlalchemy as sa
from flask import current_app
from markupsafe import Markup
from markupsafe import escape
from sqlalchemy.orm import selectinload
from whoosh.query import And
from whoosh.query import Every
from whoosh.query import Not
from whoosh.query import Or
from whoosh.query import Term
from whoosh.support.levenshtein import distance as levenshtein_distance

from app.api import parse_int
from app.case_studies.constants import CASE_LANGUAGES
from app.case_studies.constants import LEVELS
from app.case_studies.constants import STATUSES
from app.case_studies.constants import TOPICS
from app.case_studies.models import CaseStudy
from app.extensions import db
from app.regions.models import Region
from app.search import docsets
from app.search.analysis import ALL_STOP_WORDS
from app.search.analysis import TOKEN_PATTERN
from app.search.analysis import expand_synonyms
from app.search.analysis import fold
from app.search.analysis import normalize
from app.search.analysis import phrase_key
from app.search.analysis import query_positions
from app.search.docmatch import matching_docs
from app.search.index import IndexUnavailable
from app.search.models import SearchOutbox
from app.search.outbox import DOC_CASE
from app.search.phrase import ExactPhrase
from app.search.ranking import ranked

__all__ = ["IndexUnavailable", "SearchParams", "SearchResult", "parse_params", "search"]

TEXT_FIELDS = ("title", "text")  # the title, and the rest of a case's text (parts weighted: documents.PART_BOOSTS)
TITLE_FIELDS = ("title",)  # `title:` queries
VARIANTS = ("exact", "stem", "fold")
FACETS = ("region", "topic", "level", "year")
FILTER_FIELDS = {"region": "region", "topic": "topics", "level": "level", "language": "language",
                 "status": "status"}
SORTS = ("relevance", "newest")
MAX_QUERY_CHARS = 1000
MAX_WORDS = 24
MAX_PER_PAGE = 100
DEFAULT_PER_PAGE = 20
FEW_RESULTS = 3
SNIPPET_CHARS = 240
SCAN_CHARS = 40_000
MAX_STALE = 1000  # masked stale slugs per search (more would only be hidden page by page)


# --------------------------------------------------------------------------------------------------------------
# Parameters


class BadParam(ValueError):
    """One bad request parameter: ``name`` and a readable message."""

    def __init__(self, name: str, message: str):
        super().__init__(message)
        self.name = name
        self.message = message


@dataclass
class SearchParams:
    q: str = ""
    filters: dict[str, list[str]] = field(default_factory=dict)
    year_from: int | None = None
    year_to: int | None = None
    sort: str = "relevance"
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE
    exclude: tuple[str, ...] = ()  # slugs known to be stale in the index (see _stale_slugs): masked out


def _int(args, name: str, problems: list[BadParam], minimum: int | None = None) -> int | None:
    raw = args.get(name, "").strip()
    if not raw:
        return None
    value = parse_int(raw)
    if value is None:
        problems.append(BadParam(name, f"{name} must be an integer"))
        return None
    if minimum is not None and value < minimum:
        problems.append(BadParam(name, f"{name} must be at least {minimum}"))
        return None
    return value


def parse_params(args) -> tuple[SearchParams, list[BadParam]]:
    """Read the query string; return the usable parameters and the problems found (bad values are dropped)."""
    problems: list[BadParam] = []
    params = SearchParams(q=(args.get("q") or "")[:MAX_QUERY_CHARS * 10])
    valid = {
        "region": set(db.session.scalars(sa.select(Region.iso_code))),
        "topic": set(TOPICS),
        "level": set(LEVELS),
        "language": set(CASE_LANGUAGES),
        "status": set(STATUSES),
    }
    for name, allowed in valid.items():
        values = [v for v in args.getlist(name) if v != ""]
        good = list(dict.fromkeys(v for v in values if v in allowed))
        for bad in (v for v in values if v not in allowed):
            problems.append(BadParam(name, f"unknown {name}: {bad[:40]}"))
        if good:
            params.filters[name] = good
    params.year_from = _int(args, "year_from", problems)
    params.year_to = _int(args, "year_to", problems)
    sort = args.get("sort") or "relevance"
    if sort in SORTS:
        params.sort = sort
    else:
        problems.append(BadParam("sort", "sort must be relevance or newest"))
    page = _int(args, "page", problems, minimum=1)
    params.page = page if page is not None else 1
    per_page = _int(args, "per_page", problems, minimum=1)
    params.per_page = min(per_page, MAX_PER_PAGE) if per_page is not None else DEFAULT_PER_PAGE
    return params, problems


# --------------------------------------------------------------------------------------------------------------
# Results


@dataclass
class Hit:
    case: CaseStudy
    score: float
    title: Markup
    snippet: Markup


@dataclass
class SearchResult:
    query: str
    total: int  # published matches, exact: stale index entries are masked (_stale_slugs)
    page: int
    per_page: int
    hits: list[Hit]
    facets: dict[str, dict[str, int]]
    suggestion: str | None
    fallback: bool = False  # AND found nothing: these are OR results

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _apply_pending() -> None:
    """Read-your-writes: apply committed outbox rows before searching (short lock timeout)."""
    ext = current_app.extensions["search"]
    if ext.current_dir() is None:
        return
    pending = db.session.scalar(sa.select(SearchOutbox.id).where(SearchOutbox.done_at.is_(None)).limit(1))
    if pending is None:
        db.session.rollback()
        return
    try:
        ext.apply_all(timeout=0.5)
    except Exception:
        db.session.rollback()
        current_app.logger.exception("applying pending search outbox rows failed")


def _stale_slugs() -> tuple[str, ...]:
    """Slugs the index may still hold although their case is not published (any more): those of pending outbox
    rows (left pending because another writer holds the index lock, or the worker is behind) whose case is now
    a draft, withdrawn or deleted. Searches mask them out, so ``total``, facet counts and pages are exact.

    Differences that bypass the outbox (a restored old index, a hand-edited one) are not known here: such hits
    are still hidden by the database re-check of the shown page (and subtracted from ``total``), and
    ``flask search check`` reports them.
    """
    published = sa.select(CaseStudy.slug).where(CaseStudy.is_published)
    return tuple(db.session.scalars(
        sa.select(SearchOutbox.doc_key).where(SearchOutbox.done_at.is_(None), SearchOutbox.doc_type == DOC_CASE,
                                              SearchOutbox.doc_key.not_in(published))
        .distinct().limit(MAX_STALE)
    ))


# --------------------------------------------------------------------------------------------------------------
# Parsing


@dataclass
class Clause:
    text: str
    phrase: bool = False
    title_only: bool = False
    negated: bool = False


_CLAUSE = re.compile(r'(-?)((?:title:)?)(?:"([^"]*)"|(\S+))', re.IGNORECASE)


def parse_query(q: str) -> list[Clause]:
    """Split a raw query into clauses; never fails. Unbalanced quotes are closed at the end."""
    q = q[:MAX_QUERY_CHARS]
    if q.count('"') % 2:
        q += '"'
    clauses = []
    for m in _CLAUSE.finditer(q):
        negated, prefix, quoted, word = m.group(1) == "-", bool(m.group(2)), m.group(3), m.group(4)
        if quoted is not None:
            words = TOKEN_PATTERN.findall(quoted)
            if len(words) == 1:
                clauses.append(Clause(words[0], title_only=prefix, negated=negated))
            elif words:
                clauses.append(Clause(" ".join(words), phrase=True, title_only=prefix, negated=negated))
            continue
        for token in TOKEN_PATTERN.findall(word):
            clauses.append(Clause(token, title_only=prefix, negated=negated))
    return clauses[:MAX_WORDS]


def _analyze(schema, fieldname: str, text: str) -> list[str]:
    return list(dict.fromkeys(t.text for t in schema[fieldname].analyzer(text)))


def _synonym_query(fields, phrase) -> object:
    """One synonym (a phrase of ``expand_synonyms()``) in the fold variant of ``fields``: a word as any of its
    folded terms; several words only where they are adjacent, i.e. where the index has the member's phrase key."""
    parts = []
    for f in fields:
        positions = [Or([Term(f"{f}_fold", t) for t in alts]) for alts in phrase]
        if len(positions) == 1:
            parts.append(positions[0])
        else:
            # The key decides the match (the fold fields have no positions: "a public report … a council" has both
            # words and is no public council); the words still score, so a text that goes on to say "the council"
            # ranks as it did.
            parts.append(And([Term(f"{f}_fold", phrase_key(phrase)), *positions]))
    return Or(parts)


def _word_query(schema, clause: Clause):
    """An OR over the field variants of one word (exact boosted by the schema), plus its synonyms."""
    fields = TITLE_FIELDS if clause.title_only else TEXT_FIELDS
    parts = []
    for f in fields:
        for variant in VARIANTS:
            name = f"{f}_{variant}"
            terms = _analyze(schema, name, clause.text)
            parts.extend(Term(name, t) for t in terms)
    for phrase in expand_synonyms(clause.text):
        parts.append(_synonym_query(fields, phrase))
    return Or(parts) if parts else None


def _phrase_query(schema, clause: Clause):
    fields = TITLE_FIELDS if clause.title_only else TEXT_FIELDS
    words = [normalize(w) for w in TOKEN_PATTERN.findall(clause.text)]
    return Or([ExactPhrase(f"{f}_exact", words) for f in fields])


def _is_stop_word(schema, text: str) -> bool:
    return not _analyze(schema, "text_stem", text)


def build_query(schema, clauses: list[Clause], mode: str = "and"):
    """The Whoosh query of ``clauses`` (None: match everything). ``mode`` "or" relaxes the positive words."""
    positive = [c for c in clauses if not c.negated]
    negative = [c for c in clauses if c.negated]
    content = [c for c in positive if c.phrase or not _is_stop_word(schema, c.text)]
    if not content:
        content = positive  # only stop words: match them as they are (exact fields keep them)
    subs = [q for q in ((_phrase_query(schema, c) if c.phrase else _word_query(schema, c)) for c in content) if q]
    excluded = [q for q in ((_phrase_query(schema, c) if c.phrase else _word_query(schema, c)) for c in negative
                            if c.phrase or not _is_stop_word(schema, c.text)) if q]
    if subs:
        query = Or(subs) if mode == "or" and len(subs) > 1 else And(subs)
        if mode == "and" and len(subs) > 1:
            # a synonym of the whole query is an alternative, one word or several ("bus card" → "транспортная
            # карта", "Onay"; "Нур-Султан" → "Астана"; "one-stop shop" → "ЦОН")
            text = " ".join(c.text for c in content if not c.phrase)
            whole = query_positions(text)
            syn = expand_synonyms(text)
            covers = any(len(p) == len(whole) and all(set(a) & set(b) for a, b in zip(p, whole, strict=True))
                         for p in syn)
            multi = list(syn) if covers and len(whole) == len(content) else []
            if multi:
                fields = TEXT_FIELDS
                query = Or([query, *(_synonym_query(fields, p) for p in multi)])
    elif excluded:
        query = Every()
    else:
        return None
    if excluded:
        query = And([query, *(Not(q) for q in excluded)])
    return query


# --------------------------------------------------------------------------------------------------------------
# Highlights


def _query_synonyms(clauses: list[Clause]) -> list[tuple[tuple[str, ...], ...]]:
    """Synonyms of the query's words and of the query as a whole ("bus card" → "Onay", "транспортная карта")."""
    return expand_synonyms(" ".join(c.text for c in clauses if not c.negated))


def _query_terms(clauses: list[Clause]) -> set[str]:
    """The folded terms that mark a single word: the query's own words and its one-word synonyms."""
    terms: set[str] = set()
    for c in clauses:
        if c.negated:
            continue
        for alts in query_positions(c.text):
            terms.update(alts)
    for phrase in _query_synonyms(clauses):
        if len(phrase) == 1:
            terms.update(phrase[0])
    return terms


def _query_phrases(clauses: list[Clause]) -> list[tuple[tuple[str, ...], ...]]:
    """Multi-word synonyms of the query ("Онай" → "bus card"): marked only where the whole phrase occurs."""
    return [p for p in _query_synonyms(clauses) if len(p) > 1]


@lru_cache(maxsize=100_000)
def _token_alts(token: str) -> frozenset[str]:
    """All folded terms of one token (empty for a stop word), remembered per process: highlighting analyses
    every word of the shown texts (~700 words a case), and most words recur from one results page to the next."""
    return frozenset(t for position in query_positions(token) for t in position)


_NO_MATCH = frozenset({"\x00"})  # the folded terms of a word known to match no query term: none, but a word
PREFIX = 2
"""Characters of a folded term that decide whether a word may match it (``_Marker``)."""


@lru_cache(maxsize=200_000)
def _word_head(token: str) -> tuple[str, bool]:
    """(the first ``PREFIX`` characters of the token's folded form, whether it is a stop word)."""
    return fold(token)[:PREFIX], normalize(token) in ALL_STOP_WORDS


class _Marker:
    """Marks query words in database text with ``<mark>``: exactly the word's letters (a token of
    ``TOKEN_PATTERN``), never the brackets, quotes or punctuation around it; a multi-word synonym only where all
    its words occur in sequence (stop words between them are skipped, as in the index).

    A word is analysed in full (stems, folds) only if its folded surface form begins as a query term does: a
    word's folded stems are folds of its prefixes (Snowball and the Kazakh stripper remove endings), so they
    share their first letters with the folded word, and most words of a text are skipped with one cached
    look-up (analysing every word of the shown texts was most of the time of a search).
    """

    def __init__(self, terms: set[str], phrases: list[tuple[tuple[str, ...], ...]] | None = None):
        self.terms = terms
        self.phrases = phrases or []
        every = [*terms, *(t for phrase in self.phrases for alts in phrase for t in alts)]
        self.prefixes = frozenset(t[:PREFIX] for t in every)  # a one-letter term is its own prefix
        self.cache: dict[str, frozenset[str]] = {}

    def _alts(self, token: str) -> frozenset[str]:
        """All folded terms of one token (empty for a stop word); a placeholder that matches nothing for a word
        that cannot match (its folded form begins as no query term does)."""
        alts = self.cache.get(token)
        if alts is None:
            head, stop = _word_head(token)
            if head in self.prefixes or head[:1] in self.prefixes:
                alts = _token_alts(token)
            else:
                alts = frozenset() if stop else _NO_MATCH
            self.cache[token] = alts
        return alts

    def matches(self, token: str) -> bool:
        return bool(self.terms and self._alts(token) & self.terms)

    def _spans(self, text: str) -> list[tuple[int, int]]:
        """(start, end) of every token of ``text`` to mark, in order."""
        tokens = list(TOKEN_PATTERN.finditer(text))
        hits = {i for i, m in enumerate(tokens) if self.matches(m.group())}
        if self.phrases:
            content = [(i, alts) for i, alts in ((i, self._alts(m.group())) for i, m in enumerate(tokens)) if alts]
            for phrase in self.phrases:
                width = len(phrase)
                for start in range(len(content) - width + 1):
                    if all(set(phrase[k]) & content[start + k][1] for k in range(width)):
                        hits.update(content[start + k][0] for k in range(width))
        return [tokens[i].span() for i in sorted(hits)]

    def mark(self, text: str) -> Markup:
        out, last = [], 0
        for start, end in self._spans(text):
            out.append(escape(text[last:start]))
            out.append(Markup("<mark>") + escape(text[start:end]) + Markup("</mark>"))
            last = end
        out.append(escape(text[last:]))
        return Markup("").join(out)

    def _first_span(self, text: str) -> list[tuple[int, int]]:
        """[(start, end)] of the first token of ``text`` to mark, or []: all a snippet needs, and analysing every
        word of a long text to find it is what made highlighting the slowest part of a search."""
        for m in TOKEN_PATTERN.finditer(text):
            if self.matches(m.group()):
                return [m.span()]
        return []

    def snippet(self, texts: list[str]) -> Markup:
        """The passage around the first query word in ``texts`` (else the start of the first text)."""
        for text in texts:
            text = re.sub(r"[*_`#>]+", "", text or "")[:SCAN_CHARS]
            spans = self._spans(text) if self.phrases else self._first_span(text)
            if spans:
                first_start, first_end = spans[0]
                start = max(0, first_start - SNIPPET_CHARS // 3)
                if start:
                    space = text.find(" ", start)
                    start = space + 1 if 0 <= space < first_start else start
                end = min(len(text), start + SNIPPET_CHARS)
                if end < len(text):
                    space = text.rfind(" ", first_end, end)
                    end = space if space > first_end else end
                return (Markup("… ") if start else Markup("")) + self.mark(text[start:end]) + (
                    Markup(" …") if end < len(text) else Markup(""))
        first = next((re.sub(r"[*_`#>]+", "", t) for t in texts if t), "")
        return escape(first[:SNIPPET_CHARS]) + (Markup(" …") if len(first) > SNIPPET_CHARS else Markup(""))


# --------------------------------------------------------------------------------------------------------------
# Suggestions


SUGGEST_FIELDS = ("title_exact", "text_exact")  # the vocabulary of "did you mean": the indexed word forms
MAX_EDITS = 2
LONG_WORD = 5
MAX_SCAN = 20_000


def _closest_word(reader, term: str) -> str | None:
    """The word of the index vocabulary closest to ``term`` (Damerau-Levenshtein edits: none for words of up to
    2 letters, 1 up to 5 letters, else ``MAX_EDITS``, Elasticsearch's "AUTO" fuzziness, so that a short word is
    not "corrected" into an unrelated one; ties go to the word in more cases), or None.

    Only words of the same first letter (two for words of ``LONG_WORD`` letters or more) are compared: a typo
    there is rare, and Lucene's spell checker makes the same trade. Whoosh's ``Corrector`` computes the edit
    distance, in Python, to every such word; here words whose length alone puts them too far are skipped first,
    and at most ``MAX_SCAN`` words per field are looked at, so a huge vocabulary cannot make a search slow.
    """
    n = len(term)
    edits_allowed = 0 if n <= 2 else 1 if n <= 5 else MAX_EDITS
    if not edits_allowed:
        return None
    prefix = term[:2] if n >= LONG_WORD else term[:1]
    found: dict[str, tuple[int, int, str]] = {}
    for fieldname in SUGGEST_FIELDS:
        for btext in itertools.islice(reader.expand_prefix(fieldname, prefix), MAX_SCAN):
            word = btext.decode("utf-8")
            if abs(len(word) - n) > edits_allowed or word == term:
                continue
            edits = levenshtein_distance(word, term, limit=edits_allowed)
            if edits <= edits_allowed:
                known = found.get(word, (edits, 0, word))
                found[word] = (edits, known[1] - reader.doc_frequency(fieldname, word), word)
    return min(found.values())[2] if found else None


def _suggest(searcher, clauses: list[Clause]) -> str | None:
    """"Did you mean": each unknown word replaced by the closest word of the index vocabulary."""
    words = [c for c in clauses if not c.negated and not c.phrase][:8]
    if not words:
        return None
    changed = False
    out = []
    for c in clauses:
        text = c.text
        if c in words and len(text) >= 3:
            term = normalize(text)
            if not any(searcher.doc_frequency(f, term) for f in SUGGEST_FIELDS):
                best = _closest_word(searcher.reader(), term)
                if best and best != term:
                    text, changed = best, True
        piece = f'"{text}"' if c.phrase else text
        out.append(("-" if c.negated else "") + ("title:" if c.title_only else "") + piece)
    return " ".join(out) if changed else None


# --------------------------------------------------------------------------------------------------------------
# Search


FACET_FIELDS = {"region": "region", "topic": "topics", "level": "level", "year": "year"}


def _allowed(searcher, params: SearchParams) -> dict[str, object]:
    """{filter name: the document numbers it allows} (several values of one filter mean OR)."""
    sets = docsets.value_sets(searcher)
    parts: dict[str, object] = {}
    for name, values in params.filters.items():
        fieldname = FILTER_FIELDS[name]
        parts[name] = docsets.union(sets.get(fieldname, {}), [v.lower() if name == "topic" else v for v in values])
    if params.year_from is not None or params.year_to is not None:
        low = params.year_from if params.year_from is not None else -1
        high = params.year_to if params.year_to is not None else 10**9
        parts["year"] = docsets.union(sets.get("year", {}), [y for y in sets.get("year", {}) if low <= int(y) <= high])
    return parts


def _masked(searcher, docs, params: SearchParams) -> set[int]:
    """``docs`` (document numbers) without the stale slugs of ``params.exclude``."""
    docs = set(docs)
    for slug in params.exclude:
        docnum = searcher.document_number(id=slug)
        if docnum is not None:
            docs.discard(docnum)
    return docs


_scored_cache: OrderedDict[str, tuple[object, dict[int, float]]] = OrderedDict()
_scored_lock = threading.Lock()
SCORED_CACHE_DOCS = 300_000  # document numbers kept in all cached score maps together (~30 MB)


def _cached_scores(searcher, query) -> dict[int, float] | None:
    """The score map of ``query`` that ``_score_all`` remembered for this searcher, if any."""
    with _scored_lock:
        cached = _scored_cache.get(repr(query))
        if cached is not None and cached[0]() is searcher:
            _scored_cache.move_to_end(repr(query))
            return cached[1]
    return None


def _score_all(searcher, query, minimum: int) -> dict[int, float]:
    """{document number: score} of every document matching ``query`` (deleted ones never): the match set (totals,
    facets) and the ranking in one pass over the postings, where a match set and a separate top-k search took
    two. Remembered per searcher (a changed index means a new searcher, so a stale answer cannot come back), so
    the next page, another sort or a facet click on the same words cost no search at all.

    Scoring stops at ``SEARCH_TIME_LIMIT`` seconds (never before ``minimum`` documents are scored): the rest of
    the matches are still collected, with score 0, so the total and the facets stay exact and only the order of
    a huge result list is approximate. Such a partial answer is not remembered.
    """
    cached = _cached_scores(searcher, query)
    if cached is not None:
        return cached
    q = ranked(query)
    context = searcher.context(needs_current=False)
    deadline = time.monotonic() + current_app.config.get("SEARCH_TIME_LIMIT", 0.5)
    scores: dict[int, float] = {}
    late = False
    for subsearcher, offset in searcher.leaf_searchers():
        matcher = q.matcher(subsearcher, context)
        while matcher.is_active():
            if late:
                scores[offset + matcher.id()] = 0.0
            else:
                scores[offset + matcher.id()] = matcher.score()
                if not len(scores) & 255 and len(scores) >= minimum and time.monotonic() > deadline:
                    late = True
            matcher.next()
    if late:
        current_app.logger.info("search time limit reached: %r", query)
        return scores
    with _scored_lock:
        _scored_cache[repr(query)] = (weakref.ref(searcher), scores)  # weak: an old searcher must be free to go
        total = sum(len(s) for _, s in _scored_cache.values())
        while total > SCORED_CACHE_DOCS and len(_scored_cache) > 1:
            total -= len(_scored_cache.popitem(last=False)[1][1])
    return scores


def _score_docs(searcher, query, docs: set[int]) -> dict[int, float]:
    """{document number: score} of ``query`` for ``docs`` only (documents known to match), found by skipping
    through the postings: a filtered search scores the few documents the filters let through, not every match.
    (A tree of union matchers, which can skip, rather than the array matcher that scores everything.)"""
    q = ranked(query)
    context = searcher.context(needs_current=True)
    scores: dict[int, float] = {}
    wanted = sorted(docs)
    for subsearcher, offset in searcher.leaf_searchers():
        end = offset + subsearcher.doc_count_all()
        local = [d - offset for d in wanted if offset <= d < end]
        if not local:
            continue
        matcher = q.matcher(subsearcher, context)
        for docnum in local:
            if not matcher.is_active():
                break
            if matcher.id() < docnum:
                matcher.skip_to(docnum)
            if matcher.is_active() and matcher.id() == docnum:
                scores[offset + docnum] = matcher.score()
    return scores


def _newest_first(searcher, docs) -> list[int]:
    """``docs`` ordered by publication date, newest first (then by document number)."""
    published = searcher.reader().column_reader("published", translate=False)
    return sorted(docs, key=lambda d: (-published[d], d))


def _facet_counts(searcher, matches: set[int], allowed: dict[str, object]) -> dict[str, dict[str, int]]:
    """Facet counts over ``matches``; each facet honours the other facets' filters, not its own."""
    sets = docsets.value_sets(searcher)
    facets: dict[str, dict[str, int]] = {}
    for name, fieldname in FACET_FIELDS.items():
        others = docsets.intersect([docs for other, docs in allowed.items() if other != name])
        base = matches if others is None else matches & others
        counts = docsets.count(base, sets.get(fieldname, {})) if base else {}
        counts = {key: n for key, n in counts.items() if key not in ("", "0")}
        facets[name] = dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
    return facets


def search(q: str, filters: SearchParams | None = None) -> SearchResult:
    """Run a search for ``q`` with the filters, sort order and page of ``filters`` (a :class:`SearchParams`).

    :raise IndexUnavailable: the index is missing or unreadable.
    """
    params = filters or SearchParams()
    params = SearchParams(q=q or "", filters=dict(params.filters), year_from=params.year_from,
                          year_to=params.year_to, sort=params.sort, page=max(1, params.page),
                          per_page=min(MAX_PER_PAGE, max(1, params.per_page)))
    _apply_pending()
    params.exclude = _stale_slugs()
    with current_app.extensions["search"].searcher() as searcher:
        schema = searcher.schema
        try:
            return _run(searcher, schema, params)
        except IndexUnavailable:
            raise
        except (OSError, EOFError) as exc:
            raise IndexUnavailable(f"the search index cannot be read: {exc}") from exc


def _run(searcher, schema, params: SearchParams) -> SearchResult:
    clauses = parse_query(params.q)
    query = build_query(schema, clauses)
    fallback = False
    newest = params.sort == "newest"
    offset = (params.page - 1) * params.per_page
    doc_count = searcher.doc_count_all()
    limit = max(1, min(offset + params.per_page, doc_count + 1))
    allowed = _allowed(searcher, params)
    restriction = docsets.intersect(list(allowed.values()))

    def run(qry):
        """(every match, those the filters allow, the allowed ones in order, {document number: score})."""
        if qry is None:  # browsing: no words, every document, newest first
            matches = _masked(searcher, searcher.reader().all_doc_ids(), params)
            found = matches if restriction is None else matches & restriction
            return matches, found, _newest_first(searcher, found), {}
        scores = _cached_scores(searcher, qry)
        if scores is None and restriction is None and not newest:
            scores = _score_all(searcher, qry, minimum=limit)  # every match is a candidate: score them all at once
        if scores is not None:
            matches = _masked(searcher, scores, params)
        else:  # filtered, or newest first: the match set unscored, then scores only where they are needed
            matches = _masked(searcher, matching_docs(searcher, qry), params)
        found = matches if restriction is None else matches & restriction
        if newest:
            return matches, found, _newest_first(searcher, found), scores or {}
        if scores is None:
            scores = (_score_all(searcher, qry, minimum=limit) if len(found) * 2 > len(matches)
                      else _score_docs(searcher, qry, found))
        return matches, found, heapq.nsmallest(limit, found, key=lambda d: (-scores.get(d, 0.0), d)), scores

    matches, found, ranking, scores = run(query)
    total = len(found)
    if total == 0 and sum(1 for c in clauses if not c.negated) > 1:
        relaxed = build_query(schema, clauses, mode="or")
        if relaxed is not None:
            attempt = run(relaxed)
            if attempt[1]:
                (matches, found, ranking, scores), total, fallback = attempt, len(attempt[1]), True
    stored = searcher.reader().stored_fields
    shown = [(stored(d)["id"], scores.get(d, 0.0)) for d in ranking[offset:offset + params.per_page]
             ] if offset < total else []
    facets = _facet_counts(searcher, matches, allowed)
    suggestion = _suggest(searcher, clauses) if total < FEW_RESULTS else None

    hits: list[Hit] = []
    if shown:
        cases = {c.slug: c for c in db.session.scalars(
            sa.select(CaseStudy).where(CaseStudy.slug.in_([s for s, _ in shown]),
                                       CaseStudy.is_published)
            .options(selectinload(CaseStudy.region)))}
        marker = _Marker(_query_terms(clauses), _query_phrases(clauses))
        for slug, score in shown:
            case = cases.get(slug)
            if case is None:  # stale hit: withdrawn or deleted since it was indexed
                total -= 1
                continue
            hits.append(Hit(case=case, score=float(score or 0.0), title=marker.mark(case.title),
                            snippet=marker.snippet([case.summary, case.problem, case.solution, case.challenges,
                                                    case.results, case.lessons])))
    return SearchResult(query=params.q, total=max(total, 0), page=params.page, per_page=params.per_page,
                        hits=hits, facets=facets, suggestion=suggestion, fallback=fallback)
