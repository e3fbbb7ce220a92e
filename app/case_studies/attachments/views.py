"""Attachments of a case study: upload, download and delete (the list and forms are in
templates/case_studies/_attachments.html, included by the case page)."""

from __future__ import annotations

import errno

from flask import Blueprint
from flask import abort
from flask import current_app
from flask import flash
from flask import make_response
from flask import redirect
from flask import request
from flask import send_file
from flask import url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.exceptions import RequestEntityTooLarge

from app import policy
from app.case_studies.attachments import services
from app.case_studies.attachments.forms import AttachmentDeleteForm
from app.case_studies.attachments.forms import AttachmentForm
from app.case_studies.attachments.pages import attachment_ui
from app.case_studies.models import Attachment
from app.case_studies.models import CaseStudy
from app.case_studies.views import get_case_or_404
from app.case_studies.views import render_detail
from app.errors import ValidationFailed
from app.extensions import db
from app.main.errors import InsufficientStorage

bp = Blueprint("attachments", __name__, url_prefix="/cases")

DISK_FULL = {errno.ENOSPC, errno.EDQUOT}

# Downloads are never rendered by the browser as part of our site (attachment + nosniff); this CSP makes sure
# that even a file opened directly cannot run scripts or load anything.
DOWNLOAD_CSP = "default-src 'none'; sandbox"


def _case_page(case: CaseStudy):
    return redirect(url_for("case_studies.detail", slug=case.slug, _anchor="attachments"), code=303)


def _too_large(case: CaseStudy, message: str):
    """A file over the limit: the case page again (413), with the message at its top, not a dead-end error
    page; the file cannot be kept, everything else on the page is as it was."""
    flash(message, "error")
    response = make_response(render_detail(case))
    response.status_code = 413
    return response


@bp.errorhandler(RequestEntityTooLarge)
def _request_too_large(error):
    """A request over MAX_CONTENT_LENGTH (raised wherever the body is first read, before the view too): the
    case page with the reason, as for a file over the attachment limit."""
    case = get_case_or_404((request.view_args or {}).get("slug", ""))
    # The body is not read: the page's forms must not try again (werkzeug caches the parsed parts here).
    request.__dict__.update(form=ImmutableMultiDict(), files=ImmutableMultiDict())
    return _too_large(case, _("The file is larger than the limit of %(size)s.", size=attachment_ui(case)["max_size"]))


def _require_manage(case: CaseStudy) -> None:
    if not policy.can(current_user, "manage_attachments", case):
        abort(403, description=_("Only verified akims of the akimat that owns this case study can add or delete "
                                 "its files."))


def _attachment_of(case: CaseStudy, attachment_id: int) -> Attachment:
    """The attachment ``attachment_id`` of ``case``; 404 for another case's id (ids cannot be guessed across)."""
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None or attachment.case_study_id != case.id:
        abort(404)
    return attachment


@bp.route("/<slug>/attachments", methods=["POST"])
def upload(slug: str):
    """Attach a file to a case study (members of its akimat)."""
    case = get_case_or_404(slug)
    _require_manage(case)
    form = AttachmentForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for message in errors:
                flash(str(message), "error")
        return _case_page(case)
    upload_file = form.file.data  # None when the file input was left empty
    filename, stream = (upload_file.filename, upload_file.stream) if upload_file else (None, None)
    try:
        attachment = services.store_attachment(current_user, case, filename, stream)
        db.session.commit()
    except services.AttachmentTooLarge as error:
        db.session.rollback()
        return _too_large(case, str(error.errors[0][1]))
    except ValidationFailed as error:
        db.session.rollback()
        for _field, message in error.errors:
            flash(str(message), "error")
        return _case_page(case)
    except OSError as error:
        db.session.rollback()  # the service has removed its partial file
        if error.errno not in DISK_FULL:
            raise
        current_app.logger.error("Upload to %s refused: %s", services.upload_dir(), error)
        raise InsufficientStorage() from error
    flash(_("File “%(name)s” attached.", name=attachment.original_name), "success")
    return _case_page(case)


@bp.route("/<slug>/attachments/<int:attachment_id>")
def download(slug: str, attachment_id: int):
    """Send a file under its original name; as private as its case study."""
    case = get_case_or_404(slug)
    attachment = _attachment_of(case, attachment_id)
    path = services.file_path(attachment)
    if not path.is_file():
        current_app.logger.error("Attachment %s of %s has no file at %s", attachment.id, case.slug, path)
        abort(404)
    kind = services.KIND_BY_CONTENT_TYPE.get(attachment.content_type)
    response = send_file(
        path, mimetype=attachment.content_type, as_attachment=True, download_name=attachment.stored_name,
        conditional=True, etag=attachment.sha256, last_modified=attachment.created_at,
    )
    response.headers["Content-Disposition"] = services.content_disposition(
        attachment.original_name, kind.extension if kind else path.suffix.lstrip(".")
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = DOWNLOAD_CSP
    # A published file may sit in a cache but must be revalidated (it may be withdrawn); others stay private.
    response.headers["Cache-Control"] = "public, no-cache" if case.is_published else "private, no-store"
    return response


@bp.route("/<slug>/attachments/<int:attachment_id>/delete", methods=["POST"])
def delete(slug: str, attachment_id: int):
    """Delete a file (members of the case study's akimat)."""
    case = get_case_or_404(slug)
    _require_manage(case)
    attachment = _attachment_of(case, attachment_id)
    if not AttachmentDeleteForm().validate_on_submit():
        abort(400)
    name = attachment.original_name
    try:
        services.delete_attachment(current_user, attachment)
        db.session.commit()
    except ValidationFailed as error:
        db.session.rollback()
        for _field, message in error.errors:
            flash(str(message), "error")
        return _case_page(case)
    flash(_("File “%(name)s” deleted.", name=name), "success")
    return _case_page(case)
