"""Certificates: the attendee's PDF, the public verification page, organisers' revocation; the learning record."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint
from flask import Response
from flask import abort
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user

from app.extensions import db
from app.forms import commit_or_flash
from app.i18n import LANGUAGES
from app.inputs import parse_int
from app.meetings import timezone
from app.meetings.certificates import pdf
from app.meetings.certificates import services
from app.meetings.certificates.forms import CertificateActionForm
from app.meetings.models import Certificate
from app.meetings.models import Meeting
from app.meetings.models import Registration
from app.policy import can
from app.spreadsheet import csv_response

bp = Blueprint("certificates", __name__)


def pdf_response(body: bytes, filename: str) -> Response:
    """A PDF shown in the browser (and saved under ``filename``)."""
    return Response(body, mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{filename}"'})


def chosen_pdf_language(default: str) -> str:
    """``?lang=`` when it is one of the UI languages, else ``default`` (the person's preferred language)."""
    lang = request.args.get("lang", "")
    return lang if lang in LANGUAGES else (default if default in LANGUAGES else "ru")


@bp.route("/meetings/<int:meeting_id>/certificate.pdf")
def download(meeting_id: int):
    """The certificate of participation as PDF: one's own (or, for organisers, ``?registration=<id>``'s), in
    the person's preferred language or ``?lang=``; issued on the first download."""
    meeting = db.get_or_404(Meeting, meeting_id)
    raw = request.args.get("registration")
    if raw:
        registration_id = parse_int(raw, minimum=1)
        registration = db.session.get(Registration, registration_id) if registration_id else None
    else:
        registration = db.session.scalar(sa.select(Registration).where(
            Registration.meeting_id == meeting.id, Registration.user_id == current_user.id))
    if registration is None or registration.meeting_id != meeting.id:
        abort(404)
    if not can(current_user, "download_certificate", registration):
        abort(403)
    if not services.eligible(registration):
        abort(404)  # not held yet, or not marked present: there is no certificate to give
    certificate = services.issue(registration)
    db.session.commit()
    if certificate.revoked_at is not None and not can(current_user, "revoke_certificate", certificate):
        abort(403)  # revoked: the attendee gets no fresh copy; organisers still see what was issued
    language = chosen_pdf_language(registration.user.preferred_language)
    verify_url = url_for("certificates.verify", code=certificate.code, _external=True)
    with force_locale(language):
        body = pdf.certificate_pdf(certificate, verify_url)
    return pdf_response(body, f"certificate-{meeting.id}-{certificate.code}-{language}.pdf")


@bp.route("/certificates/<code>")
def verify(code: str):
    """Public verification: valid, revoked or unknown; shows the holder's name and the meeting, nothing more."""
    certificate = services.find(code)
    state = services.status(certificate)
    return render_template("certificates/verify.html", certificate=certificate, state=state,
                           code=services.normalise_code(code)), (404 if certificate is None else 200)


@bp.route("/certificates")
def lookup():
    """The verification form: a code typed in opens its page."""
    code = services.normalise_code(request.args.get("code", ""))
    if code:
        return redirect(url_for("certificates.verify", code=code), 303)
    return render_template("certificates/verify.html", certificate=None, state=None, code="")


def _set_revoked(code: str, revoked: bool):
    certificate = db.session.scalar(sa.select(Certificate).where(Certificate.code == services.normalise_code(code)))
    if certificate is None:
        abort(404)
    if not can(current_user, "revoke_certificate", certificate):
        abort(403)
    if not CertificateActionForm().validate_on_submit():
        abort(400)
    meeting_id = certificate.registration.meeting_id
    if commit_or_flash(lambda: services.set_revoked(current_user, certificate, revoked)):
        flash(_("The certificate is revoked.") if revoked else _("The certificate is valid again."), "success")
    return redirect(url_for("meetings.registrations", meeting_id=meeting_id), 303)


@bp.route("/certificates/<code>/revoke", methods=["POST"])
def revoke(code: str):
    """Revoke a certificate (organisers): it then verifies as revoked."""
    return _set_revoked(code, True)


@bp.route("/certificates/<code>/restore", methods=["POST"])
def restore(code: str):
    """Lift a certificate's revocation (organisers)."""
    return _set_revoked(code, False)


@bp.route("/account/learning-record.csv")
def learning_csv():
    """One's learning record as CSV: one row per meeting attended, presentation given and adoption."""
    user = current_user._get_current_object()
    record = services.learning_record(user)
    header = [_("Kind"), _("Title"), _("Meeting"), _("Date"), _("Hours"), _("Certificate")]
    rows = []
    for row in record.attended:
        meeting = row.registration.meeting
        code = row.certificate.code if row.certificate else ""
        rows.append([_("Meeting attended"), meeting.title, meeting.title,
                     timezone.to_local(meeting.starts_at).date().isoformat(), f"{row.hours:g}", code])
    for item in record.presentations:
        rows.append([_("Presentation given"), services.item_title(item), item.meeting.title,
                     item.timezone.to_local(meeting.starts_at).date().isoformat(), "", ""])
    for adoption in record.adoptions:
        rows.append([_("Adoption by my akimat"), adoption.case_study.title, "", str(adoption.year), "", ""])
    return csv_response(header, rows, "learning-record.csv")


@bp.route("/account/learning-record.pdf")
def learning_pdf():
    """One's learning record as PDF, in one's language (or ``?lang=``)."""
    user = current_user._get_current_object()
    record = services.learning_record(user)
    with force_locale(chosen_pdf_language(user.preferred_language)):
        body = pdf.learning_record_pdf(user, record)
    return pdf_response(body, "learning-record.pdf")
