"""Account operations. They add and flush but never commit: the view or command commits once."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature
from itsdangerous import SignatureExpired
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash
from werkzeug.security import generate_password_hash

from app.audit import services as audit
from app.auth import passwords
from app.auth.models import ClaimStatus
from app.auth.models import Role
from app.auth.models import User
from app.clock import utcnow
from app.errors import ValidationFailed
from app.extensions import db
from app.regions.models import Akimat


@functools.cache
def _dummy_hash(method: str) -> str:
    """A hash checked when no account matches, so a login takes as long whether the e-mail exists or not."""
    return generate_password_hash("not-a-real-password-just-timing", method=method)

RESET_SALT = "password-reset"
EMAIL_TAKEN = _l("An account with this e-mail already exists. Log in or reset the password.")


def normalise_email(email: str) -> str:
    """Return the form in which e-mails are stored and compared (trimmed, lower-case)."""
    return email.strip().lower()


def hash_password(password: str) -> str:
    """Hash with Werkzeug's scrypt after NFKC normalisation."""
    method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")
    return generate_password_hash(passwords.normalise(password), method=method)


def verify_password(user: User, password: str) -> bool:
    """Return whether ``password`` is ``user``'s password."""
    return check_password_hash(user.password_hash, passwords.normalise(password))


def find_user_by_email(email: str) -> User | None:
    """Return the user with this e-mail, or None."""
    return db.session.scalar(sa.select(User).where(User.email == normalise_email(email)))


def _check_akimat(akimat_id: int | None, field: str = "akimat") -> Akimat | None:
    """Return the akimat with ``akimat_id`` (None for 0/None).

    :raise ValidationFailed: when the id names no akimat.
    """
    if not akimat_id:
        return None
    akimat = db.session.get(Akimat, akimat_id)
    if akimat is None:
        raise ValidationFailed([(field, _l("Choose an akimat from the list."))])
    return akimat


@dataclass(frozen=True)
class Registration:
    """What a new user submits."""

    full_name: str
    email: str
    password: str
    preferred_language: str
    akimat_id: int | None = None
    position: str | None = None


def register_user(data: Registration) -> User:
    """Create a reader account, with a pending akimat claim when one is given.

    :raise ValidationFailed: e-mail taken, unknown akimat, or a password the policy refuses.
    """
    email = normalise_email(data.email)
    problems = passwords.check_password(data.password, email=email, full_name=data.full_name)
    if problems:
        raise ValidationFailed([("password", _l("This password is not allowed."))])
    if find_user_by_email(email) is not None:
        raise ValidationFailed([("email", EMAIL_TAKEN)])
    akimat = _check_akimat(data.akimat_id)
    user = User(
        full_name=data.full_name.strip(),
        email=email,
        password_hash=hash_password(data.password),
        preferred_language=data.preferred_language,
        role=Role.READER,
    )
    _set_claim(user, akimat, data.position)
    try:
        # A concurrent registration of the same address can win between the check above and this
        # insert; the unique constraint decides, inside a savepoint so the caller's transaction survives.
        with db.session.begin_nested():
            db.session.add(user)
    except IntegrityError:
        raise ValidationFailed([("email", EMAIL_TAKEN)]) from None
    return user


def _set_claim(user: User, akimat: Akimat | None, position: str | None) -> None:
    """Record (or clear) a claim to belong to ``akimat``."""
    if akimat is None:
        if user.claim_status == ClaimStatus.PENDING:
            user.claim_status = ClaimStatus.NONE
        user.claimed_akimat = None
        user.claimed_position = None
        return
    user.claimed_akimat = akimat
    user.claimed_position = (position or "").strip() or None
    user.claim_status = ClaimStatus.PENDING
    user.claim_rejection_reason = None
    user.claimed_at = utcnow()


def authenticate(email: str, password: str) -> User | None:
    """Return the active user with these credentials, or None. Takes the same time either way."""
    user = find_user_by_email(email)
    if user is None:
        check_password_hash(_dummy_hash(current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")), password)
        return None
    if not verify_password(user, password) or not user.active:
        return None
    user.last_login_at = utcnow()
    return user


def end_sessions(user: User) -> None:
    """Invalidate every session and remember-me cookie of ``user`` (raise the session version)."""
    user.session_version = (user.session_version or 0) + 1


def set_password(user: User, password: str) -> None:
    """Set a new password and end every existing session.

    :raise ValidationFailed: when the policy refuses the password.
    """
    if passwords.check_password(password, email=user.email, full_name=user.full_name):
        raise ValidationFailed([("password", _l("This password is not allowed."))])
    user.password_hash = hash_password(password)
    end_sessions(user)
    db.session.flush()


def change_password(user: User, current_password: str, new_password: str) -> None:
    """Change the password after checking the current one.

    :raise ValidationFailed: wrong current password, or a refused new one.
    """
    if not verify_password(user, current_password):
        raise ValidationFailed([("current_password", _l("The current password is not correct."))])
    set_password(user, new_password)


def update_profile(user: User, full_name: str, preferred_language: str, akimat_id: int | None, position: str | None):
    """Save profile changes; a changed akimat or position becomes a new claim for an admin to verify.

    :raise ValidationFailed: unknown akimat.
    """
    user.full_name = full_name.strip()
    user.preferred_language = preferred_language
    akimat = _check_akimat(akimat_id)
    position = (position or "").strip() or None
    current = (user.akimat_id, user.position) if user.claim_status == ClaimStatus.APPROVED else None
    claimed = (user.claimed_akimat_id, user.claimed_position)
    wanted = (akimat.id if akimat else None, position)
    if wanted != claimed and wanted != current:
        _set_claim(user, akimat, position)
    db.session.flush()


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=RESET_SALT)


def make_reset_token(user: User) -> str:
    """Return a signed, expiring token that works once: it binds the session version, which the reset raises."""
    return _serializer().dumps({"uid": user.id, "sv": user.session_version})


def user_for_reset_token(token: str) -> User | None:
    """Return the user a still-valid, unused token belongs to, else None."""
    try:
        data = _serializer().loads(token, max_age=current_app.config["PASSWORD_RESET_MAX_AGE"])
    except (SignatureExpired, BadSignature):
        return None
    if not isinstance(data, dict):
        return None
    user = db.session.get(User, data.get("uid")) if isinstance(data.get("uid"), int) else None
    if user is None or not user.active or user.session_version != data.get("sv"):
        return None
    return user


# --- administration -------------------------------------------------------------------------------


def approve_claim(admin: User, user: User, role: str, akimat_id: int | None, position: str | None) -> None:
    """Verify ``user``: grant ``role`` and (for akims) membership of an akimat; audit-logged.

    :raise ValidationFailed: unknown role, or the akim role without an akimat.
    """
    if role not in {r.value for r in Role}:
        raise ValidationFailed([("role", _l("Choose a role from the list."))])
    akimat = _check_akimat(akimat_id)
    if role == Role.AKIM and akimat is None:
        raise ValidationFailed([("akimat", _l("An akim must belong to an akimat."))])
    before = {"role": user.role, "akimat_id": user.akimat_id, "position": user.position}
    user.role = role
    user.akimat = akimat
    user.position = (position or "").strip() or user.claimed_position
    if user.claim_status == ClaimStatus.PENDING or akimat is not None:
        user.claim_status = ClaimStatus.APPROVED
        user.claim_rejection_reason = None
    after = {"role": user.role, "akimat_id": akimat.id if akimat else None, "position": user.position}
    audit.record(admin, "user.role_changed", user, {"before": before, "after": after})


def reject_claim(admin: User, user: User, reason: str) -> None:
    """Refuse ``user``'s akimat claim with a reason shown to them; audit-logged.

    :raise ValidationFailed: no reason, or nothing pending.
    """
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed([("reason", _l("Give a reason: the user will read it."))])
    if user.claim_status != ClaimStatus.PENDING:
        raise ValidationFailed([(None, _l("This user has no pending claim."))])
    user.claim_status = ClaimStatus.REJECTED
    user.claim_rejection_reason = reason
    audit.record(admin, "user.claim_rejected", user, {"claimed_akimat_id": user.claimed_akimat_id}, reason)


def set_active(admin: User, user: User, active: bool, reason: str) -> None:
    """Deactivate or reactivate an account (ending its sessions); audit-logged.

    :raise ValidationFailed: no reason, or an admin deactivating themselves.
    """
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed([("reason", _l("Give a reason for the audit log."))])
    if user.id == admin.id and not active:
        raise ValidationFailed([(None, _l("You cannot deactivate your own account."))])
    user.active = active
    end_sessions(user)
    audit.record(admin, "user.activated" if active else "user.deactivated", user, {}, reason)


def create_admin(email: str, full_name: str, password: str) -> User:
    """Create an administrator account (``flask users create-admin``).

    :raise ValidationFailed: e-mail taken or password refused.
    """
    user = register_user(Registration(full_name=full_name, email=email, password=password, preferred_language="ru"))
    user.role = Role.ADMIN
    audit.record(None, "user.role_changed", user, {"before": {"role": "reader"}, "after": {"role": "admin"}})
    return user


def notify_claim_decision(user: User) -> None:
    """E-mail ``user`` the outcome of their claim (approved with role, or rejected with the reason)."""
    from flask import url_for

    from app import mail

    if user.claim_status == ClaimStatus.REJECTED:
        mail.send_template(user, "claim_rejected", _l("Your akimat claim was not approved"),
                           reason=user.claim_rejection_reason, url=url_for("auth.profile", _external=True))
    else:
        mail.send_template(user, "claim_approved", _l("Your account has been verified"),
                           url=url_for("main.home", _external=True))
