"""Exact phrase queries that check word positions with integer sets instead of Whoosh's span machinery.

Whoosh 2.7.4 runs a ``Phrase`` as a ``SpanNear2`` query: for every document containing all the words it builds
``Span`` objects for every position of every word and merges them in Python, which made a quoted phrase of
common words ("in the", "и в") the slowest query there is. ``ExactPhrase`` matches the same documents (the words
at consecutive positions, in order) and scores them the same (the sum of the words' term scores, as
``SpanNear2`` does), reading each word's positions once per candidate document.
"""

from __future__ import annotations

from whoosh import matching
from whoosh.matching import IntersectionMatcher
from whoosh.query import Phrase
from whoosh.query import QueryError
from whoosh.query import Term


class ExactPhrase(Phrase):
    """``whoosh.query.Phrase`` with slop 1 (words side by side, in order), matched by :class:`PhraseMatcher`."""

    def __init__(self, fieldname: str, words: list[str], boost: float = 1.0):
        super().__init__(fieldname, words, slop=1, boost=boost)

    def matcher(self, searcher, context=None):
        fieldname = self.fieldname
        if fieldname not in searcher.schema:
            return matching.NullMatcher()
        field = searcher.schema[fieldname]
        if not field.format or not field.format.supports("positions"):
            raise QueryError(f"Phrase search: {fieldname!r} field has no positions")
        reader = searcher.reader()
        leaves = []
        for word in self.words:
            try:
                btext = field.to_bytes(word)
            except ValueError:
                return matching.NullMatcher()
            if (fieldname, btext) not in reader:  # a word that is nowhere: nothing to find
                return matching.NullMatcher()
            leaves.append(Term(fieldname, btext).matcher(searcher, context))
        if len(leaves) == 1:
            return leaves[0]
        m = PhraseMatcher(leaves)
        return matching.WrappingMatcher(m, boost=self.boost) if self.boost != 1.0 else m


def _intersection(leaves: list) -> matching.Matcher:
    m = leaves[0]
    for leaf in leaves[1:]:
        m = IntersectionMatcher(m, leaf)
    return m


class PhraseMatcher(matching.WrappingMatcher):
    """The documents of an intersection of term matchers (``leaves``, in phrase order) where the words stand at
    consecutive positions; the score is the intersection's (the sum of the term scores)."""

    def __init__(self, leaves: list, boost: float = 1.0):
        super().__init__(_intersection(leaves), boost=boost)
        self.leaves = leaves
        self._find()

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.leaves!r})"

    def _in_sequence(self) -> bool:
        starts = set(self.leaves[0].value_as("positions"))
        for offset, leaf in enumerate(self.leaves[1:], start=1):
            positions = set(leaf.value_as("positions"))
            starts = {p for p in starts if p + offset in positions}
            if not starts:
                return False
        return True

    def _find(self) -> None:
        child = self.child
        while child.is_active() and not self._in_sequence():
            child.next()

    def copy(self):
        return self.__class__([leaf.copy() for leaf in self.leaves], boost=self.boost)

    def replace(self, minquality=0):
        return self if self.child.is_active() else matching.NullMatcher()

    def supports_block_quality(self) -> bool:
        return False  # the intersection's blocks may hold no phrase at all

    def all_ids(self):
        while self.is_active():
            yield self.id()
            self.next()

    def next(self):
        self.child.next()
        self._find()

    def skip_to(self, id):
        self.child.skip_to(id)
        self._find()
