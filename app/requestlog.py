"""Request ids and request logs: one timestamped line per request, with the id that is also sent back.

An ``X-Request-ID`` sent by the proxy (nginx's ``$request_id``) is kept when it looks like an id, so the proxy's
access log and ours can be joined; otherwise a new one is made. Every log record of the process carries the
current request's id (``-`` outside a request), and has a timestamp.
"""

from __future__ import annotations

import logging
import re
import sys
import time
import uuid

from flask import Flask
from flask import Response
from flask import g
from flask import has_request_context
from flask import request
from flask.logging import default_handler

REQUEST_ID_HEADER = "X-Request-ID"
_VALID_ID = re.compile(r"[A-Za-z0-9._-]{8,128}")
LOG_FORMAT = "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"

log = logging.getLogger("app.requests")


class RequestIdFilter(logging.Filter):
    """Give every record the id of the request it was logged in."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = g.get("request_id", "-") if has_request_context() else "-"
        return True


def configure_logging(level: int = logging.INFO) -> None:
    """Send the ``app`` loggers (and Flask's) to stderr with timestamps and request ids, once per process."""
    root = logging.getLogger("app")
    if any(isinstance(h, logging.StreamHandler) and getattr(h, "_exchange", False) for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler._exchange = True  # marks our handler, so a second app in the process does not add another
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    handler.addFilter(RequestIdFilter())
    root.removeHandler(default_handler)  # Flask's own has no timestamp; ours replaces it
    root.addHandler(handler)
    root.setLevel(level)


def _start() -> None:
    offered = request.headers.get(REQUEST_ID_HEADER, "")
    g.request_id = offered if _VALID_ID.fullmatch(offered) else uuid.uuid4().hex
    g.request_started = time.perf_counter()


def _finish(response: Response) -> Response:
    response.headers[REQUEST_ID_HEADER] = g.get("request_id", "-")
    started = g.get("request_started")
    elapsed = (time.perf_counter() - started) * 1000 if started is not None else 0.0
    log.info("%s %s %s %.1fms %s", request.method, request.full_path.rstrip("?"), response.status_code,
             elapsed, request.remote_addr or "-")
    return response


def init_app(app: Flask) -> None:
    """Register the hooks; the first ``before_request`` of the app, so every other hook logs with the id."""
    if app.config.get("REQUEST_LOG", True):
        configure_logging()
    app.before_request_funcs.setdefault(None, []).insert(0, _start)
    app.after_request(_finish)
