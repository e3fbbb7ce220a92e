"""Rotation pages: the plan of a scope for the next ten years with a reason for every slot, the history of who
hosted when (on the regions map for the national rotation), and the organisers' pins and exclusions.

Anyone may read the plan and the history (meetings are public events and the plan is meant to be defensible in
public); only organisers (and administrators) pin, exclude, remove and lift (``app/policy.py``).
"""

from __future__ import annotations

from flask import Blueprint
from flask import abort
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.routing import BuildError
from wtforms.fields.choices import SelectChoice

from app.extensions import db
from app.forms import commit_or_flash
from app.meetings.hosts import eligible_hosts
from app.meetings.hosts import host_code_of
from app.meetings.hosts import is_valid_scope
from app.meetings.models import NATIONAL
from app.meetings.models import RotationExclusion
from app.meetings.models import RotationPin
from app.meetings.rotation import services
from app.meetings.rotation.forms import ExclusionForm
from app.meetings.rotation.forms import PinForm
from app.meetings.rotation.forms import UndoForm
from app.policy import can
from app.regions.services import map_context

bp = Blueprint("rotation", __name__, url_prefix="/rotation")

SLOT_REASONS = {
    "held": _l("held"),
    "pinned": _l("pinned by the organisers"),
    "never hosted": _l("has never hosted"),
    "longest since last hosted": _l("longest since it last hosted"),
    "no eligible host": _l("no eligible host"),
}


def violation_text(violation, names: dict[str, str]) -> str:
    """A rule the plan cannot keep, in the user's language, hosts by name (the engine's English message as a
    fallback for a code this page does not know)."""
    template = VIOLATION_TEXTS.get(violation.code)
    if template is None:
        return violation.message
    params = {key: names.get(value, value) if key in NAMED_PARAMS else value
              for key, value in violation.params.items()}
    try:
        return str(template) % params
    except (KeyError, TypeError, ValueError):
        return violation.message

VIOLATION_TEXTS = {
    "host_twice_in_cycle": _l("Rule 1: %(host)s hosts again in %(year)s before every other host has hosted once "
                              "in this cycle (still waiting: %(waiting)s)."),
    "same_host_consecutive": _l("Rule 2: %(host)s would host two meetings in a row (%(previous_year)s and "
                                "%(year)s)."),
    "same_host_in_year": _l("Rule 3: %(host)s hosts both meetings of %(year)s; the two hosts of a year differ."),
    "no_eligible_host": _l("No host for %(year)s: the hosts still due in this cycle are excluded that year, "
                           "pinned to later meetings, or would host twice in a row. The cycle waits for them."),
    "pin_unknown_host": _l("The pin of %(host)s for %(year)s is ignored: it is not a host of this rotation."),
    "pin_conflict": _l("Several hosts are pinned for %(year)s (%(hosts)s); none of these pins is used."),
    "pin_on_held_slot": _l("The pin of %(host)s for %(year)s is ignored: %(held_host)s hosted that meeting."),
    "pin_excluded_host": _l("%(host)s is pinned for %(year)s although it is excluded until %(until_year)s; the pin "
                            "is honoured."),
    "pin_outside_range": _l("The pin of %(host)s for %(year)s lies outside the plan (%(first_year)s–"
                            "%(last_year)s)."),
}
NAMED_PARAMS = ("host", "held_host")  # params that hold one host code, shown by name


def can_edit() -> bool:
    """Whether the current user may change the rotation (organisers and administrators)."""
    return can(current_user, "manage_meetings")


def meeting_url(meeting) -> str | None:
    """The meeting's page (None while the meeting pages are not installed)."""
    try:
        return url_for("meetings.detail", meeting_id=meeting.id)
    except BuildError:
        return None


def create_url(scope: str, slot) -> str | None:
    """The new-meeting form prefilled from a plan slot (None while the meeting pages are not installed)."""
    try:
        return url_for("meetings.new", scope=scope, year=slot.year, slot=slot.slot, host=slot.host)
    except BuildError:
        return None


def _scope_arg() -> str:
    scope = (request.values.get("scope") or NATIONAL).strip()
    if not is_valid_scope(scope):
        abort(404)
    return scope


def _per_year_arg() -> int:
    value = request.args.get("per_year", "1")
    return 2 if value == "2" else 1


def _prepare(form, scope: str, hosts) -> None:
    """Fill the choices of a pin or exclusion form for ``scope``."""
    form.scope.data = scope
    form.host.choices = [SelectChoice("", "—")] + [SelectChoice(h.code, h.name()) for h in hosts]
    if isinstance(form, PinForm):
        form.year.choices = [SelectChoice(str(y), str(y)) for y in services.plan_range()]
        form.slot.choices = [SelectChoice("1", _("First")), SelectChoice("2", _("Second"))]


def _page(scope: str, per_year: int, pin_form=None, exclusion_form=None, status: int = 200):
    """Render the rotation page of ``scope`` (with the forms as sent, when a change was refused)."""
    hosts = eligible_hosts(scope)
    names = {h.code: h.name() for h in hosts}
    years = services.plan_range()
    if per_year == 1 and services.needs_two_per_year(scope, years.start, len(years)) is not None:
        per_year = 2  # a year of the window had two meetings: only a two-a-year plan can show it
    plan = services.build(scope, start_year=years.start, years=len(years), per_year=per_year)
    scheduled = {(m.year, m.slot): m for m in services.scheduled_meetings(scope)}
    held = services.held_meetings(scope)
    held_by_slot = {(m.year, m.slot): m for m in held}
    next_slot = next((s for s in plan.slots if s.reason != "held" and s.host
                      and (s.year, s.slot) not in scheduled), None)
    upcoming = next((s for s in plan.slots if s.reason != "held" and s.host), None)
    cycle = services.cycle_state(scope)
    if pin_form is None:
        pin_form = PinForm(formdata=None)
        pin_form.year.data = str(next_slot.year) if next_slot else None  # the first year still open
    exclusion_form = exclusion_form or ExclusionForm(formdata=None)
    _prepare(pin_form, scope, hosts)
    _prepare(exclusion_form, scope, hosts)
    context = {}
    if scope == NATIONAL:
        marked = dict.fromkeys(cycle.hosted, "held")
        if upcoming is not None:
            marked[upcoming.host] = "next"
        counts = {}
        for meeting in held:
            counts[host_code_of(meeting)] = counts.get(host_code_of(meeting), 0) + 1
        context = map_context(counts, "regions.profile", marked=marked)
    return render_template(
        "meetings/rotation.html", scope=scope, scope_name=services.scope_name(scope), oblasts=services.oblast_scopes(),
        cities=services.city_scopes(),
        per_year=per_year, plan=plan, names=names, reasons=SLOT_REASONS, scheduled=scheduled,
        held_by_slot=held_by_slot, held=list(reversed(held)), next_slot=next_slot, upcoming=upcoming, cycle=cycle,
        pins=services.pins_of(scope), exclusions=services.exclusions_of(scope, include_lifted=True),
        pin_form=pin_form, exclusion_form=exclusion_form, undo_form=UndoForm, can_edit=can_edit(),
        meeting_url=meeting_url, create_url=create_url, violation_text=violation_text,
        this_year=services.this_year(), **context,
    ), status


@bp.route("")
def plan():
    """The plan of a scope (``?scope=national`` or a region's ISO code; ``per_year=1|2``) with its history."""
    return _page(_scope_arg(), _per_year_arg())


def _back(scope: str, anchor: str):
    return redirect(url_for("rotation.plan", scope=scope, per_year=request.args.get("per_year") or None,
                            _anchor=anchor), 303)


@bp.route("/pins", methods=["POST"])
def add_pin():
    """Pin a host to a (year, slot) of the plan."""
    return _add(PinForm(), "pin_form",
                lambda scope, form: services.add_pin(current_user, scope, form.year.data, form.slot.data,
                                                     form.host.data, form.reason.data),
                _("The host is pinned. The plan has been recalculated."), "plan")


@bp.route("/pins/<int:pin_id>/delete", methods=["POST"])
def remove_pin(pin_id: int):
    """Remove a pin, with a reason."""
    return _undo("pin", pin_id)


@bp.route("/exclusions", methods=["POST"])
def add_exclusion():
    """Exclude a host until a year."""
    return _add(ExclusionForm(), "exclusion_form",
                lambda scope, form: services.add_exclusion(current_user, scope, form.host.data,
                                                           form.until_year.data, form.reason.data),
                _("The host is excluded. It keeps its place and hosts as soon as the exclusion ends."), "exclusions")


@bp.route("/exclusions/<int:exclusion_id>/lift", methods=["POST"])
def lift_exclusion(exclusion_id: int):
    """Lift an exclusion early, with a reason."""
    return _undo("exclusion", exclusion_id)


def _add(form, form_name: str, operation, success: str, anchor: str):
    """Add a pin or an exclusion (``operation(scope, form)``) to the scope of ``?scope=``: the rotation page again
    (400) with ``form`` as sent (as ``form_name``) when it is invalid or refused, else back to the page at
    ``anchor``."""
    scope = _scope_arg()
    _prepare(form, scope, eligible_hosts(scope))
    if not (form.validate_on_submit() and commit_or_flash(lambda: operation(scope, form), form)):
        return _page(scope, _per_year_arg(), **{form_name: form}, status=400)
    flash(success, "success")
    return _back(scope, anchor)


UNDO = {
    "pin": (RotationPin, services.remove_pin, "pins", _l("The pin is removed. The plan has been recalculated."),
            _l("Say why the pin is removed: the reason is kept in the audit log.")),
    "exclusion": (RotationExclusion, services.lift_exclusion, "exclusions",
                  _l("The exclusion is lifted. The plan has been recalculated."),
                  _l("Say why the exclusion is lifted: the reason is kept in the audit log.")),
}
"""What undoing a pin or an exclusion takes: its model, the service (``action(user, target, reason)``), the anchor
of its list on the rotation page, the message when done and the one when no reason was given."""


def _undo(kind: str, target_id: int):
    """Remove a pin or lift an exclusion (``kind`` in :data:`UNDO`), then back to the rotation page."""
    model, action, anchor, done, no_reason = UNDO[kind]
    target = db.get_or_404(model, target_id)
    form = UndoForm(prefix=f"{kind}-{target.id}")
    if not form.validate_on_submit():
        flash(str(no_reason), "error")
    elif commit_or_flash(lambda: action(current_user, target, form.reason.data)):
        flash(str(done), "success")
    return _back(target.scope, anchor)
