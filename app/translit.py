"""Kazakh and Russian Cyrillic → Latin letters, one table for every use (pure: no Flask, no database)."""

from __future__ import annotations

CYRILLIC_TO_LATIN = {
    "а": "a", "ә": "a", "б": "b", "в": "v", "г": "g", "ғ": "g", "д": "d", "е": "e", "ё": "yo", "ж": "zh",
    "з": "z", "и": "i", "й": "i", "і": "i", "к": "k", "қ": "q", "л": "l", "м": "m", "н": "n", "ң": "n",
    "о": "o", "ө": "o", "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ұ": "u", "ү": "u", "ф": "f",
    "х": "kh", "һ": "h", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e",
    "ю": "yu", "я": "ya",
}  # fmt: skip
"""Lower-case Cyrillic letter → Latin letters (Kazakh letters by their nearest Latin; soft and hard signs
vanish). Search folds with it (``app.search.analysis``)."""

ASCII_NAMES = {**CYRILLIC_TO_LATIN, "ё": "e"}
"""The same for names people read and type (case-study slugs, the ASCII fallback of download names): "ё" is
plain "e" there, as Russian writes it mostly anyway."""
