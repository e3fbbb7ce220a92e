"""Account forms: field-level checks only; cross-record rules live in services."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField
from wtforms import EmailField
from wtforms import HiddenField
from wtforms import PasswordField
from wtforms import SelectField
from wtforms import StringField
from wtforms import SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import EqualTo
from wtforms.validators import Length
from wtforms.validators import ValidationError

from app.auth import passwords
from app.forms import Form
from app.forms import coerce_optional_int
from app.forms import email_field
from app.forms import required

LANGUAGE_CHOICES = [
    SelectChoice(code, name, render_kw={"lang": code})
    for code, name in (("kk", "Қазақша"), ("ru", "Русский"), ("en", "English"))
]

PASSWORD_MESSAGES = {
    "too_short": _l("Use at least %(n)s characters.", n=passwords.MIN_LENGTH),
    "too_long": _l("Use at most %(n)s characters.", n=passwords.MAX_LENGTH),
    "common": _l("This password is too common or too easy to guess. Try a phrase of several words."),
    "contains_personal": _l("Do not use your name or e-mail address in the password."),
}


def new_password_field(label=None):
    """A new-password field; the policy check runs in the form's ``validate_password``."""
    return PasswordField(
        label or _l("Password"),
        validators=[required()],
        description=_l(
            "At least %(n)s characters. A phrase of several words in any language is best.", n=passwords.MIN_LENGTH
        ),
        render_kw={"autocomplete": "new-password"},
    )


def confirm_field():
    """A confirmation field that must equal ``password``."""
    return PasswordField(
        _l("Repeat the password"),
        validators=[required(), EqualTo("password", message=_l("The two passwords do not match."))],
        render_kw={"autocomplete": "new-password"},
    )


class PasswordPolicyMixin:
    """Checks ``password`` against the policy, knowing the e-mail and name when the form has them."""

    def validate_password(self, field):
        email = getattr(getattr(self, "email", None), "data", None) or getattr(self, "_user_email", None)
        full_name = getattr(getattr(self, "full_name", None), "data", None) or getattr(self, "_user_name", None)
        value = field.data or ""
        # A huge value is refused before the (linear but not free) policy checks run on it.
        if len(value) > passwords.MAX_LENGTH * 4:
            raise ValidationError(str(PASSWORD_MESSAGES["too_long"]))
        problems = passwords.check_password(value, email=email, full_name=full_name)
        if problems:
            raise ValidationError(" ".join(str(PASSWORD_MESSAGES[code]) for code in problems))


class ClaimFieldsMixin:
    """The akimat and position a user claims; choices are filled per request (names in its language)."""

    akimat = SelectField(
        _l("Your akimat"),
        coerce=coerce_optional_int,
        description=_l("Leave empty if you read only. An administrator verifies every claim."),
    )
    position = StringField(
        _l("Your position"),
        # No Optional(): it would stop the chain on an empty value and skip validate_position.
        validators=[Length(max=200, message=_l("At most %(max)d characters."))],
        description=_l("For example: deputy akim, head of the digitalisation department."),
    )

    def validate_position(self, field):
        if self.akimat.data and not (field.data or "").strip():
            raise ValidationError(_l("Say which position you hold in that akimat."))


class RegisterForm(PasswordPolicyMixin, ClaimFieldsMixin, Form):
    """New account."""

    full_name = StringField(
        _l("Full name"),
        validators=[required(), Length(max=200, message=_l("At most %(max)d characters."))],
        render_kw={"autocomplete": "name"},
    )
    email = email_field()
    password = new_password_field()
    confirm = confirm_field()
    preferred_language = SelectField(_l("Preferred language"), choices=LANGUAGE_CHOICES)
    submit = SubmitField(_l("Create account"))


class LoginForm(Form):
    """Log in with e-mail and password."""

    email = EmailField(
        _l("E-mail"),
        validators=[required(), Length(max=254, message=_l("At most %(max)d characters."))],
        render_kw={"autocomplete": "email"},
    )
    password = PasswordField(
        _l("Password"),
        validators=[required(), Length(max=1024, message=_l("At most %(max)d characters."))],
        render_kw={"autocomplete": "current-password"},
    )
    remember = BooleanField(_l("Remember me on this computer"))
    next = HiddenField()
    submit = SubmitField(_l("Log in"))


class ForgotPasswordForm(Form):
    """Ask for a password-reset link."""

    email = email_field()
    submit = SubmitField(_l("Send me a link"))


class ResetPasswordForm(PasswordPolicyMixin, Form):
    """Choose a new password from a reset link."""

    password = new_password_field(_l("New password"))
    confirm = confirm_field()
    submit = SubmitField(_l("Set the new password"))


class ChangePasswordForm(PasswordPolicyMixin, Form):
    """Change the password while logged in."""

    current_password = PasswordField(
        _l("Current password"),
        validators=[required(), Length(max=1024, message=_l("At most %(max)d characters."))],
        render_kw={"autocomplete": "current-password"},
    )
    password = new_password_field(_l("New password"))
    confirm = confirm_field()
    submit = SubmitField(_l("Change password"))


class ProfileForm(ClaimFieldsMixin, Form):
    """Edit one's own profile."""

    full_name = StringField(
        _l("Full name"),
        validators=[required(), Length(max=200, message=_l("At most %(max)d characters."))],
        render_kw={"autocomplete": "name"},
    )
    preferred_language = SelectField(_l("Preferred language"), choices=LANGUAGE_CHOICES)
    submit = SubmitField(_l("Save"))
