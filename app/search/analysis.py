"""Text analysis for search in Russian, Kazakh and English, in Cyrillic and Latin script.

Pure: no Flask, no database. Built on ``whoosh.analysis`` (Whoosh 2.7.4) and the Snowball stemmers of
PyStemmer (C; Whoosh's own pure-Python Snowball took half of the indexing time).

Three analyzers (``TextAnalyzer``: one pass over the text, no chain of Whoosh filters), meant for three fields of
one document (the query layer searches all three and boosts the stricter ones, so exact word forms rank above
stems, and stems above cross-script matches):

``exact_analyzer()``
    words → lowercase → ё→е. No stop words, no stemming.
``stem_analyzer()``
    words → lowercase → ё→е → stop words (ru, kk, en) → language-aware stem(s), see ``stems()``.
``fold_analyzer()``
    like ``stem_analyzer()``, then every stem is folded to its Latin skeleton (``fold()``); the folded surface
    form is added too. "аудандарда", "ауданда" and "audan" meet; so do "Шымкентте", "Shymkent" and "Şymkent".

Tokens: maximal runs of Unicode letters and digits (combining marks stay attached); hyphens, apostrophes and
underscores separate tokens, so "Nur-Sultan" gives "nur", "sultan" (the parts are kept, the hyphen is not).

Language per token (no document-level guessing; the same word is always analysed the same way):

* Cyrillic with a Kazakh-only letter (ә ғ қ ң ө ұ ү һ і) → Kazakh: ``kazakh_stem()``.
* other Cyrillic → the Russian Snowball stem and, when it differs, the ``kazakh_stem()`` too, *at the same
  position* ("ауданда" → "ауданд", "аудан"; "аудан" → "ауда", "аудан"; "совета" → "совет", "совета"). Kazakh
  words without Kazakh letters (аудан, мектеп, бюджет, автобус, Шымкентте) are common and cannot be told from
  Russian by their letters; Snowball mangles them ("аудан" → "ауда") and the Kazakh stripper, constrained by
  phonotactics and vowel harmony, rarely strips a Russian ending ("компьютер", "карта", "доллар" stay whole).
  The price is a second term per Russian word in the index.
* Latin → English Porter2 (Snowball English), with "-uses" → "-us" first (buses → bus).
* anything else (digits, other scripts, mixed-script tokens) → unchanged.

In the fold field a Latin token may be English or Russian/Kazakh typed in Latin, so it gets, besides its English
stem, the Russian and Kazakh stems of ``to_cyrillic(token)`` ("Shymkentte" meets "Шымкент", "Almaty" "Алматыда").

Because a token may yield several terms at one position, a Whoosh field using ``stem_analyzer()`` or
``fold_analyzer()`` should be declared with ``multitoken_query="or"`` (``TEXT(analyzer=..., multitoken_query="or")``)
so that a query word matches any of them; the default ("and") would demand all. For the same reason Whoosh's
``"quoted phrase"`` syntax does not work on those fields (it strings all alternatives into one phrase): run
phrases against the exact field, or build ``whoosh.query.Sequence([Or([Term(f, t) for t in alts]) ...])`` from
``query_positions()``, as ``app.search.expansion`` does.

Folded skeleton (``fold()``), used for matching only — never shown to users:

1. NFC, lowercase, ё→е.
2. Cyrillic → Latin with ``to_latin()``: а a, ә a, б b, в v, г g, ғ g, д d, е e, ж zh, з z, и i, й i, і i, к k,
   қ q, л l, м m, н n, ң n, о o, ө o, п p, р r, с s, т t, у u, ұ u, ү u, ф f, х kh, һ h, ц ts, ч ch, ш sh,
   щ shch, ъ –, ы y, ь –, э e, ю yu, я ya.
3. Latin letters of the Kazakh, Turkish and European alphabets: ş sh, ç ch, ğ g, ı i, ñ n, ä a, ö o, ü u, ū u,
   ß ss, æ ae, œ oe, ø o, đ d, ł l, þ th; any other accent is dropped (NFKD, combining marks removed).
4. Spelling variants merged, in this order: c→k unless before h; word-initial ye→e (Yerlan = Ерлан);
   kh→h (Kazakhstan = Казахстан, х = kh = h); x→ks; q→k; y→i (so й, и, і, ы, y, i are all "i"); j→zh
   (Jambyl = Жамбыл); w→v.
5. A final b, d, g, z becomes p, t, k, s (final devoicing, as ``kazakh_stem()`` writes it: округ = округтің).

So Онай, Оңай and Onay → "onai"; Шымкент, Shymkent, Şymkent → "shimkent"; Қостанай, Kostanay, Qostanai →
"kostanai"; қала and кала → "kala"; әкім and аким → "akim". Known gaps: Russian "е" after a vowel is romanised
"ye" by some (Баев/Bayev → "baev"/"baiev"); spellings with different consonants (Oral/Uralsk, Chimkent) are
other names, not folds — see ``app.search.gazetteer``; Russian Snowball itself splits some place names
("Костанай" → "костана", "Костаная" → "костан").

Thesaurus labels (``app.search.thesaurus``) are expanded at query time (``app.search.expansion``): the index holds
no label's translations. It only marks where a multi-word label occurs: ``fold_analyzer()`` adds one phrase key
term (``phrase_key()``, "§publik_kounkil") after its adjacent words ("общественного совета", "қоғамдық кеңестің",
"public councils"), so that the fold fields, which have no positions, can tell "public council" from "public" and
"council" apart; the query layer searches a multi-word label as its key.

``ANALYSIS_VERSION`` names the terms this module indexes for a text: bump it when a change here or in
the thesaurus's multi-word labels changes them. ``flask search check`` reports an index built with another version.

One field value may hold texts of different weights (``weighted()``: title ×4, summary ×2, …): each token
carries its part's weight as its boost, and parts are ``PART_GAP`` positions apart.

Whoosh pickles analyzers into the index schema, so ``TextAnalyzer`` is referenced by its import path
``app.search.analysis``: renaming this module or the class requires rebuilding the index.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections import deque
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Sequence
from functools import lru_cache

import Stemmer
from whoosh.analysis import Analyzer
from whoosh.analysis import Token

from app.search.thesaurus import load_concepts
from app.translit import CYRILLIC_TO_LATIN

__all__ = [
    "ALL_STOP_WORDS",
    "ANALYSIS_VERSION",
    "KAZAKH_LETTERS",
    "PHRASE_KEY_MARK",
    "STOP_WORDS",
    "concept_phrases",
    "detect_script",
    "english_stem",
    "exact_analyzer",
    "fold",
    "fold_analyzer",
    "guess_language",
    "has_kazakh_letters",
    "kazakh_stem",
    "normalize",
    "phrase_key",
    "query_positions",
    "russian_stem",
    "stem_analyzer",
    "stems",
    "to_cyrillic",
    "to_latin",
]

# --------------------------------------------------------------------------------------------------------------
# Scripts

ANALYSIS_VERSION = 4
"""The version of the indexed terms (1: before phrase keys; 2: Whoosh's Snowball; 3: PyStemmer, weighted parts in
three merged fields); stored with each index generation."""

KAZAKH_LETTERS = frozenset("әғқңөұүһі")
"""Cyrillic letters used in Kazakh but not in Russian (lowercase)."""

_COMBINING = "\u0300-\u036f\u0483-\u0489\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"
TOKEN_PATTERN = re.compile(rf"[^\W_][^\W_{_COMBINING}]*(?:[{_COMBINING}]+[^\W_]*)*")
"""A token: a letter or digit, then letters, digits and combining marks. Hyphens and apostrophes split."""


def _is_cyrillic(ch: str) -> bool:
    return (
        "\u0400" <= ch <= "\u052f"
        or "\u1c80" <= ch <= "\u1c8f"
        or "\u2de0" <= ch <= "\u2dff"
        or ("\ua640" <= ch <= "\ua69f")
    )


def _is_latin(ch: str) -> bool:
    return (
        ("a" <= ch <= "z")
        or ("A" <= ch <= "Z")
        or ("\u00c0" <= ch <= "\u024f" and ch not in "\u00d7\u00f7")
        or "\u1e00" <= ch <= "\u1eff"
        or "\u2c60" <= ch <= "\u2c7f"
        or "\ua720" <= ch <= "\ua7ff"
        or "\uff21" <= ch <= "\uff3a"
        or "\uff41" <= ch <= "\uff5a"
    )


def detect_script(token: str) -> str:
    """The script of ``token``'s letters: "cyrillic", "latin", "mixed" (both) or "other" (neither, or no letters).

    Digits, marks and punctuation are ignored: "5-й" is Cyrillic, "2024" is "other".
    """
    cyrillic = latin = False
    for ch in token:
        if _is_cyrillic(ch):
            cyrillic = True
        elif _is_latin(ch):
            latin = True
    if cyrillic and latin:
        return "mixed"
    if cyrillic:
        return "cyrillic"
    if latin:
        return "latin"
    return "other"


def has_kazakh_letters(token: str) -> bool:
    """Whether ``token`` contains a Kazakh-only Cyrillic letter (ә ғ қ ң ө ұ ү һ і, either case)."""
    return any(ch in KAZAKH_LETTERS for ch in token.lower())


def normalize(token: str) -> str:
    """NFC, lowercase, ё→е: the exact form used for matching."""
    text = unicodedata.normalize("NFC", token).lower()
    return text.replace("ё", "е")


# --------------------------------------------------------------------------------------------------------------
# Transliteration (the table: app/translit.py)


def to_latin(text: str) -> str:
    """Romanise Cyrillic (Russian and Kazakh) in ``text`` to plain ASCII Latin; other characters pass through.

    A simple, deterministic scheme close to the 2021 Kazakh Latin alphabet without diacritics (қ→q, ң→n,
    ә→a, ө→o, ұ/ү→u, і→i, ғ→g) and to common Russian romanisation (ш→sh, ч→ch, ж→zh, х→kh, ц→ts, ю→yu, я→ya,
    ы→y, й→i, ь/ъ dropped). Case is kept on the first letter: "Шымкент" → "Shymkent", "Қостанай" → "Qostanai".
    """
    out = []
    for ch in text:
        low = ch.lower()
        latin = CYRILLIC_TO_LATIN.get(low)
        if latin is None:
            out.append(ch)
        elif ch != low:
            out.append(latin[:1].upper() + latin[1:])
        else:
            out.append(latin)
    return "".join(out)


_LAT_TO_CYR_MULTI = (("shch", "щ"), ("sh", "ш"), ("ch", "ч"), ("zh", "ж"), ("kh", "х"), ("ts", "ц"), ("yu", "ю"),
                     ("ya", "я"))  # fmt: skip
_LAT_TO_CYR = {
    "a": "а", "b": "б", "c": "к", "d": "д", "e": "е", "f": "ф", "g": "г", "h": "х", "j": "ж", "k": "к",
    "l": "л", "m": "м", "n": "н", "o": "о", "p": "п", "q": "қ", "r": "р", "s": "с", "t": "т", "u": "у",
    "v": "в", "w": "в", "x": "кс", "z": "з", "ä": "ә", "ğ": "ғ", "ı": "ы", "ñ": "ң", "ö": "ө", "ş": "ш",
    "ç": "ч", "ū": "ұ", "ü": "ү", "é": "е",
}  # fmt: skip
_LATIN_VOWELS = frozenset("aeiouyäöüūıé")


def to_cyrillic(text: str) -> str:
    """Transliterate Latin in ``text`` to Cyrillic, for matching a Latin query against Cyrillic text.

    The inverse of ``to_latin()`` where that is unambiguous, plus the 2021 Kazakh letters (ä ğ ı ñ ö ş ū ü, q→қ,
    j→ж). "i" and "y" become "й" after a vowel ("onay" → "онай", "qostanai" → "қостанай"); otherwise "i" → "и" and
    "y" → "ы" ("almaty" → "алматы"), except a word-initial "ye" → "е" and "y" before a vowel → "й". Case is kept
    on the first letter. Only the folded form is guaranteed to round-trip: ``fold(to_cyrillic(w)) == fold(w)``.
    """
    out = []
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        low = ch.lower()
        upper = ch != low
        prev = text[i - 1].lower() if i else ""
        at_start = not prev.isalpha()
        rest = text[i : i + 4].lower()
        piece = None
        step = 1
        if at_start and rest.startswith("ye"):
            piece, step = "е", 2
        else:
            for latin, cyr in _LAT_TO_CYR_MULTI:
                if rest.startswith(latin):
                    piece, step = cyr, len(latin)
                    break
        if piece is None:
            if low in "iy":
                nxt = text[i + 1].lower() if i + 1 < n else ""
                if prev in _LATIN_VOWELS or (low == "y" and nxt in _LATIN_VOWELS):
                    piece = "й"
                else:
                    piece = "и" if low == "i" else "ы"
            else:
                piece = _LAT_TO_CYR.get(low)
        if piece is None:
            out.append(ch)
        else:
            out.append(piece[:1].upper() + piece[1:] if upper else piece)
        i += step
    return "".join(out)


_LATIN_SPECIAL = {
    "ş": "sh", "ç": "ch", "ğ": "g", "ı": "i", "ñ": "n", "ä": "a", "ö": "o", "ü": "u", "ū": "u", "ß": "ss",
    "æ": "ae", "œ": "oe", "ø": "o", "đ": "d", "ł": "l", "þ": "th", "ð": "d", "ħ": "h", "ŧ": "t",
}  # fmt: skip
_FOLD_TABLE = str.maketrans({**CYRILLIC_TO_LATIN, **_LATIN_SPECIAL})  # steps 2 and 3 at once (their keys differ)
_C_NOT_CH = re.compile(r"c(?!h)")
# Step 4 after "c": plain replacements, in this order.
_FOLD_REPLACEMENTS = (("kh", "h"), ("x", "ks"), ("q", "k"), ("y", "i"), ("j", "zh"), ("w", "v"))


def _strip_marks(ch: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))


_FINAL_DEVOICING = {"b": "p", "d": "t", "g": "k", "z": "s"}


@lru_cache(maxsize=200_000)
def fold(token: str) -> str:
    """The Latin skeleton of one token, for case-, script- and diacritic-insensitive matching (module docstring).

    Characters of other scripts pass through lowercased (without combining marks); the result may be empty only
    if ``token`` has nothing but marks.
    """
    text = normalize(token).translate(_FOLD_TABLE)
    if not text.isascii():
        text = "".join(ch if ch.isascii() else _strip_marks(ch) for ch in text)
    text = text.lower()
    if "c" in text:
        text = _C_NOT_CH.sub("k", text)
    if text.startswith("ye"):
        text = text[1:]
    for old, new in _FOLD_REPLACEMENTS:
        if old in text:
            text = text.replace(old, new)
    if len(text) > 2 and text[-1] in _FINAL_DEVOICING:
        # Both languages devoice a final consonant, and kazakh_stem() writes it voiceless (округ+тің → окрук):
        # Russian "округ" and Kazakh "округтің" must meet.
        text = text[:-1] + _FINAL_DEVOICING[text[-1]]
    return text


# --------------------------------------------------------------------------------------------------------------
# Kazakh: a light inflectional suffix stripper

_KK_VOWELS = frozenset("аәеёиоөуұүыіэюя")
_KK_VOICELESS = frozenset("кқпстфхһцчшщ")
_KK_NASAL = frozenset("мнң")
_KK_BACK = frozenset("аоұы")
_KK_FRONT = frozenset("әеөүі")
_KK_MIN_STEM = 3

# Classes of the letter before a suffix: V vowel, S voiced consonant (not nasal), N nasal, K voiceless consonant,
# H a voiceless consonant that stays voiceless before a vowel (not к, қ, п: those become г, ғ, б, as in көлігі,
# саябағы, кітабы), P the 3rd-person possessive vowel ы/і (pronominal "n" forms: ауданында, қаласынан, жобасын).
_V, _S, _N, _K, _H, _P = "V", "S", "N", "K", "H", "P"
# у after a vowel is the glide /w/ and alone it is /uw/: either way suffixes treat it as a voiced consonant
# (тауы, таудың, тауға, суы, судың; жөндеуі, жөндеудің), like й (айы, айдың).
_KK_GLIDES = frozenset("у")


def _letter_class(ch: str) -> set[str]:
    if ch in _KK_GLIDES:
        return {_S}
    if ch in _KK_VOWELS:
        classes = {_V}
        if ch in "ыі":
            classes.add(_P)
        return classes
    if ch in _KK_VOICELESS:
        return {_K} if ch in "кқп" else {_K, _H}
    if ch in _KK_NASAL:
        return {_N}
    if ch in "бвгд":  # devoiced at the end of loanwords: клубқа/клубта and клубы are both attested
        return {_S, _K}
    return {_S}


# (suffix, allowed classes of the preceding letter). Longest suffixes are tried first. A suffix allowed only after
# P (the pronominal n of ауданында, жобасын) is taken only if a 3rd-person possessive comes off next.
_KK_CASE = (
    # locative-attributive
    ("ндағы", {_P}), ("ндегі", {_P}), ("дағы", {_V, _S, _N}), ("дегі", {_V, _S, _N}), ("тағы", {_K}),
    ("тегі", {_K}),
    # ablative
    ("ндан", {_P}), ("нден", {_P}), ("дан", {_V, _S}), ("ден", {_V, _S}), ("нан", {_N, _P}), ("нен", {_N, _P}),
    ("тан", {_K}), ("тен", {_K}),
    # genitive
    ("ның", {_V, _N}), ("нің", {_V, _N}), ("дың", {_S}), ("дің", {_S}), ("тың", {_K}), ("тің", {_K}),
    # locative
    ("нда", {_P}), ("нде", {_P}), ("да", {_V, _S, _N}), ("де", {_V, _S, _N}), ("та", {_K}), ("те", {_K}),
    # dative
    ("ға", {_V, _S, _N}), ("ге", {_V, _S, _N}), ("қа", {_K}), ("ке", {_K}), ("на", {_P}), ("не", {_P}),
    # accusative: -ды/-ді after voiced consonants and nasals (нанды, өнімді), -ты/-ті after voiceless ones, -н after
    # a 3rd-person possessive (жобасын, заңын). Not -ны/-ні after a vowel: "ауданы" is аудан+ы as often as
    # ауда+ны is anything, and the two cannot be told apart by their letters.
    ("ды", {_S, _N}), ("ді", {_S, _N}), ("ты", {_K}), ("ті", {_K}), ("н", {_P}),
    # instrumental
    ("мен", {_V, _S}), ("бен", {_S, _N}), ("пен", {_K}),
)  # fmt: skip
# The possessives after a consonant begin with a vowel, so they never follow к, қ, п (which voice before it): the
# ы/і of жалақы, ескі, ақы is part of the word.
_KK_POSSESSIVE = (
    ("ымыз", {_S, _N, _H}), ("іміз", {_S, _N, _H}), ("ыңыз", {_S, _N, _H}), ("іңіз", {_S, _N, _H}),
    ("мыз", {_V}), ("міз", {_V}), ("ңыз", {_V}), ("ңіз", {_V}),
    ("сы", {_V}), ("сі", {_V}), ("ы", {_S, _N, _H}), ("і", {_S, _N, _H}),
)  # fmt: skip
_KK_THIRD_PERSON = frozenset({"сы", "сі", "ы", "і"})
_KK_PLURAL = (
    ("лар", {_V, "р", "й", "у"}), ("лер", {_V, "р", "й", "у"}), ("дар", {_S, _N}), ("дер", {_S, _N}),
    ("тар", {_K}), ("тер", {_K}),
)  # fmt: skip
_KK_HARMONY_FREE = frozenset({"мен", "бен", "пен"})
_KK_DEVOICE = {"б": "п", "г": "к", "ғ": "қ"}


def _harmony_ok(stem: str, suffix: str) -> bool:
    """Reject a back suffix after a clearly front stem and vice versa; ambiguous vowels (и, у, ю…) allow both."""
    if suffix in _KK_HARMONY_FREE:
        return True
    suffix_back = any(ch in _KK_BACK for ch in suffix)
    suffix_front = any(ch in _KK_FRONT for ch in suffix)
    for ch in reversed(stem):
        if ch in _KK_BACK:
            return not suffix_front
        if ch in _KK_FRONT:
            return not suffix_back
        if ch in _KK_VOWELS:
            return True
    return True


def _strips(word: str, table: Sequence[tuple[str, set[str]]]) -> Iterator[tuple[str, str, bool]]:
    """Every (stem, suffix, only_after_p) that ``table`` allows for ``word``, longest suffix first."""
    for suffix, allowed in table:
        if not word.endswith(suffix):
            continue
        stem = word[: -len(suffix)]
        if len(stem) < _KK_MIN_STEM:
            continue
        last = stem[-1]
        classes = _letter_class(last)
        if not (allowed & classes or last in allowed):
            continue
        if not _harmony_ok(stem, suffix):
            continue
        yield stem, suffix, not (allowed & (classes - {_P}) or last in allowed)


def _strip_one(word: str, table: Sequence[tuple[str, set[str]]]) -> str:
    return next((stem for stem, _, _ in _strips(word, table)), word)


_KK_ELISION_FIRST = frozenset("рлуй")
_KK_ELISION_SECOND = frozenset("змнң")


def _restore_elided_vowel(stem: str) -> str:
    """Put back the ы/і that a stem loses before a vowel suffix (ауыз → аузы, орын → орны, мұрын → мұрны): a stem
    left ending in a sonorant + з/м/н/ң, which no Kazakh word ends in, gets it back, by vowel harmony."""
    if len(stem) < _KK_MIN_STEM or stem[-2] not in _KK_ELISION_FIRST or stem[-1] not in _KK_ELISION_SECOND:
        return stem
    for ch in reversed(stem[:-2]):
        if ch in _KK_BACK or ch in _KK_FRONT:
            return stem[:-1] + ("ы" if ch in _KK_BACK else "і") + stem[-1]
    return stem


def _strip_case(word: str) -> str:
    """``word`` without its case ending; a pronominal one (-н, -на, -нда, … after ы/і) only if a 3rd-person
    possessive comes off next."""
    for stem, _, only_after_p in _strips(word, _KK_CASE):
        if not only_after_p or any(suffix in _KK_THIRD_PERSON for _, suffix, _ in _strips(stem, _KK_POSSESSIVE)):
            return stem
    return word


@lru_cache(maxsize=65536)
def kazakh_stem(word: str) -> str:
    """A light, conservative Kazakh inflection stripper: case, then possessive, then plural; at most one each.

    Derivation is kept (әкімдік stays әкімдік). A suffix is stripped only if the letter before it allows that
    allomorph (-да after vowels and voiced consonants, -та after voiceless ones, -лар after vowels, р, у and й, …;
    у counts as a voiced consonant: тауы, таудың), its vowels agree with the stem's last vowel, and at least 3
    letters remain. A case ending with the pronominal n (-н, -на, -нда, -нан, -ндағы after ы/і: жобасын,
    қаласына, ауданында) is stripped only together with the 3rd-person possessive before it. The input is
    lowercased (ё→е). Not stripped, on purpose: 1st/2nd person singular possessives (-м, -ң: әкім would lose its
    м), a possessive ы/і after к, қ, п (those voice before a vowel: көлігі, so жалақы and ескі stay whole), and the
    accusative -ны/-ні (ауданы is аудан+ы); so "қаланы" gives "қалан". A vowel elided before the possessive comes
    back (аузы → ауыз, see ``_restore_elided_vowel``). The result is a matching key, not a lemma: a final б/г/ғ is
    devoiced (мектебі → мектеп, әкімдігі → әкімдік); a final с after a vowel is dropped (кеңес, кеңесі → кеңе;
    облыс → облы), because кеңес+і and қала+сы look alike; a stem ending like possessive + accusative loses it
    (кәсіпорын, кәсіпорны, кәсіпорындар → кәсіпор), because кәсіпор+ы+н and заң+ы+н look alike.
    """
    text = normalize(word)
    if len(text) <= _KK_MIN_STEM:
        return text
    text = _strip_case(text)
    possessed = _strip_one(text, _KK_POSSESSIVE)
    if possessed != text and text[len(possessed)] in "ыі":
        possessed = _restore_elided_vowel(possessed)
    text = _strip_one(possessed, _KK_PLURAL)
    # A stem that ends like a possessive + accusative (кәсіпорын as кәсіпор+ы+н) is keyed as one, so that its
    # inflected forms (кәсіпорынға → кәсіпорын) meet it.
    if text[-1] == "н" and (shorter := _strip_case(text)) != text:
        text = _strip_one(shorter, _KK_POSSESSIVE)
    # Matching key, not a lemma: undo the voicing before a vowel suffix (әкімдігі → әкімдік, мектебі → мектеп)
    # by devoicing every final б/г/ғ, and drop a final с after a vowel, because кеңес+і and қала+сы cannot be
    # told apart (кеңесі → кеңе, кеңес → кеңе, қаласы → қала).
    if text[-1] in _KK_DEVOICE:
        text = text[:-1] + _KK_DEVOICE[text[-1]]
    if len(text) > _KK_MIN_STEM and text[-1] == "с" and text[-2] in _KK_VOWELS:
        text = text[:-1]
    return text


# --------------------------------------------------------------------------------------------------------------
# Russian and English

_stemmers = threading.local()  # PyStemmer's stemmers keep state between calls: one per thread


def _stemmer(language: str) -> Stemmer.Stemmer:
    found = getattr(_stemmers, language, None)
    if found is None:
        found = Stemmer.Stemmer(language)
        setattr(_stemmers, language, found)
    return found


@lru_cache(maxsize=65536)
def russian_stem(word: str) -> str:
    """Snowball Russian stem of a lowercase word (ё→е first); never empty for a non-empty word."""
    text = normalize(word)
    return _stemmer("russian").stemWord(text) or text


@lru_cache(maxsize=65536)
def english_stem(word: str) -> str:
    """Porter2 (Snowball English) stem, with "-uses" → "-us" first so that "buses" meets "bus"."""
    text = normalize(word)
    if len(text) > 4 and text.endswith("uses"):
        text = text[:-2]
    return (_stemmer("english").stemWord(text) or text).lower()


def guess_language(token: str) -> str:
    """The token's language family: "kk", "ru" (Cyrillic without Kazakh letters), "en" (Latin) or "" (other)."""
    script = detect_script(token)
    if script == "cyrillic":
        return "kk" if has_kazakh_letters(token) else "ru"
    if script == "latin":
        return "en"
    return ""


_FLEETING = re.compile(r"[бвгджзклмнпрстфхцчшщ][оеё]к$")


def _fleeting_vowel_stem(token: str, russian: str) -> str | None:
    """"закупок" → "закупк": Snowball leaves genitive plurals with a fleeting vowel whole (закупок, остановок,
    поездок), while the other forms stem without it (закупки → закупк). Only for words Snowball left unchanged,
    of 6+ letters; an extra candidate, so "восток" still meets "востока" through its own stem."""
    text = normalize(token)
    if russian != text or len(text) < 6 or not _FLEETING.search(text):
        return None
    return text[:-2] + "к"


@lru_cache(maxsize=65536)
def stems(token: str) -> tuple[str, ...]:
    """The stem candidates of one normalized token, first the preferred one; one to three, never empty strings.

    Kazakh letters → (kazakh_stem,); other Cyrillic → (russian_stem, kazakh_stem), or one of them when they
    agree, plus "закупок" → "закупк" for a genitive plural with a fleeting vowel (``_fleeting_vowel_stem``);
    Latin → (english_stem,); anything else → (token,).
    """
    language = guess_language(token)
    if language == "kk":
        return (kazakh_stem(token) or token,)
    if language == "ru":
        russian = russian_stem(token)
        kazakh = kazakh_stem(token)
        found = (russian, kazakh) if kazakh and kazakh != russian else (russian,)
        fleeting = _fleeting_vowel_stem(token, russian)
        return (*found, fleeting) if fleeting and fleeting not in found else found
    if language == "en":
        return (english_stem(token) or token,)
    return (token,)


# --------------------------------------------------------------------------------------------------------------
# Stop words: small curated lists of function words only (never domain words).


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Compared with normalized tokens, so written with е for ё.
STOP_WORDS: dict[str, frozenset[str]] = {
    "ru": _words(
        "а без бы был была были было в во вот все вы да для до его ее если есть же за и из или их к как ко ли "
        "либо мы на над не нет ни но о об обо он она они оно от по под при с со так также то тоже только у уже "
        "чем что чтобы это эта эти этот я"
    ),
    "kk": _words(
        "және мен бен пен да де та те үшін бұл осы сол ол олар біз сіз сен ал бірақ немесе не әрі туралы арқылы "
        "бойынша дейін кейін сияқты ғана қана ма ме ба бе па пе емес еді деп"
    ),
    "en": _words(
        "a an and are as at be by for from has have in is it its of on or that the their this to was were will with s t"
    ),
}
ALL_STOP_WORDS = frozenset().union(*STOP_WORDS.values())


# --------------------------------------------------------------------------------------------------------------
# The analyzers: one pass per text (tokenize, normalize, stop words, stems or folds, phrase keys)


@lru_cache(maxsize=65536)
def _folded_candidates(token: str) -> tuple[str, ...]:
    """Folded stems of one normalized token for the fold field, then its folded surface form; no duplicates.

    A Latin token may be English or Russian/Kazakh typed in Latin ("Qostanai", "Shymkentte"), so besides its
    English stem it gets the Russian and Kazakh stems of its Cyrillic transliteration.
    """
    folded = [fold(c) for c in stems(token)]
    if guess_language(token) == "en":
        cyrillic = to_cyrillic(token)
        folded.append(fold(russian_stem(cyrillic)))
        folded.append(fold(kazakh_stem(cyrillic)))
    folded.append(fold(token))
    return tuple(c for c in dict.fromkeys(folded) if c)


@lru_cache(maxsize=200_000)
def _word(raw: str) -> tuple[str, bool, tuple[str, ...], tuple[str, ...]]:
    """(normalized form, is a stop word, stems, folded candidates) of one token as the tokenizer found it: the
    whole per-word analysis, remembered per process (words recur: most of a text's words were seen before)."""
    text = normalize(raw)
    if text in ALL_STOP_WORDS:
        return text, True, (), ()
    return text, False, stems(text), _folded_candidates(text)


WEIGHT_MARK = "\x1e"
"""Starts a weighted part of a field value (``weighted()``); no token contains it."""
_WEIGHT_END = "\x1f"
PART_GAP = 100
"""Positions skipped between the parts of a weighted value, so that no phrase spans two parts."""


def weighted(parts: Iterable[tuple[float, str]]) -> str:
    """One field value made of texts of different weights (title ×4, summary ×2, …): each token of a part gets
    the part's weight as its boost, which Whoosh adds up into the term's weight (BM25F's weighted term
    frequency). Empty parts are left out."""
    return "".join(f"{WEIGHT_MARK}{boost:g}{_WEIGHT_END}{text}" for boost, text in parts if text)


def _parts(value: str) -> Iterator[tuple[float, str, int]]:
    """(boost, text, offset of text in value) of a ``weighted()`` value; a plain string is one part of boost 1."""
    if not value.startswith(WEIGHT_MARK):
        yield 1.0, value, 0
        return
    offset = 0
    for chunk in value.split(WEIGHT_MARK)[1:]:
        head, _, text = chunk.partition(_WEIGHT_END)
        try:
            boost = float(head)
        except ValueError:
            boost = 1.0
        yield boost, text, offset + 1 + len(head) + 1
        offset += 1 + len(chunk)


class TextAnalyzer(Analyzer):
    """The analyzer of one field variant, in one pass over the text (no chain of filters):

    * ``"exact"``: words → NFC, lowercase, ё→е; stop words kept;
    * ``"stem"``: the same without stop words, each word replaced by its stem candidates (``stems()``), extra
      candidates at the same position;
    * ``"fold"``: like "stem" with each stem folded (``_folded_candidates()``), plus a phrase key after every
      multi-word thesaurus label ("public councils" → "§publik_kounkil", at the position of the member's first
      word; stop words between its words are skipped), so that the fold field, which has no positions, can tell
      "public council" from "public" and "council" apart.

    Stop words removed leave no gap: the first word keeps its position, the following ones count on from it
    (Whoosh's ``StopFilter(renumber=True)``). A ``weighted()`` value gives every token its part's boost, and
    parts are ``PART_GAP`` positions apart. Tokens are one reused ``Token`` object, as Whoosh's own tokenizers
    do: read each before asking for the next.
    """

    VARIANTS = ("exact", "stem", "fold")

    def __init__(self, variant: str = "exact", phrase_keys: bool = True) -> None:
        if variant not in self.VARIANTS:
            raise ValueError(f"unknown analyzer variant {variant!r}")
        self.variant = variant
        self.phrase_keys = phrase_keys and variant == "fold"

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.variant!r})"

    def __call__(self, value, positions=False, chars=False, keeporiginal=False, removestops=True, start_pos=0,
                 start_char=0, tokenize=True, mode="", **kwargs):
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        if not tokenize:
            t.original = t.text = value
            t.boost = 1.0
            t.stopped = False
            if positions:
                t.pos = start_pos
            if chars:
                t.startchar, t.endchar = start_char, start_char + len(value)
            yield t
            return
        variant = self.variant
        width = _phrase_table()[0] if self.phrase_keys else 0
        base = start_pos
        for boost, text, offset in _parts(value):
            pos = None  # the position of the last word kept (stop words removed leave no gap)
            window: deque[tuple[frozenset[str], int, int]] = deque(maxlen=max(width, 1))
            count = 0
            for n, match in enumerate(TOKEN_PATTERN.finditer(text)):
                count = n + 1
                raw = match.group()
                norm, stop, stem_terms, fold_terms = _word(raw)
                if not norm:
                    continue
                if variant == "exact":
                    terms: tuple[str, ...] = (norm,)
                    here = base + n
                elif stop:
                    if removestops:
                        continue
                    terms, here = (norm,), base + n
                else:
                    pos = base + n if pos is None else pos + 1
                    here = pos
                    terms = stem_terms if variant == "stem" else fold_terms
                if keeporiginal:
                    t.original = raw
                startchar = start_char + offset + match.start()
                endchar = start_char + offset + match.end()
                t.stopped = stop and variant != "exact"
                for term in terms:
                    t.text = term
                    t.boost = boost
                    if positions:
                        t.pos = here
                    if chars:
                        t.startchar, t.endchar = startchar, endchar
                    yield t
                if width and not stop:
                    yield from _phrase_keys(t, window, fold_terms, here, startchar, endchar, boost)
            base += count + PART_GAP


def _phrase_keys(t: Token, window: deque, fold_terms: tuple[str, ...], here: int, startchar: int, endchar: int,
                 boost: float) -> Iterator[Token]:
    """The phrase keys of the multi-word thesaurus labels that end at this word (``window``: the words before it
    in this part, as (folded alternatives, position, start))."""
    alts, ends = _phrase_step(fold_terms)
    if not alts:  # no position for it in query_positions() either
        return
    window.append((alts, here, startchar))
    for member, key in ends:
        n = len(member)
        if n <= len(window) and all(window[k - n][0] & member[k] for k in range(n - 1)):
            _alts, pos, start = window[-n]
            t.text = key
            t.boost = boost
            t.stopped = False
            if t.positions:
                t.pos = pos
            if t.chars:
                t.startchar, t.endchar = start, endchar
            yield t


def exact_analyzer() -> TextAnalyzer:
    """Words → lowercase → ё→е: exact forms, to rank exact matches higher."""
    return TextAnalyzer("exact")


def stem_analyzer() -> TextAnalyzer:
    """Words → lowercase → ё→е → ru/kk/en stop words → language-aware stem(s) (see ``stems()``)."""
    return TextAnalyzer("stem")


def fold_analyzer() -> TextAnalyzer:
    """Like ``stem_analyzer()``, then each stem (and the surface form) folded to its Latin skeleton; plus a phrase
    key wherever a multi-word thesaurus label occurs."""
    return TextAnalyzer("fold")


# --------------------------------------------------------------------------------------------------------------
# Query positions and thesaurus labels

Position = tuple[str, ...]
"""The alternative folded terms at one position (any of them may match)."""
Phrase = tuple[Position, ...]
"""A phrase of positions, e.g. (("tsentr",), ("obsluzhivan", "obsluzhivania"), ...)."""

# Without phrase keys: the label table is built from query_positions(), and keys are no word alternatives.
_FOLD_ANALYZER = TextAnalyzer("fold", phrase_keys=False)


def query_positions(text: str) -> list[Position]:
    """``text`` through ``fold_analyzer()`` (without its phrase keys), grouped by position: a list of
    alternative-term tuples."""
    grouped: dict[int, list[str]] = {}
    for t in _FOLD_ANALYZER(text, positions=True):
        terms = grouped.setdefault(t.pos, [])
        if t.text not in terms:
            terms.append(t.text)
    return [tuple(grouped[pos]) for pos in sorted(grouped)]


@lru_cache(maxsize=1)
def concept_phrases() -> tuple[tuple[Phrase, ...], ...]:
    """Per concept of the thesaurus (``app.search.thesaurus.load_concepts()``, same order), its labels in all
    three languages through ``query_positions()``, without duplicates or empty ones."""
    out = []
    for concept in load_concepts():
        phrases: list[Phrase] = []
        for label in concept.all_labels():
            phrase = tuple(query_positions(label))
            if phrase and phrase not in phrases:
                phrases.append(phrase)
        out.append(tuple(phrases))
    return tuple(out)


PHRASE_KEY_MARK = "§"
"""The first character of a phrase key; no word token contains it (nor "_")."""


def phrase_key(phrase: Phrase) -> str:
    """The index term of a multi-word thesaurus label (a phrase of ``concept_phrases()``): ``PHRASE_KEY_MARK``
    and the first alternative of each position joined by "_" ("one-stop shop" → "§one_stop_shop"). Only members
    of the thesaurus are indexed with a key (``TextAnalyzer("fold")``)."""
    return PHRASE_KEY_MARK + "_".join(alts[0] for alts in phrase)


@lru_cache(maxsize=1)
def _phrase_table() -> tuple[int, dict[str, tuple[tuple[tuple[frozenset[str], ...], str], ...]]]:
    """(the most words of a multi-word label, {folded term: the multi-word labels whose last position has that
    term, each as (its positions as sets, its key)}): a token without an entry here ends no label."""
    by_last: dict[str, dict[str, tuple[frozenset[str], ...]]] = {}
    width = 0
    for phrases in concept_phrases():
        for member in phrases:
            if len(member) < 2:
                continue
            width = max(width, len(member))
            sets = tuple(frozenset(alts) for alts in member)
            for term in member[-1]:
                by_last.setdefault(term, {})[phrase_key(member)] = sets
    table = {term: tuple((sets, key) for key, sets in members.items()) for term, members in by_last.items()}
    return width, table


_Member = tuple[tuple[frozenset[str], ...], str]  # (a member's positions as sets, its phrase key)


@lru_cache(maxsize=65536)
def _phrase_step(candidates: tuple[str, ...]) -> tuple[frozenset[str], tuple[_Member, ...]]:
    """(the folded alternatives of a word, the multi-word members it can end, with their keys), for the fold
    analyzer's phrase keys: one cached look-up per distinct word."""
    _width, by_last = _phrase_table()
    ends: dict[str, tuple[frozenset[str], ...]] = {}
    for term in candidates:  # the tuple, not a set: the keys come out in the same order in every process
        for member, key in by_last.get(term, ()):
            ends.setdefault(key, member)
    return frozenset(candidates), tuple((member, key) for key, member in ends.items())


# --------------------------------------------------------------------------------------------------------------
# All three variants in one pass (full builds: app.search.building)

VariantTerms = dict[str, list]
"""{term: [frequency, weight (sum of the token boosts), positions (exact variant only, else None)]}."""


def variant_terms(value: str) -> dict[str, VariantTerms]:
    """What the three ``TextAnalyzer`` variants index for ``value``, from one pass over its tokens: per variant
    ("exact", "stem", "fold"), each term's frequency, summed boost and (exact) positions — the same terms, counts,
    float sums (added in the same order) and positions that ``TextAnalyzer(variant)(value, positions=True)`` feeds
    Whoosh's formats, at a third of the tokenizing and per-word look-ups. ``tests/unit/test_building.py`` compares
    the two."""
    exact: VariantTerms = {}
    stem: VariantTerms = {}
    fold: VariantTerms = {}
    width = _phrase_table()[0]
    base = 0
    for boost, text, _offset in _parts(value):
        window: deque[frozenset[str]] = deque(maxlen=max(width, 1))  # as in _phrase_keys(), alternatives only
        count = 0
        for n, match in enumerate(TOKEN_PATTERN.finditer(text)):
            count = n + 1
            norm, stop, stem_terms, fold_terms = _word(match.group())
            if not norm:
                continue
            entry = exact.get(norm)
            if entry is None:
                exact[norm] = [1, 0.0 + boost, [base + n]]
            else:
                entry[0] += 1
                entry[1] += boost
                entry[2].append(base + n)
            if stop:
                continue
            for terms, table in ((stem_terms, stem), (fold_terms, fold)):
                for term in terms:
                    entry = table.get(term)
                    if entry is None:
                        table[term] = [1, 0.0 + boost, None]
                    else:
                        entry[0] += 1
                        entry[1] += boost
            if not width:
                continue
            alts, ends = _phrase_step(fold_terms)
            if not alts:
                continue
            window.append(alts)
            for member, key in ends:
                size = len(member)
                if size <= len(window) and all(window[k - size] & member[k] for k in range(size - 1)):
                    entry = fold.get(key)
                    if entry is None:
                        fold[key] = [1, 0.0 + boost, None]
                    else:
                        entry[0] += 1
                        entry[1] += boost
        base += count + PART_GAP
    return {"exact": exact, "stem": stem, "fold": fold}
