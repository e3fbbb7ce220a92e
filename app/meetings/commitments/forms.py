"""The form of a progress update on a commitment. Field-level checks only; the rules are in
:mod:`app.meetings.commitments.services`."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import SelectField
from wtforms import SubmitField
from wtforms import TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length

from app.forms import Form
from app.meetings.commitments.services import EVIDENCE_ACCEPT
from app.meetings.commitments.services import EVIDENCE_TYPES_TEXT
from app.meetings.commitments.services import MAX_UPDATE_CHARS
from app.meetings.commitments.services import STATUS_LABELS
from app.submissions import OnceField


class UpdateForm(Form):
    """Report progress: the status, what was done, and optionally one evidence file."""

    once = OnceField()
    status = SelectField(_l("Status"), choices=[SelectChoice(k, v) for k, v in STATUS_LABELS.items()],
                         validate_choice=False)
    note = TextAreaField(_l("What has been done"), render_kw={"rows": 5},
                         validators=[Length(max=MAX_UPDATE_CHARS, message=_l("At most %(max)d characters."))],
                         description=_l("Markdown allowed: steps taken, results, what is still to do."))
    file = FileField(_l("Evidence (optional)"), render_kw={"accept": EVIDENCE_ACCEPT},
                     description=_l("One file: %(types)s.", types=EVIDENCE_TYPES_TEXT))
    submit = SubmitField(_l("Post the update"))
