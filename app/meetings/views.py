"""Meeting pages: the list (upcoming and the archive), the meeting page with registration, the organisers'
create/edit/state pages, the registrations list with CSV export and attendance, and the .ics calendars."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint
from flask import Response
from flask import abort
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from app.clock import utcnow
from app.errors import ValidationFailed
from app.extensions import db
from app.forms import commit_or_flash
from app.forms import flash_errors
from app.forms import flash_form_errors
from app.forms import keeps_input_on_expiry
from app.i18n import collation_key
from app.i18n import current_language
from app.inputs import parse_int
from app.meetings import hosts
from app.meetings import ical
from app.meetings import notifications
from app.meetings import services
from app.meetings import timezone
from app.meetings.certificates import services as certificate_services
from app.meetings.commitments.pages import CommitmentsPage
from app.meetings.forms import AttendanceForm
from app.meetings.forms import MeetingForm
from app.meetings.forms import RegistrationForm
from app.meetings.forms import StateForm
from app.meetings.models import HOLDING_STATES
from app.meetings.models import NATIONAL
from app.meetings.models import Meeting
from app.meetings.models import MeetingState
from app.meetings.models import RegistrationState
from app.meetings.programme.pages import ProgrammePage
from app.meetings.questions import services as questions
from app.meetings.questions.forms import AnswersForm
from app.meetings.questions.forms import answers_form as build_answers_form
from app.meetings.questions.forms import posted_answers
from app.policy import can
from app.regions.models import Region
from app.regions.services import all_regions
from app.spreadsheet import csv_response
from app.urls import query_int

bp = Blueprint("meetings", __name__)


@bp.app_template_filter("kz_datetime")
def kz_datetime(moment, format: str | None = None) -> str:
    """Jinja filter: a stored time as a date and time in Kazakhstan time, in the UI language."""
    return timezone.format_local(moment, format)


@bp.app_template_filter("kz_date")
def kz_date(moment, format: str = "long") -> str:
    """Jinja filter: the Kazakhstan-time date of a stored time."""
    return timezone.format_local_date(moment, format)


@bp.app_template_filter("kz_time")
def kz_time(moment, format: str = "short") -> str:
    """Jinja filter: the Kazakhstan-time clock time of a stored time."""
    return timezone.format_local_time(moment, format)


@bp.app_template_filter("kz_span")
def kz_span(starts, ends) -> str:
    """Jinja filter: a meeting's span in Kazakhstan time."""
    return timezone.format_span(starts, ends)


@bp.app_template_filter("kz_offset")
def kz_offset(moment) -> str:
    """Jinja filter: the UTC offset of Kazakhstan time at a moment ("+5")."""
    return timezone.offset_label(moment)


@bp.app_template_filter("kz_iso")
def kz_iso(moment) -> str:
    """Jinja filter: ISO 8601 with the Kazakhstan offset (for ``<time datetime>``)."""
    local = timezone.to_local(moment)
    return local.isoformat(timespec="minutes") if local else ""


def get_meeting_or_404(meeting_id: int) -> Meeting:
    """The meeting, or 404."""
    return db.get_or_404(Meeting, meeting_id)


def is_organiser() -> bool:
    """Whether the current user may manage meetings (organisers and admins)."""
    return can(current_user, "manage_meetings")


def labels() -> dict:
    """Translated labels of the meeting vocabularies, for templates."""
    return {"states": services.STATE_LABELS, "formats": services.FORMAT_LABELS}


def scope_choices() -> list[tuple[str, str]]:
    """``national`` and every region (its own district meetings), for filters."""
    regions = all_regions()
    return [(NATIONAL, _("National"))] + [(r.iso_code, r.name()) for r in regions]


@bp.route("/meetings")
def index():
    """Upcoming meetings and the archive of past ones (by year and host region), filtered by scope."""
    scope = request.args.get("scope") or None
    if scope and not hosts.is_valid_scope(scope):
        scope = None
    year = query_int("year")
    region_code = request.args.get("region") or None
    region = db.session.scalar(sa.select(Region).where(Region.iso_code == region_code)) if region_code else None
    upcoming = services.upcoming(scope)
    past = services.archive(scope, year, region.id if region else None)
    years = sorted({m.year for m in services.archive(scope)}, reverse=True)
    by_year: dict[int, list[Meeting]] = {}
    for meeting in past:
        by_year.setdefault(meeting.year, []).append(meeting)
    regions = all_regions()
    return render_template(
        "meetings/index.html", upcoming=upcoming, by_year=by_year, years=years, scope=scope, year=year,
        region=region, regions=regions, scopes=scope_choices(), labels=labels(), can_manage=is_organiser(),
    )


@bp.route("/meetings/<int:meeting_id>")
def detail(meeting_id: int):
    """The meeting page: host, dates in Kazakhstan time, place, state, seats, the registration form with the
    meeting's questions (or one's own answers to change) and the public attendee list."""
    return _detail_page(get_meeting_or_404(meeting_id))


def _detail_page(meeting: Meeting, answers_form: AnswersForm | None = None, status: int = 200):
    """Render the meeting page; ``answers_form``: a refused registration form, shown with what was typed."""
    registration = position = None
    if current_user.is_authenticated:
        registration = services.registration_of(meeting, current_user)
        if registration is not None:
            position = services.waitlist_position(registration)
    meeting_questions = questions.questions_of(meeting)
    started = meeting.starts_at <= utcnow()
    if answers_form is None:
        holding = registration is not None and registration.state in HOLDING_STATES
        data = {}
        if holding:
            given = questions.answers_of(registration)
            data = {questions.field_name(q): given.get(q.id) for q in meeting_questions}
            data["show_publicly"] = registration.show_publicly
        answers_form = build_answers_form([] if holding and started else meeting_questions, formdata=None,
                                          data=data)
    return render_template(
        "meetings/detail.html", meeting=meeting, registration=registration, position=position,
        counts=services.counts(meeting), can_register=services.can_register_now(meeting), labels=labels(),
        can_manage=is_organiser(), transitions=services.allowed_transitions(meeting),
        scope_label=services.scope_label(meeting.scope), form=RegistrationForm(), state_form=StateForm(),
        location=ical.location(meeting), started=started, now=utcnow(), programme=ProgrammePage(),
        commitments=CommitmentsPage(), questions=meeting_questions, answers_form=answers_form,
        public_attendees=questions.public_attendees(meeting),
        certificate_offered=registration is not None and certificate_services.offered(registration),
    ), status


def host_choices() -> list[SelectChoice]:
    """Every eligible host of every scope, grouped by scope: value ``"<scope>/<code>"``."""
    language = current_language()

    def by_name(items):
        return sorted(items, key=lambda item: collation_key(item.name(language), language))

    choices = [SelectChoice("", "—")]
    national = _("National meetings: the regions")
    choices += [SelectChoice(f"{NATIONAL}/{h.code}", h.name(language), optgroup=national)
                for h in by_name(hosts.eligible_hosts(NATIONAL))]
    for region in by_name(db.session.scalars(sa.select(Region)).all()):
        group = _("Meetings of %(region)s: its districts and cities", region=region.name(language))
        choices += [SelectChoice(f"{region.iso_code}/{h.code}", h.name(language), optgroup=group)
                    for h in by_name(hosts.eligible_hosts(region.iso_code))]
    return choices


def _prepare(form: MeetingForm) -> MeetingForm:
    form.host.choices = host_choices()
    return form


def _data_from_form(form: MeetingForm) -> services.MeetingData:
    scope, _sep, code = (form.host.data or "").partition("/")
    slot = parse_int(form.slot.data, minimum=0) or 0
    return services.MeetingData(
        title=form.title.data or "", scope=scope, host=code, year=form.year.data, slot=slot,
        edition=form.edition.data, city=form.city.data or "", venue=form.venue.data or "",
        address=form.address.data or "", format=form.format.data or "", online_url=form.online_url.data,
        description=form.description.data or "", capacity=form.capacity.data,
        starts_at=timezone.to_utc(form.starts_at.data), ends_at=timezone.to_utc(form.ends_at.data),
        registration_opens_at=timezone.to_utc(form.registration_opens_at.data),
        registration_closes_at=timezone.to_utc(form.registration_closes_at.data),
        contact_name=form.contact_name.data or "", contact_email=form.contact_email.data or "",
        contact_phone=form.contact_phone.data or "",
    )


def _host_city(host: hosts.Host) -> str:
    """The city a host's meeting most likely takes place in: a region's administrative centre (there is no
    Kazakh spelling in the reference data, so Kazakh pages get the Russian one), a city itself, or nothing for
    a district (the organiser knows which town)."""
    if host.municipality is not None:
        return host.municipality.name() if host.municipality.kind == "city" else ""
    if host.region.kind == "city":
        return host.region.name()
    return host.region.admin_center_en if current_language() == "en" else host.region.admin_center_ru


def _prefill(form: MeetingForm) -> None:
    """Fill a new meeting's form from a rotation plan slot (``?scope=national&year=2027&slot=1&host=KZ-75``)."""
    args = request.args
    scope = args.get("scope") or NATIONAL
    host = hosts.resolve_host(scope, args.get("host")) if hosts.is_valid_scope(scope) else None
    if host is not None:
        form.host.data = f"{scope}/{host.code}"
        form.city.data = _host_city(host)
    year = query_int("year")
    if year and services.FIRST_YEAR <= year <= services.LAST_YEAR:
        form.year.data = year
    if args.get("slot") in ("1", "2"):
        form.slot.data = args["slot"]
    form.capacity.data = 100


@bp.route("/meetings/new", methods=["GET", "POST"])
@keeps_input_on_expiry
def new():
    """Create a meeting (organisers), by hand or from a rotation plan slot."""
    form = _prepare(MeetingForm())
    if request.method == "GET":
        _prefill(form)
    if form.validate_on_submit():
        done = commit_or_flash(lambda: services.create_meeting(current_user, _data_from_form(form)), form)
        if done:
            flash(_("Meeting created. Open registration when you are ready."), "success")
            return redirect(url_for("meetings.detail", meeting_id=done.value.id))
    status = 400 if request.method == "POST" and form.errors else 200
    return render_template("meetings/form.html", form=form, meeting=None), status


@bp.route("/meetings/<int:meeting_id>/edit", methods=["GET", "POST"])
@keeps_input_on_expiry
def edit(meeting_id: int):
    """Edit a meeting (organisers); attendees are told about a new date or place."""
    meeting = get_meeting_or_404(meeting_id)
    form = _prepare(MeetingForm(obj=meeting) if request.method == "GET" else MeetingForm())
    if request.method == "GET":
        form.host.data = f"{meeting.scope}/{hosts.host_code_of(meeting)}"
        form.slot.data = str(meeting.slot)
        for name in ("starts_at", "ends_at", "registration_opens_at", "registration_closes_at"):
            getattr(form, name).data = timezone.input_value(getattr(meeting, name))
    if form.validate_on_submit():
        done = commit_or_flash(lambda: services.update_meeting(current_user, meeting, _data_from_form(form)), form)
        if done:
            changes = done.value
            sent = notifications.changed(meeting, changes)
            notifications.promoted(changes.promoted)
            flash(_("Saved.") + (" " + _("%(count)d people were told about the change by e-mail.", count=sent)
                                 if sent else ""), "success")
            return redirect(url_for("meetings.detail", meeting_id=meeting.id))
        meeting = get_meeting_or_404(meeting_id)
    status = 400 if request.method == "POST" and form.errors else 200
    return render_template("meetings/form.html", form=form, meeting=meeting), status


@bp.route("/meetings/<int:meeting_id>/state", methods=["POST"])
def change_state(meeting_id: int):
    """Move a meeting to another state (organisers); cancelling or postponing tells everyone registered."""
    meeting = get_meeting_or_404(meeting_id)
    form = StateForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
        return redirect(url_for("meetings.detail", meeting_id=meeting.id), 303)
    done = commit_or_flash(lambda: services.change_state(current_user, meeting, form.state.data or "",
                                                         form.reason.data))
    if not done:
        return redirect(url_for("meetings.detail", meeting_id=meeting_id), 303)
    sent = notifications.changed(meeting, done.value)
    flash(_("The meeting is now: %(state)s.", state=services.STATE_LABELS[meeting.state])
          + (" " + _("%(count)d people were told by e-mail.", count=sent) if sent else ""), "success")
    return redirect(url_for("meetings.detail", meeting_id=meeting.id), 303)


@bp.route("/meetings/<int:meeting_id>/register", methods=["POST"])
def register(meeting_id: int):
    """Register the current user with their answers to the meeting's questions: a seat, or the waitlist when
    the meeting is full. Refused answers bring the page back with what was typed and a message at each."""
    meeting = get_meeting_or_404(meeting_id)
    form = build_answers_form(questions.questions_of(meeting))
    answers = posted_answers(request.form)
    if not form.validate_on_submit() or answers is None:
        abort(400)
    done = commit_or_flash(lambda: services.register(current_user, meeting, answers, form.show_publicly.data),
                           form)
    if not done:
        if _about_answers(done.error):
            return _detail_page(get_meeting_or_404(meeting_id), form, 400)
        flash_errors(done.error)
        return redirect(url_for("meetings.detail", meeting_id=meeting_id), 303)
    registration = done.value
    notifications.registration_confirmed(registration)
    if registration.state == RegistrationState.REGISTERED:
        flash(_("You are registered. The confirmation with a calendar file is in your e-mail."), "success")
    else:
        flash(_("The meeting is full: you are on the waitlist, place %(position)s. We will write to you when a "
                "seat becomes free.", position=services.waitlist_position(registration)), "success")
    return redirect(url_for("meetings.detail", meeting_id=meeting.id), 303)


def _about_answers(error: ValidationFailed) -> bool:
    """Whether a refusal concerns the answers (shown on the form) rather than the registration (a flash)."""
    return any(name is not None and name.startswith("q_") for name, _message in error.errors)


@bp.route("/meetings/<int:meeting_id>/registration", methods=["POST"])
def update_registration(meeting_id: int):
    """Change one's own answers and public-listing choice while registered (after the start: the listing only)."""
    meeting = get_meeting_or_404(meeting_id)
    started = meeting.state == MeetingState.HELD or meeting.starts_at <= utcnow()
    form = build_answers_form([] if started else questions.questions_of(meeting))
    answers = posted_answers(request.form)
    if not form.validate_on_submit() or answers is None:
        abort(400)
    # After the start the form has no questions: nothing posted leaves the answers alone, anything posted is refused.
    raw = (answers or None) if started else answers
    done = commit_or_flash(lambda: questions.change_answers(current_user, meeting, raw, form.show_publicly.data), form)
    if not done:
        if _about_answers(done.error):
            return _detail_page(get_meeting_or_404(meeting_id), form, 400)
        flash_errors(done.error)
        return redirect(url_for("meetings.detail", meeting_id=meeting_id), 303)
    flash(_("Your registration details are saved."), "success")
    return redirect(url_for("meetings.detail", meeting_id=meeting.id, _anchor="registration"), 303)


@bp.route("/meetings/<int:meeting_id>/cancel", methods=["POST"])
def cancel(meeting_id: int):
    """Cancel the current user's own registration or waitlist place; the seat goes to the first in line."""
    meeting = get_meeting_or_404(meeting_id)
    form = RegistrationForm()
    if not form.validate_on_submit():
        abort(400)
    raw = (form.registration_id.data or "").strip()
    registration_id = parse_int(raw, minimum=0) if raw else None
    if raw and registration_id is None:
        abort(400)
    done = commit_or_flash(lambda: services.cancel_registration(current_user, meeting, registration_id))
    if not done:
        return redirect(url_for("meetings.detail", meeting_id=meeting_id), 303)
    notifications.promoted(done.value)
    flash(_("Your registration is cancelled."), "success")
    return redirect(url_for("meetings.detail", meeting_id=meeting.id), 303)


@bp.route("/meetings/<int:meeting_id>/registrations")
def registrations(meeting_id: int):
    """Who registered and who waits (organisers), with their answers, and attendance after the meeting."""
    meeting = get_meeting_or_404(meeting_id)
    return render_template(
        "meetings/registrations.html", meeting=meeting, seats=services.registrations(meeting),
        waitlist=services.waitlist(meeting), counts=services.counts(meeting), form=AttendanceForm(),
        started=meeting.starts_at <= utcnow() or meeting.state == MeetingState.HELD,
        labels=labels(), questions=questions.questions_of(meeting),
        answers=questions.answers_by_registration(meeting), shown_answer=questions.shown_answer,
        certificates=certificate_services.certificates_by_registration(meeting),
    )


@bp.route("/meetings/<int:meeting_id>/registrations.csv")
def registrations_csv(meeting_id: int):
    """The registrations and the waitlist as CSV, one column per registration question (UTF-8 with a BOM, so
    that Excel reads Cyrillic; no cell a spreadsheet would run as a formula)."""
    meeting = get_meeting_or_404(meeting_id)
    meeting_questions = questions.questions_of(meeting)
    answers = questions.answers_by_registration(meeting)
    header = [_("Name"), _("E-mail"), _("Akimat"), _("Position"), _("Status"), _("Waitlist place"),
              _("Registered at (Kazakhstan time)"), _("Attended"), _("Listed publicly")]
    header += [q.label for q in meeting_questions]
    yes_no = {True: _("yes"), False: _("no"), None: ""}
    rows = [(r, None) for r in services.registrations(meeting)]
    rows += [(r, index) for index, r in enumerate(services.waitlist(meeting), start=1)]
    lines = []
    for registration, place in rows:
        user = registration.user
        given = answers.get(registration.id, {})
        lines.append([
            user.full_name, user.email, user.akimat.name() if user.akimat else "", user.position or "",
            services.REGISTRATION_LABELS[registration.state], place or "",
            timezone.to_local(registration.created_at).strftime("%Y-%m-%d %H:%M"),
            yes_no[registration.attended], yes_no[registration.show_publicly],
            *(questions.shown_answer(q, given.get(q.id)) for q in meeting_questions),
        ])
    return csv_response(header, lines, f"meeting-{meeting.id}-registrations.csv")


@bp.route("/meetings/<int:meeting_id>/attendance", methods=["POST"])
def attendance(meeting_id: int):
    """Mark who attended (organisers, once the meeting has started)."""
    meeting = get_meeting_or_404(meeting_id)
    if not AttendanceForm().validate_on_submit():
        abort(400)
    ids = [parse_int(value, minimum=0) for value in request.form.getlist("attended")]
    if None in ids:
        abort(400)
    done = commit_or_flash(lambda: services.mark_attendance(current_user, meeting, set(ids)))
    if not done:
        return redirect(url_for("meetings.registrations", meeting_id=meeting_id), 303)
    flash(_("Attendance saved: %(count)d present.", count=done.value), "success")
    return redirect(url_for("meetings.registrations", meeting_id=meeting.id), 303)


def ics_response(body: bytes, filename: str) -> Response:
    """A ``text/calendar`` answer."""
    return Response(body, mimetype="text/calendar",
                    headers={"Content-Disposition": f'inline; filename="{filename}"'})


@bp.route("/meetings/<int:meeting_id>.ics")
def meeting_ics(meeting_id: int):
    """One meeting as an iCalendar file."""
    meeting = get_meeting_or_404(meeting_id)
    return ics_response(ical.meeting_ics(meeting), f"meeting-{meeting.id}.ics")


@bp.route("/meetings.ics")
def feed():
    """A subscribable calendar of every meeting, or of one scope (``?scope=national`` or ``?scope=KZ-61``)."""
    scope = request.args.get("scope")
    if scope is not None and not hosts.is_valid_scope(scope):
        abort(404)
    meetings = db.session.scalars(services.meetings_query(scope)).all()
    name = _("Exchange meetings") + (f": {services.scope_label(scope)}" if scope else "")
    return ics_response(ical.feed_ics(meetings, name), "meetings.ics")
