"""Placeholder blueprint 'engagement' (filled in by its feature work)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("engagement", __name__, url_prefix="/cases")
