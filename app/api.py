"""What every JSON API blueprint shares (CONTRACTS.md §2): responses, the error shape and its codes
(integer parameters are parsed by ``app.inputs.parse_int``).

Responses are Flask's own JSON (``jsonify``), set up once in :func:`init_app`: UTF-8 rather than ``\\u``
escapes, and the keys in the order the payload was built (Flask would sort them).
"""

from __future__ import annotations

from flask import Flask
from flask import Response
from flask import jsonify

# The error-code vocabulary: ``{"error": {"code": CODE, "message": ...}}``. HTTP errors answered by
# app.main.errors use the code of their status; the APIs name a bad query parameter as follows.
STATUS_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
                405: "method_not_allowed", 413: "too_large", 414: "uri_too_long", 429: "too_many_requests",
                500: "server_error", 507: "insufficient_storage"}
BAD_REQUEST = STATUS_CODES[400]
# /api/v1/meetings has named its refusals more finely since version 1 shipped; clients may rely on them.
BAD_PARAMETER = "bad_parameter"
BAD_SCOPE = "bad_scope"
BAD_STATE = "bad_state"
SEARCH_UNAVAILABLE = "search_unavailable"


def init_app(app: Flask) -> None:
    """Make Flask's JSON provider write UTF-8 and keep the payload's key order."""
    app.json.ensure_ascii = False
    app.json.sort_keys = False


def json_response(payload, status: int = 200) -> Response:
    """``payload`` as a JSON response with ``status``."""
    response = jsonify(payload)
    response.status_code = status
    return response


def json_error(status: int, code: str, message: str) -> Response:
    """The error shape of CONTRACTS.md §2 with ``status``."""
    return json_response({"error": {"code": code, "message": str(message)}}, status)
