"""URL helpers shared by the features."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask
from flask import redirect
from flask import request
from flask import url_for

DEFAULT_BASE_URL = "http://127.0.0.1:5000"  # when the configuration names none


def is_safe_next(target: str | None) -> bool:
    """Return whether ``target`` is a same-site path (no scheme, no host, no ``//`` or ``/\\`` trick)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return False
    if any(ord(ch) < 32 for ch in target) or "\\" in target:
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


def link_context(app: Flask):
    """A request context in which ``url_for(..., _external=True)`` builds links to ``BASE_URL``, for mail
    written outside a request (CLI commands)."""
    return app.test_request_context(base_url=app.config.get("BASE_URL") or DEFAULT_BASE_URL)


def redirect_next(default_endpoint: str = "main.home", target: str | None = None):
    """Redirect to ``target`` (or ``?next=``) when it is same-site, else to ``default_endpoint``."""
    target = target if target is not None else request.args.get("next")
    if is_safe_next(target):
        return redirect(target)
    return redirect(url_for(default_endpoint))
