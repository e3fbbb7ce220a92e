"""The match set and the scores of a whole query tree at once, with numpy arrays instead of Whoosh's matchers.

Whoosh 2.7.4 scores a query one posting at a time through a tree of matcher objects (several Python calls per
posting per tree level, ~12 index terms per query word). Here, per index segment, each term's postings are read
once as arrays (document numbers and weights; word positions only for phrases) and kept in a memory-bounded
cache (a segment's postings never change: deletions are masked), and every node of the tree becomes one array
operation over a dense (matches, scores) pair of the segment's size:

* ``Term``: Whoosh's BM25F × prior (:class:`app.search.ranking.PriorBM25F`, its statistics from the top-level
  searcher, the same formula in the same order of operations), times the term's boost;
* ``Or``: union, scores added; ``And``: intersection, scores added; ``AndMaybe``: the first part's matches, the
  second's scores added where it matches too (our :class:`~app.search.ranking.AndMaybe`: Whoosh's own missed some
  of those inside an intersection); a compound's boost multiplies its sum (a compound of one part is
  that part: Whoosh ignores the boost then);
* ``Not``: the undeleted documents the child does not match, score 1 (Whoosh's ``InverseMatcher``);
  ``Every``: every document, score its boost; ``ConstantScoreQuery`` (our ``Unscored``): the child's matches
  with its score, or 1 where that is 0 (Whoosh's ``ListMatcher`` reads ``all_weights=0`` as "no weights");
* ``ExactPhrase`` / ``InflectedPhrase``: the intersection of the words (each word the union of its forms),
  kept where the words stand at consecutive positions (position arrays, shifted and intersected), scored as the
  sum of the words' term scores times the phrase's boost (a one-word ``ExactPhrase`` is its term, unboosted).

These are the semantics of ``matching._score_all``'s matcher tree (``needs_current=False``);
``tests/unit/test_vector.py`` checks the scores to 1e-9 and the match sets exactly against it. Any other node,
or a scorer other than the array one, raises :class:`Unsupported` and the caller uses Whoosh's matchers.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np
from whoosh.query import And
from whoosh.query import Every
from whoosh.query import Not
from whoosh.query import NullQuery
from whoosh.query import Or
from whoosh.query import Term
from whoosh.query.wrappers import ConstantScoreQuery

from app.search import docsets
from app.search import ranking
from app.search.phrase import ExactPhrase
from app.search.phrase import InflectedPhrase
from app.search.ranking import BASE_PRIOR
from app.search.ranking import MODEL
from app.search.ranking import AndMaybe
from app.search.ranking import PriorBM25Scorer
from app.search.whoosh_internals import deleted_docs
from app.search.whoosh_internals import term_postings
from app.search.whoosh_internals import value_positions


class Unsupported(Exception):
    """A node (or a scorer) the evaluator does not know: use Whoosh's matchers."""


def evaluate(searcher, query) -> tuple[np.ndarray, np.ndarray]:
    """(matches, scores) of ``query`` over ``searcher``'s top-level document numbers: a boolean array (deleted
    documents never match) and a float array (0 where nothing matches).

    :raise Unsupported: the tree has a node the evaluator does not know.
    """
    masks, scores = [], []
    stats: dict = {}
    for leaf, offset in searcher.leaf_searchers():
        if offset != sum(len(m) for m in masks):
            raise Unsupported("segments not contiguous")
        segment = _Segment(leaf, stats)
        mask, score = segment.node(query)
        mask = mask & segment.live
        masks.append(mask)
        scores.append(np.where(mask, score, 0.0))
    if not masks:
        return np.zeros(0, dtype=bool), np.zeros(0)
    return np.concatenate(masks), np.concatenate(scores)


def _member(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Which of ``a`` are in ``b`` (sorted)."""
    if not len(b):
        return np.zeros(len(a), dtype=bool)
    at = np.searchsorted(b, a)
    return b[np.minimum(at, len(b) - 1)] == a


def live(searcher) -> np.ndarray:
    """The undeleted documents of ``searcher``, as a boolean array over its document numbers."""
    out = np.ones(searcher.doc_count_all(), dtype=bool)
    for leaf, offset in searcher.reader().leaf_readers():
        deleted = deleted_docs(leaf)
        if deleted:
            out[offset + np.asarray(deleted, dtype=np.int64)] = False
    return out


# --------------------------------------------------------------------------------------------------------------
# Postings, cached per segment


POSTINGS_CACHE_BYTES = 64 * 1024 * 1024
_lock = threading.Lock()
_postings: OrderedDict[tuple, tuple] = OrderedDict()  # (segment key, field, term) → (ids, weights, values)
_cached_bytes = 0


def _entry_size(entry) -> int:
    ids, weights, positions = entry
    return ids.nbytes + weights.nbytes + (positions[0].nbytes + positions[1].nbytes if positions else 0) + 200


def _read(reader, key, fieldname: str, btext: bytes, values: bool):
    """(ids, weights, positions or None) of one term in one segment, from the cache or the postings file (None
    when the segment has no such term); ``values``: with the positions, as (document numbers, positions), two
    int32 arrays with one entry per occurrence, in document then position order."""
    global _cached_bytes
    ckey = None if key is None else (key, fieldname, btext)
    if ckey is not None:
        with _lock:
            entry = _postings.get(ckey)
            if entry is not None:
                _postings.move_to_end(ckey)
        if entry is not None and (entry[2] is not None or not values):
            return entry
    raw = term_postings(reader, fieldname, btext, values=values)
    if raw is None:
        return None
    ids, weights, vals = raw
    positions = None
    if vals is not None:
        docs, at = value_positions(reader, fieldname, ids, vals)
        positions = (docs.astype(np.int32), at.astype(np.int32))
    entry = (ids, weights, positions)
    for a in (ids, weights, *(positions or ())):
        a.flags.writeable = False  # shared by every search through the cache
    if ckey is not None:
        size = _entry_size(entry)
        if size <= POSTINGS_CACHE_BYTES // 4:
            with _lock:
                old = _postings.pop(ckey, None)
                if old is not None:
                    _cached_bytes -= _entry_size(old)
                _postings[ckey] = entry
                _cached_bytes += size
                while _cached_bytes > POSTINGS_CACHE_BYTES and _postings:
                    _cached_bytes -= _entry_size(_postings.popitem(last=False)[1])
    return entry


def clear_cache() -> None:
    """Forget every cached posting list."""
    global _cached_bytes
    with _lock:
        _postings.clear()
        _cached_bytes = 0


# --------------------------------------------------------------------------------------------------------------
# One segment


class _Segment:
    """The evaluation of query nodes over one segment (``leaf``: its searcher, a child of the top-level one)."""

    def __init__(self, leaf, stats: dict):
        self.leaf = leaf
        self.stats = stats  # {(field, term): (idf, avgfl, B, K1)}, shared by the segments of one evaluation
        self.reader = leaf.reader()
        self.size = self.reader.doc_count_all()
        self.key = docsets.segment_key(self.reader)
        self.live = np.ones(self.size, dtype=bool)
        deleted = deleted_docs(self.reader)
        if deleted:
            self.live[np.asarray(deleted, dtype=np.int64)] = False

    def _empty(self):
        return np.zeros(self.size, dtype=bool), np.zeros(self.size)

    # -- terms

    def _term(self, fieldname: str, btext: bytes, values: bool = False, scored: bool = True):
        """(ids, scores, values) of one term (unboosted; scores all 0 when not ``scored``), or None when the
        segment does not have it."""
        entry = _read(self.reader, self.key, fieldname, btext, values)
        if entry is None:
            return None
        ids, tf, vals = entry
        if not scored:
            return ids, np.zeros(len(ids)), vals
        stats = self.stats.get((fieldname, btext))
        if stats is None:  # the term's statistics come from the top-level searcher: once for all segments
            scorer = MODEL.scorer(self.leaf, fieldname, btext)
            if type(scorer) is not PriorBM25Scorer:
                raise Unsupported(f"scorer {type(scorer).__name__}")
            stats = self.stats[(fieldname, btext)] = (scorer.idf, scorer.avgfl, scorer.B, scorer.K1)
        idf, avgfl, B, K1 = stats
        priors, lengths = self._arrays(fieldname)
        fl = lengths[ids]
        # PriorBM25Scorer.score, term for term and in its order (the same floating-point results)
        bm25 = idf * ((tf * (K1 + 1)) / (tf + K1 * ((1 - B) + B * fl / avgfl)))
        return ids, bm25 * priors[ids] / BASE_PRIOR, vals

    def _arrays(self, fieldname: str):
        """(priors, field lengths) of this segment as numpy arrays: those PriorBM25Scorer reads
        (``ranking._segment_arrays``), converted once per segment reader."""
        cache = getattr(self.reader, "_aeex_numpy", None)
        if cache is None:
            cache = self.reader._aeex_numpy = {}
        arrays = cache.get(fieldname)
        if arrays is None:
            loaded = ranking._segment_arrays(self.leaf, fieldname)
            if loaded is None or loaded[1] is None:
                raise Unsupported(f"no per-segment arrays for {fieldname}")
            arrays = cache[fieldname] = (np.asarray(loaded[0], dtype=np.int64),
                                         np.asarray(loaded[1], dtype=np.int64))
        return arrays

    def _term_bytes(self, q):
        if q.fieldname not in self.leaf.schema:
            return None
        try:
            return self.leaf.schema[q.fieldname].to_bytes(q.text)
        except ValueError:
            return None

    # -- nodes

    def node(self, q, scored: bool = True):
        """(matches, scores) of ``q`` in this segment; ``scored`` False: only the matches count (scores 0)."""
        kind = type(q)
        if kind is Term:
            return self._term_node(q, scored)
        if kind is Or or kind is And:
            return self._compound(q, scored)
        if kind is AndMaybe:
            a_mask, a_score = self.node(q.a, scored)
            _, b_score = self.node(q.b, scored)
            return a_mask, np.where(a_mask, a_score + b_score, 0.0)
        if kind is Not:
            mask, _ = self.node(q.query, scored=False)
            mask = self.live & ~mask
            return mask, mask.astype(np.float64)
        if kind is Every and q.fieldname is None:
            return self.live.copy(), np.where(self.live, float(q.boost or 1.0), 0.0)
        if isinstance(q, ConstantScoreQuery) and type(q).matcher is ConstantScoreQuery.matcher:
            mask, _ = self.node(q.child, scored=False)
            return mask, np.where(mask, float(q.score or 1.0), 0.0)
        if kind is ExactPhrase:
            return self._exact_phrase(q, scored)
        if kind is InflectedPhrase:
            return self._inflected_phrase(q, scored)
        if q is NullQuery:
            return self._empty()
        raise Unsupported(kind.__name__)

    def _term_node(self, q, scored: bool = True):
        mask, score = self._empty()
        btext = self._term_bytes(q)
        if btext is None:
            return mask, score
        term = self._term(q.fieldname, btext, scored=scored)
        if term is not None:
            ids, s, _ = term
            mask[ids] = True
            score[ids] = s * q.boost if q.boost != 1.0 else s
        return mask, score

    def _compound(self, q, scored: bool = True):
        subs = q.subqueries
        if not subs:
            return self._empty()
        if len(subs) == 1:  # CompoundQuery.matcher: the part itself, the compound's boost ignored
            return self.node(subs[0], scored)
        if type(q) is Or:
            if q.minmatch or q.scale:
                raise Unsupported("Or with minmatch or scale")
            mask, score = self._empty()
            for sub in subs:
                if type(sub) is Term:  # the common case, added in place: no arrays of the segment's size
                    btext = self._term_bytes(sub)
                    term = self._term(sub.fieldname, btext, scored=scored) if btext is not None else None
                    if term is not None:
                        ids, s, _ = term
                        mask[ids] = True
                        score[ids] += s * sub.boost if sub.boost != 1.0 else s
                    continue
                m, s = self.node(sub, scored)
                mask |= m
                score += s  # 0 outside its matches, as every node's
        else:
            mask, score = None, None
            for sub in subs:
                m, s = self.node(sub, scored)
                mask = m if mask is None else mask & m
                score = s if score is None else score + s
            score = np.where(mask, score, 0.0)
        return mask, score * q.boost if q.boost != 1.0 else score

    # -- phrases

    def _phrase(self, fieldname: str, words: list[list[bytes]], boost: float, scored: bool):
        """The documents where a term of each ``words[k]`` stands at position p + k (each word: its forms), with
        the sum of the matching forms' term scores times ``boost``."""
        mask, score = self._empty()
        n = self.size
        keys = []
        for k, forms in enumerate(words):
            word_mask = np.zeros(n, dtype=bool)
            word_score = np.zeros(n)
            found = []
            for btext in forms:
                term = self._term(fieldname, btext, values=len(words) > 1, scored=scored)
                if term is None:
                    continue
                ids, s, vals = term
                word_mask[ids] = True
                word_score[ids] += s
                found.append((ids, vals))
            if not found:
                return self._empty()
            mask = word_mask if k == 0 else mask & word_mask
            score = word_score if k == 0 else score + word_score
            keys.append(found)
        if len(words) > 1:
            candidates = mask
            starts = None
            for k, found in enumerate(keys):
                # (document, position - k) of every occurrence in a candidate document, as one sorted int64 key
                parts = []
                for _ids, (docs, at) in found:
                    here = candidates[docs]
                    if here.any():
                        parts.append((docs[here].astype(np.int64) << 32) | (at[here].astype(np.int64) - k + (1 << 31)))
                if not parts:
                    starts = None
                    break
                # one form: already sorted (postings by document, positions ascending); several: never the same key
                keys_k = parts[0] if len(parts) == 1 else np.sort(np.concatenate(parts))
                starts = keys_k if starts is None else starts[_member(starts, keys_k)]
                if not len(starts):
                    break
                candidates = np.zeros(n, dtype=bool)
                candidates[starts >> 32] = True
            mask = np.zeros(n, dtype=bool)
            if starts is not None and len(starts):
                mask[starts >> 32] = True
        score = np.where(mask, score, 0.0)
        return mask, score * boost if boost != 1.0 else score

    def _exact_phrase(self, q, scored: bool):
        fieldname = q.fieldname
        schema = self.leaf.schema
        if fieldname not in schema:
            return self._empty()
        field = schema[fieldname]
        if not field.format or not field.format.supports("positions"):
            raise Unsupported("phrase on a field without positions")
        words = []
        for word in q.words:
            try:
                btext = field.to_bytes(word)
            except ValueError:
                return self._empty()
            if (fieldname, btext) not in self.reader:
                return self._empty()
            words.append([btext])
        if len(words) == 1:  # ExactPhrase.matcher: the term itself, unboosted
            return self._term_node(Term(fieldname, words[0][0]), scored)
        return self._phrase(fieldname, words, q.boost, scored)

    def _inflected_phrase(self, q, scored: bool):
        fieldname = q.fieldname
        schema = self.leaf.schema
        if fieldname not in schema:
            return self._empty()
        field = schema[fieldname]
        words = []
        for word, prefix in zip(q.words, q.prefixes, strict=True):
            forms = q._forms(self.reader, field, word, prefix)
            if not forms:
                return self._empty()
            words.append(forms)
        return self._phrase(fieldname, words, q.boost, scored)
