"""Forms of the rotation page: pin a host, exclude a host, and the reason asked when undoing either.

Field-level checks only (lengths); every rule (the plan's years, known hosts, one host a slot…) is checked by
:mod:`app.meetings.rotation.services`, which the view maps back onto these fields.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField
from wtforms import SelectField
from wtforms import StringField
from wtforms import SubmitField
from wtforms import TextAreaField
from wtforms.validators import Length

from app.forms import Form
from app.meetings.rotation.services import MAX_REASON_CHARS

LENGTH_MESSAGE = _l("At most %(max)d characters.")


def reason_field(label, description=None, **kwargs) -> TextAreaField:
    """A required-in-spirit reason (the service says when it is empty, in the user's language)."""
    return TextAreaField(label, validators=[Length(max=MAX_REASON_CHARS, message=LENGTH_MESSAGE)],
                         description=description, render_kw={"rows": 2, "required": True}, **kwargs)


class PinForm(Form):
    """Pin a host to one meeting of the plan."""

    scope = HiddenField()
    year = SelectField(_l("Year"), validate_choice=False)
    slot = SelectField(_l("Meeting of the year"), validate_choice=False)
    host = SelectField(_l("Host"), validate_choice=False)
    reason = reason_field(_l("Reason"), _l("Why this host, this year? Kept in the audit log."))
    submit = SubmitField(_l("Pin the host"), id="pin-submit")


class ExclusionForm(Form):
    """Exclude a host until a year (deferred, not skipped). Its element ids differ from the pin form's, which
    shares the page and the field names."""

    scope = HiddenField(id="exclusion-scope")
    host = SelectField(_l("Host"), validate_choice=False, id="exclusion-host")
    until_year = StringField(_l("Excluded until (year)"), validators=[Length(max=10, message=LENGTH_MESSAGE)],
                             description=_l("The host can host again from this year on."),
                             render_kw={"inputmode": "numeric", "autocomplete": "off"})
    reason = reason_field(_l("Reason"), _l("Why can this host not host? Kept in the audit log."),
                          id="exclusion-reason")
    submit = SubmitField(_l("Exclude the host"), id="exclusion-submit")


class UndoForm(Form):
    """Remove a pin or lift an exclusion, with a reason."""

    reason = reason_field(_l("Reason"))
    submit = SubmitField(_l("Confirm"))
