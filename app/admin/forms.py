"""Administration forms."""

from __future__ import annotations

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
