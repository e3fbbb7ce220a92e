"""Account pages: register, log in and out, reset and change the password, edit the profile."""

from __future__ import annotations

from flask import Blueprint
from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import session
from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_login import login_user
from flask_login import logout_user

from app import mail
from app.auth import services
from app.auth import throttle
from app.auth.forms import ChangePasswordForm
from app.auth.forms import ForgotPasswordForm
from app.auth.forms import LoginForm
from app.auth.forms import ProfileForm
from app.auth.forms import RegisterForm
from app.auth.forms import ResetPasswordForm
from app.extensions import db
from app.extensions import limiter
from app.forms import commit_or_flash
from app.forms import keeps_input_on_expiry
from app.i18n import chosen_language
from app.i18n import current_language
from app.i18n import remember_language
from app.meetings.certificates.services import learning_record
from app.regions.services import akimat_choices
from app.search.saved.pages import saved_searches_page
from app.urls import redirect_next

bp = Blueprint("auth", __name__)


def _failed(response) -> bool:
    """Count only attempts that did not log in (a success redirects)."""
    return response.status_code != 302


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_IP"], methods=["POST"], deduct_when=_failed)
def login():
    """Log in with e-mail and password (failed attempts throttled per account: app/auth/throttle.py)."""
    if current_user.is_authenticated:
        return redirect_next()
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        address = request.remote_addr or ""
        verdict = throttle.check(form.email.data, address)
        if not verdict.allowed:
            # The login page again, with the reason and the e-mail kept: nothing typed is lost.
            form.form_errors.append(verdict.message)
            return render_template("auth/login.html", form=form), 429, {"Retry-After": str(verdict.retry_after)}
        user = services.authenticate(form.email.data, form.password.data)
        if user is None:
            throttle.record_failure(form.email.data, address)
            # One message whether or not the e-mail exists.
            form.form_errors.append(_("The e-mail or password is not correct."))
        else:
            # The language chosen with the switch before logging in wins over the profile's, and is saved there:
            # the page must not change language under the user's eyes.
            user.preferred_language = chosen_language() or user.preferred_language
            db.session.commit()
            session.clear()  # no session fixation: start a fresh session
            login_user(user, remember=form.remember.data)
            flash(_("Welcome, %(name)s.", name=user.full_name), "success")
            return redirect_next(target=form.next.data)
    return render_template("auth/login.html", form=form), 200


@bp.route("/logout", methods=["POST"])
def logout():
    """Log out here and everywhere else: the session version rises, so old cookies stop working."""
    services.end_sessions(current_user)
    db.session.commit()
    logout_user()
    session.clear()
    flash(_("You have logged out."), "info")
    return redirect(url_for("main.home"))


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_IP"], methods=["POST"])
@keeps_input_on_expiry
def register():
    """Create an account; an akimat claim waits for an administrator."""
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = RegisterForm()
    form.akimat.choices = akimat_choices()
    if request.method == "GET":
        form.preferred_language.data = current_language()
    if form.validate_on_submit():
        data = services.Registration(
            full_name=form.full_name.data,
            email=form.email.data,
            password=form.password.data,
            preferred_language=form.preferred_language.data,
            akimat_id=form.akimat.data or None,
            position=form.position.data,
        )
        done = commit_or_flash(lambda: services.register_user(data), form)
        if done:
            user = done.value
            session.clear()
            login_user(user)
            if user.claimed_akimat_id:
                flash(_("Your account is ready. An administrator will verify your akimat and position."), "success")
            else:
                flash(_("Your account is ready."), "success")
            return redirect(url_for("main.home"))
    return render_template("auth/register.html", form=form)


@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["PASSWORD_RESET_LIMIT"], methods=["POST"])
def forgot_password():
    """Send a single-use reset link; the answer is the same whether the e-mail is known or not."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        user = services.find_user_by_email(form.email.data)
        if user is not None and user.active:
            token = services.make_reset_token(user)
            mail.send_template(
                user,
                "reset_password",
                _l("Reset your password"),
                url=url_for("auth.reset_password", token=token, _external=True),
                hours=current_app.config["PASSWORD_RESET_MAX_AGE"] // 3600 or 1,
            )
        flash(_("If an account uses that address, we have sent it a link to choose a new password."), "info")
        return redirect(url_for("auth.login"))
    return render_template("auth/forgot_password.html", form=form)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    """Choose a new password from an e-mailed link."""
    user = services.user_for_reset_token(token)
    if user is None:
        flash(_("This link has expired or was already used. Ask for a new one."), "error")
        return redirect(url_for("auth.forgot_password"))
    form = ResetPasswordForm()
    form._user_email, form._user_name = user.email, user.full_name
    if form.validate_on_submit() and commit_or_flash(lambda: services.set_password(user, form.password.data), form):
        logout_user()
        flash(_("Your password has been changed. Log in with the new one."), "success")
        return redirect(url_for("auth.login"))
    return render_template("auth/reset_password.html", form=form)


@bp.route("/account", methods=["GET", "POST"])
@keeps_input_on_expiry
def profile():
    """Edit one's own name, language and akimat claim."""
    user = current_user._get_current_object()
    form = ProfileForm(obj=user)
    form.akimat.choices = akimat_choices()
    if request.method == "GET":
        form.akimat.data = user.claimed_akimat_id or user.akimat_id or 0
        form.position.data = user.claimed_position or user.position
    if form.validate_on_submit() and commit_or_flash(
            lambda: services.update_profile(user, form.full_name.data, form.preferred_language.data,
                                            form.akimat.data or None, form.position.data), form):
        flash(_("Your profile has been saved."), "success")
        # The browser's choice follows the profile, or it would win again at the next login.
        return remember_language(redirect(url_for("auth.profile")), user.preferred_language)
    return render_template("auth/profile.html", form=form, user=user, saved_searches=saved_searches_page(user),
                           learning=learning_record(user))


@bp.route("/account/password", methods=["GET", "POST"])
def change_password():
    """Change one's password; every other session ends."""
    user = current_user._get_current_object()
    form = ChangePasswordForm()
    form._user_email, form._user_name = user.email, user.full_name
    if form.validate_on_submit() and commit_or_flash(
            lambda: services.change_password(user, form.current_password.data, form.password.data), form):
        # This browser stays logged in under the new session version; all others are out.
        login_user(user)
        flash(_("Your password has been changed. Other devices have been logged out."), "success")
        return redirect(url_for("auth.profile"))
    return render_template("auth/change_password.html", form=form)
