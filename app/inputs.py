"""Untrusted text made safe to use: integers parsed within what a column can hold, control characters removed
from text, and text made storable in XML. Pure: no Flask, no database.

Every integer read from a URL, a query string or a form goes through :func:`parse_int` (the URL converter of
``app.urls``, the query helper there, the forms' coercions in ``app.forms``), so an id past any column's range
is "no such row" and a digit that ``int()`` would refuse (or accept: ``"١٢"``) never reaches it.
"""

from __future__ import annotations

import re

# Every id and year column is an INTEGER: 32-bit on PostgreSQL (SQLite's 64-bit integers hold it too).
INT_MIN = -(2**31)
INT_MAX = 2**31 - 1
# ASCII digits only; at most 40, so int() never works through (or refuses: Python caps at 4300) a huge string.
_INTEGER = re.compile(r"[+-]?[0-9]{1,40}")

# C0 controls, DEL and C1 controls: never part of a name, a title or a sentence.
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_LINE_BREAKS = re.compile(r"\r\n|[\r\n\t\v\f\x1c-\x1e\x85\u2028\u2029]")
_CONTROLS_BUT_LINES = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# What XML 1.0 cannot carry at all, not even as a character reference.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def parse_int(raw: str | None, minimum: int | None = INT_MIN, maximum: int | None = INT_MAX) -> int | None:
    """``raw`` as an integer when it is one, written in ASCII digits with an optional sign (spaces around are
    ignored) and within ``minimum``..``maximum`` (None: no bound); None otherwise. Unlike ``int()``, no
    ``1_000``, no Arabic-Indic or superscript digits, and by default no number past what a column stores.
    """
    if raw is None:
        return None
    raw = raw.strip()
    if not _INTEGER.fullmatch(raw):
        return None
    value = int(raw)
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        return None
    return value


def single_line(text: str | None) -> str | None:
    """``text`` with line breaks and tabs as spaces and every other control character removed (for titles and
    names: a CR/LF in one would break a mail header or a calendar line)."""
    if text is None:
        return None
    return _CONTROLS.sub("", _LINE_BREAKS.sub(" ", text))


def multi_line(text: str | None) -> str | None:
    """``text`` with its control characters removed, except tabs and line breaks (kept as they are: a browser
    sends a text area's lines with CR LF)."""
    if text is None:
        return None
    return _CONTROLS_BUT_LINES.sub("", text)


def xml_text(text: str | None) -> str | None:
    """``text`` without the characters XML 1.0 cannot hold (most control characters, lone surrogates), so a
    document built from it stays well-formed."""
    if text is None:
        return None
    return _NOT_XML.sub("", text)
