"""Alphabetical order for Kazakh, Russian and English lists (pure: neither Flask nor the database).

Python compares strings by code point, which puts the Kazakh letters (Ә U+04D8, Қ U+049A, Ұ U+04B0 …) after
every Russian one, "Ё" before "А", and capitals before small letters. A sort key from here orders by the
alphabet of the list's language instead:

* **Kazakh**: the official Cyrillic alphabet, А Ә Б В Г Ғ Д Е Ё Ж З И Й К Қ Л М Н Ң О Ө П Р С Т У Ұ Ү Ф Х Һ Ц
  Ч Ш Щ Ъ Ы І Ь Э Ю Я (Ё a letter of its own, І after Ы), then Latin;
* **Russian**: А … Я with Ё sorted as Е (as Russian dictionaries and CLDR's root collation do; Ё only breaks a
  tie), the Kazakh letters right after the letter they are built on (Ә after А, Ғ after Г, Қ after К, Ң after
  Н, Ө after О, Ұ and Ү after У, Һ after Х, І after И), then Latin;
* **English**: A … Z, then Cyrillic in the Russian order above.

Case, spaces and punctuation only break ties ("Ақсу" and "ақсу" sort together; "Ақ-Су" next to "Ақсу"), digits
sort before letters, and any other character after the letters, by code point. The tables are ours, written
from the alphabets above: PyICU (CLDR) is not available on the project's machines, and these three orders are
all the interface needs.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

KAZAKH = "аәбвгғдеёжзийкқлмнңоөпрстуұүфхһцчшщъыіьэюя"
RUSSIAN = "аәбвгғдеёжзиійкқлмнңоөпрстуұүфхһцчшщъыьэюя"  # ё equal to е: see _RUSSIAN_EQUAL
LATIN = "abcdefghijklmnopqrstuvwxyz"
_RUSSIAN_EQUAL = {"ё": "е"}

_DIGIT, _LETTER, _OTHER = 1, 2, 3


@lru_cache(maxsize=4)
def _ranks(language: str) -> dict[str, int]:
    if language == "kk":
        letters = KAZAKH + LATIN
    elif language == "en":
        letters = LATIN + RUSSIAN.replace("ё", "")
    else:
        letters = RUSSIAN.replace("ё", "") + LATIN
    ranks = {letter: i for i, letter in enumerate(letters)}
    if language != "kk":
        for letter, same in _RUSSIAN_EQUAL.items():
            ranks[letter] = ranks[same]
    return ranks


def sort_key(text: str, language: str) -> tuple:
    """A key that orders ``text`` alphabetically in ``language`` (kk, ru or en; anything else: ru)."""
    ranks = _ranks(language if language in ("kk", "ru", "en") else "ru")
    folded = text.casefold()
    primary = []
    for char in folded:
        rank = ranks.get(char)
        if rank is not None:
            primary.append((_LETTER, rank))
        elif char.isdigit():
            primary.append((_DIGIT, ord(char)))
        elif char.isalpha():
            primary.append((_OTHER, ord(char)))
        # spaces and punctuation: ties only
    # Ties: letters as written (ё after е), then lower case before upper case, then the text itself.
    return (tuple(primary), folded, text.swapcase())


def sort_key_for(language: str) -> Callable[[str], tuple]:
    """``sort_key`` bound to ``language``, for ``sorted(names, key=...)``."""
    return lambda text: sort_key(text, language)
