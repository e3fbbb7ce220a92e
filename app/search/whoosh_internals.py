"""The one module that uses Whoosh's private API, written against whoosh==2.7.4 (pinned in requirements.txt).

Search needs two things the public API makes slow: the set of documents holding a term (read a block of ids at
a time instead of one call per document) and the per-document field lengths (for BM25F with a prior, read
from the codec's length columns). Each function checks for what it relies on and falls back to the public
way, or to None, when a Whoosh release no longer has it; ``tests/unit/test_docmatch.py`` fails when the
installed Whoosh is not the version named here, so an upgrade means reading this module again.
"""

from __future__ import annotations

from whoosh.codec.whoosh3 import LENGTHS_COLUMN
from whoosh.codec.whoosh3 import _lenfield
from whoosh.matching.wrappers import FilterMatcher

WHOOSH_VERSION = (2, 7, 4)


def term_doc_ids(reader, fieldname: str, text) -> set[int]:
    """The ids of the (not deleted) documents of one segment ``reader`` holding term ``text`` in ``fieldname``:
    read a block of ids at a time from the codec's leaf matcher (``_read_ids``, ``_ids``, ``_next_block``),
    minus the segment's deleted documents (``FilterMatcher._exclude``, ``_ids``); with another matcher, the
    public ``all_ids()``."""
    if (fieldname, text) not in reader:
        return set()
    matcher = reader.postings(fieldname, text)
    deleted = frozenset()
    if isinstance(matcher, FilterMatcher) and matcher._exclude:  # the segment's deleted documents
        deleted, matcher = matcher._ids, matcher.child
    if not hasattr(matcher, "_read_ids"):  # not Whoosh 2.7.4's W3LeafMatcher: the slow way
        return set(matcher.all_ids()) - deleted
    ids: set[int] = set()
    while matcher.is_active():  # a block at a time (the first is already positioned)
        matcher._read_ids()
        ids.update(matcher._ids)
        matcher._next_block()
    return ids - deleted if deleted else ids


def has_length_columns(reader) -> bool:
    """Whether the segment ``reader`` keeps its field lengths in columns (Whoosh 2.7.4's W3 codec)."""
    perdoc = getattr(reader, "_perdoc", None)
    return perdoc is not None and hasattr(perdoc, "_cached_reader")


def length_column(reader, fieldname: str):
    """The column of ``fieldname``'s per-document lengths (one byte each) of the segment ``reader``, or None."""
    return reader._perdoc._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)
