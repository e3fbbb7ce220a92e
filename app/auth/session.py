"""Flask-Login wiring: loading the user from the session id ``"<id>:<session_version>"``."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from app.auth.models import AnonymousUser
from app.auth.models import User
from app.extensions import db
from app.extensions import login_manager
from app.inputs import parse_int


def load_user(session_id: str):
    """Return the active user whose id and session version match, else None (logged out)."""
    user_id, version = (parse_int(part, minimum=0) for part in session_id.partition(":")[::2])
    if user_id is None or version is None:
        return None
    user = db.session.get(User, user_id)
    if user is None or not user.active or user.session_version != version:
        return None
    return user


def init_app(app: Flask) -> None:
    """Bind Flask-Login."""
    login_manager.init_app(app)
    login_manager.user_loader(load_user)
    login_manager.anonymous_user = AnonymousUser
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please log in to see this page.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"
