"""Exact phrase queries that check word positions with integer sets instead of Whoosh's span machinery.

``InflectedPhrase`` is the same with each word in any of its inflected forms (the exact-field words of the
index that share a stem with it: "адресной социальной помощи" for "адресная социальная помощь").

Whoosh 2.7.4 runs a ``Phrase`` as a ``SpanNear2`` query: for every document containing all the words it builds
``Span`` objects for every position of every word and merges them in Python, which made a quoted phrase of
common words ("in the", "и в") the slowest query there is. ``ExactPhrase`` matches the same documents (the words
at consecutive positions, in order) and scores them the same (the sum of the words' term scores, as
``SpanNear2`` does), reading each word's positions once per candidate document.
"""

from __future__ import annotations

from whoosh import matching
from whoosh.matching import IntersectionMatcher
from whoosh.matching import UnionMatcher
from whoosh.query import Phrase
from whoosh.query import QueryError
from whoosh.query import Term


class ExactPhrase(Phrase):
    """``whoosh.query.Phrase`` with slop 1 (words side by side, in order), matched by :class:`PhraseMatcher`."""

    def __init__(self, fieldname: str, words: list[str], boost: float = 1.0):
        super().__init__(fieldname, words, slop=1, boost=boost)

    def normalize(self):
        return self  # already minimal (Phrase.normalize would rebuild it with arguments this class does not take)

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


MIN_PREFIX = 3  # the shortest stem whose forms are looked up in the lexicon
MAX_FORMS = 12  # inflected forms per word (a Russian noun has about 12; the rarest forms of a long tail are dropped)


class InflectedPhrase(ExactPhrase):
    """The words side by side and in order, each in any form of the index's ``fieldname`` (an exact field) whose
    stems (``forms_of``: a word → whether a term is one of its forms) meet the word's; matched by
    :class:`AlternativesPhraseMatcher`."""

    def __init__(self, fieldname: str, words: list[str], prefixes: list[str], same_word, boost: float = 1.0):
        super().__init__(fieldname, words, boost=boost)
        self.prefixes = prefixes
        self.same_word = same_word

    def __eq__(self, other):
        return isinstance(other, InflectedPhrase) and super().__eq__(other)

    def __hash__(self):
        return super().__hash__() ^ 1

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.fieldname!r}, {self.words!r})"

    def _forms(self, reader, field, word: str, prefix: str) -> list[bytes]:
        """The index's forms of ``word`` (itself included), the ``MAX_FORMS`` most frequent: each form is a
        posting list to read and, for every candidate document, positions to check."""
        if len(prefix) < MIN_PREFIX:  # a stop word or a short word: only itself (a prefix of 1–2 letters is a scan)
            return [field.to_bytes(word)] if (self.fieldname, field.to_bytes(word)) in reader else []
        forms = []
        for term in reader.expand_prefix(self.fieldname, prefix):
            text = term.decode("utf-8") if isinstance(term, bytes) else term
            if text == word or self.same_word(word, text):
                forms.append(field.to_bytes(text))
        if len(forms) > MAX_FORMS:
            exact = field.to_bytes(word)
            forms.sort(key=lambda f: (f != exact, -reader.doc_frequency(self.fieldname, f)))
            forms = forms[:MAX_FORMS]
        return forms

    def matcher(self, searcher, context=None):
        fieldname = self.fieldname
        if fieldname not in searcher.schema:
            return matching.NullMatcher()
        field = searcher.schema[fieldname]
        reader = searcher.reader()
        unions, alternatives = [], []
        for word, prefix in zip(self.words, self.prefixes, strict=True):
            forms = self._forms(reader, field, word, prefix)
            if not forms:
                return matching.NullMatcher()
            terms = [Term(fieldname, form).matcher(searcher, context) for form in forms]
            union = terms[0]
            for other in terms[1:]:
                union = UnionMatcher(union, other)
            unions.append(union)
            alternatives.append([Term(fieldname, form).matcher(searcher, context) for form in forms])
        m = AlternativesPhraseMatcher(unions, alternatives)
        return matching.WrappingMatcher(m, boost=self.boost) if self.boost != 1.0 else m


class AlternativesPhraseMatcher(PhraseMatcher):
    """:class:`PhraseMatcher` over positions with several terms each: ``unions`` (one matcher per position, the
    union of its terms) find the candidate documents; ``alternatives`` (the same terms, separate matchers moved
    forward alongside) give the positions of whichever forms the document has."""

    def __init__(self, unions: list, alternatives: list[list], boost: float = 1.0):
        self.alternatives = alternatives
        super().__init__(unions, boost=boost)

    def _positions(self, k: int, docnum: int) -> set[int]:
        found: set[int] = set()
        for m in self.alternatives[k]:
            if m.is_active() and m.id() < docnum:
                m.skip_to(docnum)
            if m.is_active() and m.id() == docnum:
                found.update(m.value_as("positions"))
        return found

    def _in_sequence(self) -> bool:
        docnum = self.child.id()
        starts = self._positions(0, docnum)
        for offset in range(1, len(self.leaves)):
            positions = self._positions(offset, docnum)
            starts = {p for p in starts if p + offset in positions}
            if not starts:
                return False
        return True

    def copy(self):
        return self.__class__([leaf.copy() for leaf in self.leaves],
                              [[m.copy() for m in ms] for ms in self.alternatives], boost=self.boost)
