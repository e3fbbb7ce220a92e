"""Did you mean: a query with each unknown word replaced by the closest word of the index vocabulary (the
indexed exact word forms), or None when every word is known or nothing is close enough.
"""

from __future__ import annotations

import itertools

from whoosh.support.levenshtein import distance as levenshtein_distance

from app.search.analysis import normalize
from app.search.parsing import Clause

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


def suggest(searcher, clauses: list[Clause]) -> str | None:
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
