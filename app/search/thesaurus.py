"""The trilingual concept thesaurus of local government (kk/ru/en), read from ``app/search/data/thesaurus-*.jsonl``.

Pure: standard library only. One concept per line, SKOS-like::

    {"id": "transport.bus-lane", "topic": "transport",
     "pref": {"kk": "автобус жолағы", "ru": "выделенная полоса", "en": "bus lane"},
     "alt": {"kk": [...], "ru": [...], "en": [...]}, "broader": "transport.public-transport"}

``pref`` is the preferred label per language, ``alt`` the alternative labels (synonyms, abbreviations, former
names of programmes, the loanwords akimats write). Files are written by topic; the same concept written in two
files (the same label in the same language in both) is one concept here: :func:`load_concepts` merges them.

Labels are matched through the search analyzers (:mod:`app.search.analysis`), never as strings, so one label
covers every inflection of its words. Query-time use: :mod:`app.search.expansion`. Multi-word labels are also
marked in the index (phrase keys, ``TextAnalyzer("fold")``): changing a multi-word label changes indexed terms,
so bump ``app.search.analysis.ANALYSIS_VERSION`` with it and run ``flask search reindex``.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"
FILE_PATTERN = "thesaurus-*.jsonl"
LANGUAGES = ("kk", "ru", "en")


@dataclass(frozen=True)
class Concept:
    """A concept: its id(s) (several when files wrote it twice), topic and labels per language, preferred first."""

    ids: tuple[str, ...]
    topic: str
    labels: dict[str, tuple[str, ...]]

    @property
    def id(self) -> str:
        return self.ids[0]

    def all_labels(self) -> list[str]:
        return [label for lang in LANGUAGES for label in self.labels.get(lang, ())]


class ThesaurusError(ValueError):
    """A malformed thesaurus line (file, line number, reason)."""


def _key(label: str) -> str:
    return " ".join(unicodedata.normalize("NFC", label).lower().replace("ё", "е").split())


def read_entries(paths: list[Path] | None = None) -> list[dict]:
    """The raw entries of the thesaurus files (all ``thesaurus-*.jsonl`` of ``DATA_DIR`` by default), checked."""
    entries: list[dict] = []
    seen: set[str] = set()
    for path in paths if paths is not None else sorted(DATA_DIR.glob(FILE_PATTERN)):
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    entry = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise ThesaurusError(f"{path.name}:{number}: not JSON: {exc}") from exc
                pref = entry.get("pref")
                if not isinstance(entry.get("id"), str) or not isinstance(pref, dict):
                    raise ThesaurusError(f"{path.name}:{number}: needs an id and pref labels")
                if not all(isinstance(pref.get(lang), str) and pref[lang].strip() for lang in LANGUAGES):
                    raise ThesaurusError(f"{path.name}:{number}: pref needs kk, ru and en labels")
                alt = entry.get("alt") or {}
                if not isinstance(alt, dict) or not all(
                        isinstance(v, list) and all(isinstance(s, str) for s in v) for v in alt.values()):
                    raise ThesaurusError(f"{path.name}:{number}: alt must map languages to lists of labels")
                if entry["id"] in seen:
                    raise ThesaurusError(f"{path.name}:{number}: repeated id {entry['id']!r}")
                seen.add(entry["id"])
                entries.append({**entry, "_file": path.name})
    return entries


def _merge(entries: list[dict]) -> list[Concept]:
    """Concepts from entries; entries of *different files* sharing a label in one language are one concept."""
    parent = list(range(len(entries)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict[tuple[str, str], int] = {}
    for i, entry in enumerate(entries):
        for lang in LANGUAGES:
            for label in [entry["pref"][lang], *entry.get("alt", {}).get(lang, [])]:
                key = (lang, _key(label))
                j = owner.setdefault(key, i)
                if j != i and entries[j]["_file"] != entry["_file"]:
                    parent[root(i)] = root(j)
    groups: dict[int, list[dict]] = {}
    for i, entry in enumerate(entries):
        groups.setdefault(root(i), []).append(entry)
    concepts = []
    for members in groups.values():
        labels: dict[str, tuple[str, ...]] = {}
        for lang in LANGUAGES:
            found: dict[str, str] = {}
            for entry in members:
                for label in [entry["pref"][lang], *entry.get("alt", {}).get(lang, [])]:
                    if label.strip():
                        found.setdefault(_key(label), label.strip())
            labels[lang] = tuple(found.values())
        concepts.append(Concept(ids=tuple(e["id"] for e in members), topic=members[0].get("topic", ""),
                                labels=labels))
    return concepts


@lru_cache(maxsize=1)
def load_concepts() -> tuple[Concept, ...]:
    """Every concept of the thesaurus files, merged (see :func:`_merge`), in file order."""
    return tuple(_merge(read_entries()))
