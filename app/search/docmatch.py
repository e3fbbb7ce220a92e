"""The set of documents a boolean query matches, computed with Python sets over whole posting blocks.

Whoosh 2.7.4 enumerates the matches of an OR of many terms (``Searcher.docs_for_query``) through a tree of
union matchers, several Python method calls per document per tree level: at 100k case studies that took most
of the time of a filtered or newest-first search. Here each term's posting list is read a block at a time
(its ids decoded in one go) into a set, and ``Or`` / ``And`` / ``Not`` become set union, intersection and
difference. Anything else (phrases, which need positions) falls back to Whoosh's own matcher.
"""

from __future__ import annotations

from whoosh.query import And
from whoosh.query import AndMaybe
from whoosh.query import Every
from whoosh.query import Not
from whoosh.query import NullQuery
from whoosh.query import Or
from whoosh.query import Term
from whoosh.query.wrappers import ConstantScoreQuery

from app.search.whoosh_internals import term_doc_ids


def matching_docs(searcher, query) -> set[int]:
    """The (top-level) document numbers of the undeleted documents matching ``query``, as Whoosh's
    ``docs_for_query`` gives them."""
    found: set[int] = set()
    for subsearcher, offset in searcher.leaf_searchers():
        local = _docs(subsearcher, subsearcher.reader(), query)
        found |= local if not offset else {d + offset for d in local}
    return found


def _docs(subsearcher, reader, q) -> set[int]:
    if isinstance(q, Term):
        return term_doc_ids(reader, q.fieldname, q.text)
    if isinstance(q, Or):
        found: set[int] = set()
        for sub in q.subqueries:
            found |= _docs(subsearcher, reader, sub)
        return found
    if isinstance(q, And):
        positive = [s for s in q.subqueries if not isinstance(s, Not)]
        negative = [s.query for s in q.subqueries if isinstance(s, Not)]
        found = None
        for sub in positive:
            docs = _docs(subsearcher, reader, sub)
            found = docs if found is None else found & docs
            if not found:
                return set()
        if found is None:
            found = set(reader.all_doc_ids())
        for sub in negative:
            found -= _docs(subsearcher, reader, sub)
        return found
    if isinstance(q, ConstantScoreQuery):
        return _docs(subsearcher, reader, q.child)
    if isinstance(q, AndMaybe):  # the optional part only scores
        return _docs(subsearcher, reader, q.a)
    if isinstance(q, Not):
        return set(reader.all_doc_ids()) - _docs(subsearcher, reader, q.query)
    if isinstance(q, Every):
        return set(reader.all_doc_ids())
    if q is NullQuery:
        return set()
    return set(q.docs(subsearcher))  # phrases and the rest: Whoosh's matcher
