"""Form helpers shared by every feature."""

from __future__ import annotations

from flask import flash
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField
from wtforms.validators import DataRequired
from wtforms.validators import Email
from wtforms.validators import Length

from app.errors import ValidationFailed


def coerce_optional_int(value) -> int:
    """Coerce a select value to int; an empty choice becomes 0 ("none")."""
    if value in (None, "", "None"):
        return 0
    return int(value)


def required():
    """A DataRequired validator with our translated message."""
    return DataRequired(message=_l("This field is required."))


def email_field(label=None):
    """An e-mail field with syntax checks and a length cap."""
    return EmailField(
        label or _l("E-mail"),
        validators=[
            required(),
            Length(max=254, message=_l("At most %(max)d characters.")),
            Email(message=_l("Enter a valid e-mail address, such as name@example.kz."), check_deliverability=False),
        ],
        render_kw={"autocomplete": "email"},
    )


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
