"""Which documents match a search, and in what order: the Whoosh query built from the parsed clauses (field
variants, thesaurus concepts and places (:mod:`~app.search.expansion`), exact phrases, exclusions, the OR
relaxation), the filters as boolean arrays, one evaluation of the query tree over arrays
(:mod:`~app.search.vector`; Whoosh's matchers for a tree it does not know, cut at ``SEARCH_TIME_LIMIT``),
remembered per searcher, totals, the top of the ranking for the requested page, and the facet counts.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
from flask import current_app
from whoosh.query import And
from whoosh.query import Every
from whoosh.query import Not
from whoosh.query import Or
from whoosh.query import Term
from whoosh.query.wrappers import ConstantScoreQuery

from app.search import docsets
from app.search import vector
from app.search.analysis import TOKEN_PATTERN
from app.search.analysis import guess_language
from app.search.analysis import normalize
from app.search.analysis import stems
from app.search.expansion import CONCEPT
from app.search.expansion import PLACE
from app.search.expansion import Expansion
from app.search.expansion import expand
from app.search.expansion import same_form_family
from app.search.parsing import Clause
from app.search.parsing import SearchParams
from app.search.phrase import ExactPhrase
from app.search.phrase import InflectedPhrase
from app.search.ranking import AndMaybe
from app.search.ranking import numeric_values
from app.search.ranking import ranked

TEXT_FIELDS = ("title", "text")  # the title, and the rest of a case's text (parts weighted: documents.PART_BOOSTS)
TITLE_FIELDS = ("title",)  # `title:` queries
VARIANTS = ("exact", "stem", "fold")
# An expansion's weight against the query's own words (matched in all three variants, it only in the fold one):
# a concept's labels in other languages well below, another spelling of the same place nearly level.
EXPANSION_BOOSTS = {CONCEPT: 0.5, PLACE: 1.5}
INFLECTED_PHRASE_BOOST = 0.6  # a quoted phrase in other forms of its words: below the exact forms
FILTER_FIELDS = {"region": "region", "topic": "topics", "level": "level", "language": "language",
                 "status": "status", "evidence": "evidence"}


# --------------------------------------------------------------------------------------------------------------
# Whoosh queries


def _analyze(schema, fieldname: str, text: str) -> list[str]:
    return list(dict.fromkeys(t.text for t in schema[fieldname].analyzer(text)))


def _alternative_query(fields, phrase, key: str) -> object:
    """One alternative phrase of an expansion in the fold variant of ``fields``: a word as any of its folded
    terms; several words, for a thesaurus label (with its phrase ``key``), only where they are adjacent, i.e. where
    the index has the key; for a place spelling (no key), all its words."""
    parts = []
    for f in fields:
        positions = [Or([Term(f"{f}_fold", t) for t in alts]) for alts in phrase]
        if len(positions) == 1:
            parts.append(positions[0])
        elif key:
            # The key decides the match (the fold fields have no positions: "a public report … a council" has both
            # words and is no public council); the words still score, so a text that goes on to say "the council"
            # ranks as it did.
            parts.append(And([Term(f"{f}_fold", key), *positions]))
        else:
            parts.append(And(positions))
    return Or(parts)


def _word_query(schema, clause: Clause):
    """An OR over the field variants of one word (exact boosted by the schema)."""
    fields = TITLE_FIELDS if clause.title_only else TEXT_FIELDS
    parts = []
    for f in fields:
        for variant in VARIANTS:
            name = f"{f}_{variant}"
            terms = _analyze(schema, name, clause.text)
            parts.extend(Term(name, t) for t in terms)
    return Or(parts) if parts else None


def _phrase_query(schema, clause: Clause):
    fields = TITLE_FIELDS if clause.title_only else TEXT_FIELDS
    words = [normalize(w) for w in TOKEN_PATTERN.findall(clause.text)]
    # The words in order, exact forms first (they match both), then any of their inflections.
    prefixes = [min((s for s in stems(w) if len(s) >= 2), key=len, default="") for w in words]
    query = Or([*(ExactPhrase(f"{f}_exact", words) for f in fields),
                *(InflectedPhrase(f"{f}_exact", words, prefixes, same_form_family, boost=INFLECTED_PHRASE_BOOST)
                  for f in fields)])
    if clause.negated:
        return query
    # A phrase that is a thesaurus label as a whole also finds the concept's labels in the other languages.
    named = [e for e in expand(words) if e.kind == CONCEPT and e.start == 0 and e.end == len(words)]
    if named:
        query = Or([query, _expansion_query(fields, named[0])])
    return query


def _expansion_query(fields, expansion: Expansion):
    """The other ways of saying an expansion's words, scored below the words themselves (``EXPANSION_BOOSTS``)."""
    return Or([_alternative_query(fields, p, key) for p, key in expansion.alternatives()],
              boost=EXPANSION_BOOSTS[expansion.kind])


def _is_stop_word(schema, text: str) -> bool:
    return not _analyze(schema, "text_stem", text)


class Unscored(ConstantScoreQuery):
    """A query that only filters (every match scores 0), and survives ``normalize()`` inside an ``Or``."""

    boost = 1.0  # CompoundQuery.normalize() reads it when it flattens nested ORs

    def __init__(self, child):
        super().__init__(child, score=0.0)

    def _rewrap(self, child):
        return self.__class__(child)


@dataclass(frozen=True)
class _Untranslated:
    """A word that names no concept or place: the texts of the languages it may be written in must have it;
    the others (nothing translates it) only score higher with it (see ``_settle``)."""

    query: object
    languages: tuple[str, ...]


WORD_LANGUAGES = {"kk": ("kk",), "ru": ("ru", "kk"), "en": ("en",)}  # Cyrillic without Kazakh letters: either


def _plain_word(schema, clause: Clause):
    query = _word_query(schema, clause)
    languages = WORD_LANGUAGES.get(guess_language(clause.text))
    return _Untranslated(query, languages) if query is not None and languages else query


def _settle(units: list) -> list:
    """The units as queries: an untranslated word beside a unit that crosses languages is required only of texts
    in its own languages ("flood preparedness": a Russian text on "подготовка к паводкам" is found by "flood",
    "preparedness" has no translation); when nothing beside it crosses, it is required of every text."""
    crossing = any(u is not None and not isinstance(u, _Untranslated) for u in units)
    out = []
    for u in units:
        if isinstance(u, _Untranslated):
            if crossing:
                others = Not(Or([Term("language", lang) for lang in u.languages]))
                u = Or([u.query, Unscored(others)])
            else:
                u = u.query
        if u is not None:
            out.append(u)
    return out


def _span_units(schema, words: list[Clause], longest: int | None = None,
                word_by_word: bool = False) -> tuple[list, list]:
    """(required, optional) units of consecutive words (see ``_units``); labels of at most ``longest`` words.
    Untranslated words are left as :class:`_Untranslated` for the caller to ``_settle``."""
    required, places = [], []
    done = 0
    for expansion in expand([c.text for c in words], longest=longest):
        required.extend(_plain_word(schema, c) for c in words[done:expansion.start])
        span = words[expansion.start:expansion.end]
        if word_by_word and len(span) > 1 and expansion.kind == CONCEPT:
            inner, inner_places = _span_units(schema, span, longest=expansion.end - expansion.start - 1,
                                              word_by_word=True)
            own = _settle(inner + inner_places)
        else:
            own = [q for q in (_word_query(schema, c) for c in span) if q is not None]
        own_query = own[0] if len(own) == 1 else And(own) if own else None
        alternatives = _expansion_query(TEXT_FIELDS, expansion) if expansion.phrases else None
        unit = Or([q for q in (own_query, alternatives) if q]) if alternatives else own_query
        (places if expansion.kind == PLACE else required).append(unit)
        done = expansion.end
    required.extend(_plain_word(schema, c) for c in words[done:])
    return required, places


def _units(schema, clauses: list[Clause], word_by_word: bool = False) -> tuple[list, list]:
    """(the queries every match must satisfy, the optional ones): one query per unit of meaning, a word, or the
    words that name a concept or a place, with the other ways of saying it (the concept's labels in the other
    languages, the place's other spellings and former names).

    ``word_by_word``: a concept of several words is also found by its shorter concepts and words, each as it may
    be said in any language ("сельская библиотека": "ауыл кітапханасы" is not the label "ауылдық кітапхана",
    but its words are those of "сельский" and "библиотека"). A relaxation only: translated word by word, the
    words may stand apart ("a public report … a council" is no public council).

    Places are returned apart, for :func:`build_query` to require them or not."""
    words = [c for c in clauses if not c.phrase and not c.title_only]
    required, places = _span_units(schema, words, word_by_word=word_by_word)
    required.extend(_phrase_query(schema, c) if c.phrase else _word_query(schema, c)
                    for c in clauses if c.phrase or c.title_only)
    return _settle(required), [q for q in places if q is not None]


MOST_MIN_UNITS = 3  # "all but one" relaxes queries of at least this many units


RELAXATIONS = ("words", "elsewhere", "most", "or")
"""The modes of :func:`build_query` after "and", from the closest to the loosest (see ``query._relax``)."""


def build_query(schema, clauses: list[Clause], mode: str = "and"):
    """The Whoosh query of ``clauses`` (None: match everything; for a relaxation: nothing to relax).

    ``mode``:

    * "and": every unit (a word, or a concept or place with its other names) must match;
    * "words": the same, with multi-word concepts also translated word by word;
    * "elsewhere": a place named beside other words no longer required: it ranks its own practices first,
      the same practice elsewhere follows ("Oskemen snow removal" → other cities' snow removal);
    * "most": all units but one, for queries of at least ``MOST_MIN_UNITS`` (a practice described without one
      of the query's words, or in a language the thesaurus cannot translate it into), scored by the units it
      has; places optional;
    * "or": any unit.
    """
    positive = [c for c in clauses if not c.negated]
    negative = [c for c in clauses if c.negated]
    content = [c for c in positive if c.phrase or not _is_stop_word(schema, c.text)]
    if not content:
        content = positive  # only stop words: match them as they are (exact fields keep them)
    required, places = _units(schema, content, word_by_word=mode != "and")
    if mode == "words" and (required, places) == _units(schema, content):
        return None
    if mode == "elsewhere" and not (required and places):
        return None
    if mode in ("and", "words") or not required:
        required, places = required + places, []
    excluded = [q for q in ((_phrase_query(schema, c) if c.phrase else _word_query(schema, c)) for c in negative
                            if c.phrase or not _is_stop_word(schema, c.text)) if q]
    if mode == "most":
        if len(required) < MOST_MIN_UNITS:
            return None
        enough = Or([And(required[:i] + required[i + 1:]) for i in range(len(required))])
        query = AndMaybe(Unscored(enough), Or(required))
    elif mode == "or" and len(required) + len(places) > 1:
        query, places = Or(required + places), []
    elif required:
        query = And(required) if len(required) > 1 else required[0]
    elif excluded:
        query = Every()
    else:
        return None
    if places:
        query = AndMaybe(query, Or(places) if len(places) > 1 else places[0])
    if excluded:
        query = And([query, *(Not(q) for q in excluded)])
    # Flattened, with repeated parts once: expansions repeat terms (Алматы's spellings fold alike), and a term
    # listed twice would be scored twice.
    return query.normalize()


# --------------------------------------------------------------------------------------------------------------
# Filters, scores, ranking, facets
#
# Document sets are boolean arrays over the searcher's document numbers, scores one float array: a filter is a
# mask, a total a count, a facet a bincount, the top of the ranking an argpartition.


FACET_FIELDS = {"region": "region", "topic": "topics", "level": "level", "year": "year", "evidence": "evidence"}


def allowed_docs(searcher, params: SearchParams) -> dict[str, np.ndarray]:
    """{filter name: the documents it allows, as a boolean array} (several values of one filter mean OR)."""
    parts: dict[str, np.ndarray] = {}
    for name, values in params.filters.items():
        parts[name] = docsets.mask(searcher, FILTER_FIELDS[name],
                                   [v.lower() if name == "topic" else v for v in values])
    if params.year_from is not None or params.year_to is not None:
        low = params.year_from if params.year_from is not None else -1
        high = params.year_to if params.year_to is not None else 10**9
        years = docsets.value_sets(searcher).get("year", {})
        parts["year"] = docsets.mask(searcher, "year", [y for y in years if low <= int(y) <= high])
    if params.only is not None:
        parts["only"] = _only(searcher, params.only)
    return parts


def _only(searcher, slugs: tuple[str, ...]) -> np.ndarray:
    """The documents of ``slugs`` (``SearchParams.only``), as a boolean array."""
    docs = np.zeros(searcher.doc_count_all(), dtype=bool)
    numbers = [d for d in (searcher.document_number(id=slug) for slug in slugs) if d is not None]
    if numbers:
        docs[numbers] = True
    return docs


def restriction(allowed: dict[str, np.ndarray]) -> np.ndarray | None:
    """The documents every filter allows (None: no filter)."""
    out = None
    for docs in allowed.values():
        out = docs if out is None else out & docs
    return out


def count(docs: np.ndarray) -> int:
    """How many documents the boolean array ``docs`` holds."""
    return int(np.count_nonzero(docs))


def _masked(searcher, docs: np.ndarray, params: SearchParams) -> np.ndarray:
    """``docs`` without the stale slugs of ``params.exclude``."""
    numbers = [d for d in (searcher.document_number(id=slug) for slug in params.exclude) if d is not None]
    if not numbers:
        return docs
    docs = docs.copy()
    docs[numbers] = False
    return docs


_scored_cache: OrderedDict[str, tuple[object, np.ndarray, np.ndarray]] = OrderedDict()
_scored_lock = threading.Lock()
SCORED_CACHE_BYTES = 48 * 1024 * 1024  # all cached (matches, scores) pairs together (9 bytes per document each)


def _scored(searcher, query, minimum: int) -> tuple[np.ndarray, np.ndarray]:
    """(matches, scores) of ``query``: every match (deleted documents never) and its score, in one evaluation of
    the query tree over arrays (:mod:`~app.search.vector`), or, for a tree it does not know, Whoosh's matchers
    (``_score_all``). Remembered per searcher (a changed index means a new searcher, so a stale answer cannot come
    back): the next page, another sort or a facet click on the same words cost no search at all."""
    key = repr(query)
    with _scored_lock:
        cached = _scored_cache.get(key)
        if cached is not None and cached[0]() is searcher:
            _scored_cache.move_to_end(key)
            return cached[1], cached[2]
    try:
        matches, scores = vector.evaluate(searcher, query)
        complete = True
    except vector.Unsupported as exc:
        current_app.logger.debug("search falls back to Whoosh's matchers (%s): %r", exc, query)
        matches, scores, complete = _score_all(searcher, query, minimum)
    matches.flags.writeable = scores.flags.writeable = False  # shared through the cache
    if complete:
        with _scored_lock:
            _scored_cache[key] = (weakref.ref(searcher), matches, scores)  # weak: an old searcher must be free to go
            total = sum(m.nbytes + s.nbytes for _, m, s in _scored_cache.values())
            while total > SCORED_CACHE_BYTES and len(_scored_cache) > 1:
                _, m, s = _scored_cache.popitem(last=False)[1]
                total -= m.nbytes + s.nbytes
    return matches, scores


def _score_all(searcher, query, minimum: int) -> tuple[np.ndarray, np.ndarray, bool]:
    """(matches, scores, complete) of ``query`` through Whoosh's matcher tree, posting by posting.

    Scoring stops at ``SEARCH_TIME_LIMIT`` seconds (never before ``minimum`` documents are scored): the rest of
    the matches are still collected, with score 0, so the total and the facets stay exact and only the order of
    a huge result list is approximate (``complete`` False).
    """
    q = ranked(query)
    context = searcher.context(needs_current=False)
    deadline = time.monotonic() + current_app.config.get("SEARCH_TIME_LIMIT", 0.5)
    matches = np.zeros(searcher.doc_count_all(), dtype=bool)
    scores = np.zeros(searcher.doc_count_all())
    seen = 0
    late = False
    for subsearcher, offset in searcher.leaf_searchers():
        matcher = q.matcher(subsearcher, context)
        deleted = subsearcher.reader().is_deleted
        while matcher.is_active():
            docnum = matcher.id()
            if not deleted(docnum):  # Whoosh's InverseMatcher may let one through
                matches[offset + docnum] = True
                seen += 1
                if not late:
                    scores[offset + docnum] = matcher.score()
                    if not seen & 255 and seen >= minimum and time.monotonic() > deadline:
                        late = True
            matcher.next()
    if late:
        current_app.logger.info("search time limit reached: %r", query)
    return matches, scores, not late


def _top(found: np.ndarray, scores: np.ndarray, limit: int) -> list[int]:
    """The ``limit`` best of ``found``, by score, then by document number."""
    docs = np.flatnonzero(found)
    if len(docs) > limit:
        values = scores[docs]
        cut = len(docs) - limit
        kth = np.partition(values, cut)[cut]  # the limit-th highest score: everything at or above it is a candidate
        docs = docs[values >= kth]
    order = np.lexsort((docs, -scores[docs]))
    return docs[order][:limit].tolist()


_published: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _newest_first(searcher, found: np.ndarray) -> list[int]:
    """``found`` ordered by publication date, newest first (then by document number)."""
    with _scored_lock:
        ranks = _published.get(searcher)
    if ranks is None:
        parts = []
        for leaf, _offset in searcher.reader().leaf_readers():
            if not leaf.doc_count_all():  # an empty index's reader has no columns at all (Whoosh raises)
                continue
            column = leaf.column_reader("published", translate=False)
            parts.append(np.asarray(numeric_values(column, leaf.doc_count_all(), getattr(column, "_default", 0)),
                                    dtype=np.uint64))
        values = np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint64)
        ranks = np.unique(values, return_inverse=True)[1].astype(np.int64)  # dates as ranks: exact, negatable
        with _scored_lock:
            _published[searcher] = ranks
    docs = np.flatnonzero(found)
    return docs[np.lexsort((docs, -ranks[docs]))].tolist()


def facet_counts(searcher, matches: np.ndarray, allowed: dict[str, np.ndarray]) -> dict[str, dict[str, int]]:
    """Facet counts over ``matches``; each facet honours the other facets' filters, not its own."""
    pairs = docsets.value_arrays(searcher)
    facets: dict[str, dict[str, int]] = {}
    for name, fieldname in FACET_FIELDS.items():
        base = matches
        for other, docs in allowed.items():
            if other != name:
                base = base & docs
        counts: dict[str, int] = {}
        if fieldname in pairs:
            values, docnums, codes = pairs[fieldname]
            tally = np.bincount(codes[base[docnums]], minlength=len(values))
            counts = {values[i]: int(tally[i]) for i in np.flatnonzero(tally) if values[i] not in ("", "0")}
        facets[name] = dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
    return facets


def find(searcher, query, params: SearchParams, restriction: np.ndarray | None, limit: int):
    """(every match, those the filters allow, the allowed ones in order, scores) of ``query`` (None: browsing,
    every document, newest first): the two sets as boolean arrays over document numbers, the ranking as a list
    of ``limit`` document numbers (the requested page needs that many), the scores as a float array;
    ``restriction`` is the intersection of the filters (None: unfiltered)."""
    if query is None:  # browsing: no words, every document, newest first
        matches = vector.live(searcher)
        scores = np.zeros(len(matches))
    else:
        matches, scores = _scored(searcher, query, minimum=limit)
    matches = _masked(searcher, matches, params)
    found = matches if restriction is None else matches & restriction
    if query is None or params.sort == "newest":
        return matches, found, _newest_first(searcher, found), scores
    return matches, found, _top(found, scores, limit), scores
