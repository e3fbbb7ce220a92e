"""Case-study forms: field-level checks only; cross-field rules live in services.validate()."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField
from wtforms import SelectField
from wtforms import SelectMultipleField
from wtforms import StringField
from wtforms import SubmitField
from wtforms import TextAreaField
from wtforms import widgets
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired
from wtforms.validators import Length
from wtforms.validators import Optional

from app.case_studies.constants import CASE_LANGUAGES
from app.case_studies.constants import LEVELS
from app.case_studies.constants import MAX_EVIDENCE_URL_CHARS
from app.case_studies.constants import MAX_SECTION_CHARS
from app.case_studies.constants import MAX_SUMMARY_CHARS
from app.case_studies.constants import MAX_TITLE_CHARS
from app.case_studies.constants import STATUSES
from app.case_studies.constants import TOPICS
from app.forms import AsciiIntegerField
from app.forms import Form
from app.forms import ParseMessageMixin
from app.forms import coerce_optional_int

LENGTH_MESSAGE = _l("At most %(max)d characters.")
YEAR_MESSAGE = _l("Enter a year as a number, such as 2019.")


class CheckboxListField(SelectMultipleField):
    """Several choices as a list of checkboxes."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class YearField(ParseMessageMixin, AsciiIntegerField):
    """An integer year, with our own message for text that is not a number."""

    parse_message = YEAR_MESSAGE


class EvidenceLevelField(ParseMessageMixin, SelectField):
    """The evidence level: an int 1-5, or 0 for "not assessed" (the choices are set by the view, translated)."""

    parse_message = _l("Choose an evidence level from 1 to 5, or leave it not assessed.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, coerce=coerce_optional_int, validate_choice=False, **kwargs)


def section(label, description):
    """A Markdown text area with the section cap."""
    return TextAreaField(
        label,
        validators=[Length(max=MAX_SECTION_CHARS, message=LENGTH_MESSAGE)],
        description=description,
        render_kw={"rows": 8},
    )


class CaseStudyForm(Form):
    """Create or edit a case study. Only these fields are read from the request: anything else posted
    (``state``, ``akimat_id``, ``author_id``…) is ignored."""

    version = HiddenField()
    title = StringField(
        _l("Title"),
        validators=[InputRequired(message=_l("Give the case study a title.")),
                    Length(max=MAX_TITLE_CHARS, message=LENGTH_MESSAGE)],
    )
    summary = TextAreaField(
        _l("Summary"),
        validators=[Length(max=MAX_SUMMARY_CHARS, message=LENGTH_MESSAGE)],
        description=_l("One to three sentences: what you did and what came of it."),
        render_kw={"rows": 3},
    )
    region_id = SelectField(_l("Region"), coerce=coerce_optional_int, validate_choice=False)
    municipality_id = SelectField(
        _l("District or city"), coerce=coerce_optional_int, validate_choice=False,
        description=_l("Leave empty for a practice of the whole region."),
    )
    level = SelectField(
        _l("Level of the akimat"), choices=[SelectChoice(key, label) for key, label in LEVELS.items()],
        validate_choice=False,
    )
    topics = CheckboxListField(
        _l("Topics"), choices=[SelectChoice(key, label) for key, label in TOPICS.items()], validate_choice=False,
        description=_l("One to five."),
    )
    language = SelectField(
        _l("Language of the text"),
        choices=[SelectChoice(key, label, render_kw={"lang": key}) for key, label in CASE_LANGUAGES.items()],
        validate_choice=False,
    )
    started = YearField(
        _l("Started (year)"), validators=[InputRequired(message=YEAR_MESSAGE)], render_kw={"inputmode": "numeric"}
    )
    ended = YearField(
        _l("Ended (year)"), validators=[Optional()], description=_l("Leave empty if it is still running."),
        render_kw={"inputmode": "numeric"},
    )
    status = SelectField(
        _l("Status"), choices=[SelectChoice(key, label) for key, label in STATUSES.items()], validate_choice=False
    )
    problem = section(_l("Problem"), _l("What was wrong, for whom, and how you knew. Markdown allowed."))
    solution = section(_l("Solution"), _l("What you did, step by step, with whom and with what money."))
    challenges = section(
        _l("What went wrong"), _l("The difficulties, mistakes and resistance: the part peers learn most from.")
    )
    results = section(_l("Results"), _l("What changed, with numbers where you have them."))
    lessons = section(_l("Lessons for peers"), _l("What you would tell an akim who wants to do the same."))
    budget_kzt = StringField(
        _l("Budget (tenge)"), validators=[Length(max=40, message=LENGTH_MESSAGE)],
        description=_l("Total cost in tenge; leave empty if unknown."), render_kw={"inputmode": "decimal"},
    )
    evidence_level = EvidenceLevelField(
        _l("Evidence level"),
        description=_l("How strongly the case study shows that the practice works (Nesta's Standards of Evidence). "
                       "Levels 3 to 5 need the evaluation: attach it as a file on the case study's page or give "
                       "a link to it below."),
    )
    evidence_url = StringField(
        _l("Link to the evaluation"), validators=[Length(max=MAX_EVIDENCE_URL_CHARS, message=LENGTH_MESSAGE)],
        description=_l("The web address of an evaluation or study of the practice (starting with https://)."),
        render_kw={"inputmode": "url", "autocomplete": "url"},
    )
    author_name = StringField(_l("Author"), validators=[Length(max=200, message=LENGTH_MESSAGE)])
    author_position = StringField(_l("Author's position"), validators=[Length(max=200, message=LENGTH_MESSAGE)])
    contact = StringField(
        _l("Contact person"), validators=[Length(max=300, message=LENGTH_MESSAGE)],
        description=_l("Who peers can contact: name, phone or e-mail."),
    )
    preview = SubmitField(_l("Preview"))
    save = SubmitField(_l("Save"))


class ReasonForm(Form):
    """Withdraw with a reason."""

    reason = TextAreaField(
        _l("Reason"),
        validators=[InputRequired(message=_l("Say why the case study is withdrawn.")),
                    Length(max=2000, message=LENGTH_MESSAGE)],
        render_kw={"rows": 3},
    )
    submit = SubmitField(_l("Withdraw"))


class ConfirmForm(Form):
    """A bare POST with CSRF (publish, restore)."""

    submit = SubmitField(_l("Confirm"))
