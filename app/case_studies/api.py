"""Placeholder blueprint 'cases_api' (filled in by its feature work)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("cases_api", __name__, url_prefix="/api/v1")
