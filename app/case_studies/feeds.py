"""Placeholder blueprint 'feeds' (filled in by its feature work)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("feeds", __name__, url_prefix="/feeds")
