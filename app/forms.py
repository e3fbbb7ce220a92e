"""Form helpers shared by every feature: field helpers, mapping a service's ``ValidationFailed`` onto a form
or flashes, and :func:`commit_or_flash`, the one commit/rollback of a view."""

from __future__ import annotations

from functools import partial

from flask import flash
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField
from wtforms import HiddenField
from wtforms import IntegerField
from wtforms import PasswordField
from wtforms import StringField
from wtforms import TextAreaField
from wtforms.validators import DataRequired
from wtforms.validators import Email
from wtforms.validators import Length

from app.errors import ValidationFailed
from app.extensions import db
from app.inputs import multi_line
from app.inputs import parse_int
from app.inputs import single_line


class Form(FlaskForm):
    """The base of every form: control characters are removed from typed text before any validator sees it.

    Single-line fields (titles, names) get line breaks and tabs as spaces, so no CR/LF reaches a mail header
    or a calendar line; text areas keep their line breaks. Passwords are left exactly as typed, and hidden
    fields (a ``next`` address, an id) are checked as sent: cleaning would change what they mean.
    """

    class Meta(FlaskForm.Meta):
        def bind_field(self, form, unbound_field, options):
            kind = unbound_field.field_class
            if issubclass(kind, StringField) and not issubclass(kind, (PasswordField, HiddenField)):
                clean = multi_line if issubclass(kind, TextAreaField) else single_line
                options["filters"] = [partial(_if_text, clean), *unbound_field.kwargs.get("filters", ())]
            return super().bind_field(form, unbound_field, options)


def _if_text(clean, value):
    """``clean(value)`` for text; anything else (an object's int, a date) as it is."""
    return clean(value) if isinstance(value, str) else value


def coerce_optional_int(value) -> int:
    """Coerce a select value (an id) to int; an empty choice becomes 0 ("none").

    :raise ValueError: (the field's "could not coerce" error) for anything but ASCII digits within a column's
        range: an id past it cannot exist, and the database would refuse to even look it up.
    """
    if value in (None, "", "None"):
        return 0
    if not isinstance(value, str):
        return int(value)  # an object's own value (a TypeError for a model: the field leaves it empty)
    number = parse_int(value)
    if number is None:
        raise ValueError(value)
    return number


class AsciiIntegerField(IntegerField):
    """An IntegerField that reads ASCII digits only (``int()`` takes ``"١٢"`` and ``"1_000"`` too); any size,
    the services check the range. Combine with :class:`ParseMessageMixin` for a message of our own."""

    def process_formdata(self, valuelist):
        if valuelist:
            self.data = parse_int(valuelist[0], minimum=None, maximum=None)
            if self.data is None:
                raise ValueError(str(_l("Enter a whole number.")))


class ParseMessageMixin:
    """For a WTForms field: when the value cannot be parsed (the field's ``process_formdata`` raises
    ``ValueError``), ``data`` is None and the error is our own translated ``parse_message``, not WTForms'
    English one. Put it before the field class: ``class YearField(ParseMessageMixin, IntegerField)``."""

    parse_message: str  # each field class sets its own (usually a lazy_gettext string)

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            self.data = None
            raise ValueError(str(self.parse_message)) from None


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
        # str(): a lazy translation is HTML-safe to Jinja, and the user input formatted into it would be too.
        flash(str(message), "error")


def flash_form_errors(form: FlaskForm) -> None:
    """Flash every field error of a form that failed validation (for actions whose page has no form to show)."""
    for errors in form.errors.values():
        for message in errors:
            flash(str(message), "error")


class Outcome:
    """What :func:`commit_or_flash` did: true when the change was committed; ``value`` is what the service
    returned, ``error`` the refusal."""

    def __init__(self, value=None, error: ValidationFailed | None = None):
        self.value = value
        self.error = error

    def __bool__(self) -> bool:
        return self.error is None


def commit_or_flash(operation, form: FlaskForm | None = None) -> Outcome:
    """Run ``operation()`` (a service call that adds and flushes) and commit; when it raises
    ``ValidationFailed``, roll back and show the messages: on ``form`` when given, else as flashes.

    Usage: ``done = commit_or_flash(lambda: services.register(user, meeting))``, then ``if not done: ...``
    and ``done.value``.
    """
    try:
        value = operation()
        db.session.commit()
    except ValidationFailed as error:
        db.session.rollback()
        if form is None:
            flash_errors(error)
        else:
            populate_errors(form, error)
        return Outcome(error=error)
    return Outcome(value)


def keeps_input_on_expiry(view):
    """Mark a form view whose page comes back with the user's input when its form has expired (CSRF refused):
    the view runs again without the token, so its FlaskForm refuses the submission (nothing is done) and the page
    shows what was typed, with a message (``app.main.errors``). Only for views that act solely after
    ``form.validate_on_submit()``."""
    view.keeps_input_on_expiry = True
    return view
