"""Placeholder: ``flask digest send`` (filled in by the follow/digest work)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the ``digest`` command group."""
