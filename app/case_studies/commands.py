"""Placeholder: ``flask cases ...`` commands (filled in by the import/export work)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the ``cases`` command group."""
