"""Password policy for user accounts (pure: no Flask, no SQLAlchemy).

The policy follows NIST SP 800-63B: a minimum and maximum length, a blocklist of
common and easily guessed passwords, and a check against the user's own data.
There are deliberately *no* composition rules ("must contain a digit" and so on).
Any Unicode text is allowed, so Kazakh (ә ғ қ ң ө ұ ү һ і), Russian and English
passphrases, spaces and emoji are all acceptable.

Passwords are NFKC-normalised with :func:`normalise` both before they are checked
and before they are hashed, so that the same password typed on different
keyboards or input methods (e.g. fullwidth ``ｐａｓｓ`` against ASCII ``pass``)
is treated as the same password.

:func:`check_password` returns a list of problem codes, always in this order:

``"too_short"``
    fewer than :data:`MIN_LENGTH` code points after NFKC normalisation;
``"too_long"``
    more than :data:`MAX_LENGTH` code points after NFKC normalisation;
``"common"``
    the password (case-folded, surrounding whitespace stripped) is in the
    blocklist ``common_passwords.txt``, or is a blocklisted word only padded
    with digits/punctuation (``password1234!``), or a simple leetspeak variant
    of one (``P@ssw0rd``), or a blocklisted word repeated, or one character or
    a short group repeated (``aaaaaaaaaaaa``, ``abababababab``), or a straight
    keyboard/digit/alphabet run (``123456789012``, ``qwertyuiopas``,
    ``йцукенгшщзхъ``, ``abcdefghijkl``);
``"contains_personal"``
    contains the whole e-mail address or its local part (if that is at least
    four characters long), or equals the full name ignoring case and spaces.

An empty list means the password is acceptable.
"""

from __future__ import annotations

import functools
import itertools
import unicodedata
from collections.abc import Callable
from pathlib import Path

__all__ = ["MAX_LENGTH", "MIN_LENGTH", "check_password", "normalise"]

MIN_LENGTH = 12
MAX_LENGTH = 128

_COMMON_PASSWORDS_FILE = Path(__file__).with_name("common_passwords.txt")

# Patterns (runs, repeats) shorter than this are not treated as "trivial" by themselves.
_MIN_PATTERN_LENGTH = 4
# The local part of an e-mail address must be at least this long to count as personal data.
_MIN_LOCAL_PART_LENGTH = 4
# "Repeated" means a group of at most this many characters repeated (aaaa, abab, 123123...).
_MAX_REPEAT_UNIT = 4
# Upper bound for the (quadratic) "blocklisted word repeated" check.
_MAX_REPEAT_SCAN = 4 * MAX_LENGTH
# Name orders are permuted only for names with at most this many words.
_MAX_NAME_WORDS = 4

# Straight runs.  Each sequence is treated as cyclic (so "123456789012" and
# "qwertyuiopas" are runs) and is also checked backwards.  Characters inside one
# sequence must be unique.
_SEQUENCES: tuple[str, ...] = (
    "0123456789",
    "abcdefghijklmnopqrstuvwxyz",
    # Russian alphabet.
    "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
    # Kazakh Cyrillic alphabet.
    "аәбвгғдеёжзийкқлмнңоөпрстуұүфхһцчшщъыіьэюя",
    # Kazakh Latin alphabet (2021).
    "aäbdefgğhıijklmnñoöpqrsştuūüvyz",
    # QWERTY letter rows, read left to right, top to bottom.
    "qwertyuiopasdfghjklzxcvbnm",
    # ЙЦУКЕН letter rows (Russian and Kazakh layouts).
    "йцукенгшщзхъфывапролджэячсмитьбю",
    # Shifted digit row.
    "!@#$%^&*()",
    # QWERTY columns and zig-zags.
    "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik,9ol.0p;/",
    "1q2w3e4r5t6y7u8i9o0p",
)
_RUN_INDEXES: tuple[dict[str, int], ...] = tuple(
    {char: position for position, char in enumerate(sequence)}
    for forwards in _SEQUENCES
    for sequence in (forwards, forwards[::-1])
)

# Simple leetspeak substitutions, undone before looking words up in the blocklist.
_LEET_TABLES = (
    str.maketrans(
        {
            "0": "o",
            "1": "i",
            "3": "e",
            "4": "a",
            "5": "s",
            "7": "t",
            "8": "b",
            "9": "g",
            "@": "a",
            "$": "s",
            "!": "i",
            "|": "l",
            "+": "t",
            "€": "e",
        }
    ),
    str.maketrans({"0": "o", "1": "l", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "l"}),
    # Cyrillic look-alikes: п@роль, с0лнышк0, 3айка, 6ака...
    str.maketrans({"0": "о", "3": "з", "4": "ч", "6": "б", "@": "а", "$": "с"}),
)


def normalise(password: str) -> str:
    """Return ``password`` in Unicode NFKC form.

    Use this before hashing a password and before verifying one against a stored
    hash, so that compatibility variants (fullwidth letters, ligatures, composed
    versus decomposed Kazakh letters such as ``ә``) all map to the same string.
    Case and whitespace are preserved: they are part of the password.
    """
    return unicodedata.normalize("NFKC", password)


def check_password(password: str, *, email: str | None = None, full_name: str | None = None) -> list[str]:
    """Return a list of problem codes (empty list = acceptable).

    The possible codes, in the order they are reported, are ``"too_short"``,
    ``"too_long"``, ``"common"`` and ``"contains_personal"``; see the module
    docstring for their exact meaning.  ``email`` and ``full_name`` are the
    account's own data; pass ``None`` (or omit them) when they are unknown.
    The result depends only on the arguments, so it is deterministic.
    """
    if not isinstance(password, str):
        raise TypeError(f"password must be str, not {type(password).__name__}")
    normalised = normalise(password)
    folded = normalised.casefold()
    problems: list[str] = []

    length = len(normalised)
    if length < MIN_LENGTH:
        problems.append("too_short")
    elif length > MAX_LENGTH:
        problems.append("too_long")

    key = folded.strip()
    # A password made only of whitespace is as guessable as one repeated character.
    if (folded and not key) or _is_common(key):
        problems.append("common")

    if _contains_personal(folded, email=email, full_name=full_name):
        problems.append("contains_personal")
    return problems


@functools.cache
def _common_passwords() -> frozenset[str]:
    """Load the blocklist once: NFKC-normalised, case-folded, without comments or blank lines.

    Multi-word entries ("жаным менің") are also stored without their spaces.
    """
    entries: set[str] = set()
    with _COMMON_PASSWORDS_FILE.open(encoding="utf-8") as lines:
        for line in lines:
            entry = normalise(line.strip()).casefold()
            if entry and not entry.startswith("#"):
                entries.add(entry)
                entries.add("".join(entry.split()))
    return frozenset(entries)


def _is_padding(char: str) -> bool:
    """Return True for characters people pad words with: digits, punctuation, spaces, plain symbols."""
    return char.isdigit() or _is_punctuation(char)


def _is_punctuation(char: str) -> bool:
    """Return True for punctuation, separators/whitespace and math/currency/modifier symbols.

    Emoji and other "So" symbols are not counted: they are not mere padding.
    """
    if char.isspace():
        return True
    category = unicodedata.category(char)
    return category[0] in "PZ" or category in ("Sm", "Sc", "Sk")


def _strip(text: str, predicate: Callable[[str], bool]) -> str:
    """Remove leading and trailing characters for which ``predicate`` is true."""
    start, end = 0, len(text)
    while start < end and predicate(text[start]):
        start += 1
    while end > start and predicate(text[end - 1]):
        end -= 1
    return text[start:end]


def _candidates(key: str) -> list[str]:
    """Return the forms of ``key`` to test: as is, without inner spaces, without padding."""
    compact = "".join(char for char in key if not char.isspace())
    found: dict[str, None] = {}  # ordered set, for deterministic iteration
    for base in (key, compact):
        for candidate in (base, _strip(base, _is_padding), _strip(base, _is_punctuation)):
            if candidate:
                found[candidate] = None
    return list(found)


def _is_common(key: str) -> bool:
    """Return True if ``key`` (case-folded and stripped) is a blocklisted or trivially guessable password."""
    if not key:
        return False
    common = _common_passwords()
    for candidate in _candidates(key):
        if candidate in common or _is_run(candidate) or _is_repeated(candidate):
            return True
        if _is_repeated_entry(candidate, common):
            return True
        if any(candidate.translate(table) in common for table in _LEET_TABLES):
            return True
    return False


def _is_run(text: str) -> bool:
    """Return True if ``text`` is a straight run of one of the keyboard/digit/alphabet sequences."""
    if len(text) < _MIN_PATTERN_LENGTH:
        return False
    for index in _RUN_INDEXES:
        start = index.get(text[0])
        if start is None:
            continue
        size = len(index)
        if all(index.get(char) == (start + offset) % size for offset, char in enumerate(text)):
            return True
    return False


def _is_repeated(text: str) -> bool:
    """Return True if ``text`` is one character or a short group repeated (``aaaa``, ``ab12ab12ab``)."""
    length = len(text)
    if length < _MIN_PATTERN_LENGTH:
        return False
    for unit in range(1, _MAX_REPEAT_UNIT + 1):
        if length < 2 * unit:
            break
        if all(char == text[offset % unit] for offset, char in enumerate(text)):
            return True
    return False


def _is_repeated_entry(text: str, common: frozenset[str]) -> bool:
    """Return True if ``text`` is a blocklisted word repeated whole, e.g. ``passwordpassword``."""
    length = len(text)
    if length > _MAX_REPEAT_SCAN:
        return False
    for unit in range(1, length // 2 + 1):
        if length % unit == 0 and text[:unit] in common and text == text[:unit] * (length // unit):
            return True
    return False


def _contains_personal(folded: str, *, email: str | None, full_name: str | None) -> bool:
    """Return True if the case-folded password contains the e-mail (local part) or is the full name."""
    compact = "".join(folded.split())
    if email:
        address = normalise(email).strip().casefold()
        local, at, _domain = address.rpartition("@")
        fragments = [address]
        if at:
            # "aigerim+kz@example.kz": both "aigerim+kz" and "aigerim" are personal.
            fragments += [local, local.split("+", 1)[0]]
        for fragment in fragments:
            long_enough = fragment == address or len(fragment) >= _MIN_LOCAL_PART_LENGTH
            if fragment and long_enough and (fragment in folded or fragment in compact):
                return True
    if full_name:
        words = normalise(full_name).casefold().split()
        if words:
            if len(words) <= _MAX_NAME_WORDS:
                names = {"".join(order) for order in itertools.permutations(words)}
            else:
                names = {"".join(words)}
            if compact in names or _strip(compact, _is_padding) in names:
                return True
    return False
