"""Form helpers shared by every feature."""

from __future__ import annotations

from flask import flash
from flask_wtf import FlaskForm

from app.services import ValidationFailed


def populate_errors(form: FlaskForm, error: ValidationFailed) -> None:
    """Copy a service's ``ValidationFailed`` onto the form's fields (form-wide ones to ``form.form_errors``)."""
    for name, message in error.errors:
        field = form._fields.get(name) if name else None
        if field is None:
            form.form_errors.append(message)
        else:
            field.errors = [*field.errors, message] if isinstance(field.errors, list) else [message]


def flash_errors(error: ValidationFailed) -> None:
    """Flash every message of a service's ``ValidationFailed`` (for actions whose page has no form to show)."""
    for _field, message in error.errors:
        flash(message, "error")
