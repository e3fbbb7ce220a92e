"""Forms of a meeting's programme: the call for presentations, proposals and decisions, agenda items, minutes
and commitments. Field-level checks only; the rules live in :mod:`app.meetings.programme`."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import DateField
from wtforms import RadioField
from wtforms import SelectField
from wtforms import StringField
from wtforms import SubmitField
from wtforms import TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length
from wtforms.validators import Optional

from app.forms import Form
from app.forms import ParseMessageMixin
from app.forms import coerce_optional_int
from app.meetings.forms import LocalDateTimeField
from app.meetings.programme.services import AGENDA_KIND_LABELS
from app.meetings.programme.services import COMMITMENT_ACTIONS
from app.meetings.programme.services import MAX_MINUTES_CHARS
from app.meetings.programme.services import MAX_NAME_CHARS
from app.meetings.programme.services import MAX_NOTE_CHARS
from app.meetings.programme.services import MAX_PITCH_CHARS
from app.meetings.programme.services import MAX_TEXT_CHARS
from app.meetings.programme.services import MAX_TITLE_CHARS
from app.submissions import OnceField

LENGTH_MESSAGE = _l("At most %(max)d characters.")


def _length(limit: int) -> Length:
    return Length(max=limit, message=LENGTH_MESSAGE)


class OptionalDateField(ParseMessageMixin, DateField):
    """A date that may be left empty, with our own message for text that is not a date."""

    parse_message = _l("Enter a date, such as 2027-12-31.")

    def process_formdata(self, valuelist):
        if not valuelist or not (valuelist[0] or "").strip():
            self.data = None
            return
        super().process_formdata(valuelist)


class CallForm(Form):
    """Open the call for presentations, optionally until a time (Kazakhstan time)."""

    closes_at = LocalDateTimeField(_l("Proposals accepted until (Kazakhstan time)"), validators=[Optional()],
                                   description=_l("Leave empty to accept proposals until you close the call."))
    submit = SubmitField(_l("Open the call for presentations"), id="call-submit")


class ConfirmForm(Form):
    """A bare POST with CSRF (close the call, remove an item, record an adoption)."""

    submit = SubmitField(_l("Confirm"))


class ProposalForm(Form):
    """Propose one of the akimat's published case studies."""

    once = OnceField()
    case_study = SelectField(_l("Case study"), coerce=coerce_optional_int, validate_choice=False,
                             description=_l("One of your akimat's published case studies."))
    presenter_name = StringField(_l("Presenter"), validators=[_length(MAX_NAME_CHARS)],
                                 description=_l("Who will present it; leave empty to present it yourself."))
    pitch = TextAreaField(_l("Pitch"), validators=[_length(MAX_PITCH_CHARS)], render_kw={"rows": 4},
                          description=_l("A few sentences: what will peers learn from it?"))
    submit = SubmitField(_l("Propose"))


class DecisionForm(Form):
    """Accept or decline a proposal, with a note the proposer reads."""

    decision = RadioField(_l("Decision"), validate_choice=False,
                          choices=[SelectChoice("accept", _l("Accept")), SelectChoice("decline", _l("Decline"))])
    note = TextAreaField(_l("Note to the proposer"), validators=[_length(MAX_NOTE_CHARS)], render_kw={"rows": 2},
                         description=_l("Required when declining."))
    submit = SubmitField(_l("Save the decision"))


class AgendaItemForm(Form):
    """Add or change an agenda item (times in Kazakhstan time)."""

    kind = SelectField(_l("Kind"), choices=[SelectChoice(k, v) for k, v in AGENDA_KIND_LABELS.items()],
                       validate_choice=False)
    title = StringField(_l("Title"), validators=[_length(MAX_TITLE_CHARS)],
                        description=_l("Leave empty to use the case study's title."))
    case_study_id = SelectField(_l("Case study"), coerce=coerce_optional_int, validate_choice=False,
                                description=_l("For a presentation (required) or a site visit (the host region's "
                                               "own case studies)."))
    presenter_name = StringField(_l("Presenter"), validators=[_length(MAX_NAME_CHARS)])
    starts_at = LocalDateTimeField(_l("Starts (Kazakhstan time)"))
    ends_at = LocalDateTimeField(_l("Ends (Kazakhstan time)"))
    location = StringField(_l("Room or place"), validators=[_length(MAX_TITLE_CHARS)])
    description = TextAreaField(_l("Description"), validators=[_length(MAX_TEXT_CHARS)], render_kw={"rows": 3})
    submit = SubmitField(_l("Save the item"))


class MinutesForm(Form):
    """The minutes of the meeting (Markdown)."""

    minutes = TextAreaField(_l("Minutes"), validators=[_length(MAX_MINUTES_CHARS)], render_kw={"rows": 12},
                            description=_l("Markdown allowed: what was presented, discussed and agreed."))
    submit = SubmitField(_l("Publish the outcomes"), id="minutes-submit")


class CommitmentForm(Form):
    """A commitment: akimat X will pilot practice Y by date D."""

    akimat_id = SelectField(_l("Akimat"), coerce=coerce_optional_int, validate_choice=False)
    action = SelectField(_l("Commitment"), choices=[SelectChoice(k, v) for k, v in COMMITMENT_ACTIONS.items()],
                         validate_choice=False)
    case_study_id = SelectField(_l("Practice (case study)"), coerce=coerce_optional_int, validate_choice=False)
    due_date = OptionalDateField(_l("By (date)"), description=_l("Optional."))
    note = TextAreaField(_l("Note"), validators=[_length(MAX_NOTE_CHARS)], render_kw={"rows": 2},
                         id="commitment-note")
    submit = SubmitField(_l("Record the commitment"), id="commitment-submit")
