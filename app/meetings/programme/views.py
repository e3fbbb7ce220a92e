"""Programme pages of a meeting (URLs under ``/meetings/<id>/``): the organisers' programme page (call for
presentations, proposals and decisions, agenda, outcomes), an akim's proposal form, agenda item forms, the
printable agenda, and the one-click adoption of a commitment.

The meeting page (``templates/meetings/detail.html``) shows the timetable, the call and the outcomes through
``templates/meetings/_programme.html``; case-study pages and region profiles show presentations and
commitments through ``_case_meetings.html`` and ``_region_commitments.html``. They reach the data through the
``programme`` object (:class:`app.meetings.programme.pages.ProgrammePage`) that each of those views passes.
"""

from __future__ import annotations

import sqlalchemy as sa
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
from wtforms.fields.choices import SelectChoice

from app import submissions
from app.case_studies.models import CaseStudy
from app.extensions import db
from app.forms import commit_or_flash
from app.forms import keeps_input_on_expiry
from app.i18n import collation_key
from app.i18n import current_language
from app.meetings.models import AgendaItem
from app.meetings.models import Commitment
from app.meetings.models import Meeting
from app.meetings.models import Proposal
from app.meetings.programme import services as programme
from app.meetings.programme.forms import AgendaItemForm
from app.meetings.programme.forms import CallForm
from app.meetings.programme.forms import CommitmentForm
from app.meetings.programme.forms import ConfirmForm
from app.meetings.programme.forms import DecisionForm
from app.meetings.programme.forms import MinutesForm
from app.meetings.programme.forms import ProposalForm
from app.meetings.programme.pages import ProgrammePage
from app.meetings.timezone import input_value
from app.meetings.timezone import to_utc
from app.policy import can
from app.regions.models import Region
from app.regions.services import akimat_choices

bp = Blueprint("programme", __name__, url_prefix="/meetings/<int:meeting_id>")


# --- helpers ------------------------------------------------------------------------------------------------


def _meeting(meeting_id: int) -> Meeting:
    return db.get_or_404(Meeting, meeting_id)


def _organiser_only() -> None:
    if not can(current_user, "manage_meetings"):
        abort(403)


def _detail(meeting: Meeting, anchor: str | None = None):
    return redirect(url_for("meetings.detail", meeting_id=meeting.id, _anchor=anchor), 303)


def _manage(meeting: Meeting, anchor: str | None = None):
    return redirect(url_for("programme.manage", meeting_id=meeting.id, _anchor=anchor), 303)


def _case_choices(cases) -> list[SelectChoice]:
    language = current_language()
    return [SelectChoice(0, "—")] + [
        SelectChoice(c.id, c.title, optgroup=c.region.name(language)) for c in cases
    ]


def _published_cases() -> list[CaseStudy]:
    """Every published case study, by region name and title (the choices of agenda items and commitments)."""
    cases = db.session.scalars(sa.select(CaseStudy).join(Region, CaseStudy.region_id == Region.id)
                               .where(CaseStudy.is_published)).all()
    return sorted(cases, key=lambda c: (collation_key(c.region.name()), collation_key(c.title)))


def _manage_page(meeting: Meeting, status: int = 200, **forms):
    """The organisers' programme page (with the forms as sent, when a change was refused)."""
    cases = _case_choices(_published_cases())
    minutes_form = forms.get("minutes_form") or MinutesForm(formdata=None, minutes=meeting.minutes)
    commitment_form = forms.get("commitment_form") or CommitmentForm(formdata=None)
    commitment_form.akimat_id.choices = akimat_choices()
    commitment_form.case_study_id.choices = cases
    decision_forms = {p.id: (forms["decision_form"] if forms.get("decision_for") == p.id
                             else DecisionForm(formdata=None, prefix=f"p{p.id}"))
                      for p in meeting.proposals}
    return render_template(
        "meetings/programme.html", meeting=meeting, days=programme.timetable(meeting), programme=ProgrammePage(),
        call_form=forms.get("call_form") or CallForm(formdata=None), confirm_form=ConfirmForm(formdata=None),
        decision_forms=decision_forms, minutes_form=minutes_form, commitment_form=commitment_form,
        is_over=programme.is_over(meeting), call_is_open=programme.call_is_open(meeting),
    ), status


def _submit(meeting: Meeting, form, name: str, operation, **extra) -> tuple:
    """Validate ``form`` (one of the programme page's, passed to the page as ``name``) and run ``operation`` (a
    programme service call) through :func:`~app.forms.commit_or_flash`.

    :return: ``(page, outcome)``: when the form is invalid or the service refused, ``page`` is the programme
        page again (400) with ``form`` as sent and the messages on it; else ``page`` is None and
        ``outcome.value`` is what the service returned.
    """
    if not form.validate_on_submit():
        return _manage_page(meeting, 400, **{name: form}, **extra), None
    done = commit_or_flash(operation, form)
    if done:
        return None, done
    if name == "decision_form":  # a decided proposal shows no form: say it at the top of the page
        for field, message in done.error.errors:
            if field is None:
                flash(message, "error")
    meeting = db.session.get(Meeting, meeting.id)
    return _manage_page(meeting, 400, **{name: form}, **extra), None


def _change(meeting_id: int, form, name: str, operation, success: str, anchor: str):
    """An organisers' change of the meeting: :func:`_submit` with ``operation(meeting)``, then on success flash
    ``success`` and go back to the programme page at ``anchor``."""
    _organiser_only()
    meeting = _meeting(meeting_id)
    page, _done = _submit(meeting, form, name, lambda: operation(meeting))
    if page is not None:
        return page
    flash(success, "success")
    return _manage(meeting, anchor)


def _confirmed(meeting: Meeting, operation, success: str, anchor: str):
    """An organisers' change by a bare POST with CSRF (close the call, remove an item or a commitment):
    ``operation()`` through :func:`~app.forms.commit_or_flash`, flash ``success``, back to the programme page at
    ``anchor``."""
    if ConfirmForm().validate_on_submit() and commit_or_flash(operation):
        flash(success, "success")
    return _manage(meeting, anchor)


# --- the organisers' page and the call ----------------------------------------------------------------------


@bp.route("/programme")
def manage(meeting_id: int):
    """The organisers' programme page of a meeting."""
    _organiser_only()
    return _manage_page(_meeting(meeting_id))


@bp.route("/call/open", methods=["POST"])
def open_call(meeting_id: int):
    """Open the call for presentations."""
    form = CallForm()
    return _change(meeting_id, form, "call_form",
                   lambda meeting: programme.open_call(current_user, meeting, to_utc(form.closes_at.data)),
                   _("The call for presentations is open: akims can now propose their case studies."), "call")


@bp.route("/call/close", methods=["POST"])
def close_call(meeting_id: int):
    """Close the call for presentations."""
    _organiser_only()
    meeting = _meeting(meeting_id)
    return _confirmed(meeting, lambda: programme.close_call(current_user, meeting),
                      _("The call for presentations is closed."), "call")


# --- proposals ----------------------------------------------------------------------------------------------


@bp.route("/propose", methods=["GET", "POST"])
@keeps_input_on_expiry
def propose(meeting_id: int):
    """An akim proposes one of their akimat's published case studies."""
    meeting = _meeting(meeting_id)
    if not can(current_user, "propose"):
        abort(403)
    form = ProposalForm()
    form.case_study.choices = _case_choices(programme.proposable_cases(current_user))
    if request.method == "GET":
        form.presenter_name.data = current_user.full_name
    if form.validate_on_submit():
        case = db.session.get(CaseStudy, form.case_study.data) if form.case_study.data else None

        def propose_once():
            submissions.claim(form.once.data, current_user)  # a double click proposes once
            return programme.propose(current_user, meeting, case, form.pitch.data, form.presenter_name.data)

        if commit_or_flash(propose_once, form):
            flash(_("Your proposal is sent. The organisers will accept or decline it with a note."), "success")
            return _detail(meeting, "programme")
    status = 400 if request.method == "POST" else 200
    return render_template("meetings/propose.html", meeting=meeting, form=form, programme=ProgrammePage(),
                           call_is_open=programme.call_is_open(meeting),
                           proposals=programme.proposals_of(meeting, current_user)), status


@bp.route("/proposals/<int:proposal_id>/withdraw", methods=["POST"])
def withdraw(meeting_id: int, proposal_id: int):
    """The proposing akimat withdraws its proposal."""
    proposal = db.first_or_404(sa.select(Proposal).where(Proposal.id == proposal_id, Proposal.meeting_id == meeting_id))
    if ConfirmForm().validate_on_submit() and commit_or_flash(
            lambda: programme.withdraw_proposal(current_user, proposal)):
        flash(_("Your proposal is withdrawn."), "success")
    return _detail(proposal.meeting, "programme")


@bp.route("/proposals/<int:proposal_id>/decision", methods=["POST"])
def decide(meeting_id: int, proposal_id: int):
    """Accept (into the agenda) or decline a proposal, with a note."""
    _organiser_only()
    proposal = db.first_or_404(sa.select(Proposal).where(Proposal.id == proposal_id, Proposal.meeting_id == meeting_id))
    meeting = proposal.meeting
    form = DecisionForm(prefix=f"p{proposal.id}")
    page, done = _submit(meeting, form, "decision_form",
                         lambda: programme.decide(current_user, proposal, form.decision.data, form.note.data),
                         decision_for=proposal.id)
    if page is not None:
        return page
    item = done.value
    try:
        programme.notify_decision(proposal)
    except Exception:  # SMTP trouble must not turn a saved decision into an error page
        current_app.logger.exception("Could not send the decision on proposal %s", proposal.id)
    if item is not None:
        flash(_("Accepted: the presentation is in the agenda. Move it to its time slot."), "success")
        return _manage(meeting, f"item-{item.id}")
    flash(_("Declined. The proposer sees your note."), "success")
    return _manage(meeting, "proposals")


# --- agenda -------------------------------------------------------------------------------------------------


def _item_form(meeting: Meeting, form: AgendaItemForm) -> AgendaItemForm:
    form.case_study_id.choices = _case_choices(_published_cases())
    return form


def _agenda_data(form: AgendaItemForm) -> programme.AgendaData:
    return programme.AgendaData(
        kind=form.kind.data or "", title=form.title.data or "", starts_local=form.starts_at.data,
        ends_local=form.ends_at.data, description=form.description.data or "", location=form.location.data or "",
        presenter_name=form.presenter_name.data or "", case_study_id=form.case_study_id.data or None,
    )


@bp.route("/agenda/new", methods=["GET", "POST"])
@keeps_input_on_expiry
def new_item(meeting_id: int):
    """Add an agenda item."""
    _organiser_only()
    meeting = _meeting(meeting_id)
    form = _item_form(meeting, AgendaItemForm())
    if request.method == "GET":
        form.starts_at.data = input_value(meeting.starts_at)
        form.ends_at.data = input_value(meeting.starts_at)
    if form.validate_on_submit():
        done = commit_or_flash(lambda: programme.add_item(current_user, meeting, _agenda_data(form)), form)
        if done:
            flash(_("The item is in the agenda."), "success")
            _warn_overlaps(done.value)
            return _manage(meeting, f"item-{done.value.id}")
    status = 400 if request.method == "POST" else 200
    return render_template("meetings/agenda_item.html", meeting=meeting, form=form, item=None,
                           days=programme.meeting_days(meeting)), status


def _warn_overlaps(item) -> None:
    clashes = programme.overlapping(item)
    if clashes:
        flash(_("Check the times: this item overlaps %(titles)s.",
                titles=", ".join(f"«{other.title}»" for other in clashes)), "warning")


@bp.route("/agenda/<int:item_id>/edit", methods=["GET", "POST"])
@keeps_input_on_expiry
def edit_item(meeting_id: int, item_id: int):
    """Change an agenda item."""
    _organiser_only()
    item = db.first_or_404(sa.select(AgendaItem).where(AgendaItem.id == item_id, AgendaItem.meeting_id == meeting_id))
    meeting = item.meeting
    form = _item_form(meeting, AgendaItemForm(obj=item) if request.method == "GET" else AgendaItemForm())
    if request.method == "GET":
        form.starts_at.data = input_value(item.starts_at)
        form.ends_at.data = input_value(item.ends_at)
        form.case_study_id.data = item.case_study_id or 0
    if form.validate_on_submit() and commit_or_flash(
            lambda: programme.update_item(current_user, item, _agenda_data(form)), form):
        flash(_("The item is saved."), "success")
        _warn_overlaps(item)
        return _manage(meeting, f"item-{item.id}")
    status = 400 if request.method == "POST" else 200
    return render_template("meetings/agenda_item.html", meeting=meeting, form=form, item=item,
                           days=programme.meeting_days(meeting)), status


@bp.route("/agenda/<int:item_id>/delete", methods=["POST"])
def delete_item(meeting_id: int, item_id: int):
    """Remove an agenda item."""
    _organiser_only()
    item = db.first_or_404(sa.select(AgendaItem).where(AgendaItem.id == item_id, AgendaItem.meeting_id == meeting_id))
    return _confirmed(item.meeting, lambda: programme.remove_item(current_user, item),
                      _("The item is removed from the agenda."), "agenda")


@bp.route("/agenda/print")
def print_agenda(meeting_id: int):
    """The agenda as a page to print (public, like the meeting page)."""
    meeting = _meeting(meeting_id)
    return render_template("meetings/agenda_print.html", meeting=meeting, days=programme.timetable(meeting),
                           programme=ProgrammePage())


# --- outcomes -----------------------------------------------------------------------------------------------


@bp.route("/outcomes", methods=["POST"])
def outcomes(meeting_id: int):
    """Publish (or correct) the minutes."""
    form = MinutesForm()
    return _change(meeting_id, form, "minutes_form",
                   lambda meeting: programme.publish_outcomes(current_user, meeting, form.minutes.data),
                   _("The outcomes are published on the meeting page."), "outcomes")


@bp.route("/commitments", methods=["POST"])
def add_commitment(meeting_id: int):
    """Record a commitment made at the meeting."""
    _organiser_only()  # before the queries of the choices (_change checks again)
    form = CommitmentForm()
    form.akimat_id.choices = akimat_choices()
    form.case_study_id.choices = _case_choices(_published_cases())
    return _change(meeting_id, form, "commitment_form",
                   lambda meeting: programme.add_commitment(current_user, meeting, form.akimat_id.data,
                                                            form.case_study_id.data, form.action.data,
                                                            form.due_date.data, form.note.data),
                   _("The commitment is recorded. It shows on the case study and on the region's profile."),
                   "commitments")


def _commitment(meeting_id: int, commitment_id: int) -> Commitment:
    return db.first_or_404(sa.select(Commitment).where(Commitment.id == commitment_id,
                                                       Commitment.meeting_id == meeting_id))


@bp.route("/commitments/<int:commitment_id>/delete", methods=["POST"])
def delete_commitment(meeting_id: int, commitment_id: int):
    """Remove a commitment recorded by mistake."""
    _organiser_only()
    commitment = _commitment(meeting_id, commitment_id)
    return _confirmed(commitment.meeting, lambda: programme.remove_commitment(current_user, commitment),
                      _("The commitment is removed."), "commitments")


@bp.route("/commitments/<int:commitment_id>/adoption", methods=["POST"])
def adopt_commitment(meeting_id: int, commitment_id: int):
    """Turn a commitment into the akimat's adoption record (organisers, or akims of the committed akimat)."""
    commitment = _commitment(meeting_id, commitment_id)
    if not can(current_user, "convert_commitment", commitment):
        abort(403)
    case = commitment.case_study
    if ConfirmForm().validate_on_submit():
        done = commit_or_flash(lambda: programme.commitment_to_adoption(current_user, commitment))
        if not done:
            return redirect(url_for("case_studies.detail", slug=case.slug, _anchor="meetings"), 303)
        _adoption, created = done.value
        flash(_("Recorded as an adoption (piloting).") if created
              else _("The akimat already had an adoption record for this practice: the commitment is linked to it."),
              "success")
    return redirect(url_for("case_studies.detail", slug=case.slug, _anchor="adoptions"), 303)
