"""Forms of registration questions: the organisers' question form, and the registration form built from a
meeting's questions. Field-level parsing only; the rules (required answers, offered options, lengths, what may
change once answered) live in :mod:`app.meetings.questions.services`."""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import MultiDict
from wtforms import BooleanField
from wtforms import HiddenField
from wtforms import RadioField
from wtforms import SelectField
from wtforms import StringField
from wtforms import SubmitField
from wtforms import TextAreaField
from wtforms.fields.choices import SelectChoice

from app.forms import Form
from app.inputs import multi_line
from app.inputs import parse_int
from app.meetings.models import RegistrationQuestion
from app.meetings.questions.services import KIND_LABELS
from app.meetings.questions.services import MAX_ANSWER_CHARS
from app.meetings.questions.services import YES_NO_LABELS
from app.meetings.questions.services import QuestionData
from app.meetings.questions.services import field_name

ANSWER_FIELD = re.compile(r"q_(.*)")


class QuestionForm(Form):
    """Add or edit a registration question."""

    label = StringField(_l("Question"), description=_l("Such as “Your role at the meeting” or “Date of arrival”."))
    kind = SelectField(_l("Answer"), default="text", validate_choice=False,
                       choices=[SelectChoice(k, v) for k, v in KIND_LABELS.items()])
    options = TextAreaField(_l("Options"), render_kw={"rows": 4},
                            description=_l("For one choice among options: one option per line."))
    help_text = StringField(_l("Help text (optional)"), description=_l("Shown under the question."))
    required = BooleanField(_l("An answer is required"))
    save = SubmitField(_l("Save the question"))

    def data_for_service(self) -> QuestionData:
        """The question as the services take it."""
        return QuestionData(kind=self.kind.data or "", label=self.label.data or "",
                            help_text=self.help_text.data or "", required=bool(self.required.data),
                            options=(self.options.data or "").splitlines())


class MoveForm(Form):
    """Move a question up or down."""

    direction = HiddenField()


class AnswersForm(Form):
    """Registering, or changing one's answers: the meeting's questions (fields ``q_<id>``, added by
    :func:`answers_form`) and the public-listing opt-in."""

    show_publicly = BooleanField(_l("Show my participation publicly"),
                                 description=_l("Your name and akimat appear in the list of participants on the "
                                                "meeting page; nothing else. You can change this later."))


def answers_form(questions: list[RegistrationQuestion], **kwargs) -> AnswersForm:
    """An :class:`AnswersForm` with a field for each question: a text area, or radio buttons (the options, or
    yes/no). Choices are not checked here (the services check them with a message of their own)."""

    class MeetingAnswersForm(AnswersForm):
        pass

    for question in questions:
        if question.kind == "text":
            unbound = TextAreaField(question.label, description=question.help_text,
                                    render_kw={"rows": 2, "maxlength": MAX_ANSWER_CHARS})
        else:
            choices = ([SelectChoice(o, o) for o in question.option_list] if question.kind == "choice"
                       else [SelectChoice(k, v) for k, v in YES_NO_LABELS.items()])
            unbound = RadioField(question.label, description=question.help_text, choices=choices,
                                 validate_choice=False)
        setattr(MeetingAnswersForm, field_name(question), unbound)
    return MeetingAnswersForm(**kwargs)


def posted_answers(formdata: MultiDict) -> dict[int, str] | None:
    """The answers a registration form sent: question id → value; None when a field is malformed (an id that is
    not a number, or one question answered twice), which only a tampered form sends. Control characters are
    removed (line breaks kept, as ``\n``), as :class:`~app.forms.Form` does for typed text."""
    answers: dict[int, str] = {}
    for key in formdata:
        found = ANSWER_FIELD.fullmatch(key)
        if found is None:
            continue
        question_id = parse_int(found.group(1), minimum=1)
        values = formdata.getlist(key)
        if question_id is None or len(values) != 1:
            return None
        answers[question_id] = (multi_line(values[0]) or "").replace("\r\n", "\n").replace("\r", "\n")
    return answers
