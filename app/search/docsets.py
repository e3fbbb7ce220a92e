"""Sets of document numbers for filters and facet counts, built from the index's own postings and cached.

Whoosh's ``groupedby`` facets score and visit every match in Python, once per facet, and a ``filter=`` query is
re-evaluated from its postings on every search. Here each keyword field used for filtering or faceting (region,
level, topics, language, status, year, evidence) is read once per index segment into ``{value: docnums}``; a segment's
content never changes (deletions are masked by the matching side, see below), so the sets are kept for as long
as that segment's files exist, and a refresh after a one-document commit only reads the new small segment.

The merged sets are also laid out as (document, value code) pair arrays (:func:`value_arrays`): a filter is then
a boolean array over document numbers (:func:`mask`), and counting a facet over the matches (a boolean array,
with the filters of the *other* facets applied, so counts reflect the other filters, and several values in a
facet mean OR) is one ``bincount``.

The value sets may include deleted documents; they are only ever intersected with sets that come from matchers,
which skip deleted documents, so a deleted document is never counted or returned.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections import OrderedDict

import numpy as np
from whoosh.fields import NUMERIC

FIELDS = ("region", "level", "topics", "language", "status", "year", "evidence")
"""Keyword fields read into value sets."""

_MAX_SEGMENTS = 64
_lock = threading.Lock()
_segments: OrderedDict[tuple, dict[str, dict[str, frozenset[int]]]] = OrderedDict()  # LRU by segment file
_searchers: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # searcher → merged sets
_arrays: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # searcher → value_arrays()


def segment_key(leaf) -> tuple | None:
    """What identifies one segment's postings on disk: its terms file (folder, name, inode, mtime, size).

    Not the reader object: Whoosh 2.7.4's ``Searcher.refresh()`` opens new readers for unchanged segments too.
    Not the segment id alone: it comes from the global ``random`` module, which tests may seed, so two indexes
    can share one. None (not cached) for an empty index and for segments not stored as separate files.
    """
    segment = leaf.segment()
    folder = getattr(leaf.storage(), "folder", None) if segment is not None else None
    if folder is None:
        return None
    name = segment.make_filename(".trm")
    try:
        st = os.stat(os.path.join(folder, name))
    except OSError:
        return None
    return (folder, name, st.st_ino, st.st_mtime_ns, st.st_size)


def _segment_sets(leaf, schema) -> dict[str, dict[str, frozenset[int]]]:
    """{field: {value: local docnums}} of one segment reader (all of ``FIELDS`` the schema has)."""
    out: dict[str, dict[str, frozenset[int]]] = {}
    for fieldname in FIELDS:
        if fieldname not in schema:
            continue
        field = schema[fieldname]
        values: dict[str, frozenset[int]] = {}
        if fieldname in leaf.indexed_field_names():
            for btext in list(field.sortable_terms(leaf, fieldname)):
                value = field.from_bytes(btext) if isinstance(field, NUMERIC) else btext.decode("utf-8")
                # Documents deleted after this read stay in the cached set: harmless (see the module docstring).
                values[str(value)] = frozenset(leaf.postings(fieldname, btext).all_ids())
        out[fieldname] = values
    return out


def value_sets(searcher) -> dict[str, dict[str, frozenset[int] | set[int]]]:
    """{field: {value: global docnums}} for ``searcher`` (cached for as long as the searcher lives)."""
    with _lock:
        cached = _searchers.get(searcher)
    if cached is not None:
        return cached
    schema = searcher.schema
    merged: dict[str, dict[str, set[int] | frozenset[int]]] = {f: {} for f in FIELDS if f in schema}
    for leaf, offset in searcher.reader().leaf_readers():
        key = segment_key(leaf)
        with _lock:
            sets = _segments.get(key) if key is not None else None
            if sets is not None:
                _segments.move_to_end(key)
        if sets is None:
            sets = _segment_sets(leaf, schema)
            if key is not None:
                with _lock:
                    _segments[key] = sets
                    while len(_segments) > _MAX_SEGMENTS:
                        _segments.popitem(last=False)
        for fieldname, values in sets.items():
            target = merged[fieldname]
            for value, ids in values.items():
                shifted = ids if offset == 0 else frozenset(map(offset.__add__, ids))
                have = target.get(value)
                if have is None:
                    target[value] = shifted
                elif isinstance(have, frozenset):  # a cached set: never changed in place
                    target[value] = set(have).union(shifted)
                else:
                    have |= shifted
    with _lock:
        _searchers[searcher] = merged
    return merged


def value_arrays(searcher) -> dict[str, tuple[list[str], np.ndarray, np.ndarray]]:
    """{field: (values, docnums, codes)}: every (document, value) pair of :func:`value_sets` as two parallel
    arrays (``values[codes[i]]`` is a value of document ``docnums[i]``), for counting with one ``bincount``;
    cached for as long as the searcher lives."""
    with _lock:
        cached = _arrays.get(searcher)
    if cached is not None:
        return cached
    out = {}
    for fieldname, sets in value_sets(searcher).items():
        values = sorted(sets)
        docnums = [np.fromiter(sets[v], dtype=np.int64, count=len(sets[v])) for v in values]
        codes = [np.full(len(d), i, dtype=np.int64) for i, d in enumerate(docnums)]
        out[fieldname] = (values, np.concatenate(docnums) if docnums else np.zeros(0, dtype=np.int64),
                          np.concatenate(codes) if codes else np.zeros(0, dtype=np.int64))
    with _lock:
        _arrays[searcher] = out
    return out


def mask(searcher, fieldname: str, values) -> np.ndarray:
    """The documents having any of ``values`` in ``fieldname``, as a boolean array over document numbers
    (deleted ones may be in it: see the module docstring)."""
    out = np.zeros(searcher.doc_count_all(), dtype=bool)
    field_values, docnums, codes = value_arrays(searcher).get(fieldname, ([], None, None))
    values = set(values)
    wanted = [i for i, v in enumerate(field_values) if v in values]
    if wanted:
        out[docnums[np.isin(codes, wanted)]] = True
    return out
