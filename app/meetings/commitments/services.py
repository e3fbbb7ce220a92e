"""Commitments followed up: their progress on the Open Government Partnership's completion scale (not started,
limited, substantial, complete; or withdrawn), dated updates with an optional evidence file, and the public
tracker (counts per status, overdue commitments first).

- **Updates.** A verified akim of the committing akimat, or an organiser, reports progress: a status, a note
  (Markdown) and optionally one evidence file (PDF, DOCX, XLSX or an image), checked and stored as case-study
  attachments are (:mod:`app.case_studies.attachments.services`: type from the bytes, size limit, a generated
  name under ``UPLOAD_DIR``, the file removed again when the transaction does not commit). The update's status
  becomes the commitment's.
- **Overdue.** The due date has passed (in Kazakhstan) and the commitment is neither complete nor withdrawn.

Functions add and flush, never commit; every refusal is a :class:`~app.errors.ValidationFailed` raised before
anything changed.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from dataclasses import field
from datetime import date
from pathlib import Path
from typing import BinaryIO

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from app.audit.services import record
from app.case_studies.attachments import services as files
from app.case_studies.models import CaseStudy
from app.clock import utcnow
from app.errors import ValidationFailed
from app.extensions import db
from app.meetings.models import COMMITMENT_STATUSES
from app.meetings.models import FINISHED_STATUSES
from app.meetings.models import Commitment
from app.meetings.models import CommitmentUpdate
from app.meetings.models import Meeting
from app.meetings.timezone import KZ
from app.policy import can
from app.regions.models import Akimat

MAX_UPDATE_CHARS = 5_000
STATUS_LABELS = {
    "not_started": _l("Not started"),
    "limited": _l("Limited progress"),
    "substantial": _l("Substantial progress"),
    "complete": _l("Complete"),
    "withdrawn": _l("Withdrawn"),
}
EVIDENCE_KINDS = (files.PDF, files.DOCX, files.XLSX, files.JPEG, files.PNG, files.WEBP)
EVIDENCE_TYPES_TEXT = "PDF, DOCX, XLSX, JPG, PNG, WebP"
EVIDENCE_ACCEPT = ",".join(f".{alias}" for kind in EVIDENCE_KINDS for alias in kind.aliases
                           if alias not in ("jpe", "jfif"))
FIELD = files.FIELD  # the form field the file's messages go to


def kz_today() -> date:
    """Today's date in Kazakhstan."""
    return utcnow().astimezone(KZ).date()


def is_overdue(commitment: Commitment, today: date | None = None) -> bool:
    """Whether the due date has passed and the commitment is neither complete nor withdrawn."""
    today = today or kz_today()
    return (commitment.due_date is not None and commitment.due_date < today
            and commitment.status not in FINISHED_STATUSES)


def latest_update(commitment: Commitment) -> CommitmentUpdate | None:
    """The newest update of ``commitment`` (``updates`` are kept newest first), or None."""
    return commitment.updates[0] if commitment.updates else None


def offers_adoption(user, commitment: Commitment) -> bool:
    """Whether ``user`` is offered the one-click "record the adoption": the commitment is complete, has no
    adoption record yet, its case study is published, and the user may convert it."""
    return (commitment.status == "complete" and commitment.adoption_id is None and commitment.case_study.is_published
            and can(user, "convert_commitment", commitment))


# --- updates ------------------------------------------------------------------------------------------------


def post_update(actor, commitment: Commitment, status: str | None, note: str | None,
                filename: str | None = None, stream: BinaryIO | None = None) -> CommitmentUpdate:
    """Report progress on ``commitment``: a status, a note and optionally an evidence file.

    :param filename: the name the browser sent for the evidence file (None: no file).
    :param stream: the file's bytes.
    :raise ValidationFailed: not allowed; an unknown status; an empty or too long note; a file name that is a
        path; an empty file, a type not accepted (:class:`~app.case_studies.attachments.services.AttachmentTooLarge`
        when over the size limit).
    """
    if not can(actor, "update_commitment", commitment):
        raise ValidationFailed([(None, _l("Only the committed akimat's akims and the organisers can report "
                                          "progress on this commitment."))])
    errors: list = []
    if status not in COMMITMENT_STATUSES:
        errors.append(("status", _l("Choose the status from the list.")))
    text = (note or "").replace("\r\n", "\n").strip()
    if not text:
        errors.append(("note", _l("Say what has been done since the last update.")))
    elif len(text) > MAX_UPDATE_CHARS:
        errors.append(("note", _l("At most %(max)d characters.", max=MAX_UPDATE_CHARS)))
    name = None
    if filename:
        try:
            name = files.clean_filename(filename)
        except ValidationFailed as error:
            errors.extend(error.errors)
    if errors:
        raise ValidationFailed(errors)
    stored = files.write_upload(stream, EVIDENCE_KINDS, EVIDENCE_TYPES_TEXT) if name is not None else None
    previous = commitment.status
    try:
        update = CommitmentUpdate(commitment_id=commitment.id, status=status, note=text,
                                  author_id=actor.id if actor is not None else None, created_at=utcnow())
        if stored is not None:
            update.evidence_name = files.name_for(name, stored.kind)
            update.evidence_stored_name = stored.path.name
            update.evidence_content_type = stored.kind.content_type
            update.evidence_size = stored.size
            update.evidence_sha256 = stored.sha256
        db.session.add(update)
        commitment.status = status
        db.session.flush()
    except BaseException:
        if stored is not None:
            stored.path.unlink(missing_ok=True)
        raise
    if stored is not None:
        files.keep_if_committed(stored.path)
    db.session.refresh(commitment, ["updates"])
    record(actor, "meeting.commitment_updated", commitment, {
        "meeting": commitment.meeting_id, "update": update.id, "status": status, "previous": previous,
        "evidence": update.evidence_sha256,
    })
    return update


def evidence_path(update: CommitmentUpdate) -> Path | None:
    """Where an update's evidence file is stored (None: the update has none)."""
    if not update.evidence_stored_name:
        return None
    return Path(current_app.config["UPLOAD_DIR"]) / update.evidence_stored_name


def forget_evidence(commitment: Commitment) -> None:
    """Queue the evidence files of ``commitment``'s updates for deletion once the transaction commits (the
    commitment is being removed; a rollback keeps them)."""
    for update in commitment.updates:
        path = evidence_path(update)
        if path is not None:
            files.delete_if_committed(path)


# --- the tracker --------------------------------------------------------------------------------------------


@dataclass
class TrackerRow:
    """A commitment as the tracker lists it."""

    commitment: Commitment
    latest: CommitmentUpdate | None
    overdue: bool


@dataclass
class Tracker:
    """Commitments with their counts per status; overdue ones first."""

    rows: list[TrackerRow] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)  # every status, in the scale's order
    overdue: int = 0

    @property
    def total(self) -> int:
        return len(self.rows)


def _order(row: TrackerRow) -> tuple:
    """Overdue first (the longest overdue first), then open ones by due date (none last), then finished ones."""
    c = row.commitment
    group = 0 if row.overdue else (2 if c.status in FINISHED_STATUSES else 1)
    return group, c.due_date or date.max, -c.meeting.starts_at.timestamp(), c.id


def tracker(*, meeting: Meeting | None = None, region=None, today: date | None = None) -> Tracker:
    """The tracker of one meeting's commitments (all of them, as its outcomes list them), of those made by a
    region's akimats, or of every commitment (both: published case studies only)."""
    today = today or kz_today()
    query = (sa.select(Commitment).join(Meeting, Commitment.meeting_id == Meeting.id)
             .join(CaseStudy, Commitment.case_study_id == CaseStudy.id)
             .options(selectinload(Commitment.akimat), selectinload(Commitment.case_study),
                      selectinload(Commitment.meeting), selectinload(Commitment.updates)))
    if meeting is not None:
        query = query.where(Commitment.meeting_id == meeting.id)
    else:
        query = query.where(CaseStudy.is_published)
    if region is not None:
        query = query.join(Akimat, Commitment.akimat_id == Akimat.id).where(Akimat.region_id == region.id)
    rows = [TrackerRow(c, latest_update(c), is_overdue(c, today)) for c in db.session.scalars(query)]
    rows.sort(key=_order)
    counted = Counter(row.commitment.status for row in rows)
    return Tracker(rows, {status: counted.get(status, 0) for status in COMMITMENT_STATUSES},
                   sum(row.overdue for row in rows))
