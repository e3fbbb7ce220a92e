"""Administration pages: pending claims, user detail with approve/reject/deactivate, audit log."""

from __future__ import annotations

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
from app.admin.forms import ReasonForm
from app.audit.models import AuditEntry
from app.auth import services
from app.auth.models import ROLE_LABELS
from app.auth.models import ClaimStatus
from app.auth.models import User
from app.extensions import db
from app.forms import commit_or_flash
from app.regions.services import akimat_choices
from app.urls import page_arg

bp = Blueprint("admin", __name__, url_prefix="/admin")

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


@bp.route("/audit")
def audit():
    """The audit log, newest first."""
    select = sa.select(AuditEntry).order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
    action = (request.args.get("action") or "").strip()[:60]
    if action:
        select = select.where(AuditEntry.action == action)
    page = db.paginate(select, page=page_arg(), per_page=50, error_out=False)
    return render_template("admin/audit.html", page=page, action=action)
