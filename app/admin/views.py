"""Administration pages: pending claims, user detail with approve/reject/deactivate, the audit log (filtered,
paginated, exported as CSV)."""

from __future__ import annotations

from datetime import datetime
from datetime import time
from datetime import timedelta

import sqlalchemy as sa
from flask import Blueprint
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.admin.forms import ApproveForm
from app.admin.forms import AuditFilterForm
from app.admin.forms import ReasonForm
from app.audit import services as audit
from app.audit.labels import ACTIONS
from app.audit.labels import TARGET_TYPES
from app.audit.labels import action_label
from app.audit.labels import target_type_label
from app.audit.models import AuditEntry
from app.auth import services
from app.auth.models import ROLE_LABELS
from app.auth.models import ClaimStatus
from app.auth.models import User
from app.clock import utcnow
from app.extensions import db
from app.forms import commit_or_flash
from app.meetings import timezone
from app.meetings.services import STATE_LABELS as MEETING_STATES
from app.regions.services import akimat_choices
from app.spreadsheet import csv_response
from app.urls import page_arg

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.record_once
def _audit_words(state) -> None:
    """Give templates the audit log's words: globals, because the macros of ``admin/_audit.html`` that use them are
    imported without the page's context."""
    state.app.jinja_env.globals.update(
        action_label=action_label, target_type_label=target_type_label,
        meeting_state_label=lambda code: str(MEETING_STATES.get(code, code or "—")),
    )

FILTERS = {
    "pending": User.claim_status == ClaimStatus.PENDING,
    "active": User.active.is_(True),
    "inactive": User.active.is_(False),
    "all": sa.true(),
}


def _get_user(user_id: int) -> User:
    return db.get_or_404(User, user_id)


@bp.route("/users")
def users():
    """Accounts, pending claims first by default; filter and search by name or e-mail."""
    status = request.args.get("status", "pending")
    if status not in FILTERS:
        status = "pending"
    query = (request.args.get("q") or "").strip()[:200]
    select = sa.select(User).where(FILTERS[status])
    if query:
        escaped = query.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{escaped}%"
        select = select.where(
            sa.or_(
                sa.func.lower(User.full_name).like(pattern, escape="\\"),
                User.email.like(pattern, escape="\\"),
            )
        )
    select = select.order_by(User.claimed_at.desc().nulls_last(), User.created_at.desc())
    page = db.paginate(select, page=page_arg(), per_page=50, error_out=False)
    pending_count = db.session.scalar(sa.select(sa.func.count(User.id)).where(FILTERS["pending"]))
    return render_template(
        "admin/users.html", page=page, status=status, q=query, pending_count=pending_count, role_labels=ROLE_LABELS
    )


def _render_detail(user: User, approve: ApproveForm | None = None, reject: ReasonForm | None = None,
                   activate: ReasonForm | None = None, status: int = 200):
    approve = approve or ApproveForm(
        role="akim" if user.claim_status == ClaimStatus.PENDING else user.role,
        akimat=user.claimed_akimat_id if user.claim_status == ClaimStatus.PENDING else (user.akimat_id or 0),
        position=user.claimed_position if user.claim_status == ClaimStatus.PENDING else user.position,
    )
    approve.akimat.choices = akimat_choices()
    reject = reject or ReasonForm(prefix="reject")
    activate = activate or ReasonForm(prefix="activate", active="0" if user.active else "1")
    history = db.session.scalars(
        sa.select(AuditEntry)
        .where(AuditEntry.target_type == "user", AuditEntry.target_id == user.id)
        .order_by(AuditEntry.created_at.desc())
    ).all()
    return (
        render_template(
            "admin/user_detail.html", user=user, approve=approve, reject=reject, activate=activate,
            history=history, role_labels=ROLE_LABELS,
        ),
        status,
    )


@bp.route("/users/<int:user_id>")
def user_detail(user_id: int):
    """One account with its claim and the actions an admin can take."""
    return _render_detail(_get_user(user_id))


@bp.route("/users/<int:user_id>/approve", methods=["POST"])
def approve(user_id: int):
    """Grant a role and akimat (approving a pending claim)."""
    user = _get_user(user_id)
    form = ApproveForm()
    form.akimat.choices = akimat_choices()
    if form.validate_on_submit() and commit_or_flash(lambda: services.approve_claim(
            current_user, user, form.role.data, form.akimat.data or None, form.position.data), form):
        services.notify_claim_decision(user)
        flash(_("Saved: %(name)s is now %(role)s.", name=user.full_name, role=ROLE_LABELS[user.role]), "success")
        return redirect(url_for("admin.users"))
    return _render_detail(user, approve=form, status=400)


@bp.route("/users/<int:user_id>/reject", methods=["POST"])
def reject(user_id: int):
    """Refuse a pending claim with a reason the user will read."""
    user = _get_user(user_id)
    form = ReasonForm(prefix="reject")
    if form.validate_on_submit() and commit_or_flash(
            lambda: services.reject_claim(current_user, user, form.reason.data), form):
        services.notify_claim_decision(user)
        flash(_("The claim of %(name)s was rejected.", name=user.full_name), "success")
        return redirect(url_for("admin.users"))
    return _render_detail(user, reject=form, status=400)


@bp.route("/users/<int:user_id>/active", methods=["POST"])
def set_active(user_id: int):
    """Deactivate or reactivate an account, with a reason."""
    user = _get_user(user_id)
    form = ReasonForm(prefix="activate")
    if form.validate_on_submit() and commit_or_flash(
            lambda: services.set_active(current_user, user, form.active.data == "1", form.reason.data), form):
        if user.active:
            flash(_("The account of %(name)s is active again.", name=user.full_name), "success")
        else:
            flash(_("The account of %(name)s was deactivated.", name=user.full_name), "success")
        return redirect(url_for("admin.user_detail", user_id=user.id))
    return _render_detail(user, activate=form, status=400)


AUDIT_PER_PAGE = 50
MAX_PAGE = 10_000  # a larger page number would ask the database for an offset past any real log


def _page_number() -> int:
    """``?page=``, bounded to 1..MAX_PAGE (not a number: the first page)."""
    return min(page_arg(), MAX_PAGE)


def _audit_form() -> AuditFilterForm:
    """The filter form on ``request.args``, with the choices the log offers."""
    form = AuditFilterForm(request.args)
    form.actor.choices = [("", _("Anyone")), (audit.SYSTEM, _("system"))] + [
        (str(uid), name) for uid, name in audit.actors()
    ]
    codes = set(ACTIONS) | set(audit.recorded_actions())
    labelled = sorted(((code, action_label(code)) for code in codes), key=lambda choice: choice[1].casefold())
    form.action.choices = [("", _("Any action")), *labelled]
    form.target_type.choices = [("", _("Any object"))] + [
        (code, str(label)) for code, label in TARGET_TYPES.items()
    ]
    return form


def _audit_filters(form: AuditFilterForm) -> audit.AuditFilters:
    """What a valid filter form asks for; dates are whole days in Kazakhstan time."""
    actor = form.actor.data or None
    return audit.AuditFilters(
        actor=int(actor) if actor and actor != audit.SYSTEM else actor,
        action=form.action.data or None,
        target_type=form.target_type.data or None,
        since=timezone.to_utc(datetime.combine(form.since.data, time.min)) if form.since.data else None,
        until=(timezone.to_utc(datetime.combine(form.until.data + timedelta(days=1), time.min))
               if form.until.data else None),
    )


def _invalid_filters(form: AuditFilterForm):
    """The log page with the filter form's errors and no entries (400)."""
    return render_template("admin/audit.html", form=form, page=None, targets={}, args={}), 400


def _filter_args() -> dict[str, str]:
    """The filters as query parameters, for the pagination links and the export link."""
    return {name: request.args[name] for name in ("actor", "action", "target_type", "since", "until")
            if request.args.get(name)}


@bp.route("/audit", endpoint="audit")
def audit_log():
    """The audit log, newest first, filtered by who, action, object and dates; 50 a page."""
    form = _audit_form()
    if not form.validate():
        return _invalid_filters(form)
    page = db.paginate(audit.entries_query(_audit_filters(form)), page=_page_number(), per_page=AUDIT_PER_PAGE,
                       error_out=False)
    return render_template("admin/audit.html", form=form, page=page, targets=audit.targets(page.items),
                           args=_filter_args())


@bp.route("/audit.csv")
def audit_csv():
    """Every entry the filters select, as CSV (the filters as on the page; no pagination)."""
    form = _audit_form()
    if not form.validate():
        return _invalid_filters(form)
    header, rows = audit.export_rows(_audit_filters(form))
    return csv_response(header, rows, f"audit-{timezone.to_local(utcnow()).date().isoformat()}.csv")
