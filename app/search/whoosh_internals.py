"""The one module that uses Whoosh's private API, written against whoosh==2.7.4 (pinned in requirements.txt).

Search needs two things the public API makes slow: the set of documents holding a term (read a block of ids at
a time instead of one call per document) and the per-document field lengths (for BM25F with a prior, read
from the codec's length columns). Each function checks for what it relies on and falls back to the public
way, or to None, when a Whoosh release no longer has it; ``tests/unit/test_docmatch.py`` fails when the
installed Whoosh is not the version named here, so an upgrade means reading this module again.
"""

from __future__ import annotations

import mmap
import os
import pickle
import sys
import threading
from array import array
from itertools import chain

import numpy as np
from whoosh.codec.whoosh3 import LENGTHS_COLUMN
from whoosh.codec.whoosh3 import _lenfield
from whoosh.filedb.filestore import FileStorage
from whoosh.filedb.structfile import StructFile
from whoosh.formats import Positions
from whoosh.index import TOC
from whoosh.index import EmptyIndexError
from whoosh.index import FileIndex
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


# --------------------------------------------------------------------------------------------------------------
# Postings as arrays (app.search.vector)


def deleted_docs(reader) -> list[int]:
    """The deleted document numbers of the segment ``reader``."""
    return list(reader._perdoc.deleted_docs()) if hasattr(reader, "_perdoc") else [
        d for d in range(reader.doc_count_all()) if reader.is_deleted(d)]


def term_postings(reader, fieldname: str, btext: bytes, values: bool = False):
    """(document numbers, weights, values or None) of every posting of one term in the segment ``reader``
    (deleted documents included: the caller masks them): ids (int64) and weights (float64) as numpy arrays, as
    the postings file holds them, a W3LeafMatcher block at a time (``_data``: delta-coded ids, the weights as None
    (all 1.0), one float (which Whoosh reads back as a 32-bit float) or one per posting, the encoded values); any
    other matcher (an inlined posting list) one posting at a time. None when the segment has no such term."""
    if (fieldname, btext) not in reader:
        return None
    matcher = reader.postings(fieldname, btext)
    if isinstance(matcher, FilterMatcher):
        matcher = matcher.child
    ids: list = []
    weights: list = []
    vals: list | None = [] if values else None
    if hasattr(matcher, "_read_data") and hasattr(matcher, "_next_block") and not matcher._byteids:
        while matcher.is_active():
            matcher._read_data()
            raw_ids, raw_weights = matcher._data[:2]
            block = np.cumsum(np.asarray(raw_ids, dtype=np.int64))  # delta coding restarts with each block
            ids.append(block)
            if raw_weights is None:
                weights.append(np.ones(len(block)))
            elif isinstance(raw_weights, float):
                weights.append(np.full(len(block), array("f", [raw_weights])[0]))
            else:
                weights.append(np.asarray(raw_weights, dtype=np.float64))
            if vals is not None:
                matcher._values = None
                matcher._read_values()
                vals.extend(matcher._values)
            matcher._next_block()
        if not ids:
            return np.zeros(0, dtype=np.int64), np.zeros(0), vals
        return np.concatenate(ids), np.concatenate(weights), vals
    while matcher.is_active():
        ids.append(matcher.id())
        weights.append(matcher.weight())
        if vals is not None:
            vals.append(matcher.value())
        matcher.next()
    return np.asarray(ids, dtype=np.int64), np.asarray(weights, dtype=np.float64), vals


# --------------------------------------------------------------------------------------------------------------
# Reads safe from several threads at once


class _View:
    """A read-only file over a buffer (a memory map) whose read position is kept per thread: Whoosh 2.7.4's
    matchers seek and then read a shared file object, which two threads at once would garble."""

    def __init__(self, buf):
        self._buf = buf
        self._local = threading.local()

    def tell(self) -> int:
        return getattr(self._local, "pos", 0)

    def seek(self, pos: int, whence: int = 0) -> int:
        base = 0 if whence == 0 else self.tell() if whence == 1 else len(self._buf)
        self._local.pos = base + pos
        return self._local.pos

    def read(self, n: int = -1) -> bytes:
        pos = self.tell()
        end = len(self._buf) if n is None or n < 0 else min(len(self._buf), pos + n)
        self._local.pos = max(pos, end)
        return bytes(self._buf[pos:end])

    def readline(self, limit: int = -1) -> bytes:
        pos = self.tell()
        end = len(self._buf)
        for i in range(pos, end):
            if self._buf[i] == 10:
                end = i + 1
                break
        if limit is not None and limit >= 0:
            end = min(end, pos + limit)
        self._local.pos = end
        return bytes(self._buf[pos:end])

    def close(self) -> None:
        pass  # the map goes with its last view


class _ViewFile(StructFile):
    """A ``StructFile`` over a :class:`_View`: positioned reads (``get``) slice the buffer, sub-files
    (compound segments) are views of the same map."""

    def __init__(self, buf, name=None):
        super().__init__(_View(buf), name=name)
        self._buf = buf

    def get(self, position, length):
        return bytes(self._buf[position:position + length])

    def get_array(self, position, typecode, length):
        a = array(typecode)
        a.frombytes(self.get(position, length * a.itemsize))
        if sys.byteorder == "little":
            a.byteswap()
        return a

    def subset(self, position, length, name=None):
        return _ViewFile(self._buf[position:position + length], name=name or self._name)


class ConcurrentStorage(FileStorage):
    """A read-only ``FileStorage`` whose files are memory maps read through per-thread positions, so one
    searcher serves several threads at once. (``supports_mmap`` False: Whoosh's compound storage then opens its
    sub-files with ``subset``, i.e. as views of our map, instead of sharing one ``BytesIO``.)"""

    supports_mmap = False

    def __init__(self, path):
        super().__init__(path, supports_mmap=False, readonly=True)

    def open_file(self, name, **kwargs):
        with open(self._fpath(name), "rb") as f:
            size = os.fstat(f.fileno()).st_size
            buf = memoryview(mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)) if size else memoryview(b"")
        return _ViewFile(buf, name=name)


class SnapshotStorage(ConcurrentStorage):
    """A :class:`ConcurrentStorage` that maps, when it is made, the latest TOC of index ``indexname`` and every
    file of that TOC's segments, and serves those maps from then on: a searcher on it reads one consistent
    generation even after another process's merge or update deleted those files. (Whoosh 2.7.4 opens a segment's
    column files, stored fields and field lengths among them, only when a search first reads them: a file
    deleted by then raised, or, for the lengths, silently read as zero.) The maps go with the searcher."""

    def __init__(self, path, indexname: str):
        super().__init__(path)
        self._maps: dict[str, memoryview] = {}
        names = super().list()
        self.generation = TOC._latest_generation(self, indexname)
        if self.generation < 0:
            raise EmptyIndexError(f"Index {indexname!r} does not exist in {path}")
        toc_name = TOC._filename(indexname, self.generation)
        self._pin(toc_name)
        self.toc = TOC.read(self, indexname, gen=self.generation)
        prefixes = tuple(segment.segment_id() + "." for segment in self.toc.segments)
        for name in names:
            if name.startswith(prefixes):
                self._pin(name)

    def _pin(self, name: str) -> None:
        self._maps[name] = self._map(name)

    def _map(self, name: str) -> memoryview:
        with open(self._fpath(name), "rb") as f:
            size = os.fstat(f.fileno()).st_size
            return memoryview(mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)) if size else memoryview(b"")

    def open_file(self, name, **kwargs):
        buf = self._maps.get(name)
        return _ViewFile(buf if buf is not None else self._map(name), name=name)

    def file_exists(self, name) -> bool:
        return name in self._maps or super().file_exists(name)

    def file_length(self, name) -> int:
        buf = self._maps.get(name)
        return len(buf) if buf is not None else super().file_length(name)


class SnapshotIndex(FileIndex):
    """The generation a :class:`SnapshotStorage` pinned; ``latest_generation`` still looks at the disk, so a
    searcher's ``up_to_date()`` says when a newer one exists."""

    def _read_toc(self):
        return self.storage.toc

    def latest_generation(self):
        return TOC._latest_generation(ConcurrentStorage(self.storage.folder), self.indexname)


SNAPSHOT_ATTEMPTS = 5  # a merge may delete a segment's files between reading its TOC and mapping them


def snapshot_index(ix):
    """``ix`` (a Whoosh ``FileIndex`` on disk) as a :class:`SnapshotIndex` of its latest generation: its searcher
    may be used by several threads at once, and reads that generation whatever other processes write meanwhile."""
    folder = getattr(ix.storage, "folder", None)
    if folder is None:
        return ix
    for attempt in range(SNAPSHOT_ATTEMPTS):
        try:
            return SnapshotIndex(SnapshotStorage(folder, ix.indexname), ix.schema, ix.indexname)
        except FileNotFoundError:
            if attempt == SNAPSHOT_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def value_positions(reader, fieldname: str, ids, values: list[bytes]):
    """(document numbers, positions) as two int64 numpy arrays: every position of the postings ``values`` (as
    :func:`term_postings` returns them) of documents ``ids``, the id repeated once per position. Whoosh 2.7.4's
    ``Positions`` format stores a count and a pickled list of position deltas (``Positions.encode``); another
    format goes through its own decoder."""
    fmt = reader.schema[fieldname].format
    if type(fmt) is Positions:
        deltas = [pickle.loads(v[4:] if v.endswith(b".") else v[4:] + b".") for v in values]
        counts = np.fromiter((len(d) for d in deltas), dtype=np.int64, count=len(deltas))
        flat = np.fromiter(chain.from_iterable(deltas), dtype=np.int64, count=int(counts.sum()))
        if not len(flat):
            return np.zeros(0, dtype=np.int64), flat
        running = np.cumsum(flat)
        starts = np.cumsum(counts) - counts
        before = np.where(starts > 0, running[np.maximum(starts - 1, 0)], 0)
        return np.repeat(np.asarray(ids, dtype=np.int64), counts), running - np.repeat(before, counts)
    decode = fmt.decoder("positions")
    lists = [decode(v) for v in values]
    counts = np.fromiter((len(p) for p in lists), dtype=np.int64, count=len(lists))
    flat = np.fromiter(chain.from_iterable(lists), dtype=np.int64, count=int(counts.sum()))
    return np.repeat(np.asarray(ids, dtype=np.int64), counts), flat
