"""Security headers added to every response."""

from __future__ import annotations

from flask import Flask
from flask import Response
from flask import abort
from flask import request
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.exceptions import SecurityError
from werkzeug.wsgi import get_host

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
    values = [request.path, *_every_value(request.args.lists())]
    if request.method in {"POST", "PUT", "PATCH"}:
        values.extend(_every_value(request.form.lists()))
        values.extend(_every_value(request.files.lists(), lambda upload: upload.filename or ""))
    if any("\x00" in value for value in values):
        abort(400, description=_("The request contained a NUL character, which is never valid here."))


def _every_value(lists, text=str) -> list[str]:
    """Every key and every value (as ``text(value)``) of a request MultiDict's ``lists()``; its ``values()``
    would give only each key's first."""
    return [item for key, values in lists for item in (key, *map(text, values))]


UNTRUSTED_HOST_BODY = (
    "400 Bad Request\n\n"
    "Бұл сервер мұндай хост атына жауап бермейді.\n"
    "Этот сервер не отвечает на такое имя хоста.\n"
    "This server does not answer to that host name.\n"
).encode()


class TrustedHostMiddleware:
    """Answer a request whose Host (or trusted X-Forwarded-Host) is not in ``TRUSTED_HOSTS`` with a plain 400,
    before Flask builds anything from it: no page, no link and no mail can then carry a forged host.

    Flask checks ``TRUSTED_HOSTS`` too, but only once its request context exists, and then it cannot build URLs
    for its own error page; this check runs outside it, after ProxyFix.
    """

    def __init__(self, wsgi_app, trusted_hosts: list[str]):
        self.wsgi_app = wsgi_app
        self.trusted_hosts = list(trusted_hosts)

    def __call__(self, environ, start_response):
        try:
            get_host(environ, self.trusted_hosts)
        except SecurityError:
            start_response("400 Bad Request", [("Content-Type", "text/plain; charset=utf-8"),
                                               ("Content-Length", str(len(UNTRUSTED_HOST_BODY))),
                                               ("X-Content-Type-Options", "nosniff")])
            return [UNTRUSTED_HOST_BODY]
        return self.wsgi_app(environ, start_response)


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
