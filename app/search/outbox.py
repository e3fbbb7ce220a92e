"""Record every change that affects a search document in the ``search_outbox`` table, in the same transaction.

A ``before_flush`` listener on the :class:`~sqlalchemy.orm.Session` class (so it sees every session: the app's,
the CLI's, a test's own) looks at the new, dirty and deleted objects of the flush. A case study (or a child whose
change alters the case's document: a topic, an attachment, an adoption) yields one outbox row per case per transaction:
"upsert" while the case is published, "delete" otherwise (draft, withdrawn, deleted). The row commits or rolls
back with the change itself, so the index can never lose an update to a crash, and a rolled-back change never
reaches the index. The index is written only from committed rows (:meth:`app.search.index.SearchIndex.apply_pending`).

After a commit that carried outbox rows, ``flask.g`` (when an app context is active) is flagged, with the keys of
their documents, so the embedded mode can apply them before the response leaves (read-your-writes), those first.
"""

from __future__ import annotations

from flask import g
from flask import has_app_context
from sqlalchemy import event
from sqlalchemy import inspect
from sqlalchemy.orm import Session

from app.case_studies.models import Adoption
from app.case_studies.models import Attachment
from app.case_studies.models import CaseStudy
from app.case_studies.models import CaseTopic
from app.search.models import SearchOutbox

DOC_CASE = "case"
_ROWS_KEY = "search_outbox_rows"
_CARRIES_KEY = "search_outbox_carries"
PENDING_FLAG = "search_outbox_committed"
"""Name of the ``flask.g`` attribute set after a commit that wrote outbox rows."""
COMMITTED_KEYS = "search_outbox_keys"
"""Name of the ``flask.g`` attribute listing the document keys of those rows (applied first: read-your-writes)."""

_registered = False


def _case_of(session: Session, obj) -> CaseStudy | None:
    """The case study whose document ``obj`` belongs to (None if it cannot be found)."""
    if isinstance(obj, CaseStudy):
        return obj
    case = obj.__dict__.get("case_study")  # already loaded or set: no lazy load inside a flush
    if case is None and obj.case_study_id is not None:
        case = session.get(CaseStudy, obj.case_study_id)
    return case


def _changes(session: Session) -> dict[str, str]:
    """Slug → op for the documents this flush changes, in first-seen order."""
    found: dict[str, str] = {}

    def note(case: CaseStudy | None, deleted: bool = False) -> None:
        if case is None or not case.slug:
            return
        gone = deleted or case in session.deleted
        found[case.slug] = "upsert" if (case.is_published and not gone) else "delete"
        # A changed slug leaves the old document behind: delete it too.
        for old in inspect(case).attrs.slug.history.deleted or ():
            if old and old != case.slug:
                found.setdefault(old, "delete")

    for obj in session.new:
        if isinstance(obj, (CaseStudy, CaseTopic, Attachment, Adoption)):
            note(_case_of(session, obj))
    for obj in session.dirty:
        if isinstance(obj, (CaseStudy, CaseTopic, Attachment, Adoption)) and session.is_modified(obj):
            note(_case_of(session, obj))
    for obj in session.deleted:
        if isinstance(obj, CaseStudy):
            note(obj, deleted=True)
        elif isinstance(obj, (CaseTopic, Attachment, Adoption)):
            note(_case_of(session, obj))
    return found


def _before_flush(session: Session, flush_context, instances) -> None:
    """Add (or update) one outbox row per changed case document of this transaction."""
    changes = _changes(session)
    if not changes:
        return
    rows: dict[tuple[str, str], SearchOutbox] = session.info.setdefault(_ROWS_KEY, {})
    for slug, op in changes.items():
        row = rows.get((DOC_CASE, slug))
        # Reuse this transaction's row while it is still ours (a savepoint rollback would have expunged it).
        if row is not None and row in session and row.done_at is None:
            row.op = op
            continue
        row = SearchOutbox(doc_type=DOC_CASE, doc_key=slug, op=op, attempts=0)
        session.add(row)
        rows[(DOC_CASE, slug)] = row
    session.info[_CARRIES_KEY] = True


def _after_commit(session: Session) -> None:
    """Flag the app context when the committed transaction carried outbox rows, and note their documents."""
    if session.in_nested_transaction():
        # SQLAlchemy calls this for a released SAVEPOINT too: the transaction, and its rows, go on.
        return
    rows = session.info.pop(_ROWS_KEY, None) or {}
    if session.info.pop(_CARRIES_KEY, False) and has_app_context():
        setattr(g, PENDING_FLAG, True)
        keys = g.setdefault(COMMITTED_KEYS, {})
        keys.update(dict.fromkeys(key for doc_type, key in rows if doc_type == DOC_CASE))


def _after_rollback(session: Session) -> None:
    """Forget this transaction's rows: they are gone with it."""
    if session.in_nested_transaction():
        # A SAVEPOINT rolled back: the rows it added were expunged (``_before_flush`` checks), the others stay.
        return
    session.info.pop(_ROWS_KEY, None)
    session.info.pop(_CARRIES_KEY, None)


def register() -> None:
    """Attach the session listeners (once per process, however many apps are created)."""
    global _registered
    if _registered:
        return
    event.listen(Session, "before_flush", _before_flush)
    event.listen(Session, "after_commit", _after_commit)
    event.listen(Session, "after_rollback", _after_rollback)
    _registered = True
