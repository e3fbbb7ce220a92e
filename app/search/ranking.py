"""Ranking: BM25F over the weighted field variants, times a mild per-document prior.

How a case study's score is made up (see :func:`app.search.index.case_schema` for the fields):

* **Field weights.** Two text fields, each indexed three times (exact, stem, fold, see
  :mod:`app.search.analysis`): the title (weight 4) and the rest of the text, whose parts are weighted
  (``PART_BOOSTS`` of :mod:`app.search.documents`: summary 2 > sections 1 = places 1 > attachments 0.5): each
  occurrence of a term adds its part's weight to the term's weighted frequency, times ``VARIANT_BOOSTS[variant]``
  (exact > stem > fold), and BM25 saturates that sum (K1) with one length normalisation, as BM25F defines it
  (Robertson et al.); the title's score is added, so a title match counts more than a body match, but a word
  repeated in a long body cannot drown out the title.
* **Exact forms above stems above folds.** A query word is an OR over the three variants, so a document
  with the exact form matches the exact, the stem *and* the fold variant (three scores added), a different
  inflection only the stem and the fold, and another script or a missing diacritic only the fold. The
  variant weights widen the gap further.
* **Prior.** Every BM25F term score of a document is multiplied by the document's prior (so the whole score
  is): 1.00, plus 0.10 for an implemented or 0.15 for a scaled practice, plus 0.03 per region that adopted it
  (at most five count). At most ×1.30: it orders near-ties (a proven practice before an idea on the same
  subject), never a weak match above a strong one. Discontinued practices get no penalty: what went wrong is
  exactly what peers come to learn. The prior is stored per document in the ``prior`` column, as a percentage
  (an integer: Whoosh 2.7.4 has no reliable float columns); a document without one counts as 100.

The prior is applied inside the scorers, and their quality bounds are raised by the largest possible prior,
so Whoosh's block-skipping optimisation stays correct (and enabled). The scorers read field lengths and priors
from arrays loaded once per segment (relying on Whoosh 2.7.4's column and codec internals, pinned; another
reader falls back to Whoosh's own per-posting reads).
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Sequence

from whoosh.columns import NumericColumn
from whoosh.fields import COLUMN
from whoosh.matching import AndMaybeMatcher
from whoosh.matching import ReadTooFar
from whoosh.query import AndMaybe as WhooshAndMaybe
from whoosh.query import WeightingQuery
from whoosh.scoring import BM25F
from whoosh.scoring import BaseScorer
from whoosh.scoring import BM25FScorer
from whoosh.util.numeric import byte_to_length

from app.search.whoosh_internals import has_length_columns
from app.search.whoosh_internals import length_column

PRIOR_FIELD = "prior"
BASE_PRIOR = 100
STATUS_PRIOR = {"implemented": 10, "scaled": 15}
ADOPTION_PRIOR = 3
MAX_COUNTED_ADOPTIONS = 5
MAX_PRIOR = BASE_PRIOR + max(STATUS_PRIOR.values()) + ADOPTION_PRIOR * MAX_COUNTED_ADOPTIONS


def prior_column() -> COLUMN:
    """The schema field holding each document's prior (percent; 100 when absent)."""
    return COLUMN(NumericColumn("H", default=BASE_PRIOR))


def case_prior(status: str | None, adoptions: int) -> int:
    """The prior of a case study, in percent: 100 + status bonus + 3 per adopting region (at most 5 count).

    :param status: the practice's status (idea, pilot, implemented, scaled, discontinued).
    :param adoptions: how many akimats adopted, adapted or are piloting it (abandoned ones excluded).
    """
    return BASE_PRIOR + STATUS_PRIOR.get(status or "", 0) + ADOPTION_PRIOR * min(max(adoptions, 0),
                                                                                  MAX_COUNTED_ADOPTIONS)


class _PriorScorer(BaseScorer):
    """Wraps a scorer: the score times the document's prior; quality bounds times the largest prior."""

    def __init__(self, inner: BaseScorer, priors):
        self.inner = inner
        self.priors = priors

    def supports_block_quality(self) -> bool:
        return self.inner.supports_block_quality()

    def score(self, matcher) -> float:
        return self.inner.score(matcher) * self.priors[matcher.id()] / BASE_PRIOR

    def max_quality(self) -> float:
        return self.inner.max_quality() * MAX_PRIOR / BASE_PRIOR

    def block_quality(self, matcher) -> float:
        return self.inner.block_quality(matcher) * MAX_PRIOR / BASE_PRIOR


class PriorBM25Scorer(_PriorScorer):
    """Whoosh's BM25F term score (its formula, its statistics) times the prior, with the field lengths and priors
    read from arrays loaded once per segment (:func:`_segment_arrays`) instead of two column reads per posting:
    scoring every matching posting is most of the time of a search."""

    def __init__(self, inner: BM25FScorer, priors, lengths):
        super().__init__(inner, priors)
        self.lengths = lengths
        self.idf, self.avgfl, self.B, self.K1 = inner.idf, inner.avgfl, inner.B, inner.K1

    def score(self, matcher) -> float:
        docnum = matcher.id()
        tf, fl, K1, B = matcher.weight(), self.lengths[docnum], self.K1, self.B
        bm25 = self.idf * ((tf * (K1 + 1)) / (tf + K1 * ((1 - B) + B * fl / self.avgfl)))  # scoring.bm25()
        return bm25 * self.priors[docnum] / BASE_PRIOR


class PriorBM25F(BM25F):
    """Whoosh's BM25F (B=0.75, K1=1.2) with every term score multiplied by the document's prior."""

    def scorer(self, searcher, fieldname, text, qf=1):
        inner = super().scorer(searcher, fieldname, text, qf=qf)
        arrays = _segment_arrays(searcher, fieldname)
        if arrays is None:
            priors = _priors(searcher)
            return inner if priors is None else _PriorScorer(inner, priors)
        priors, lengths = arrays
        if isinstance(inner, BM25FScorer) and lengths is not None:
            return PriorBM25Scorer(inner, priors, lengths)
        return _PriorScorer(inner, priors)


def numeric_values(column_reader, count: int, default: int) -> Sequence[int]:
    """All ``count`` values of a Whoosh 2.7.4 ``NumericColumn`` reader as one array, read in one go (its
    ``load()`` reads them one by one); documents past the stored ones get ``default``."""
    try:
        raw = column_reader._dbfile.get(column_reader._basepos, column_reader._fixedlen * column_reader._count)
        values = array(column_reader._typecode)
        values.frombytes(raw)
        if sys.byteorder == "little" and values.itemsize > 1:
            values.byteswap()  # stored big-endian ("!")
    except AttributeError:  # not the reader this was written for: the slow way
        return [column_reader[d] for d in range(count)]
    values.extend([default] * (count - len(values)))
    return values


def _priors(searcher):
    """The prior column of the (segment) searcher's reader, or None when the index has no such field."""
    if PRIOR_FIELD not in searcher.schema:
        return None
    reader = searcher.reader()
    cache = getattr(reader, "_aeex_priors", None)
    if cache is None:
        # Column readers are cheap but not free; a segment reader lives as long as its searcher.
        cache = reader.column_reader(PRIOR_FIELD, translate=False)
        reader._aeex_priors = cache
    return cache


_BYTE_LENGTHS = [byte_to_length(b) for b in range(256)]


def _segment_arrays(searcher, fieldname: str):
    """(priors, field lengths or None) of the segment ``searcher`` reads, as arrays indexed by document number,
    loaded once per segment reader and field; None when the reader is not a plain segment reader."""
    reader = searcher.reader()
    if PRIOR_FIELD not in searcher.schema or not has_length_columns(reader):
        return None
    cache = getattr(reader, "_aeex_arrays", None)
    if cache is None:
        cache = reader._aeex_arrays = {}
    if fieldname not in cache:
        count = reader.doc_count_all()
        if "" not in cache:
            cache[""] = numeric_values(reader.column_reader(PRIOR_FIELD, translate=False), count, BASE_PRIOR)
        lengths = None
        column = length_column(reader, fieldname)
        if column is not None:
            # Whoosh stores a length as one byte (length_to_byte); a document without the field reads 0.
            lengths = [_BYTE_LENGTHS[b] if b else 1 for b in numeric_values(column, count, 0)]
        cache[fieldname] = lengths
    return cache[""], cache[fieldname]


class RankedQuery(WeightingQuery):
    """``query`` scored with :class:`PriorBM25F` (a ``WeightingQuery`` that works and survives rewrites)."""

    def __init__(self, child, weighting=None):
        super().__init__(child, weighting or MODEL)

    def _rewrap(self, child):
        return self.__class__(child, self.weighting)

    def matcher(self, searcher, context=None):
        # Whoosh 2.7.4's WeightingQuery discards the copy that SearchContext.set() returns, so its weighting
        # never takes effect; use the copy.
        context = (context or searcher.context()).set(weighting=self.weighting)
        return self.child.matcher(searcher, context)


class _AndMaybeMatcher(AndMaybeMatcher):
    """Whoosh 2.7.4's ``AndMaybeMatcher``, whose ``skip_to(id)`` moves the optional matcher to ``id`` rather
    than to where the required one landed: inside an intersection (``And`` with an exclusion) the optional part
    then missed documents it matches, depending on the order the tree was walked in."""

    def skip_to(self, id):
        if not self.a.is_active():
            raise ReadTooFar
        moved = self.a.skip_to(id)
        if self.a.is_active() and self.b.is_active():
            moved = self.b.skip_to(self.a.id()) or moved
        return moved


class AndMaybe(WhooshAndMaybe):
    """The documents of ``a``, scored by ``a`` plus ``b`` wherever ``b`` matches too."""

    matcherclass = _AndMaybeMatcher


MODEL = PriorBM25F()
"""The weighting model of relevance-ranked searches."""


def ranked(query):
    """``query`` wrapped so that it is scored with the prior (None stays None)."""
    return None if query is None else RankedQuery(query)
