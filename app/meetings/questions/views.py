"""The organisers' pages of a meeting's registration questions (URLs under ``/meetings/<id>/questions``): the list
with the form to add one, editing, reordering and deleting. The questions are asked on the meeting page's
registration form (``app.meetings.views``)."""

from __future__ import annotations

from flask import Blueprint
from flask import abort
from flask import flash
from flask import redirect
from flask import render_template
from flask import url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.extensions import db
from app.forms import commit_or_flash
from app.forms import keeps_input_on_expiry
from app.meetings.models import Meeting
from app.meetings.models import RegistrationQuestion
from app.meetings.questions import services as questions
from app.meetings.questions.forms import MoveForm
from app.meetings.questions.forms import QuestionForm
from app.policy import can

bp = Blueprint("questions", __name__, url_prefix="/meetings/<int:meeting_id>/questions")


def _meeting(meeting_id: int) -> Meeting:
    """The meeting (404), for an organiser only (403)."""
    meeting = db.get_or_404(Meeting, meeting_id)
    if not can(current_user, "manage_registration_questions", meeting):
        abort(403)
    return meeting


def _question(meeting: Meeting, question_id: int) -> RegistrationQuestion:
    """The meeting's question, or 404 (also for another meeting's question)."""
    question = questions.question_of(meeting, question_id)
    if question is None:
        abort(404)
    return question


def _list(meeting: Meeting):
    return redirect(url_for("questions.manage", meeting_id=meeting.id), 303)


def _render_list(meeting: Meeting, form: QuestionForm, status: int = 200):
    return render_template(
        "meetings/questions.html", meeting=meeting, questions=questions.questions_of(meeting), form=form,
        answered=questions.answer_counts(meeting), kinds=questions.KIND_LABELS, move_form=MoveForm(),
    ), status


@bp.route("")
def manage(meeting_id: int):
    """The meeting's registration questions in their order, and the form to add one."""
    return _render_list(_meeting(meeting_id), QuestionForm(formdata=None))


@bp.route("", methods=["POST"])
@keeps_input_on_expiry
def add(meeting_id: int):
    """Add a question at the end of the registration form."""
    meeting = _meeting(meeting_id)
    form = QuestionForm()
    if form.validate_on_submit():
        done = commit_or_flash(lambda: questions.add_question(current_user, meeting, form.data_for_service()), form)
        if done:
            flash(_("Question added: people are asked it when they register."), "success")
            return _list(meeting)
        meeting = db.get_or_404(Meeting, meeting_id)
    return _render_list(meeting, form, 400)


@bp.route("/<int:question_id>/edit", methods=["GET", "POST"])
@keeps_input_on_expiry
def edit(meeting_id: int, question_id: int):
    """Change a question (once answered: not its kind, and no option someone chose may go)."""
    meeting = _meeting(meeting_id)
    question = _question(meeting, question_id)
    form = QuestionForm(obj=question)
    if form.validate_on_submit():
        done = commit_or_flash(lambda: questions.update_question(current_user, question, form.data_for_service()),
                               form)
        if done:
            flash(_("Saved."), "success")
            return _list(meeting)
        meeting = db.get_or_404(Meeting, meeting_id)
        question = _question(meeting, question_id)
    status = 400 if form.is_submitted() else 200
    return render_template("meetings/question_form.html", meeting=meeting, question=question, form=form,
                           answered=questions.answer_counts(meeting).get(question.id, 0)), status


@bp.route("/<int:question_id>/delete", methods=["POST"])
def delete(meeting_id: int, question_id: int):
    """Delete a question nobody has answered."""
    meeting = _meeting(meeting_id)
    question = _question(meeting, question_id)
    if not MoveForm().validate_on_submit():
        abort(400)
    if commit_or_flash(lambda: questions.delete_question(current_user, question)):
        flash(_("Question deleted."), "success")
    return _list(meeting)


@bp.route("/<int:question_id>/move", methods=["POST"])
def move(meeting_id: int, question_id: int):
    """Move a question up or down the registration form."""
    meeting = _meeting(meeting_id)
    question = _question(meeting, question_id)
    form = MoveForm()
    if not form.validate_on_submit():
        abort(400)
    commit_or_flash(lambda: questions.move_question(current_user, question, form.direction.data or ""))
    return _list(meeting)
