"""Security headers added to every response."""

from __future__ import annotations

from flask import Flask
from flask import Response
from flask import abort
from flask import request
from flask_babel import gettext as _
from flask_login import current_user

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def reject_nul_bytes():
    """``before_request``: refuse NUL characters anywhere in the input (400).

    No field of ours may contain one, and PostgreSQL text columns cannot store it (psycopg raises),
    so one central check answers them all with a clear 400 instead of a 500.
    """
    values = [request.path, *request.args.values(), *request.args.keys()]
    if request.method in {"POST", "PUT", "PATCH"} and request.mimetype != "multipart/form-data":
        values.extend(request.form.values())
        values.extend(request.form.keys())
    elif request.mimetype == "multipart/form-data":
        values.extend(request.form.values())
    if any("\x00" in value for value in values):
        abort(400, description=_("The request contained a NUL character, which is never valid here."))


def init_app(app: Flask) -> None:
    """Register the input guard and the header hook."""
    app.before_request(reject_nul_bytes)

    @app.after_request
    def _security_headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if app.config.get("HSTS"):
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        # Pages for a logged-in user may carry personal data: never keep them in a shared cache.
        if current_user and current_user.is_authenticated:
            response.headers["Cache-Control"] = "no-store"
            response.vary.add("Cookie")
        return response
