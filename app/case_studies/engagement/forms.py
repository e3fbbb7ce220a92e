"""Forms of the case-page engagement partials (questions, answers, adoptions); CSRF is checked for every POST
by CSRFProtect. Their field names carry a prefix, so several forms can share the case page."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import SelectField
from wtforms import StringField
from wtforms import TextAreaField
from wtforms.fields.choices import SelectChoice

from app.case_studies.constants import ADOPTION_STATUSES
from app.case_studies.engagement import services as engagement
from app.forms import Form
from app.submissions import OnceField

QUESTION_PREFIX = "question"
ADOPTION_PREFIX = "adoption"


def answer_prefix(question_id: int) -> str:
    """The field-name prefix of the answer form of question ``question_id``."""
    return f"answer-{question_id}"


class QuestionForm(Form):
    """Ask a question (field name ``question-body``)."""

    once = OnceField()
    body = TextAreaField(
        _l("Your question"),
        description=_l("Up to %(max)d characters. Markdown allowed.", max=engagement.MAX_QUESTION_CHARS),
        render_kw={"rows": 4, "maxlength": engagement.MAX_QUESTION_CHARS},
    )


class AnswerForm(Form):
    """Answer a question (field name ``answer-<question id>-body``)."""

    once = OnceField()
    body = TextAreaField(
        _l("Your answer"), description=_l("Markdown allowed."),
        render_kw={"rows": 4, "maxlength": engagement.MAX_ANSWER_CHARS},
    )


class AdoptionForm(Form):
    """Record or update an adoption (field names ``adoption-year``, ``adoption-status``…)."""

    year = StringField(_l("Year your akimat started"), render_kw={"inputmode": "numeric", "maxlength": 4})
    status = SelectField(
        _l("Status"), choices=[SelectChoice(key, label) for key, label in ADOPTION_STATUSES.items()],
        validate_choice=False,
    )
    note = TextAreaField(
        _l("What you changed and how it went"), render_kw={"rows": 4, "maxlength": engagement.MAX_NOTE_CHARS},
    )
    reason = TextAreaField(
        _l("Why it was abandoned"), description=_l("Required when the status is “Abandoned”."),
        render_kw={"rows": 3, "maxlength": engagement.MAX_REASON_CHARS},
    )
