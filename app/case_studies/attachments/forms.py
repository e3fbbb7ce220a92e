"""Forms of the attachments partial: upload one file, delete one (CSRF only)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import SubmitField

from app.forms import Form


class AttachmentForm(Form):
    """Upload one file. The checks (type from content, size, count, name) are in the service."""

    file = FileField(_l("Add a file"))
    submit = SubmitField(_l("Upload"))


class AttachmentDeleteForm(Form):
    """Delete a file (CSRF only)."""
