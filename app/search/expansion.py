"""Query expansion: the concepts (:mod:`app.search.thesaurus`) and places (:mod:`app.search.gazetteer`) a query's
words name, each with the other ways of saying it, for the query layer to OR with the words themselves.

Pure: no Flask, no database, no Whoosh queries (those are :mod:`app.search.matching`'s job).

A query's words are read left to right. At each word, a place name (as a whole: "Усть-Каменогорск", "Alma-Ata",
"Нұр-Сұлтан") is taken first; otherwise the longest thesaurus label that starts there, compared through the fold
analyzer (so "бездомных собак" names the label "бездомные собаки", "қаңғыбас иттерді" names "қаңғыбас иттер").
Spans never overlap. Each span gives an :class:`Expansion`: the alternative phrases (each a tuple of positions,
each position the folded terms any of which may stand there: :data:`app.search.analysis.Phrase`) of every label
of the concept(s) in all three languages, or of every known spelling of the place(s), without the phrase the
query's own words make (they are searched as they are, and score higher).

Multi-word concept labels are marked in the index by a phrase key (``Expansion.keys``), so that "public council" is told
from "public … council"; place spellings are not (their words, rare as they are, are matched together).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from app.search import gazetteer
from app.search.analysis import Phrase
from app.search.analysis import Position
from app.search.analysis import concept_phrases
from app.search.analysis import phrase_key
from app.search.analysis import query_positions
from app.search.thesaurus import load_concepts

MAX_PLACE_WORDS = 4  # the most words of a place name looked for (Ust-Kamenogorsk City of … is not typed)
CONCEPT = "concept"
PLACE = "place"


@dataclass(frozen=True)
class Expansion:
    """Words ``start``..``end`` (exclusive) of the query name ``ids`` (concepts or place keys); ``phrases`` are the
    other ways of saying it (their short stems trimmed), ``keys`` the index phrase key of each multi-word
    concept label ("" for one word, and for place spellings, which have none)."""

    start: int
    end: int
    kind: str
    ids: tuple[str, ...]
    phrases: tuple[Phrase, ...]
    keys: tuple[str, ...] = ()

    def alternatives(self) -> list[tuple[Phrase, str]]:
        """(phrase, its phrase key or "") pairs."""
        return list(zip(self.phrases, self.keys or ("",) * len(self.phrases), strict=True))


@lru_cache(maxsize=1)
def _by_first_term() -> dict[str, tuple[tuple[Phrase, int], ...]]:
    """{folded term: the (label phrase, concept number) pairs whose first position has that term}."""
    table: dict[str, list[tuple[Phrase, int]]] = {}
    for number, phrases in enumerate(concept_phrases()):
        for phrase in phrases:
            for term in phrase[0]:
                table.setdefault(term, []).append((phrase, number))
    return {term: tuple(pairs) for term, pairs in table.items()}


MIN_SHARED = 4
"""Characters a term two words share must have for them to count as one word: the Kazakh stripper's short stems
("ауа" and "ауыл" both give "au") are not evidence; a short word's own whole form is (су, жол)."""


def _meaningful(alts: Position, other: Position = ()) -> frozenset[str]:
    need = min(MIN_SHARED, max(map(len, alts)), max(map(len, other), default=MIN_SHARED))
    return frozenset(t for t in alts if len(t) >= need)


def same_word(a: Position, b: Position) -> bool:
    """Whether two positions (a query word's and a label word's folded terms) are forms of one word."""
    return bool(_meaningful(a, b) & _meaningful(b, a))


@lru_cache(maxsize=65536)
def same_form_family(word: str, other: str) -> bool:
    """Whether two single words are forms of one word by their analysed terms ("помощь", "помощи")."""
    a, b = query_positions(word), query_positions(other)
    return len(a) == 1 and len(b) == 1 and same_word(a[0], b[0])


def trimmed(phrase: Phrase) -> Phrase:
    """``phrase`` without the short stems that would match unrelated words (see ``MIN_SHARED``)."""
    return tuple(tuple(t for t in alts if t in _meaningful(alts)) for alts in phrase)


def _matches(phrase: Phrase, positions: Sequence[Position], start: int) -> bool:
    return start + len(phrase) <= len(positions) and all(
        same_word(alts, positions[start + k]) for k, alts in enumerate(phrase))


# Generic words as the romanisations spell them ("gorod Ust-Kamenogorsk", "Almaty rayon"): not the name.
_ROMANISED_GENERIC = frozenset({"gorod", "raion", "rayon", "oblast", "audany", "oblysy", "kalasy", "qalasy", "of"})


@lru_cache(maxsize=512)
def _place_phrases(keys: tuple[str, ...]) -> tuple[Phrase, ...]:
    """The spellings of the places ``keys`` as phrases (trimmed, each once), the official names also in their
    Russian case forms."""
    places = {p.key: p for p in gazetteer.load_places()}
    phrases: list[Phrase] = []
    seen: set[tuple[frozenset[str], ...]] = set()

    def add(text: str) -> None:
        phrase = trimmed(tuple(query_positions(text)))
        key = tuple(frozenset(alts) for alts in phrase)
        if phrase and key not in seen:
            seen.add(key)
            phrases.append(phrase)

    for key in keys:
        place = places[key]
        for name in place.names.values():
            for form in _declined(gazetteer._bare(name)):
                add(form)
        for variant in sorted(place.variants):
            words = set(variant.replace("-", " ").split())
            if "'" in variant or gazetteer._bare(variant) != variant or words & _ROMANISED_GENERIC:
                continue  # the apostrophe spelling has an apostrophe-free twin; generic words are not the name
            add(variant)
    return tuple(phrases)


_RU_ENDINGS = {"а": ("ы", "е", "у", "ой"), "": ("а", "е", "у", "ом")}


def _declined(name: str) -> list[str]:
    """A one-word Cyrillic name and its Russian case forms, whose stems differ from the name's (Snowball stems
    "Астана" to "аста" but "Астане" to "астан"), so that a text saying "в Астане" is found by "Astana"."""
    if " " in name or "-" in name or not any("а" <= c <= "я" for c in name):
        return [name]
    if name.endswith("а"):
        return [name, *(name[:-1] + e for e in _RU_ENDINGS["а"])]
    if name[-1] in "бвгджзклмнпрстфхцчшщ":
        return [name, *(name + e for e in _RU_ENDINGS[""])]
    return [name]


def _place_at(words: Sequence[str], start: int, longest: int) -> tuple[int, tuple[str, ...]] | None:
    for length in range(min(MAX_PLACE_WORDS, longest, len(words) - start), 0, -1):
        places = gazetteer.whole_name(" ".join(words[start:start + length]))
        if places:
            return length, tuple(p.key for p in places)
    return None


def expand(words: Sequence[str], longest: int | None = None) -> list[Expansion]:
    """The expansions of a query's ``words`` (one token each, as :func:`app.search.parsing.parse_query` gives
    them), left to right, not overlapping. Words that are stop words (no position) are skipped over by labels:
    "уход за пожилыми" names "уход за пожилыми" with or without "за". ``longest``: labels of at most that many
    words (the query layer reads a span's words again, shorter, to find it word by word too)."""
    word_positions = [query_positions(w) for w in words]
    # The non-stop words, each as (word number, its position).
    kept = [(i, p[0]) for i, p in enumerate(word_positions) if p]
    positions = [p for _i, p in kept]
    table = _by_first_term()
    all_phrases = concept_phrases()
    found: list[Expansion] = []
    k = 0
    while k < len(kept):
        i = kept[k][0]
        place = _place_at(words, i, longest or MAX_PLACE_WORDS)
        if place is not None:
            length, keys = place
            own = trimmed(tuple(p for ps in word_positions[i:i + length] for p in ps))
            phrases = tuple(p for p in _place_phrases(keys) if p != own)
            found.append(Expansion(i, i + length, PLACE, keys, phrases))
            while k < len(kept) and kept[k][0] < i + length:
                k += 1
            continue
        best = 0
        concepts: list[int] = []
        for term in positions[k]:
            for phrase, number in table.get(term, ()):
                n = len(phrase)
                if n >= best and (longest is None or n <= longest) and _matches(phrase, positions, k):
                    if n > best:
                        best, concepts = n, []
                    if number not in concepts:
                        concepts.append(number)
        if not best:
            k += 1
            continue
        own = trimmed(tuple(positions[k:k + best]))
        phrases: list[Phrase] = []
        keys: list[str] = []
        for number in concepts:
            for label in all_phrases[number]:
                t = trimmed(label)
                if t != own and t not in phrases:
                    phrases.append(t)
                    keys.append(phrase_key(label) if len(label) > 1 else "")
        concept_list = load_concepts()
        end = kept[k + best - 1][0] + 1
        found.append(Expansion(i, end, CONCEPT, tuple(concept_list[n].id for n in concepts), tuple(phrases),
                               tuple(keys)))
        k += best
    return found
