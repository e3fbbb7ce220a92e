"""Highlights of a search hit, built from the database text (never from the index): the title with the query's
words marked, and a snippet around the first marked word. A word is marked where any of its analysed forms (exact,
stem, folded) is a term of the query or of a one-word expansion (a thesaurus label or a place's other spelling:
:mod:`app.search.expansion`); a multi-word one only where the whole phrase occurs.
"""

from __future__ import annotations

from functools import lru_cache

from markupsafe import Markup
from markupsafe import escape

from app.markdown import snippet_text
from app.search.analysis import ALL_STOP_WORDS
from app.search.analysis import TOKEN_PATTERN
from app.search.analysis import fold
from app.search.analysis import normalize
from app.search.analysis import query_positions
from app.search.expansion import expand
from app.search.parsing import Clause

SNIPPET_CHARS = 240
SCAN_CHARS = 40_000


def _query_synonyms(clauses: list[Clause]) -> list[tuple[tuple[str, ...], ...]]:
    """The other ways of saying the query's words and phrases ("bus card" → "Onay", "транспортная карта")."""
    phrases: list[tuple[tuple[str, ...], ...]] = []
    words = [c.text for c in clauses if not c.negated and not c.phrase]
    groups = [words, *(TOKEN_PATTERN.findall(c.text) for c in clauses if c.phrase and not c.negated)]
    for group in groups:
        for expansion in expand(group):
            phrases.extend(p for p in expansion.phrases if p not in phrases)
    return phrases


def query_terms(clauses: list[Clause]) -> set[str]:
    """The folded terms that mark a single word: the query's own words and its one-word expansions."""
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


def query_phrases(clauses: list[Clause]) -> list[tuple[tuple[str, ...], ...]]:
    """Multi-word expansions of the query ("Онай" → "bus card"): marked only where the whole phrase occurs."""
    return [p for p in _query_synonyms(clauses) if len(p) > 1]


@lru_cache(maxsize=100_000)
def _token_alts(token: str) -> frozenset[str]:
    """All folded terms of one token (empty for a stop word), remembered per process: highlighting analyses
    every word of the shown texts (~700 words a case), and most words recur from one results page to the next."""
    return frozenset(t for position in query_positions(token) for t in position)


_NO_MATCH = frozenset({"\x00"})  # the folded terms of a word known to match no query term: none, but a word
PREFIX = 2
"""Characters of a folded term that decide whether a word may match it (``Marker``)."""


@lru_cache(maxsize=200_000)
def _word_head(token: str) -> tuple[str, bool]:
    """(the first ``PREFIX`` characters of the token's folded form, whether it is a stop word)."""
    return fold(token)[:PREFIX], normalize(token) in ALL_STOP_WORDS


class Marker:
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
            text = snippet_text((text or "")[:SCAN_CHARS])
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
        first = next((snippet_text(t[:SCAN_CHARS]) for t in texts if t), "")
        return escape(first[:SNIPPET_CHARS]) + (Markup(" …") if len(first) > SNIPPET_CHARS else Markup(""))
