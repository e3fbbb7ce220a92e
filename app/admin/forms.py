"""Administration forms: roles and reasons, and the audit log's filters."""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField
from wtforms import SelectField
from wtforms import StringField
from wtforms import SubmitField
from wtforms import TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired
from wtforms.validators import Length
from wtforms.validators import Optional
from wtforms.validators import ValidationError
from wtforms.widgets import DateInput

from app.auth.models import ROLE_LABELS
from app.forms import Form
from app.forms import coerce_optional_int


class ApproveForm(Form):
    """Grant a role and (for akims) an akimat."""

    role = SelectField(_l("Role"), choices=[SelectChoice(role.value, label) for role, label in ROLE_LABELS.items()])
    akimat = SelectField(_l("Akimat"), coerce=coerce_optional_int)
    position = StringField(
        _l("Position"), validators=[Optional(), Length(max=200, message=_l("At most %(max)d characters."))]
    )
    submit = SubmitField(_l("Approve and save the role"))


class ReasonForm(Form):
    """An action that needs a recorded reason (reject a claim, deactivate, reactivate)."""

    reason = TextAreaField(
        _l("Reason"),
        validators=[
            DataRequired(message=_l("Give a reason for the audit log.")),
            Length(max=2000, message=_l("At most %(max)d characters.")),
        ],
    )
    active = HiddenField()
    submit = SubmitField(_l("Confirm"))


MIN_YEAR, MAX_YEAR = 2000, 2999  # the log starts with the platform; no day arithmetic near date.max


class _DatePicker(DateInput):
    """A date picker that shows a value it cannot hold (HTML allows only a valid date in ``type=date``) as text,
    so that the user sees what was wrong."""

    def __call__(self, field, **kwargs):
        if field.data is None and getattr(field, "raw", ""):
            kwargs["type"] = "text"
        return super().__call__(field, **kwargs)


class IsoDateField(StringField):
    """A date as the browser's date picker sends it (YYYY-MM-DD); anything else is a field error, not a 500."""

    widget = _DatePicker()

    def process_formdata(self, valuelist):
        self.raw = (valuelist[0] if valuelist else "").strip()
        self.data = None
        if not self.raw:
            return
        try:
            self.data = date.fromisoformat(self.raw) if len(self.raw) == 10 else None
        except ValueError:
            self.data = None
        if self.data is None:
            raise ValueError(_l("Enter a date as YYYY-MM-DD, for example 2026-03-01."))
        if not MIN_YEAR <= self.data.year <= MAX_YEAR:
            self.data = None
            raise ValueError(_l("Enter a date between the years %(first)d and %(last)d.",
                                first=MIN_YEAR, last=MAX_YEAR))

    def _value(self):
        return self.raw if getattr(self, "raw", None) is not None else (self.data.isoformat() if self.data else "")


class ListedChoiceField(SelectField):
    """A select whose value must be one of its choices, refused with our own (translated) words."""

    def pre_validate(self, form):
        if self.data not in {choice.value for choice in self.iter_choices()}:
            raise ValidationError(_l("Choose one of the values in the list."))


class AuditFilterForm(Form):
    """Filters of the audit log (a GET form: no CSRF token). Choices are set by the view."""

    class Meta:
        csrf = False

    actor = ListedChoiceField(_l("Who"), default="")
    action = ListedChoiceField(_l("Action"), default="")
    target_type = ListedChoiceField(_l("Object"), default="")
    since = IsoDateField(_l("From"))
    until = IsoDateField(_l("To"))

    def validate_until(self, field):
        """The range must not end before it starts."""
        if field.data and self.since.data and field.data < self.since.data:
            raise ValidationError(_l("The end date is before the start date."))
