"""The certificate and the learning record as PDF (fpdf2, the vendored DejaVu Sans: Kazakh letters included).

Called inside ``flask_babel.force_locale(language)``: every text and date is in that language.
"""

from __future__ import annotations

import io
from pathlib import Path

import segno
from flask import current_app
from flask_babel import format_decimal
from flask_babel import gettext as _
from fpdf import FPDF

from app.meetings import timezone
from app.meetings.certificates import services
from app.meetings.models import Certificate

FONT = "DejaVu"


def _fonts_dir() -> Path:
    return Path(current_app.static_folder) / "fonts"


def _document(title: str, orientation: str = "L") -> FPDF:
    pdf = FPDF(orientation=orientation, format="A4")
    pdf.set_title(title)
    pdf.set_creator(_("Akims' Experience Exchange"))
    pdf.add_font(FONT, "", str(_fonts_dir() / "DejaVuSans.ttf"))
    pdf.add_font(FONT, "B", str(_fonts_dir() / "DejaVuSans-Bold.ttf"))
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_page()
    return pdf


def _hours_text(meeting) -> str:
    count, from_agenda = services.hours(meeting)
    shown = format_decimal(count, "#,##0.#")
    if from_agenda:
        return _("%(hours)s hours (from the agenda)", hours=shown)
    return _("%(hours)s hours: %(per_day)d hours for each day of the meeting (the default where the agenda has no "
             "times)", hours=shown, per_day=services.HOURS_PER_DAY)


def certificate_pdf(certificate: Certificate, verify_url: str) -> bytes:
    """The certificate of participation, landscape A4, with the verification QR code and code."""
    registration = certificate.registration
    meeting, user = registration.meeting, registration.user
    pdf = _document(_("Certificate of participation"))
    width = pdf.w - pdf.l_margin - pdf.r_margin
    pdf.set_draw_color(30, 90, 140)
    pdf.set_line_width(1.2)
    pdf.rect(8, 8, pdf.w - 16, pdf.h - 16)
    pdf.set_y(22)
    pdf.set_font(FONT, "", 12)
    pdf.cell(width, 8, _("Akims' Experience Exchange"), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, "B", 26)
    pdf.cell(width, 16, _("Certificate of participation"), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font(FONT, "", 13)
    pdf.cell(width, 8, _("This certifies that"), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, "B", 20)
    pdf.multi_cell(width, 11, user.full_name, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, "", 13)
    pdf.cell(width, 8, _("took part in the exchange meeting"), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, "B", 16)
    pdf.multi_cell(width, 9, meeting.title, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.set_font(FONT, "", 12)
    lines = [
        _("Dates: %(dates)s (Kazakhstan time)", dates=_dates(meeting)),
        _("Host region: %(region)s", region=meeting.host_region.name()),
        _("Duration: %(hours)s", hours=_hours_text(meeting)),
    ]
    for line in lines:
        pdf.multi_cell(width, 7, line, align="C", new_x="LMARGIN", new_y="NEXT")
    talks = services.presentations(user, meeting)
    if talks:
        pdf.ln(1)
        pdf.set_font(FONT, "B", 12)
        pdf.cell(width, 7, _("Presented:"), align="C", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(FONT, "", 11)
        for item in talks:
            pdf.multi_cell(width, 6, f"«{services.item_title(item)}»", align="C", new_x="LMARGIN", new_y="NEXT")
    # The signature block (left) and the verification block (right) share the bottom of the page.
    bottom = max(pdf.h - 64, pdf.get_y() + 4)
    pdf.set_auto_page_break(False)  # the block fits above the frame; no page of its own for a line
    signer = services.signed_by(meeting)
    pdf.set_xy(pdf.l_margin + 10, bottom + 10)
    pdf.set_font(FONT, "", 11)
    pdf.cell(110, 6, "_" * 34, new_x="LMARGIN", new_y="NEXT")
    pdf.set_x(pdf.l_margin + 10)
    pdf.set_font(FONT, "B", 11)
    pdf.cell(110, 6, signer or _("The organisers"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_x(pdf.l_margin + 10)
    pdf.set_font(FONT, "", 10)
    pdf.cell(110, 6, _("for the organisers of the meeting"), new_x="LMARGIN", new_y="NEXT")
    qr = io.BytesIO()
    segno.make(verify_url, error="m").save(qr, kind="png", scale=6, border=1)
    qr.seek(0)
    size = 32
    pdf.image(qr, x=pdf.w - pdf.r_margin - size - 8, y=bottom, w=size, h=size)
    pdf.set_xy(pdf.w - pdf.r_margin - 120, bottom + size + 1)
    pdf.set_font(FONT, "", 9)
    pdf.cell(112, 5, _("Verify: %(url)s", url=verify_url), align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_x(pdf.w - pdf.r_margin - 120)
    pdf.set_font(FONT, "B", 10)
    pdf.cell(112, 5, _("Code: %(code)s", code=certificate.code), align="R")
    return bytes(pdf.output())


def _dates(meeting) -> str:
    start, end = timezone.to_local(meeting.starts_at), timezone.to_local(meeting.ends_at)
    if start.date() == end.date():
        return timezone.format_local_date(meeting.starts_at)
    return f"{timezone.format_local_date(meeting.starts_at)} – {timezone.format_local_date(meeting.ends_at)}"


def learning_record_pdf(user, record: services.LearningRecord) -> bytes:
    """One's learning record: meetings attended, presentations given, adoptions of one's akimat."""
    pdf = _document(_("Learning record"), orientation="P")
    width = pdf.w - pdf.l_margin - pdf.r_margin
    pdf.set_font(FONT, "B", 18)
    pdf.multi_cell(width, 10, _("Learning record"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, "", 12)
    pdf.multi_cell(width, 7, user.full_name, new_x="LMARGIN", new_y="NEXT")
    sections = [
        (_("Meetings attended"), [
            f"{row.registration.meeting.title} — {_dates(row.registration.meeting)}; "
            + _("%(hours)s h", hours=format_decimal(row.hours, "#,##0.#"))
            + (f"; {_('certificate')} {row.certificate.code}" if row.certificate else "")
            for row in record.attended]),
        (_("Presentations given"), [f"{services.item_title(i)} — {i.meeting.title}" for i in record.presentations]),
        (_("Adoptions by my akimat"), [f"{a.case_study.title} ({a.year})" for a in record.adoptions]),
    ]
    for heading, rows in sections:
        pdf.ln(4)
        pdf.set_font(FONT, "B", 13)
        pdf.multi_cell(width, 8, heading, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(FONT, "", 11)
        for row in rows or [_("None yet.")]:
            pdf.multi_cell(width, 6, f"• {row}", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
