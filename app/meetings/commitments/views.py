"""Commitments followed up: the public tracker (``/commitments``), a commitment's page with its dated updates
(``/meetings/<id>/commitments/<id>``), posting an update (the committed akimat's akims, organisers) and the
evidence files.

The meeting page and the region profile show the tracker of their commitments through
``templates/meetings/_commitment_tracker.html``, from the ``commitments`` object
(:class:`app.meetings.commitments.pages.CommitmentsPage`) their views pass.
"""

from __future__ import annotations

import errno

import sqlalchemy as sa
from flask import Blueprint
from flask import abort
from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import send_file
from flask import url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.exceptions import RequestEntityTooLarge

from app import submissions
from app.case_studies.attachments import services as files
from app.extensions import db
from app.forms import commit_or_flash
from app.main.errors import InsufficientStorage
from app.meetings.commitments import services
from app.meetings.commitments.forms import UpdateForm
from app.meetings.commitments.pages import CommitmentsPage
from app.meetings.models import Commitment
from app.meetings.models import CommitmentUpdate
from app.meetings.programme.pages import ProgrammePage

bp = Blueprint("commitments", __name__)

DISK_FULL = {errno.ENOSPC, errno.EDQUOT}
DOWNLOAD_CSP = "default-src 'none'; sandbox"  # as for attachments: a file opened directly runs nothing


def _commitment(meeting_id: int, commitment_id: int) -> Commitment:
    return db.first_or_404(sa.select(Commitment).where(Commitment.id == commitment_id,
                                                       Commitment.meeting_id == meeting_id))


def _detail_page(commitment: Commitment, form: UpdateForm | None = None, status: int = 200):
    """A commitment's page: what was committed, its status, its dated updates, the update form."""
    if form is None:
        form = UpdateForm(formdata=None, status=commitment.status)
    return render_template(
        "meetings/commitment.html", commitment=commitment, meeting=commitment.meeting, form=form,
        overdue=services.is_overdue(commitment), commitments=CommitmentsPage(), programme=ProgrammePage(),
        max_size=files.format_size(files.max_bytes()),
    ), status


@bp.route("/commitments")
def index():
    """The public tracker of every commitment: counts per status, overdue ones first, each with its latest
    update."""
    return render_template("meetings/commitments.html", tracker=services.tracker(), commitments=CommitmentsPage(),
                           programme=ProgrammePage())


@bp.route("/meetings/<int:meeting_id>/commitments/<int:commitment_id>")
def detail(meeting_id: int, commitment_id: int):
    """A commitment and its dated updates (public)."""
    return _detail_page(_commitment(meeting_id, commitment_id))


@bp.errorhandler(RequestEntityTooLarge)
def _request_too_large(error):
    """A request over MAX_CONTENT_LENGTH: the commitment's page with the reason (413), not an error page."""
    args = request.view_args or {}
    commitment = _commitment(args.get("meeting_id", 0), args.get("commitment_id", 0))
    request.__dict__.update(form=ImmutableMultiDict(), files=ImmutableMultiDict())  # the body is not read
    flash(_("The file is larger than the limit of %(size)s.", size=files.format_size(files.max_bytes())), "error")
    return _detail_page(commitment, status=413)


@bp.route("/meetings/<int:meeting_id>/commitments/<int:commitment_id>/updates", methods=["POST"])
def post_update(meeting_id: int, commitment_id: int):
    """Post a progress update (the committed akimat's verified akims, organisers)."""
    commitment = _commitment(meeting_id, commitment_id)
    if not CommitmentsPage.can_update(commitment):
        abort(403)
    form = UpdateForm()
    if not form.validate_on_submit():
        return _detail_page(commitment, form, 400)
    upload = form.file.data
    filename, stream = (upload.filename, upload.stream) if upload and upload.filename else (None, None)

    def post_once():
        submissions.claim(form.once.data, current_user)  # a double click posts once
        return services.post_update(current_user, commitment, form.status.data, form.note.data, filename, stream)

    try:
        done = commit_or_flash(post_once, form)
    except OSError as error:
        db.session.rollback()  # the file is removed with the transaction
        if error.errno not in DISK_FULL:
            raise
        current_app.logger.error("Evidence upload to %s refused: %s", files.upload_dir(), error)
        raise InsufficientStorage() from error
    if not done:
        commitment = db.session.get(Commitment, commitment.id)
        too_large = isinstance(done.error, files.AttachmentTooLarge)
        return _detail_page(commitment, form, 413 if too_large else 400)
    if services.offers_adoption(current_user, commitment):
        flash(_("The update is posted. The commitment is complete: record the adoption on the practice's page "
                "with the button below."), "success")
    else:
        flash(_("The update is posted."), "success")
    return redirect(url_for("commitments.detail", meeting_id=meeting_id, commitment_id=commitment_id,
                            _anchor="updates"), 303)


@bp.route("/meetings/<int:meeting_id>/commitments/<int:commitment_id>/updates/<int:update_id>/evidence")
def evidence(meeting_id: int, commitment_id: int, update_id: int):
    """An update's evidence file, under its original name (public, as the commitment is)."""
    commitment = _commitment(meeting_id, commitment_id)
    update = db.session.get(CommitmentUpdate, update_id)
    if update is None or update.commitment_id != commitment.id:
        abort(404)
    path = services.evidence_path(update)
    if path is None:
        abort(404)
    if not path.is_file():
        current_app.logger.error("Commitment update %s has no evidence file at %s", update.id, path)
        abort(404)
    kind = files.KIND_BY_CONTENT_TYPE.get(update.evidence_content_type)
    response = send_file(path, mimetype=update.evidence_content_type, as_attachment=True,
                         download_name=update.evidence_stored_name, conditional=True, etag=update.evidence_sha256,
                         last_modified=update.created_at)
    response.headers["Content-Disposition"] = files.content_disposition(
        update.evidence_name, kind.extension if kind else path.suffix.lstrip("."))
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = DOWNLOAD_CSP
    response.headers["Cache-Control"] = "public, no-cache"
    return response
