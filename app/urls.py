"""URL helpers shared by the features: the bounded ``int`` converter of every route, integer query
parameters, same-site redirects and links built outside a request."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask
from flask import redirect
from flask import request
from flask import url_for
from werkzeug.routing import IntegerConverter

from app.inputs import INT_MAX
from app.inputs import INT_MIN
from app.inputs import parse_int

DEFAULT_BASE_URL = "http://127.0.0.1:5000"  # when the configuration names none


class BoundedIntConverter(IntegerConverter):
    """``<int:…>`` of every route: ASCII digits (werkzeug's ``\\d`` takes any script's) up to ``INT_MAX``,
    the largest id a column holds, so a bigger one is a 404 like any missing row, not a database overflow."""

    regex = r"[0-9]+"

    def __init__(self, map, *args, max: int | None = INT_MAX, **kwargs) -> None:
        super().__init__(map, *args, max=max, **kwargs)


def init_app(app: Flask) -> None:
    """Make the bounded converter the app's ``int``; before any blueprint adds its rules (they bind then)."""
    app.url_map.converters["int"] = BoundedIntConverter


def query_int(name: str, default: int | None = None, minimum: int | None = INT_MIN,
              maximum: int | None = INT_MAX) -> int | None:
    """The integer query parameter ``name`` of an HTML page: ``default`` when it is absent or no integer in
    ``minimum``..``maximum`` (nonsense filters are ignored, never an error; the APIs answer 400 instead)."""
    value = parse_int(request.args.get(name), minimum, maximum)
    return default if value is None else value


def page_arg() -> int:
    """``?page=`` for ``db.paginate(page=...)``: 1 unless it is a page number a database OFFSET can take
    (Flask-SQLAlchemy's own reading takes any size and overflows)."""
    return query_int("page", 1, minimum=1)


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
