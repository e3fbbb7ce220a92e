"""Full builds of an index generation: the fast writer and the parallel build behind ``flask search reindex`` (and a
large ``flask cases import``).

The index written is what Whoosh's own writer writes for the same documents (same terms, weights, positions,
lengths and stored fields: ``tests/unit/test_building.py`` compares the two); only the way there is shorter:

* ``BuildWriter.add_document`` analyses a text once for its three variant fields (``title_exact``,
  ``title_stem``, ``title_fold`` hold the same value: :func:`app.search.analysis.variant_terms`), each word
  through the per-process word cache, instead of three analyzer passes;
* its posting pool (``TermPool``) keeps postings grouped by term in memory and sorts the terms once, instead of
  Whoosh's pool, which sorts every posting tuple and, past ``limitmb``, pickles them to run files and merges
  those back (most of a build's time on a large corpus); past ``limitmb`` it spills sorted runs the same way;
* the field lengths the posting writer asks for once per posting are read once per document;
* ``build()`` runs one writer per core, each in a forked process that reads its share of the cases from the
  database itself and writes its own segment (Whoosh's ``MpWriter`` pickles every document to the children
  through files and leaves reading the database and building the documents to one process).

Uses Whoosh's private writer API (pinned whoosh==2.7.4, as :mod:`app.search.whoosh_internals`).
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.connection
import os
import traceback
from collections.abc import Callable

from whoosh.formats import Frequency
from whoosh.formats import Positions
from whoosh.system import pack_uint
from whoosh.writing import PostingPool
from whoosh.writing import SegmentWriter

from app.search.analysis import TextAnalyzer
from app.search.analysis import variant_terms

log = logging.getLogger(__name__)

MIN_LIMITMB = 64
MAX_LIMITMB = 8192
MEMORY_SHARE = 0.5  # of the available memory, for all build processes' posting pools together
POOL_OVERHEAD = 3  # Python's size of a pooled posting against Whoosh's estimate of it (measured: ~2.6x)


def available_mb() -> int:
    """Memory available to new processes, in MB: ``MemAvailable`` of ``/proc/meminfo``, else the free pages."""
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) // 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // (1024 * 1024)
    except (ValueError, OSError, AttributeError):
        return 1024


def cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def limitmb_for(procs: int, configured: int | None = None) -> int:
    """The posting pool of each of ``procs`` build processes, in Whoosh's MB (its estimate of a posting's size):
    ``configured`` when given (``SEARCH_REINDEX_LIMITMB``), else a share of the available memory."""
    if configured:
        return configured
    share = available_mb() * MEMORY_SHARE / max(procs, 1) / POOL_OVERHEAD
    return int(min(MAX_LIMITMB, max(MIN_LIMITMB, share)))


class TermPool(PostingPool):
    """Whoosh's ``PostingPool`` with the postings grouped by (field, term) in memory: ``items()`` sorts the
    terms, not every posting. Past ``limitmb`` (Whoosh's size estimate) the pool is written out as one sorted run
    and Whoosh's external merge takes over."""

    def __init__(self, tempstore, segment, limitmb=128, **kwargs):
        super().__init__(tempstore, segment, limitmb=limitmb, **kwargs)
        self.terms: dict[tuple[str, bytes], list] = {}

    def add(self, item):
        fieldname, tbytes, docnum, weight, vbytes = item
        self.add_field(fieldname, docnum, ((tbytes, 0, weight, vbytes),), 1.0, False)

    def add_field(self, fieldname: str, docnum: int, items, fieldboost: float, scorable: bool) -> int:
        """Add the postings of one document in one field, (term bytes, frequency, weight, value bytes) items with
        the weight still to be multiplied by ``fieldboost``; return the field's length in the document."""
        terms = self.terms
        length = 0
        size = 0
        fixed = 150 + len(fieldname)  # Whoosh's estimate (PostingPool.add), so that limitmb means what it does there
        for tbytes, freq, weight, vbytes in items:
            weight *= fieldboost
            if scorable:
                length += freq
            key = (fieldname, tbytes)
            postings = terms.get(key)
            if postings is None:
                postings = terms[key] = []
            postings.append((docnum, weight, vbytes))
            size += fixed + 2 * len(tbytes) + (len(vbytes) if vbytes else 0)
        self.fieldnames.add(fieldname)
        self.currentsize += size
        if self.currentsize > self.limit:
            self.save()
        return length

    def _sorted(self):
        terms, self.terms = self.terms, {}
        for key in sorted(terms):
            fieldname, tbytes = key
            postings = terms[key]
            postings.sort()  # already in docnum order when documents are added in turn: one linear pass
            for docnum, weight, vbytes in postings:
                yield fieldname, tbytes, docnum, weight, vbytes

    def save(self):
        if self.terms:
            self.current = list(self._sorted())
            PostingPool.save(self)

    def cleanup(self):
        self.terms = {}
        super().cleanup()

    def items(self, maxfiles=128):
        if not self.runs:
            return self._sorted()
        return super().items(maxfiles)


class _Lengths:
    """The per-document reader's field lengths, read once per field and document (the posting writer asks for
    them once per posting)."""

    def __init__(self, reader):
        self.reader = reader
        self.columns: dict[str, list] = {}

    def doc_field_length(self, docnum, fieldname, default=0):
        column = self.columns.get(fieldname)
        if column is None:
            get = self.reader.doc_field_length
            column = self.columns[fieldname] = [get(n, fieldname) for n in range(self.reader.doc_count_all())]
        return column[docnum] if docnum < len(column) else self.reader.doc_field_length(docnum, fieldname)


def _variant_items(field, terms: dict[str, list]):
    """The (term bytes, frequency, weight, value bytes) postings of one document in ``field``, as its format's
    ``word_values`` gives them for the same tokens."""
    fmt = field.format
    boost = fmt.field_boost
    if type(fmt) is Positions:
        encode = fmt.encode
        for term, (freq, weight, positions) in terms.items():
            yield term.encode("utf-8"), freq, weight * boost, encode(positions)
    else:
        for term, (freq, weight, _positions) in terms.items():
            yield term.encode("utf-8"), freq, weight * boost, pack_uint(freq)


class BuildWriter(SegmentWriter):
    """A ``SegmentWriter`` for full builds (adding documents to a new index): see the module docstring."""

    def __init__(self, ix, limitmb=128, **kwargs):
        super().__init__(ix, limitmb=limitmb, **kwargs)
        self.pool = TermPool(self._tempstorage, self.newsegment, limitmb=limitmb)
        # Which fields a one-pass analysis can serve: TEXT fields of our analyzer with a plain format.
        self._variants: dict[str, str] = {}
        for name, field in self.schema.items():
            analyzer = getattr(field, "analyzer", None)
            if (isinstance(analyzer, TextAnalyzer) and type(field.format) in (Positions, Frequency)
                    and not field.separate_spelling() and not field.vector
                    and (analyzer.variant == "fold") == analyzer.phrase_keys
                    and isinstance(field.format, Positions) == (analyzer.variant == "exact")):
                self._variants[name] = analyzer.variant

    def add_document(self, **fields):
        """Whoosh's ``SegmentWriter.add_document`` (2.7.4), with each distinct text of our analyzer's fields
        analysed once for all of its variants."""
        self._check_state()
        perdocwriter = self.perdocwriter
        schema = self.schema
        docnum = self.docnum
        add_field = self.pool.add_field
        variants = self._variants
        analysed: dict[str, dict] = {}

        docboost = self._doc_boost(fields)
        fieldnames = sorted(name for name in fields if not name.startswith("_"))
        self._check_fields(schema, fieldnames)

        perdocwriter.start_doc(docnum)
        for fieldname in fieldnames:
            value = fields.get(fieldname)
            if value is None:
                continue
            field = schema[fieldname]
            length = 0
            if field.indexed:
                variant = variants.get(fieldname)
                if variant is not None and isinstance(value, str):
                    terms = analysed.get(value)
                    if terms is None:
                        terms = analysed[value] = variant_terms(value)
                    items = _variant_items(field, terms[variant])
                else:
                    items = field.index(value)
                length = add_field(fieldname, docnum, items, self._field_boost(fields, fieldname, docboost),
                                   field.scorable)
            if field.separate_spelling() or field.vector:  # not in our schema: Whoosh's own writer handles it
                raise ValueError(f"BuildWriter does not write spelling or vectors ({fieldname})")
            customval = fields.get(f"_stored_{fieldname}", value)
            perdocwriter.add_field(fieldname, field, customval if field.stored else None, length)
            column = field.column_type
            if column and customval is not None:
                perdocwriter.add_column_value(fieldname, column, field.to_column_value(customval))
        perdocwriter.finish_doc()
        self._added = True
        self.docnum += 1

    def _flush_segment(self):
        self.perdocwriter.close()
        pdr = self.per_document_reader() if self.codec.length_stats else None
        self.fieldwriter.add_postings(self.schema, _Lengths(pdr) if pdr else None, self.pool.iter_postings())
        self.fieldwriter.close()
        if pdr:
            pdr.close()

    def finish_part(self):
        """Close the segment (in a build process) and return it, or None if no document was added. The temporary
        storage is shared with the other build processes: the parent's commit removes it (``commit_segments``)."""
        if self.docnum == 0:
            self._close_segment()
            segment = None
        else:
            segment = self._finalize_segment()
        self.is_closed = True
        return segment


def commit_segments(ix, segments: list, writer_options: dict) -> None:
    """Make ``segments`` (written by build processes into ``ix``'s directory) the content of the empty index
    ``ix``: one new table of contents, under the index's write lock."""
    writer = SegmentWriter(ix, **writer_options)
    try:
        writer._close_segment()
        writer._commit_toc([*writer.segments, *segments])
    finally:
        writer._finish()


def build(ix, parts: list, write_part: Callable[[BuildWriter, object], int], procs: int, limitmb: int,
          writer_options: dict, child_init: Callable[[], None] | None = None) -> int:
    """Write the documents of ``parts`` into the empty index ``ix``, one ``BuildWriter`` and segment per part, in
    up to ``procs`` forked processes; return how many documents were written.

    ``write_part(writer, part)`` adds a part's documents (reading them itself: in a build process it runs in the
    forked copy of the caller, with whatever it set up before) and returns their count. With one part (or one
    process) everything runs here. ``child_init()`` runs first in each build process.
    """
    if procs <= 1 or len(parts) <= 1:
        total = 0
        writer = BuildWriter(ix, limitmb=limitmb, **writer_options)
        try:
            for part in parts:
                total += write_part(writer, part)
            writer.commit(merge=False)
        except BaseException:
            writer.cancel()
            raise
        return total
    context = multiprocessing.get_context("fork")  # the children inherit the app, its config and caches
    children = []
    for part in parts:
        receive, send = context.Pipe(duplex=False)
        child = context.Process(target=_run_part, daemon=True,
                                args=(ix, part, write_part, limitmb, writer_options, child_init, send))
        children.append((child, receive, send))
    results, errors = [], []
    running: list = []
    pending = list(children)
    try:
        while pending or running:
            while pending and len(running) < procs:
                child, receive, send = pending.pop(0)
                child.start()
                send.close()  # only the child writes: EOF when it dies
                running.append((child, receive))
            ready = multiprocessing.connection.wait([receive for _child, receive in running])
            for child, receive in list(running):
                if receive not in ready:
                    continue
                try:
                    results.append(receive.recv())
                except EOFError:
                    results.append(("error", f"build process {child.pid} died (exit code {child.exitcode})"))
                child.join()
                running.remove((child, receive))
    finally:
        for child, _receive in running:
            child.kill()
            child.join()
    segments = []
    total = 0
    for kind, *payload in results:
        if kind == "error":
            errors.append(payload[0])
        elif payload[0] is not None:
            segments.append(payload[0])
            total += payload[1]
    if errors:
        raise RuntimeError("index build failed:\n" + "\n".join(errors))
    commit_segments(ix, segments, writer_options)
    return total


def _run_part(ix, part, write_part, limitmb: int, writer_options: dict, child_init, send) -> None:
    """A build process: write one part into its own segment, send back ("done", segment, count) or ("error", text)."""
    try:
        if child_init is not None:
            child_init()
        writer = BuildWriter(ix, _lk=False, limitmb=limitmb, **writer_options)
        try:
            count = write_part(writer, part)
            segment = writer.finish_part()
        except BaseException:
            if not writer.is_closed:
                writer._close_segment()  # not cancel(): it would remove the temporary files of the others
            raise
        send.send(("done", segment, count))
    except BaseException:
        send.send(("error", traceback.format_exc()))
    finally:
        send.close()


def split(items: list, parts: int) -> list[list]:
    """``items`` in ``parts`` contiguous slices of (nearly) equal length, none empty."""
    parts = max(1, min(parts, len(items)))
    size, extra = divmod(len(items), parts)
    out, start = [], 0
    for k in range(parts):
        end = start + size + (1 if k < extra else 0)
        out.append(items[start:end])
        start = end
    return out

