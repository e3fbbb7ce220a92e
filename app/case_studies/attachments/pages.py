"""What the attachments partial (``templates/case_studies/_attachments.html``) reads."""

from __future__ import annotations

from flask import current_app

from app.case_studies.attachments import services
from app.case_studies.attachments.forms import AttachmentForm
from app.case_studies.models import CaseStudy


def attachment_ui(case: CaseStudy) -> dict:
    """What the case page's attachments partial shows for ``case``: the upload form, limits and display
    helpers (the case page's view passes this function as ``attachment_ui``)."""
    count = len(case.attachments)
    limit = services.max_bytes()
    request_limit = current_app.config.get("MAX_CONTENT_LENGTH")
    if request_limit:
        limit = min(limit, int(request_limit))
    return {
        "form": AttachmentForm(formdata=None),
        "count": count,
        "max_files": services.max_files(),
        "full": count >= services.max_files(),
        "max_size": services.format_size(limit),
        "types": services.ALLOWED_TYPES_TEXT,
        "accept": services.ACCEPT,
        "label": services.label_for,
        "size": services.format_size,
    }
