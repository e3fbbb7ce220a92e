"""A gazetteer of Kazakhstan's places: regions, districts and cities, under every name people search them by.

Pure: standard library only (no Flask, no SQLAlchemy, no Whoosh), so it can be used by the indexer, the query
layer and offline tools alike. Query-time use: :mod:`app.search.expansion`.

Sources read from the package, relative to this file:

* ``app/regions/data/regions.csv``: the 20 first-level units (17 oblasts; Astana, Almaty, Shymkent).
* ``app/regions/data/districts.csv``: the 227 second-level units: the districts and cities of oblast
  significance of each oblast, and the city districts of Astana, Almaty and Shymkent.
* ``app/search/data/places_aliases.jsonl``: hand-written former and alternative names (one place a line, keyed
  ``"<region iso>|<name_en>"``; an empty name_en is the region itself).

Every admin centre of an oblast is one of the cities in ``districts.csv``; the admin centre of Astana, Almaty and
Shymkent is the unit itself. ``load_places()`` therefore gives 20 + 227 places, and marks the centres.

Names are generated, for every place, in these forms (all lower-cased in ``Place.variants``):

* the official names in Kazakh, Russian and English (and the region's ``name_kk_latn``);
* the Kazakh name in the three official Latin alphabets (``kk_latin_2017``, ``kk_latin_2018``,
  ``kk_latin_2021``) and in the common English-style spellings (``kk_common``: Karagandy, Oskemen, Zhezkazgan;
  ``kk_q``: Qaraghandy, Zhezqazghan);
* the Russian name romanised (``ru_bgn``, ``ru_iso9``, ``ru_simple``: Ust-Kamenogorsk, Petropavlovsk);
* the former and alternative names of the JSONL file, transliterated the same way;
* each of them with and without the generic word (облысы/область/Region, ауданы/район/District,
  қаласы/город/City), and a plain-ASCII fold of every Latin form (``ascii_fold``).

``match_places()`` finds the places a query names.

Known limits: Latin names match only as written (no Kazakh suffixes: "Almatyda" is not matched); a Russian
adjective made from a Kazakh name matches without its noun (Созакском), except for names shared with places in
Russia (Алтайский, Самарская, Астраханская are not read as Kazakhstan's districts); Baikonur the leased city
(formerly Leninsk) is not in ``districts.csv``, and "Baikonur District" is the Astana city district.
"""

from __future__ import annotations

import csv
import itertools
import json
import re
import unicodedata
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from functools import lru_cache
from pathlib import Path

_APP = Path(__file__).resolve().parent.parent
REGIONS_CSV = _APP / "regions" / "data" / "regions.csv"
DISTRICTS_CSV = _APP / "regions" / "data" / "districts.csv"
ALIASES_JSONL = Path(__file__).resolve().parent / "data" / "places_aliases.jsonl"

LANGUAGES = ("kk", "ru", "en")

# ---------------------------------------------------------------------------------------------------------------
# Kazakh Cyrillic → Latin: the three official alphabets.
#
# Letters the decrees do not list (ё ц щ ъ ь э ю я, and ч in 2021) occur only in Russian loans; they follow the
# conventions noted per table (the orthographic rules were never adopted), so that Целиноград → Tselinograd.
# ---------------------------------------------------------------------------------------------------------------

KK_LATIN_2017: dict[str, str] = {
    # Presidential Decree No. 569 of 26 October 2017, "On the transition of the Kazakh alphabet from Cyrillic to
    # the Latin script", annex: 32 letters, nine of them with an apostrophe (a' g' i' n' o' s' c' u' y').
    # Note the 2017 peculiarities: Ы is Y, У is Y' (Qazaqstan Respy'bli'kasy), Ұ is U, Ү is U', И/Й are I'.
    "а": "a",
    "ә": "a'",
    "б": "b",
    "д": "d",
    "е": "e",
    "ф": "f",
    "г": "g",
    "ғ": "g'",
    "х": "h",
    "һ": "h",
    "і": "i",
    "и": "i'",
    "й": "i'",
    "ж": "j",
    "к": "k",
    "л": "l",
    "м": "m",
    "н": "n",
    "ң": "n'",
    "о": "o",
    "ө": "o'",
    "п": "p",
    "қ": "q",
    "р": "r",
    "с": "s",
    "ш": "s'",
    "ч": "c'",
    "т": "t",
    "ұ": "u",
    "ү": "u'",
    "в": "v",
    "ы": "y",
    "у": "y'",
    "з": "z",
    # Not in the decree (convention): Russian-loan letters.
    "ё": "i'o",
    "ц": "ts",
    "щ": "s's'",
    "ъ": "",
    "ь": "",
    "э": "e",
    "ю": "i'y'",
    "я": "i'a",
}

KK_LATIN_2018: dict[str, str] = {
    # Presidential Decree No. 637 of 19 February 2018 amending Decree No. 569: 32 letters, the apostrophes
    # replaced by acute accents (á ǵ ń ó ú ý), the digraphs sh and ch, and И/Й as dotless ı (Qostanaı,
    # Respýblıkasy). І stays i, Ы is y, У is ý, Ұ is u, Ү is ú.
    "а": "a",
    "ә": "á",
    "б": "b",
    "д": "d",
    "е": "e",
    "ф": "f",
    "г": "g",
    "ғ": "ǵ",
    "х": "h",
    "һ": "h",
    "і": "i",
    "и": "ı",
    "й": "ı",
    "ж": "j",
    "к": "k",
    "л": "l",
    "м": "m",
    "н": "n",
    "ң": "ń",
    "о": "o",
    "ө": "ó",
    "п": "p",
    "қ": "q",
    "р": "r",
    "с": "s",
    "ш": "sh",
    "ч": "ch",
    "т": "t",
    "ұ": "u",
    "ү": "ú",
    "в": "v",
    "ы": "y",
    "у": "ý",
    "з": "z",
    # Not in the decree (convention): Russian-loan letters.
    "ё": "ıo",
    "ц": "ts",
    "щ": "shsh",
    "ъ": "",
    "ь": "",
    "э": "e",
    "ю": "ıý",
    "я": "ıa",
}

KK_LATIN_2021: dict[str, str] = {
    # The improved alphabet presented by the Government's working group on 28 January 2021 (31 letters:
    # A Ä B D E F G Ğ H I İ J K L M N Ñ O Ö P Q R S Ş T U Ū Ü V Y Z), put to public discussion in 2021:
    # Ә ä, Ғ ğ, Ң ñ, Ө ö, Ұ ū, Ү ü, Ш ş; І is dotless ı (capital I), И/Й are i (capital İ), У is u, Ы is y.
    # It is the spelling of regions.csv's name_kk_latn (Jetısu, Mañğystau, Ūlytau, Şymkent).
    "а": "a",
    "ә": "ä",
    "б": "b",
    "д": "d",
    "е": "e",
    "ф": "f",
    "г": "g",
    "ғ": "ğ",
    "х": "h",
    "һ": "h",
    "і": "ı",
    "и": "i",
    "й": "i",
    "ж": "j",
    "к": "k",
    "л": "l",
    "м": "m",
    "н": "n",
    "ң": "ñ",
    "о": "o",
    "ө": "ö",
    "п": "p",
    "қ": "q",
    "р": "r",
    "с": "s",
    "ш": "ş",
    "т": "t",
    "ұ": "ū",
    "ү": "ü",
    "в": "v",
    "ы": "y",
    "у": "u",
    "з": "z",
    # Not among the 31 letters (convention): ч and the Russian-loan letters.
    "ч": "ch",
    "ё": "io",
    "ц": "ts",
    "щ": "şş",
    "ъ": "",
    "ь": "",
    "э": "e",
    "ю": "iu",
    "я": "ia",
}

# Capitals that are not ``str.upper()`` of the small letter (Turkish-style dotted and dotless i).
_UPPER_2018 = {"ı": "I"}
_UPPER_2021 = {"ı": "I", "i": "İ"}

# Kazakh-specific letters → the nearest Russian letter: how Kazakh is typed on a Russian keyboard, and the first
# step of the Russian-style romanisations of Kazakh names.
KK_TO_RU_LETTERS = {"ә": "а", "ғ": "г", "қ": "к", "ң": "н", "ө": "о", "ұ": "у", "ү": "у", "һ": "х", "і": "и"}

# ---------------------------------------------------------------------------------------------------------------
# Russian Cyrillic → Latin.
# ---------------------------------------------------------------------------------------------------------------

RU_ISO9: dict[str, str] = {
    # ISO 9:1995 (= GOST 7.79-2000 system A), one Latin letter per Cyrillic letter: Караганда → Karaganda,
    # Усть-Каменогорск → Ustʹ-Kamenogorsk, Жезказган → Žezkazgan. Applied to Russian only (Kazakh letters in a
    # Russian name are first replaced by KK_TO_RU_LETTERS).
    "а": "a",
    "б": "b",
    "в": "v",
    "г": "g",
    "д": "d",
    "е": "e",
    "ё": "ë",
    "ж": "ž",
    "з": "z",
    "и": "i",
    "й": "j",
    "к": "k",
    "л": "l",
    "м": "m",
    "н": "n",
    "о": "o",
    "п": "p",
    "р": "r",
    "с": "s",
    "т": "t",
    "у": "u",
    "ф": "f",
    "х": "h",
    "ц": "c",
    "ч": "č",
    "ш": "š",
    "щ": "ŝ",
    "ъ": "ʺ",
    "ы": "y",
    "ь": "ʹ",
    "э": "è",
    "ю": "û",
    "я": "â",
}

RU_BGN: dict[str, str] = {
    # BGN/PCGN 1947 romanisation of Russian (the one of English-language maps and gazetteers): Караганда →
    # Karaganda, Усть-Каменогорск → Ustʼ-Kamenogorsk, Ерейментау → Yereymentau. е and ё are "ye"/"yë" at the
    # start of a word and after a vowel, й, ъ or ь (see ``ru_bgn``); the optional middle dot is not used.
    "а": "a",
    "б": "b",
    "в": "v",
    "г": "g",
    "д": "d",
    "е": "e",
    "ё": "ë",
    "ж": "zh",
    "з": "z",
    "и": "i",
    "й": "y",
    "к": "k",
    "л": "l",
    "м": "m",
    "н": "n",
    "о": "o",
    "п": "p",
    "р": "r",
    "с": "s",
    "т": "t",
    "у": "u",
    "ф": "f",
    "х": "kh",
    "ц": "ts",
    "ч": "ch",
    "ш": "sh",
    "щ": "shch",
    "ъ": "ˮ",
    "ы": "y",
    "ь": "ʼ",
    "э": "e",
    "ю": "yu",
    "я": "ya",
}

# The everyday English spelling: BGN/PCGN without its marks (no soft/hard signs, no ye- rule), as in
# Ust-Kamenogorsk, Petropavlovsk, Uralsk, Shchuchinsk; -ый/-ий at the end of a word is written -y (Rudny, Abaisky).
RU_SIMPLE: dict[str, str] = {**RU_BGN, "ё": "yo", "ъ": "", "ь": ""}

# Kazakh names written the Russian-English way (the spelling of most English texts and of districts.csv):
# Kazakh letters as their Russian neighbours, then RU_SIMPLE: Қарағанды → Karagandy, Өскемен → Oskemen,
# Жезқазған → Zhezkazgan, Жаңаөзен → Zhanaozen.
KK_COMMON: dict[str, str] = {**RU_SIMPLE, **{kk: RU_SIMPLE[ru] for kk, ru in KK_TO_RU_LETTERS.items()}, "һ": "h"}

# The "Qazaq" English spelling (қ q, ғ gh, ң ng, ж zh): Qaraghandy, Zhezqazghan, Aqtobe, Qyzylorda.
KK_Q: dict[str, str] = {**KK_COMMON, "қ": "q", "ғ": "gh", "ң": "ng"}

_VOWELS_RU = set("аеёиоуыэюяәөұүі")


def _transliterate(text: str, table: Mapping[str, str], upper: Mapping[str, str] | None = None) -> str:
    """Letter-by-letter transliteration; characters not in the table are kept, capitals stay capitals."""
    out = []
    for char in text:
        low = char.lower()
        latin = table.get(low)
        if latin is None:
            out.append(char)
        elif char != low and latin:
            out.append((upper or {}).get(latin) or latin[0].upper() + latin[1:])
        else:
            out.append(latin)
    return "".join(out)


def kk_latin_2017(text: str) -> str:
    """Kazakh Cyrillic in the 2017 Latin alphabet (apostrophes): Өскемен → O'skemen, Шымкент → S'ymkent."""
    return _transliterate(text, KK_LATIN_2017)


def kk_latin_2018(text: str) -> str:
    """Kazakh Cyrillic in the 2018 Latin alphabet (acute accents): Өскемен → Óskemen, Қостанай → Qostanaı."""
    return _transliterate(text, KK_LATIN_2018, _UPPER_2018)


def kk_latin_2021(text: str) -> str:
    """Kazakh Cyrillic in the 2021 Latin alphabet (ä ö ü ū ğ ş ñ ı): Өскемен → Öskemen, Жетісу → Jetısu."""
    return _transliterate(text, KK_LATIN_2021, _UPPER_2021)


def kk_common(text: str, short_i: str = "y") -> str:
    """Kazakh Cyrillic the Russian-English way: Қарағанды → Karagandy; ``short_i`` is й (Kostanay or Kostanai)."""
    return _transliterate(text, {**KK_COMMON, "й": short_i})


def kk_q(text: str) -> str:
    """Kazakh Cyrillic the "Qazaq" English way: Қарағанды → Qaraghandy, Ақтөбе → Aqtobe."""
    return _transliterate(text, KK_Q)


def _ru_letters(text: str) -> str:
    """Kazakh letters in a Russian name (район Ақсуат) replaced by their Russian neighbours."""
    out = []
    for char in text:
        low = char.lower()
        ru = KK_TO_RU_LETTERS.get(low, low)
        out.append(ru.upper() if char != low else ru)
    return "".join(out)


def ru_iso9(text: str) -> str:
    """Russian in ISO 9:1995: Жезказган → Žezkazgan, Усть-Каменогорск → Ustʹ-Kamenogorsk."""
    return _transliterate(_ru_letters(text), RU_ISO9)


def ru_bgn(text: str) -> str:
    """Russian in BGN/PCGN 1947: Ерейментау → Yereymentau, Усть-Каменогорск → Ustʼ-Kamenogorsk."""
    text = _ru_letters(text)
    out = []
    for i, char in enumerate(text):
        low = char.lower()
        prev = text[i - 1].lower() if i else ""
        if low in "её" and (not prev or not prev.isalpha() or prev in _VOWELS_RU or prev in "йъь"):
            latin = "ye" if low == "е" else "yë"
            out.append(latin.capitalize() if char != low else latin)
        else:
            out.append(_transliterate(char, RU_BGN))
    return "".join(out)


_ADJ_END = re.compile(r"[ыи]й\b", re.IGNORECASE)


def ru_simple(text: str) -> str:
    """Russian the everyday English way: Усть-Каменогорск → Ust-Kamenogorsk, Рудный → Rudny."""
    return _transliterate(_ADJ_END.sub("ы", _ru_letters(text)), RU_SIMPLE)


# ---------------------------------------------------------------------------------------------------------------
# Folding and tokens.
# ---------------------------------------------------------------------------------------------------------------

# Apostrophe-like characters people type for the 2017 apostrophe (and for the English possessive).
_APOSTROPHES = "'’ʼ`´‘ʹ"
_APOSTROPHE_RE = re.compile(f"[{_APOSTROPHES}]")
# Digraph folds: the 2017 s'/c' and the caron/cedilla letters are read sh/ch/zh, so that Şet, S'et and Šet meet
# "Shet" rather than the English "set".
_FOLD_SEQUENCES = (("s'", "sh"), ("c'", "ch"))
_FOLD_LETTERS = {"ş": "sh", "ç": "ch", "š": "sh", "č": "ch", "ž": "zh", "ŝ": "shch", "ı": "i", "ˮ": "", "ʺ": ""}


def normalise(text: str) -> str:
    """NFC, lower case (Turkish İ → i), one apostrophe character."""
    text = unicodedata.normalize("NFC", text).replace("İ", "i").lower().replace("\u0307", "")
    return _APOSTROPHE_RE.sub("'", text)


def ascii_fold(text: str) -> str:
    """A plain-ASCII lower-case fold of a Latin spelling: Öskemen, Óskemen, O'skemen → oskemen; Şymkent → shymkent."""
    text = normalise(text)
    for seq, repl in _FOLD_SEQUENCES:
        text = text.replace(seq, repl)
    text = "".join(_FOLD_LETTERS.get(c, c) for c in text).replace("'", "")
    text = unicodedata.normalize("NFKD", text)
    return "".join(c for c in text if not unicodedata.combining(c))


def cyrillic_fold(text: str) -> str:
    """Kazakh Cyrillic as typed on a Russian keyboard (Өскемен → оскемен), ё → е, lower case."""
    return "".join(KK_TO_RU_LETTERS.get(c, c) for c in normalise(text)).replace("ё", "е")


_TOKEN_RE = re.compile(r"[^\W_]+(?:'[^\W_]+)*'?")
_POSSESSIVE_RE = re.compile(r"'[sS]\b")


def _is_cyrillic(token: str) -> bool:
    return any("\u0400" <= c <= "\u04ff" for c in token)


def _cased_tokens(text: str) -> list[tuple[str, bool]]:
    """(match-normalised token, written with a capital) for each word of a text."""
    text = _APOSTROPHE_RE.sub("'", unicodedata.normalize("NFC", text))
    text = _POSSESSIVE_RE.sub("", text)
    out = []
    for raw in _TOKEN_RE.findall(text):
        token = cyrillic_fold(raw) if _is_cyrillic(raw) else ascii_fold(raw)
        out.append((token, raw[:1].isupper()))
    return out


def tokens(text: str) -> list[str]:
    """Match-normalised tokens: words split at spaces, hyphens and punctuation (not at the 2017 apostrophe);
    Cyrillic folded by ``cyrillic_fold``, Latin by ``ascii_fold``; the English possessive dropped (Almaty's)."""
    return [token for token, _ in _cased_tokens(text)]


# Endings a Cyrillic place name takes in a query, on folded letters (ә→а, і→и, ң→н, ү/ұ→у, ө→о, қ→к, ғ→г):
# Russian case endings (Караганде, Астаны, Усть-Каменогорске) and adjective endings (Карагандинской
# области), Kazakh case and possessive suffixes (Алматыда, Шымкенттен, Ақтөбенің, Алматылық, Астанадағы).
# fmt: off
_ENDINGS = frozenset((
    # Russian adjectives, then nouns.
    "ского", "скому", "ским", "ском", "ская", "ской", "скую", "ские", "ских", "ский", "ское",
    "ами", "ями", "ого", "его", "ому", "ему", "ая", "яя", "ое", "ее", "ой", "ей", "ую", "юю", "ые", "ие", "ых", "их",
    "ым", "им", "ом", "ем", "ах", "ях", "ов", "ев", "ам", "ям", "а", "я", "о", "е", "у", "ю", "ы", "и", "й",
    # Kazakh: locative adjective, genitive, ablative, locative, dative, accusative, -лық, instrumental, possessive.
    "ндагы", "ндеги", "дагы", "деги", "тагы", "теги", "нын", "нин", "дын", "дин", "тын", "тин",
    "ндан", "нден", "дан", "ден", "тан", "тен", "нан", "нен", "нда", "нде", "да", "де", "та", "те",
    "га", "ге", "ка", "ке", "на", "не", "ны", "ни", "ды", "ди", "ты", "ти",
    "лык", "лик", "дык", "дик", "тык", "тик", "мен", "бен", "пен", "сы", "си",
))
# fmt: on
# Adjective endings (Карагандинской, Шетского) go only with an adjective's stem, the others only with a noun's:
# "алтайский" is not Алтай + "ский", "шетінде" (at the edge) not Шетский.
_ADJECTIVE_ENDINGS = frozenset(e for e in _ENDINGS if e.startswith("ск"))
_NOUN_ENDINGS = _ENDINGS - _ADJECTIVE_ENDINGS
_MAX_ENDING = max(map(len, _ENDINGS))
# Stems a nominative form drops before an ending: a final vowel, ь or й (Караганда → Караганд-е, Семей →
# Семе-е, область → област-и), or an adjective ending (Карагандинская → Карагандин-ской).
_DROPPED = frozenset("аяоеуюыийь")
_ADJECTIVE_NOMINATIVES = ("ская", "ский", "ское", "ские")
_MIN_STEM = 3
_FOREIGN_ADJECTIVES = frozenset({"алтай", "самар", "астрахан"})
# Place words that are also everyday words in running text (Russian семей "of families", Kazakh келесі "next",
# ұлан "lad" as in ұлан-байтақ, талас "dispute", мұнайлы "oil-bearing", бостандық "freedom", Russian глубокое
# "deep", рудный "ore"): on their own (not as part of a longer name such as "Семей қаласы") they are read as a
# place only when written with a capital or when they are the whole text (a one-word query "семей" is the city).
HOMONYMS = frozenset({"семей", "келес", "улан", "талас", "мунайлы", "бостандык", "глубокое", "рудный"})


def _noun_bases(token: str) -> set[str]:
    """The stems of a Cyrillic name token that need a noun ending to match (Караганда → караганд)."""
    if token[-1] in _DROPPED and len(token) - 1 >= _MIN_STEM:
        return {token[:-1]}
    return set()


def _adjective_bases(token: str) -> set[str]:
    """The stem of a Russian adjective name token (Карагандинская → карагандин), matched with adjective endings."""
    return {token[: -len(e)] for e in _ADJECTIVE_NOMINATIVES if token.endswith(e) and len(token) - len(e) >= _MIN_STEM}


def _query_splits(token: str) -> Iterable[tuple[str, int, bool]]:
    """(stem, number of endings taken off, adjective ending?) for each way of reading a query token."""
    yield token, 0, False
    if not _is_cyrillic(token):
        return
    for n in range(1, min(_MAX_ENDING, len(token) - _MIN_STEM) + 1):
        ending = token[-n:]
        if ending in _ADJECTIVE_ENDINGS:
            yield token[:-n], 1, True
        elif ending in _NOUN_ENDINGS:
            yield token[:-n], 1, False
            # Kazakh stacks suffixes (Астанадағы = Астана+да+ғы); one more strip covers the common pairs.
            for m in range(1, min(_MAX_ENDING, len(token) - n - _MIN_STEM) + 1):
                if token[-n - m : -n] in _NOUN_ENDINGS:
                    yield token[: -n - m], 2, False


# ---------------------------------------------------------------------------------------------------------------
# Generic words.
# ---------------------------------------------------------------------------------------------------------------

# Whole words removed to make the bare form of a name (on normalised text).
# fmt: off
_GENERIC_WORDS = frozenset((
    "облысы", "облыс", "область", "обл", "ауданы", "аудан", "район", "қаласы", "қала", "город", "г",
    "region", "district", "city", "oblast", "province", "oblysy", "audany", "qalasy",
))
# fmt: on
# Bare forms that are everyday words (Kazakh жақсы "good", темір "iron", шет "edge", алға "forward", еңбекші
# "toiler"; Russian май/майский/English May, верный "faithful", surnames, and adjectives of other places: Samara
# and Astrakhan in Russia): they name the place only with their generic word ("Жақсы ауданы", "Майский район",
# "город Верный"), so they are not variants on their own.
STOP_FORMS = frozenset(
    {
        ("жаксы",),
        ("темир",),
        ("шет",),
        ("алга",),
        ("енбекши",),
        ("май",),
        ("may",),
        ("верный",),
        ("шевченко",),
        ("shevchenko",),
        ("комсомольский",),
        ("целинный",),
        ("ульяновский",),
        ("майский",),
        ("самарский",),
        ("астраханский",),
        ("jaqsy",),
    }
)


def _bare(name: str) -> str:
    """The name without its generic words: "район Ақсуат" → "Ақсуат", "Abai Region" → "Abai"."""
    words = name.split()
    kept = [w for w in words if normalise(w).strip(".") not in _GENERIC_WORDS]
    return " ".join(kept) if kept else name


def _with_generic(bare: str, kind: str, language: str) -> list[str]:
    """The bare name with the generic word of its kind in one language."""
    if kind == "city":
        return {"kk": [f"{bare} қаласы"], "ru": [f"город {bare}"], "en": [f"{bare} City", f"City of {bare}"]}[language]
    if kind == "district":
        return {"kk": [f"{bare} ауданы"], "ru": [f"{bare} район"], "en": [f"{bare} District"]}[language]
    return {"kk": [f"{bare} облысы"], "ru": [f"{bare} область"], "en": [f"{bare} Region", f"{bare} Oblast"]}[language]


# ---------------------------------------------------------------------------------------------------------------
# Places.
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Place:
    """One place: a region (``kind`` "oblast" or, for Astana/Almaty/Shymkent, "city") or a district or city of a
    region (``kind`` "district" or "city"). ``key`` is ``"<region iso>|<name_en>"`` (empty name for a region);
    ``names`` holds the official kk/ru/en names; ``variants`` every lower-cased spelling it is known by."""

    key: str
    region_iso: str
    kind: str
    names: Mapping[str, str] = field(compare=False)  # not hashable: a place is identified by its key
    variants: frozenset[str] = field(compare=False)
    is_region: bool = False
    admin_centre_of: str | None = None  # the region's iso code when this city is its admin centre
    primary_variants: frozenset[str] = field(default=frozenset(), repr=False, compare=False)


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def load_aliases(path: Path = ALIASES_JSONL) -> dict[str, dict]:
    """The JSONL file as {key: entry}; a repeated key is an error."""
    aliases: dict[str, dict] = {}
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            entry = json.loads(line)
            if entry["key"] in aliases:
                raise ValueError(f"{path.name}:{number}: duplicate key {entry['key']!r}")
            aliases[entry["key"]] = entry
    return aliases


def _is_kazakh(text: str) -> bool:
    return any(c in KK_TO_RU_LETTERS for c in text.lower())


def _spellings(seed: str, language: str) -> set[str]:
    """Every spelling of one written name: itself and its romanisations."""
    forms = {seed}
    if _is_cyrillic(seed):
        if language == "kk" or _is_kazakh(seed):
            forms |= {
                kk_latin_2017(seed),
                kk_latin_2018(seed),
                kk_latin_2021(seed),
                kk_common(seed),
                kk_common(seed, "i"),
                kk_q(seed),
            }
        if language != "kk":
            forms |= {ru_bgn(seed), ru_iso9(seed), ru_simple(seed)}
    return forms


def _variants(kind: str, names_by_language: Mapping[str, Iterable[str]]) -> tuple[frozenset[str], frozenset[str]]:
    """All lower-cased variants of a place from its names per language (official, former and alternative), and
    the primary ones among them: the spellings of each name as written, before a generic word is taken off or
    put on (so "karaganda" is primary for the city, derived for Karaganda Region)."""
    variants: set[str] = set()
    primary: set[str] = set()
    for language, names in names_by_language.items():
        for name in names:
            bare = _bare(name)
            if language == "kk_latn":  # regions.csv's own Latin name (2021 alphabet): "Abai oblysy"
                generic = {"city": "qalasy", "district": "audany"}.get(kind, "oblysy")
                seeds = {name, bare, f"{bare} {generic}"}
            else:
                seeds = {name, bare, *_with_generic(bare, kind, language)}
            for seed in seeds:
                for form in _spellings(seed, language):
                    forms = {normalise(form)}
                    if not _is_cyrillic(form):
                        forms.add(ascii_fold(form))
                    # Hyphenated names are also written joined (Nursultan, Almaata).
                    forms |= {f.replace("-", "") for f in forms if "-" in f}
                    variants |= forms
                    if seed == name:
                        primary |= forms

    def keep(variant: str) -> bool:
        words = tuple(tokens(variant))
        return bool(words) and words not in STOP_FORMS

    return frozenset(filter(keep, variants)), frozenset(filter(keep, primary))


def _alias_names(entry: Mapping | None) -> dict[str, list[str]]:
    names: dict[str, list[str]] = {lang: [] for lang in LANGUAGES}
    if entry:
        for part in ("former", "alt"):
            for lang, values in entry.get(part, {}).items():
                names[lang].extend(values)
    return names


@lru_cache(maxsize=1)
def _load() -> tuple[Place, ...]:
    aliases = load_aliases()
    regions = _read_csv(REGIONS_CSV)
    districts = _read_csv(DISTRICTS_CSV)
    centres = {(r["iso_code"], r["admin_center_en"]) for r in regions if r["kind"] == "oblast"}
    places: list[Place] = []
    for row in regions:
        key = f"{row['iso_code']}|"
        names = {"kk": row["name_kk"], "ru": row["name_ru"], "en": row["name_en"]}
        extra = _alias_names(aliases.get(key))
        by_language = {lang: [names[lang], *extra[lang]] for lang in LANGUAGES}
        by_language["kk_latn"] = [row["name_kk_latn"]]
        variants, primary = _variants(row["kind"], by_language)
        places.append(
            Place(key, row["iso_code"], row["kind"], names, variants, is_region=True, primary_variants=primary)
        )
    for row in districts:
        key = f"{row['region_iso']}|{row['name_en']}"
        names = {"kk": row["name_kk"], "ru": row["name_ru"], "en": row["name_en"]}
        extra = _alias_names(aliases.get(key))
        by_language = {lang: [names[lang], *extra[lang]] for lang in LANGUAGES}
        centre = row["region_iso"] if (row["region_iso"], row["name_en"]) in centres else None
        variants, primary = _variants(row["kind"], by_language)
        places.append(Place(key, row["region_iso"], row["kind"], names, variants, False, centre, primary))
    return tuple(places)


def load_places() -> list[Place]:
    """Every place: the 20 regions, then the 227 districts and cities in CSV order (admin centres among them)."""
    return list(_load())


# ---------------------------------------------------------------------------------------------------------------
# Matching.
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Entry:
    words: tuple[str, ...]
    places: tuple[int, ...]  # indexes into _load()
    official: frozenset[int]  # those for which it is a primary variant (a name as written, not a derived form)


@dataclass(frozen=True)
class _Index:
    first: Mapping[str, tuple[_Entry, ...]]  # a word → the names starting with it
    full: Mapping[str, frozenset[str]]  # a word → itself (a word matches as written, or + a noun ending)
    noun: Mapping[str, frozenset[str]]  # a stem without the final vowel → its words (+ a noun ending)
    adjective: Mapping[str, frozenset[str]]  # an adjective's stem → its words (+ an adjective ending)


@lru_cache(maxsize=1)
def _index() -> _Index:
    places = _load()
    by_words: dict[tuple[str, ...], set[int]] = {}
    official: dict[tuple[str, ...], set[int]] = {}
    for number, place in enumerate(places):
        for variant in place.variants:
            by_words.setdefault(tuple(tokens(variant)), set()).add(number)
        for variant in place.primary_variants:
            official.setdefault(tuple(tokens(variant)), set()).add(number)
    full: dict[str, set[str]] = {}
    noun: dict[str, set[str]] = {}
    adjective: dict[str, set[str]] = {}
    first: dict[str, list[_Entry]] = {}
    for words, numbers in by_words.items():
        entry = _Entry(words, tuple(sorted(numbers)), frozenset(official.get(words, set()) & numbers))
        for word in words:
            full.setdefault(word, set()).add(word)
            if _is_cyrillic(word):
                for base in _noun_bases(word):
                    noun.setdefault(base, set()).add(word)
                for base in _adjective_bases(word):
                    adjective.setdefault(base, set()).add(word)
        first.setdefault(words[0], []).append(entry)
    return _Index(
        {k: tuple(v) for k, v in first.items()},
        {k: frozenset(v) for k, v in full.items()},
        {k: frozenset(v) for k, v in noun.items()},
        {k: frozenset(v) for k, v in adjective.items()},
    )


def _readings(token: str, index: _Index) -> dict[str, int]:
    """The gazetteer words a query token can be (itself, or a name word plus endings), each with its cost: the
    number of endings taken off, so that an exact reading beats an inflected one (Қарасай is Karasay, not
    Karasu + "ай"; Теміртау is Temirtau, not Temir + "тау")."""
    words: dict[str, int] = {}
    for stem, stripped, adjectival in _query_splits(token):
        if adjectival:
            # An adjective of a Russian name (Карагандинской), or one made from a Kazakh name (Созакском), but
            # not of the names of Russia's Altai, Samara and Astrakhan (Алтайский край, Самарская область).
            found = set(index.adjective.get(stem, ()))
            if stem not in _FOREIGN_ADJECTIVES:
                found |= index.full.get(stem, frozenset())
        else:
            found = set(index.full.get(stem, ()))
            if stripped:
                found |= index.noun.get(stem, frozenset())
        for word in found:
            words[word] = min(words.get(word, stripped), stripped)
    return words


def match_places(text: str) -> list[Place]:
    """The places a text names, in the order it names them (each once).

    Words are compared case-insensitively after folding: Latin to ASCII, so Öskemen, Óskemen, O'skemen, O’skemen
    and Oskemen meet (the 2017 s'/c' and ş/š read sh/ch); Kazakh Cyrillic to Russian letters, so Оскемен meets
    Өскемен. Hyphens and spaces separate words alike (Нур-Султан = Нур Султан; Nursultan is a variant of its
    own); an apostrophe inside a word is the 2017 alphabet's and is dropped, a final 's is a possessive. A Cyrillic
    name also matches with a Russian or Kazakh ending (Усть-Каменогорске, Карагандинской области, Алматыда); Latin
    names only as written.

    At each position the longest name wins ("Karaganda Region" is the region, not the city and a word), and among
    names of that length those read with the fewest endings (an exact word beats an inflected reading).

    Ambiguity is not resolved: when the longest name belongs to several places, all are returned, those for which
    it is a name as written (``Place.primary_variants``) first, then in ``load_places()`` order. This happens for
    districts with the same name in different regions (Abai, Esil, Zhambyl, Aktogay), a district and a city of the
    same name (Aksu), a region's bare name and its centre (Karaganda: the city, then the region), a region and a
    district of the same name (Ulytau, Mangystau, Jetisu/Zhetysu), and former names reused elsewhere (Akmola,
    Tselinograd, Zhambyl, Semipalatinsk).
    """
    places = _load()
    found: list[int] = []
    for _start, _length, candidates in _name_matches(text):
        found.extend(p for p in candidates if p not in found)
    return [places[p] for p in found]


def whole_name(text: str) -> list[Place]:
    """The places whose name ``text`` is, as a whole (not a name and more words): ``match_places()`` read of
    the entire text as one name, or [] ("Усть-Каменогорск" → Oskemen; "Усть-Каменогорск снег" → [])."""
    count = len(_cased_tokens(text))
    places = _load()
    for start, length, candidates in _name_matches(text):
        return [places[p] for p in candidates] if start == 0 and length == count else []
    return []


def _name_matches(text: str) -> Iterator[tuple[int, int, list[int]]]:
    """(first token, number of tokens, candidate place numbers) of each name in ``text``, left to right."""
    index = _index()
    cased = _cased_tokens(text)
    words = [token for token, _ in cased]
    readings = [_readings(token, index) for token in words]
    i = 0
    while i < len(words):
        # The longest name starting here, and among those the ones read with the fewest endings taken off.
        best: list[_Entry] = []
        best_rank = (0, 0)
        starts = set(itertools.chain.from_iterable(index.first.get(w, ()) for w in readings[i]))
        for entry in starts:
            n = len(entry.words)
            if i + n > len(words) or not all(entry.words[k] in readings[i + k] for k in range(n)):
                continue
            if n == 1 and entry.words[0] in HOMONYMS and not (cased[i][1] or len(words) == 1):
                continue
            rank = (n, -sum(readings[i + k][entry.words[k]] for k in range(n)))
            if rank > best_rank:
                best, best_rank = [entry], rank
            elif rank == best_rank:
                best.append(entry)
        if not best:
            i += 1
            continue
        official = {p for e in best for p in e.official}
        yield i, best_rank[0], sorted({p for e in best for p in e.places}, key=lambda p: (p not in official, p))
        i += best_rank[0]
