"""Questions and answers, adoptions, follows and the digest switch: POST endpoints that redirect back to
the case page (PRG), and the "following" page.

The partials on the case page (``_questions.html``, ``_adoptions.html``, ``_follow.html``) read what they
need through the ``engagement`` object (:class:`~app.case_studies.engagement.pages.EngagementPage`) that the
case page's view passes. When a form is refused, the case page is rendered again (status 400) with the form
as the user sent it, so no text is lost; the messages are flashed too.
"""

from __future__ import annotations

from flask import Blueprint
from flask import abort
from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy.exc import IntegrityError

from app import policy
from app import submissions
from app.case_studies import views as case_views
from app.case_studies.engagement import services as engagement
from app.case_studies.engagement.forms import ADOPTION_PREFIX
from app.case_studies.engagement.forms import QUESTION_PREFIX
from app.case_studies.engagement.forms import AdoptionForm
from app.case_studies.engagement.forms import AnswerForm
from app.case_studies.engagement.forms import QuestionForm
from app.case_studies.engagement.forms import answer_prefix
from app.case_studies.models import Adoption
from app.case_studies.models import CaseStudy
from app.case_studies.models import Question
from app.errors import ValidationFailed
from app.extensions import db
from app.extensions import limiter
from app.forms import commit_or_flash
from app.forms import flash_errors
from app.urls import is_safe_next

bp = Blueprint("engagement", __name__, url_prefix="/cases")


DEFAULT_QUESTION_LIMIT = "10 per hour; 30 per day"  # each question e-mails every akim of an akimat


# --- helpers --------------------------------------------------------------------------------------------


def _back(case: CaseStudy, anchor: str):
    """303 back to the case page, at ``anchor``."""
    return redirect(url_for("case_studies.detail", slug=case.slug, _anchor=anchor), 303)


def _refused(case: CaseStudy, key, form: FlaskForm, error: ValidationFailed):
    """Flash the problems and show the case page again (400) with the form as sent and its errors (put on it by
    :func:`~app.forms.commit_or_flash`, which also rolled back)."""
    flash_errors(error)
    return case_views.render_detail(case, submitted={key: form}), 400


def _notify(send, obj) -> None:
    """Send a notification; a mail failure is logged, it does not undo what was saved."""
    try:
        send(obj)
    except Exception:  # SMTP trouble must not turn a saved question into an error page
        current_app.logger.exception("Could not send the %s notification", send.__name__)


def _question_or_404(case: CaseStudy, question_id: int) -> Question:
    question = db.session.get(Question, question_id)
    if question is None or question.case_study_id != case.id:
        abort(404)
    return question


# --- questions and answers ------------------------------------------------------------------------------


def _asker_key() -> str:
    return f"asker:{current_user.id}" if current_user.is_authenticated else f"ip:{request.remote_addr}"


@bp.route("/<slug>/questions", methods=["POST"])
@limiter.limit(lambda: current_app.config.get("QUESTION_LIMIT", DEFAULT_QUESTION_LIMIT), key_func=_asker_key,
               deduct_when=lambda response: response.status_code == 303)
def ask(slug: str):
    """Ask a question about a published case study; the akimat's akims get an e-mail."""
    case = case_views.get_case_or_404(slug)
    case_views.require("ask", case)
    form = QuestionForm(prefix=QUESTION_PREFIX)
    def ask_once():
        submissions.claim(form.once.data, current_user)  # a double click or a resend asks once
        return engagement.ask_question(current_user, case, form.body.data)

    done = commit_or_flash(ask_once, form)
    if not done:
        return _refused(case, "ask", form, done.error)
    question = done.value
    _notify(engagement.notify_question_asked, question)
    flash(_("Your question was sent to the akimat. You will get an e-mail when it is answered."), "success")
    return redirect(url_for("case_studies.detail", slug=case.slug, _anchor=f"question-{question.id}"), 303)


@bp.route("/<slug>/questions/<int:question_id>/answers", methods=["POST"])
def answer(slug: str, question_id: int):
    """Answer a question (members of the owning akimat); the asker gets an e-mail."""
    case = case_views.get_case_or_404(slug)
    question = _question_or_404(case, question_id)
    case_views.require("answer", question)
    form = AnswerForm(prefix=answer_prefix(question.id))
    def answer_once():
        submissions.claim(form.once.data, current_user)
        return engagement.answer_question(current_user, question, form.body.data)

    done = commit_or_flash(answer_once, form)
    if not done:
        return _refused(case, ("answer", question_id), form, done.error)
    reply = done.value
    _notify(engagement.notify_question_answered, reply)
    flash(_("Your answer is published. The person who asked gets an e-mail."), "success")
    return redirect(url_for("case_studies.detail", slug=case.slug, _anchor=f"question-{question_id}"), 303)


# --- adoptions ------------------------------------------------------------------------------------------


@bp.route("/<slug>/adoptions", methods=["POST"])
def adopt(slug: str):
    """Record (or update) that the akim's akimat adopted, is piloting, adapted or abandoned the practice."""
    case = case_views.get_case_or_404(slug)
    case_views.require("adopt", case)
    form = AdoptionForm(prefix=ADOPTION_PREFIX)
    existed = engagement.own_adoption(current_user, case) is not None
    for attempt in (1, 2):
        try:
            done = commit_or_flash(lambda: engagement.record_adoption(current_user, case, form.year.data,
                                                                      form.status.data, form.note.data,
                                                                      form.reason.data), form)
        except IntegrityError:
            # Another akim of the same akimat recorded it at the same moment: update that record instead.
            db.session.rollback()
            existed = True
            if attempt == 2:
                raise
            continue
        if not done:
            return _refused(case, "adopt", form, done.error)
        break
    flash(_("Adoption record updated.") if existed else _("Thank you: your akimat's adoption is recorded."),
          "success")
    return _back(case, "adoptions")


@bp.route("/<slug>/adoptions/<int:adoption_id>/delete", methods=["POST"])
def delete_adoption(slug: str, adoption_id: int):
    """Remove the adoption record of the akim's own akimat."""
    case = case_views.get_case_or_404(slug)
    adoption = db.session.get(Adoption, adoption_id)
    if adoption is None or adoption.case_study_id != case.id:
        abort(404)
    if not policy.can(current_user, "delete_adoption", adoption):
        abort(403)
    engagement.delete_adoption(current_user, adoption)
    db.session.commit()
    flash(_("Adoption record removed."), "success")
    return _back(case, "adoptions")


# --- follows and the digest -----------------------------------------------------------------------------


def _redirect_next(target: str | None):
    """303 to ``target`` when it is a same-site path, else to the following page."""
    if is_safe_next(target):
        return redirect(target, 303)
    return redirect(url_for("engagement.following"), 303)


@bp.route("/follow", methods=["POST"])
def follow():
    """Follow a region, a topic or a case study (form fields ``kind``, ``key``, ``next``)."""
    kind, key = engagement.normalise_follow(request.form.get("kind"), request.form.get("key"))
    try:
        done = commit_or_flash(lambda: engagement.follow(current_user, kind, key))
    except IntegrityError:  # the same follow posted twice at once: it exists, which is what was asked
        db.session.rollback()
        created = False
    else:
        if not done:
            return _redirect_next(request.form.get("next"))
        _row, created = done.value
    label = engagement.follow_label(kind, key)
    if created:
        flash(_("You now follow %(name)s. New case studies and answers come in your e-mail digest.", name=label),
              "success")
    else:
        flash(_("You already follow %(name)s.", name=label), "info")
    return _redirect_next(request.form.get("next"))


@bp.route("/unfollow", methods=["POST"])
def unfollow():
    """Stop following a region, a topic or a case study."""
    kind, key = engagement.normalise_follow(request.form.get("kind"), request.form.get("key"))
    removed = engagement.unfollow(current_user, kind, key)
    db.session.commit()
    if removed:
        flash(_("You no longer follow %(name)s.", name=engagement.follow_label(kind, key)), "success")
    else:
        flash(_("You were not following this."), "info")
    return _redirect_next(request.form.get("next"))


@bp.route("/following", methods=["GET", "POST"])
def following():
    """What the user follows, and the switch for the e-mail digest (POST ``digest=on|off``)."""
    if request.method == "POST":
        value = request.form.get("digest")
        if value not in ("on", "off"):
            abort(400, description=_("Choose whether the digest is on or off."))
        engagement.set_digest(current_user, value == "on")
        db.session.commit()
        flash(_("The e-mail digest is on.") if value == "on" else _("The e-mail digest is off."), "success")
        return redirect(url_for("engagement.following"), 303)
    follows = engagement.describe_follows(engagement.follows_of(current_user))
    kinds = {"region": _("Region"), "topic": _("Topic"), "case": _("Case study")}
    return render_template("case_studies/following.html", follows=follows, kinds=kinds)
