"""Error pages in the user's language, and JSON errors under ``/api/``."""

from __future__ import annotations

import time

from flask import Flask
from flask import current_app
from flask import flash
from flask import render_template
from flask import request
from flask_babel import lazy_gettext as _l
from flask_limiter.errors import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from app.api import STATUS_CODES
from app.api import json_error
from app.extensions import db
from app.extensions import limiter

TITLES = {
    400: _l("The request could not be understood"),
    401: _l("Please log in"),
    403: _l("You do not have access to this page"),
    404: _l("Page not found"),
    405: _l("This action is not allowed here"),
    413: _l("The upload is too large"),
    429: _l("Too many attempts"),
    500: _l("Something went wrong on our side"),
    507: _l("The server has no room for this file"),
}
MESSAGES = {
    400: _l("Check what you entered and try again."),
    401: _l("Log in and try again."),
    403: _l("Your account's role does not allow this. If you think it should, contact an administrator."),
    404: _l("The address may be mistyped, or the page was moved or withdrawn."),
    405: _l("Go back and use the buttons on the page."),
    413: _l("The file or form you sent is larger than allowed. Make it smaller and try again."),
    429: _l("Please wait a minute before trying again."),
    500: _l("The error has been logged. Please try again in a few minutes."),
    507: _l("The server's storage is full, so nothing was saved. The error has been logged; please try again "
            "later."),
}
HTTPS_MESSAGE = _l("This site works only over a secure connection. Open it by its https:// address and send the "
                   "form again.")
CSRF_MESSAGE = _l("The form had expired or came from another site. Your data were not saved: please send it again.")
CSRF_KEPT_MESSAGE = _l("The form had expired, so nothing was saved. What you typed is still here: check it and send "
                       "it again.")


class InsufficientStorage(HTTPException):
    """507: a write found the disk (or the quota) full; raised where a feature writes files."""

    code = 507
    description = "The server's storage is full."


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def render_error(status: int, detail: str | None = None):
    """Answer ``status`` as a JSON error under /api/, else as a page in the user's language."""
    title = TITLES.get(status, TITLES[500 if status >= 500 else 400])
    message = detail or MESSAGES.get(status, MESSAGES[500 if status >= 500 else 400])
    if _wants_json():
        return json_error(status, STATUS_CODES.get(status, "error"), message)
    return render_template("errors/error.html", status=status, title=title, message=message), status


def init_app(app: Flask) -> None:
    """Register the handlers."""

    @app.errorhandler(CSRFError)
    def _csrf(error):
        if app.config.get("SESSION_COOKIE_SECURE") and not request.is_secure:
            # The browser keeps the Secure session cookie to itself over plain HTTP, so every form "expires".
            app.logger.warning("form refused on %s: Secure session cookies over plain HTTP (open the site by "
                               "https://, set TRUSTED_PROXIES behind a TLS proxy, or SESSION_COOKIE_SECURE=false "
                               "for a test without TLS)", request.path)
            return render_error(400, str(HTTPS_MESSAGE))
        view = app.view_functions.get(request.endpoint or "")
        if request.method == "POST" and getattr(view, "keeps_input_on_expiry", False) and not _wants_json():
            return _form_again(view)
        return render_error(400, str(CSRF_MESSAGE))

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        status = error.code or 500
        # Only our own aborts carry a (translated) description; werkzeug's stock English one is not shown.
        detail = error.description if error.description != type(error).description else None
        headers = {"Allow": ", ".join(error.valid_methods)} if getattr(error, "valid_methods", None) else {}
        if isinstance(error, RateLimitExceeded):
            detail = None  # its description is the raw limit ("3 per 1 minute"), not a message for people
            if limiter.current_limit is not None:
                headers["Retry-After"] = str(max(1, int(limiter.current_limit.reset_at - time.time())))
        body, status = _as_tuple(render_error(status, detail), status)
        return body, status, headers

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        db.session.rollback()
        app.logger.exception("Unhandled error on %s %s", request.method, request.path)
        return render_error(500)


def _form_again(view):
    """The expired form's page again, with what the user typed: the view runs on the posted data minus the
    refused token, so its form cannot validate (nothing is saved or done) and re-renders with the input."""
    data = request.form.copy()
    data.pop("csrf_token", None)
    request.__dict__["form"] = data  # werkzeug caches the parsed form here; the form classes read it from there
    flash(str(CSRF_KEPT_MESSAGE), "error")
    try:
        response = current_app.make_response(view(**(request.view_args or {})))
    except HTTPException as error:  # e.g. the session expired too and the page is not for this visitor now
        return render_error(error.code or 400, str(CSRF_MESSAGE))
    if 200 <= response.status_code < 300:  # the submission was refused, whatever the view answered
        response.status_code = 400
    return response


def _as_tuple(result, status: int):
    """Normalise ``render_error``'s answer to (body, status)."""
    if isinstance(result, tuple):
        return result
    return result, status
